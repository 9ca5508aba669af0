"""Cases of the inserts: insert_pfn() and __get_locked_pte(), vm_insert_pfn_prot(),
vm_insert_mixed() and insert_page()."""

from __future__ import annotations

from fuzzplug.kernel.types import PAGE_SIZE, pgprot_t

from .registry import case
from .scene import (
    A0,
    A1,
    ANON,
    DEV_PFN,
    END,
    MMIO,
    MMIO_PFN,
    PRIVATE_RW_MIXED,
    PRIVATE_RW_PFNMAP,
    RAM,
    RAM_PFN,
    SHARED_RW_MIXED,
    SHARED_RW_PFNMAP,
    SHARED_RW_PLAIN,
    boot,
    call,
    pfn_of,
    user_fault,
    zap,
)


# --- insert_pfn, __get_locked_pte ---

@case()
def mixed_insert_of_mmio(model):
    """vm_insert_mixed() of an MMIO pfn into a shared writable VM_MIXEDMAP whose vm_ops have
    pfn_mkwrite (so vm_page_prot is write-protected): insert_pfn() maps it special."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    return k


@case()
def mixed_insert_twice(model):
    """The same vm_insert_mixed() twice: the second finds the PTE populated."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    return k


@case()
def mixed_insert_of_device_memory(model):
    """vm_insert_mixed() of ZONE_DEVICE memory (PFN_DEV|PFN_MAP) with
    __HAVE_ARCH_PTE_DEVMAP: a devmap entry."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    return k


@case()
def mixed_insert_of_device_memory_without_devmap(model):
    """The same without __HAVE_ARCH_PTE_DEVMAP: pfn_t_devmap() is false."""
    k = boot(model, SHARED_RW_MIXED, DEVMAP=0)
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    return k


def _insert_failing_allocation(model, nth):
    k = boot(model, SHARED_RW_MIXED)
    k.fail_nth_alloc(nth)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    return k


@case()
def mixed_insert_failing_pud_alloc(model):
    """vm_insert_mixed() into an empty page table whose first allocation (the PUD) fails."""
    return _insert_failing_allocation(model, 1)


@case()
def mixed_insert_failing_pmd_alloc(model):
    """...whose second allocation (the PMD) fails."""
    return _insert_failing_allocation(model, 2)


@case()
def mixed_insert_failing_pte_alloc(model):
    """...whose third allocation (the PTE table) fails."""
    return _insert_failing_allocation(model, 3)


# --- vm_insert_pfn_prot ---

@case()
def pfn_insert_of_mmio_with_pat(model):
    """vm_insert_pfn() of an MMIO pfn into a shared VM_PFNMAP on x86 with PAT: the pfn has no
    memtype reservation, so track_pfn_insert() makes the prot UC- (PCD)."""
    k = boot(model, SHARED_RW_PFNMAP, PAT=1)
    call(k, model, "vm_insert_pfn", A0, MMIO)
    return k


@case()
def pfn_insert_of_mmio_on_ppc64(model):
    """The same on ppc64 (the radix MMU, whose update_mmu_cache() does nothing):
    track_pfn_insert() is a no-op there."""
    k = boot(model, SHARED_RW_PFNMAP, PAT=1, arch="ppc64_radix")
    call(k, model, "vm_insert_pfn", A0, MMIO)
    return k


@case()
def pfn_insert_with_explicit_write_through_prot_with_pat(model):
    """vm_insert_pfn_prot() with a PWT prot on x86 with PAT: the cache bits of the prot are
    replaced by those of the pfn's memtype (UC- for MMIO)."""
    from fuzzplug.kernel.types import _PAGE_PRESENT, _PAGE_PWT, _PAGE_USER

    k = boot(model, SHARED_RW_PFNMAP, PAT=1)
    call(k, model, "vm_insert_pfn_prot", A0, MMIO,
         pgprot_t(_PAGE_PRESENT | _PAGE_USER | _PAGE_PWT))
    return k


@case()
def pfn_insert_outside_the_vma(model):
    """vm_insert_pfn() at vm_end and below vm_start."""
    k = boot(model, SHARED_RW_PFNMAP)
    call(k, model, "vm_insert_pfn", END, MMIO)
    call(k, model, "vm_insert_pfn", A0 - PAGE_SIZE, MMIO)
    return k


@case()
def pfn_insert_into_a_vma_without_pfnmap_or_mixedmap(model):
    """vm_insert_pfn() into a VMA with neither VM_PFNMAP nor VM_MIXEDMAP."""
    k = boot(model, SHARED_RW_PLAIN)
    call(k, model, "vm_insert_pfn", A0, MMIO)
    return k


@case()
def pfn_insert_into_a_vma_with_pfnmap_and_mixedmap(model):
    """vm_insert_pfn() into a VMA with both VM_PFNMAP and VM_MIXEDMAP."""
    k = boot(model, SHARED_RW_PFNMAP + "|VM_MIXEDMAP")
    call(k, model, "vm_insert_pfn", A0, MMIO)
    return k


@case()
def pfn_insert_into_a_cow_pfnmap_outside_the_vma(model):
    """vm_insert_pfn() into a private (COW) VM_PFNMAP, at vm_end: the BUG_ONs come first."""
    k = boot(model, PRIVATE_RW_PFNMAP)
    call(k, model, "vm_insert_pfn", END, MMIO)
    return k


@case()
def pfn_insert_of_a_valid_pfn_into_a_mixedmap(model):
    """vm_insert_pfn() of a RAM pfn (pfn_valid) into a VM_MIXEDMAP."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_pfn", A0, RAM)
    return k


@case()
def pfn_insert_with_a_non_present_prot_then_fault_and_zap(model):
    """vm_insert_pfn_prot() with a prot that has neither _PAGE_PRESENT nor _PAGE_PROTNONE
    (the C does not check it): the entry is neither none nor present. Then a user read of it,
    then the zap."""
    from fuzzplug.kernel.types import _PAGE_USER

    k = boot(model, SHARED_RW_PFNMAP)
    call(k, model, "vm_insert_pfn_prot", A0, MMIO, pgprot_t(_PAGE_USER))
    user_fault(k, model, A0)
    zap(k, model, A0)
    return k


# --- vm_insert_mixed, insert_page ---

@case()
def mixed_insert_outside_the_vma(model):
    """vm_insert_mixed() below vm_start and at vm_end."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0 - PAGE_SIZE, MMIO_PFN)
    call(k, model, "vm_insert_mixed", END, MMIO_PFN)
    return k


@case()
def mixed_insert_into_a_vma_without_mixedmap(model):
    """vm_insert_mixed() into a VM_PFNMAP VMA."""
    k = boot(model, SHARED_RW_PFNMAP)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    return k


@case()
def mixed_insert_of_ram_without_pte_special(model):
    """vm_insert_mixed() of a RAM page without pte_special: refcounted through
    insert_page()."""
    k = boot(model, SHARED_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    return k


@case()
def mixed_insert_of_ram_twice_without_pte_special(model):
    """The same insert_page() twice."""
    k = boot(model, SHARED_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    return k


@case()
def mixed_insert_of_ram_without_pte_special_failing_pud_alloc(model):
    """insert_page() into an empty page table whose PUD allocation fails."""
    k = boot(model, SHARED_RW_MIXED, HAVE_PTE_SPECIAL=0)
    k.fail_nth_alloc(1)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    return k


@case()
def mixed_insert_of_a_cow_copy_without_pte_special(model):
    """Without pte_special, in a private VM_MIXEDMAP: a RAM page goes in through
    insert_page(), a user write COWs it to an anonymous page, and vm_insert_mixed() of that
    anonymous page's pfn at the next address is refused by insert_page()."""
    k = boot(model, PRIVATE_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    user_fault(k, model, A0, write=True)
    call(k, model, "vm_insert_mixed", A1, pfn_of(ANON))
    return k


@case()
def mixed_insert_of_mmio_without_pte_special_then_zap(model):
    """Without pte_special, vm_insert_mixed() of an MMIO pfn (not pfn_valid) goes to
    insert_pfn(); the zap finds no page for it."""
    k = boot(model, SHARED_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    zap(k, model, A0)
    return k


@case()
def mixed_insert_of_ram_without_pte_special_then_zap(model):
    """insert_page() of a RAM page, then the zap: the page is normal (VM_MIXEDMAP,
    pfn_valid) and every reference is given back; the entry was young."""
    k = boot(model, SHARED_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    zap(k, model, A0)
    return k


@case()
def mixed_insert_of_device_memory_without_pte_special_then_zap(model):
    """A config no real kernel has (devmap without pte_special): vm_insert_mixed() of
    ZONE_DEVICE memory takes insert_pfn() (pfn_t_devmap), unrefcounted, but the zap's
    vm_normal_page() sees a VM_MIXEDMAP pfn_valid() page and unmaps it as refcounted."""
    k = boot(model, SHARED_RW_MIXED, HAVE_PTE_SPECIAL=0, DEVMAP=1)
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    zap(k, model, A0)
    return k

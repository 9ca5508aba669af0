"""Cases of the MMU's own access on each architecture, and of ppc64's hash MMU."""

from __future__ import annotations

from types import ModuleType

from fuzzplug.kernel.arch import set_pte_at
from fuzzplug.kernel.mm import maybe_mkwrite
from fuzzplug.kernel.state import Kernel
from fuzzplug.kernel.types import pgprot_t, pte_mkdirty

from .registry import case
from .scene import (
    A0,
    DEV_PFN,
    MMIO,
    SHARED_RW_MIXED,
    SHARED_RW_PFNMAP,
    _begin,
    _end,
    boot,
    call,
    pte_at,
    user_fault,
    zap,
)


# --- the MMU's own access ---

def _mmu_serves(model, arch):
    """vm_insert_pfn_prot() of MMIO with a user-writable prot that is neither young nor
    dirty (PRESENT|USER|RW) into a shared writable VM_PFNMAP, then a user load, a user store
    and another load: every access is one the entry permits."""
    from fuzzplug.kernel.types import _PAGE_PRESENT, _PAGE_RW, _PAGE_USER

    k = boot(model, SHARED_RW_PFNMAP, arch=arch)
    call(k, model, "vm_insert_pfn_prot", A0, MMIO, pgprot_t(_PAGE_PRESENT | _PAGE_USER | _PAGE_RW))
    user_fault(k, model, A0)
    user_fault(k, model, A0, write=True)
    user_fault(k, model, A0)
    return k


@case()
def mmu_serves_a_load_and_a_store_on_x86(model):
    """x86-64: the page walker sets A, then D; no fault handler runs."""
    return _mmu_serves(model, "x86_64")


@case()
def mmu_serves_a_load_and_a_store_on_arm64(model):
    """arm64 (HW AFDBM): the hardware sets AF, then DBM clears PTE_RDONLY on the store."""
    return _mmu_serves(model, "arm64")


@case()
def mmu_serves_a_load_and_a_store_on_ppc64_radix(model):
    """ppc64 radix: the MMU sets R, then C."""
    return _mmu_serves(model, "ppc64_radix")


@case()
def mmu_serves_a_load_and_a_store_on_ppc64_hash(model):
    """ppc64 hash: the insert's entry is not young, so update_mmu_cache() hashes nothing;
    the load misses the hash table and __hash_page() inserts a read-only HPTE; the store
    hits it, is refused, and __hash_page() marks the entry dirty and makes the HPTE
    writable; the second load hits the HPTE."""
    return _mmu_serves(model, "ppc64")


def _read_then_write_fault(model, arch):
    """Shared writable VM_MIXEDMAP over device memory with pfn_mkwrite (write-protected
    prot): a user load of a none PTE (the fault handler maps the pfn read-only), then a
    user store to it (the write-protect fault)."""
    k = boot(model, SHARED_RW_MIXED, arch=arch)
    user_fault(k, model, A0)
    user_fault(k, model, A0, write=True)
    return k


@case()
def read_then_write_fault_on_arm64(model):
    """arm64: a translation fault, then a permission fault (PTE_RDONLY without PTE_WRITE)."""
    return _read_then_write_fault(model, "arm64")


@case()
def read_then_write_fault_on_ppc64_radix(model):
    """ppc64 radix: no translation, then a protection fault."""
    return _read_then_write_fault(model, "ppc64_radix")


@case()
def read_then_write_fault_on_ppc64_hash(model):
    """ppc64 hash: the load finds no HPTE and no linux PTE (do_page_fault); the fault
    handler's insert preloads a read-only HPTE; the store is refused by it and by the
    read-only linux PTE (do_page_fault again); wp_page_reuse()'s ptep_set_access_flags()
    keeps the hash bits and its update_mmu_cache() makes the HPTE writable."""
    return _read_then_write_fault(model, "ppc64")


@case()
def read_of_an_exec_only_vma_on_arm64(model):
    """arm64: a user load of a VMA with only VM_EXEC: __do_page_fault() wants VM_READ or
    VM_WRITE for a load: SIGSEGV."""
    k = boot(model, "VM_EXEC|VM_SHARED|VM_MIXEDMAP", arch="arm64")
    user_fault(k, model, A0)
    return k


@case()
def read_of_an_exec_only_vma_on_x86(model):
    """x86-64: the same load is let through (VM_EXEC counts for a read) and the fault
    handler maps the pfn with PAGE_READONLY_EXEC."""
    k = boot(model, "VM_EXEC|VM_SHARED|VM_MIXEDMAP")
    user_fault(k, model, A0)
    return k


@case()
def read_of_a_kernel_only_entry(model):
    """vm_insert_pfn_prot() of MMIO with a prot without _PAGE_USER, then a user load: the
    x86 MMU faults with PF_PROT, and access_error() refuses a read with PF_PROT."""
    from fuzzplug.kernel.types import _PAGE_ACCESSED, _PAGE_PRESENT

    k = boot(model, SHARED_RW_PFNMAP)
    call(k, model, "vm_insert_pfn_prot", A0, MMIO, pgprot_t(_PAGE_PRESENT | _PAGE_ACCESSED))
    user_fault(k, model, A0)
    return k


# --- ppc64's hash MMU ---

@case()
def insert_from_a_system_call_on_ppc64_hash(model):
    """ppc64 hash: vm_insert_mixed() called from a system call (TRAP 0xc00, as a driver's
    mmap() would: Kernel.trap), so update_mmu_cache() does not preload; the user load that
    follows hashes the entry in."""
    k = boot(model, SHARED_RW_MIXED, arch="ppc64")
    k.trap = 0xC00
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    k.trap = 0x300
    user_fault(k, model, A0)
    return k


@case()
def kernel_only_insert_on_ppc64_hash(model):
    """ppc64 hash: vm_insert_pfn_prot() of MMIO with a young prot without _PAGE_USER
    (_PAGE_PRIVILEGED): hash_preload()'s __hash_page_4K() refuses it (check_pte_access()
    wants the privilege to match), so no HPTE."""
    from fuzzplug.kernel.types import _PAGE_ACCESSED, _PAGE_PRESENT

    k = boot(model, SHARED_RW_PFNMAP, arch="ppc64")
    call(k, model, "vm_insert_pfn_prot", A0, MMIO, pgprot_t(_PAGE_PRESENT | _PAGE_ACCESSED))
    return k


@case()
def insert_then_zap_on_ppc64_hash(model):
    """ppc64 hash: vm_insert_mixed() (the preload hashes it in), then the zap: pte_update()
    sees H_PAGE_HASHPTE and flushes the HPTE."""
    k = boot(model, SHARED_RW_MIXED, arch="ppc64")
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    zap(k, model, A0)
    return k


def orphan_hpte(k: Kernel, model: ModuleType, addr: int) -> None:
    """Hand-made: what b2770da64254's insert_pfn() does to a present, hashed entry on ppc64
    hash: set_pte_at() of the same entry (set_pte_filter() strips the hash bits, the HPTE
    stays), then update_mmu_cache() (the preload hashes a new one in)."""
    from fuzzplug.kernel.arch import update_mmu_cache

    entry = pte_at(k, addr)
    ptep = model.get_locked_pte(k.mm, addr)
    set_pte_at(k.mm, addr, ptep, entry)
    update_mmu_cache(k.vma, addr, ptep)


@case()
def load_through_a_stale_hpte_after_the_zap(model):
    """ppc64 hash, hand-made (orphan_hpte): a hashed entry whose first HPTE was orphaned;
    the zap flushes only the tracked HPTE; a user load at the unmapped address then hits
    the stale one and reads the pfn no PTE maps any more."""
    k = boot(model, SHARED_RW_MIXED, arch="ppc64")
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    orphan_hpte(k, model, A0)
    zap(k, model, A0)
    user_fault(k, model, A0)
    return k


@case()
def store_through_a_stale_read_only_hpte_faults_forever(model):
    """ppc64 hash, hand-made as b2770da64254's mkwrite reuse does it: vm_insert_mixed()
    (the preload hashes the read-only entry into slot 0), then set_pte_at() of the entry
    made dirty and writable (maybe_mkwrite(pte_mkdirty())) over it, which strands the
    read-only HPTE, and update_mmu_cache(), whose preload hashes a read/write one into slot
    1. A user store is refused by the stale HPTE in slot 0, found first; every hash fault
    updates slot 1 and the re-executed store faults on slot 0 again: it never completes."""
    from fuzzplug.kernel.arch import update_mmu_cache

    k = boot(model, SHARED_RW_MIXED, arch="ppc64")
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    ptep = model.get_locked_pte(k.mm, A0)
    set_pte_at(k.mm, A0, ptep, maybe_mkwrite(pte_mkdirty(pte_at(k, A0)), k.vma))
    update_mmu_cache(k.vma, A0, ptep)
    user_fault(k, model, A0, write=True)
    return k


@case()
def hash_group_full_of_stale_hptes(model):
    """ppc64 hash, hand-made: eight rounds of orphan_hpte fill the page's group with HPTEs
    (one tracked); the ninth orphans that one too, and its preload finds the group full:
    hpte_remove() evicts an entry before the insert."""
    k = boot(model, SHARED_RW_MIXED, arch="ppc64")
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    for _ in range(7):
        orphan_hpte(k, model, A0)
    _begin(k, "orphan_hpte", addr=A0)
    orphan_hpte(k, model, A0)
    _end(k, "orphan_hpte", None)
    return k

"""Cases of v4.14's vm_insert_mixed_mkwrite()."""

from __future__ import annotations

from fuzzplug.kernel.types import PFN_DEV

from .registry import case
from .scene import (
    A0,
    A1,
    DEV_PFN,
    END,
    MMIO,
    MMIO_PFN,
    PRIVATE_RW_MIXED,
    RAM_PFN,
    SHARED_RO_MIXED,
    SHARED_RW_MIXED,
    ZERO,
    boot,
    call,
    pfn_of,
    user_fault,
)


# --- v4.14: vm_insert_mixed_mkwrite ---

@case("v4.14")
def mkwrite_insert_into_a_shared_writable_mapping(model):
    """vm_insert_mixed_mkwrite() of MMIO into a none PTE of a shared writable VM_MIXEDMAP."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed_mkwrite", A0, MMIO_PFN)
    return k


@case("v4.14")
def mkwrite_insert_into_a_shared_read_only_mapping(model):
    """vm_insert_mixed_mkwrite() of MMIO into a none PTE of a shared VMA without VM_WRITE."""
    k = boot(model, SHARED_RO_MIXED)
    call(k, model, "vm_insert_mixed_mkwrite", A0, MMIO_PFN)
    return k


@case("v4.14")
def mkwrite_insert_of_device_memory(model):
    """vm_insert_mixed_mkwrite() of ZONE_DEVICE memory (DAX's write fault in v4.14)."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed_mkwrite", A0, DEV_PFN)
    return k


def _mkwrite_over_a_read_only_insert(model, **config):
    k = boot(model, SHARED_RW_MIXED, **config)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    call(k, model, "vm_insert_mixed_mkwrite", A0, MMIO_PFN)
    return k


@case("v4.14")
def mkwrite_over_a_read_only_insert(model):
    """vm_insert_mixed() of MMIO, then vm_insert_mixed_mkwrite() of the same pfn (DAX's read
    fault, then its write fault, in v4.14), on x86."""
    return _mkwrite_over_a_read_only_insert(model)


@case("v4.14")
def mkwrite_over_a_read_only_insert_on_ppc64_with_debug_vm(model):
    """The same on ppc64 with CONFIG_DEBUG_VM."""
    return _mkwrite_over_a_read_only_insert(model, arch="ppc64", DEBUG_VM=1)


@case("v4.14")
def mkwrite_over_a_read_only_insert_on_arm64_with_debug_vm(model):
    """The same on arm64 with CONFIG_DEBUG_VM."""
    return _mkwrite_over_a_read_only_insert(model, arch="arm64", DEBUG_VM=1)


@case("v4.14")
def mkwrite_over_a_read_only_insert_on_ppc64_radix_with_debug_vm(model):
    """The same on ppc64 with the radix MMU and CONFIG_DEBUG_VM."""
    return _mkwrite_over_a_read_only_insert(model, arch="ppc64_radix", DEBUG_VM=1)


@case("v4.14")
def mkwrite_twice_over_a_read_only_insert(model):
    """vm_insert_mixed() of MMIO, then vm_insert_mixed_mkwrite() of the same pfn twice: the
    second finds the entry already young, dirty and writable."""
    k = _mkwrite_over_a_read_only_insert(model)
    call(k, model, "vm_insert_mixed_mkwrite", A0, MMIO_PFN)
    return k


@case("v4.14")
def mkwrite_over_the_zero_page_then_over_another_pfn(model):
    """vm_insert_mixed() of the zero page (DAX's read fault on a hole, v4.14), then
    vm_insert_mixed_mkwrite() of a block's pfn there (the write fault that raced with
    write(2)'s block allocation, f2c57d91b0d9's message), then vm_insert_mixed_mkwrite() at
    the next page, over an entry for another (non-zero) pfn."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, pfn_of(ZERO))  # pfn_to_pfn_t(my_zero_pfn())
    call(k, model, "vm_insert_mixed_mkwrite", A0, MMIO_PFN)
    call(k, model, "vm_insert_mixed", A1, MMIO_PFN)
    call(k, model, "vm_insert_mixed_mkwrite", A1, pfn_of(MMIO + 1, PFN_DEV))
    return k


@case("v4.14")
def mkwrite_of_another_pfn_twice(model):
    """vm_insert_mixed() of MMIO, then two vm_insert_mixed_mkwrite() of the next pfn."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    call(k, model, "vm_insert_mixed_mkwrite", A0, pfn_of(MMIO + 1, PFN_DEV))
    call(k, model, "vm_insert_mixed_mkwrite", A0, pfn_of(MMIO + 1, PFN_DEV))
    return k


@case("v4.14")
def mkwrite_over_a_cow_copy(model):
    """The case the code comment names: in a private VM_MIXEDMAP the entry is a writable COW
    copy (a user write after vm_insert_mixed()), then vm_insert_mixed_mkwrite() of the
    original pfn."""
    k = boot(model, PRIVATE_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    user_fault(k, model, A0, write=True)
    call(k, model, "vm_insert_mixed_mkwrite", A0, MMIO_PFN)
    return k


@case("v4.14")
def mkwrite_insert_of_ram_without_pte_special(model):
    """vm_insert_mixed_mkwrite() of a RAM page without pte_special: __vm_insert_mixed()
    takes insert_page(), which has no mkwrite."""
    k = boot(model, SHARED_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed_mkwrite", A0, RAM_PFN)
    return k


@case("v4.14")
def mkwrite_insert_outside_the_vma(model):
    """vm_insert_mixed_mkwrite() at vm_end."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed_mkwrite", END, MMIO_PFN)
    return k

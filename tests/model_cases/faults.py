"""Cases of the user faults: on none PTEs, and writes to present read-only PTEs."""

from __future__ import annotations

from fuzzplug.kernel.state import EventKind
from fuzzplug.kernel.types import PAGE_SIZE, VM_FAULT_NOPAGE

from .registry import case
from .scene import (
    A0,
    A1,
    ANON,
    DEV_PFN,
    END,
    MMIO_PFN,
    PRIVATE_RO_MIXED,
    PRIVATE_RW_MIXED,
    RAM_PFN,
    SHARED_RO_MIXED,
    SHARED_RW_MIXED,
    boot,
    call,
    forced_write,
    fork_cow_page,
    stand_in,
    user_fault,
)


# --- faults on none PTEs ---

@case()
def read_faults(model):
    """Two user reads of a shared VM_MIXEDMAP over device memory (vm_pgoff=DEV): the first
    finds no PTE table, the second (next page) a none PTE; vm_ops->fault inserts the pfn."""
    k = boot(model, SHARED_RW_MIXED)
    user_fault(k, model, A0)
    user_fault(k, model, A1)
    return k


@case()
def write_fault_on_a_none_pte_of_a_shared_mapping(model):
    """A user write to a none PTE of a shared VM_MIXEDMAP."""
    k = boot(model, SHARED_RW_MIXED)
    user_fault(k, model, A0, write=True)
    return k


@case()
def write_fault_on_a_none_pte_of_a_private_mapping(model):
    """A user write to a none PTE of a private VM_MIXEDMAP."""
    k = boot(model, PRIVATE_RW_MIXED)
    user_fault(k, model, A0, write=True)
    return k


def _failing_fault(model, flags, nth, write):
    k = boot(model, flags)
    k.fail_nth_alloc(nth)
    user_fault(k, model, A0, write=write)
    return k


@case()
def read_fault_failing_pud_alloc(model):
    """A user read into an empty page table whose PUD allocation fails."""
    return _failing_fault(model, SHARED_RW_MIXED, 1, False)


@case()
def read_fault_failing_pmd_alloc(model):
    """A user read into an empty page table whose PMD allocation fails."""
    return _failing_fault(model, SHARED_RW_MIXED, 2, False)


@case()
def read_fault_failing_pte_alloc(model):
    """A user read into an empty page table whose PTE-table allocation (the third, made by
    the fault handler's insert) fails."""
    return _failing_fault(model, SHARED_RW_MIXED, 3, False)


@case()
def cow_fault_failing_anon_vma(model):
    """A user write to a none PTE of a private mapping; the third allocation (the
    anon_vma_chain, the first of anon_vma_prepare()'s two) fails."""
    return _failing_fault(model, PRIVATE_RW_MIXED, 3, True)


@case()
def cow_fault_failing_the_anon_vma_itself(model):
    """...the fourth allocation (anon_vma_alloc(), after the anon_vma_chain) fails."""
    return _failing_fault(model, PRIVATE_RW_MIXED, 4, True)


@case()
def cow_fault_failing_cow_page(model):
    """...the fifth allocation (the COW page) fails."""
    return _failing_fault(model, PRIVATE_RW_MIXED, 5, True)


@case()
def fault_insert_refused_without_pte_special(model):
    """Without pte_special, in a private VM_MIXEDMAP with vm_pgoff=ANON-1 (an MMIO pfn): a
    user read maps that pfn, a user write COWs it to the first anonymous page (pfn ANON),
    and a user read of the next page, whose linear pfn is that anonymous page, gets
    insert_page()'s -EINVAL from the fault handler's vm_insert_mixed()."""
    k = boot(model, PRIVATE_RW_MIXED, pgoff=ANON - 1, HAVE_PTE_SPECIAL=0)
    user_fault(k, model, A0)
    user_fault(k, model, A0, write=True)
    user_fault(k, model, A1)
    return k


@case()
def faults_refused_by_the_access_checks(model):
    """User accesses refused before handle_mm_fault(): outside the VMA, a write to a VMA
    without VM_WRITE."""
    k = boot(model, SHARED_RO_MIXED)
    user_fault(k, model, END)
    user_fault(k, model, A0, write=True)
    return k


@case()
def read_fault_on_a_vma_without_access_rights(model):
    """A user read of a VMA with none of VM_READ, VM_WRITE, VM_EXEC."""
    k = boot(model, "VM_SHARED|VM_MIXEDMAP")
    user_fault(k, model, A0)
    return k


# --- write faults on present read-only PTEs ---

@case()
def dax_write_fault(model):
    """v4.13's DAX sequence: vm_insert_mixed() of device memory into a shared writable
    VM_MIXEDMAP with pfn_mkwrite (write-protected prot), then the user write: do_wp_page()
    → wp_pfn_shared() → dax_pfn_mkwrite() → finish_mkwrite_fault() → wp_page_reuse()."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    user_fault(k, model, A0, write=True)
    return k


@case()
def write_fault_on_a_special_entry_with_page_mkwrite_only(model):
    """A shared writable VM_MIXEDMAP whose vm_ops have page_mkwrite but no pfn_mkwrite
    (write-protected prot): vm_insert_mixed() of MMIO, then the user write."""
    k = boot(model, SHARED_RW_MIXED, vm_ops="page_mkwrite")
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    user_fault(k, model, A0, write=True)
    return k


@case()
def write_fault_with_a_pfn_mkwrite_that_only_notifies(model):
    """Stand-in: a driver's pfn_mkwrite that accepts the write and returns 0 (dax_pfn_mkwrite
    never does), so wp_pfn_shared() finishes the fault itself."""

    def notify_only(original, vmf):
        vmf.vma.vm_mm.kernel.event(EventKind.CALLBACK, "pfn_mkwrite", addr=vmf.address)
        return 0

    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    with stand_in(model, "dax_pfn_mkwrite", notify_only):
        user_fault(k, model, A0, write=True)
    return k


@case()
def dax_write_fault_racing_a_zap(model):
    """Stand-in: while dax_pfn_mkwrite() runs with the PTE lock dropped, another thread's
    MADV_DONTNEED zaps the page; then the real dax_pfn_mkwrite() runs."""

    def zapped_meanwhile(original, vmf):
        model.zap_page_range_single(vmf.vma, vmf.address, PAGE_SIZE)
        return original(vmf)

    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    with stand_in(model, "dax_pfn_mkwrite", zapped_meanwhile):
        user_fault(k, model, A0, write=True)
    return k


@case()
def forced_writes_to_a_private_read_only_mapping(model):
    """Two FOLL_FORCE writes (ptrace) to a special MMIO entry of a private VM_MIXEDMAP
    without VM_WRITE: the first COWs it to an anonymous page, mapped read-only but dirty
    (maybe_mkwrite() without VM_WRITE); the second finds that page mapped once."""
    k = boot(model, PRIVATE_RO_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    forced_write(k, model, A0)
    forced_write(k, model, A0)
    return k


@case()
def write_after_fork_to_a_shared_anonymous_page(model):
    """Hand-made fork: a private VM_MIXEDMAP's special MMIO entry is COWed by a user write,
    then fork() shares the anonymous copy with a child (fork_cow_page: get_page,
    page_dup_rmap, write-protect), then the parent writes again."""
    k = boot(model, PRIVATE_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    user_fault(k, model, A0, write=True)
    fork_cow_page(k, A0)
    user_fault(k, model, A0, write=True)
    return k


@case()
def write_fault_on_a_shared_file_page(model):
    """Without pte_special, a shared writable VM_MIXEDMAP with pfn_mkwrite (write-protected
    prot): insert_page() of a RAM page, then the user write."""
    k = boot(model, SHARED_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    user_fault(k, model, A0, write=True)
    return k


@case()
def write_fault_on_a_shared_file_page_with_page_mkwrite(model):
    """The same with page_mkwrite (filemap_page_mkwrite())."""
    k = boot(model, SHARED_RW_MIXED, vm_ops="page_mkwrite", HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    user_fault(k, model, A0, write=True)
    return k


@case()
def write_fault_on_a_truncated_shared_file_page(model):
    """Stand-in: filemap_page_mkwrite() finds the page truncated (page->mapping is no longer
    the inode's) and returns VM_FAULT_NOPAGE without dirtying it, as mm/filemap.c does."""

    def truncated(original, vmf):
        vmf.vma.vm_mm.kernel.event(EventKind.CALLBACK, "page_mkwrite", addr=vmf.address,
                                   pfn=vmf.page.pfn)
        return VM_FAULT_NOPAGE

    k = boot(model, SHARED_RW_MIXED, vm_ops="page_mkwrite", HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    with stand_in(model, "filemap_page_mkwrite", truncated):
        user_fault(k, model, A0, write=True)
    return k


@case()
def write_fault_on_a_shared_file_page_racing_a_zap(model):
    """Stand-in: while page_mkwrite runs with the PTE lock dropped, another thread's
    MADV_DONTNEED zaps the page; then the real filemap_page_mkwrite() runs."""

    def zapped_meanwhile(original, vmf):
        model.zap_page_range_single(vmf.vma, vmf.address, PAGE_SIZE)
        return original(vmf)

    k = boot(model, SHARED_RW_MIXED, vm_ops="page_mkwrite", HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    with stand_in(model, "filemap_page_mkwrite", zapped_meanwhile):
        user_fault(k, model, A0, write=True)
    return k


def _cow_of_a_file_page(model, nth=0):
    k = boot(model, PRIVATE_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    if nth:
        k.fail_nth_alloc(nth)
    user_fault(k, model, A0, write=True)
    return k


@case()
def cow_of_a_file_page_failing_anon_vma(model):
    """Without pte_special, a private VM_MIXEDMAP: insert_page() of a RAM page, then a user
    write whose first allocation (the anon_vma_chain) fails."""
    return _cow_of_a_file_page(model, 1)


@case()
def cow_of_a_file_page_failing_the_anon_vma_itself(model):
    """...whose second allocation (the anon_vma) fails: the chain allocated first is freed."""
    return _cow_of_a_file_page(model, 2)


@case()
def cow_of_a_file_page_failing_the_copy(model):
    """...whose third allocation (the new page) fails."""
    return _cow_of_a_file_page(model, 3)


@case()
def cow_of_a_file_page_racing_a_zap(model):
    """Stand-in: while wp_page_copy() allocates the copy with the PTE lock dropped, another
    thread's MADV_DONTNEED zaps the page."""

    def zapped_meanwhile(original, k, vma, address):
        new_page = original(k, vma, address)
        model.zap_page_range_single(vma, address, PAGE_SIZE)
        return new_page

    k = boot(model, PRIVATE_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    with stand_in(model, "alloc_page_vma", zapped_meanwhile):
        user_fault(k, model, A0, write=True)
    return k

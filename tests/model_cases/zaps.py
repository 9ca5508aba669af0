"""Cases of the zap (zap_page_range_single()) and of vm_normal_page() on hand-made entries."""

from __future__ import annotations

from typing import Callable

from fuzzplug.kernel.arch import set_pte_at
from fuzzplug.kernel.mm import (
    inc_mm_counter_fast,
    maybe_mkwrite,
    page_add_new_anon_rmap,
    zap_details,
)
from fuzzplug.kernel.state import EventKind
from fuzzplug.kernel.types import (
    _PAGE_RW,
    PAGE_SIZE,
    VM_FAULT_DONE_COW,
    mm_counter,
    pfn_pte,
    pgprot_t,
    pte_mkdirty,
    pte_mkspecial,
)

from .registry import case
from .scene import (
    A0,
    A1,
    BEYOND,
    END,
    MMIO,
    MMIO_PFN,
    PLAIN_RO,
    PRIVATE_RW_MIXED,
    PRIVATE_RW_PFNMAP,
    PRIVATE_RW_PLAIN,
    RAM,
    RAM_PFN,
    SHARED_RW_MIXED,
    SHARED_RW_PFNMAP,
    ZERO,
    _begin,
    _end,
    boot,
    call,
    install_pte,
    page_at,
    user_fault,
    zap,
)


# --- zap ---

@case()
def mixed_insert_then_zap(model):
    """vm_insert_mixed() of MMIO with pte_special, then the zap of that page."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    zap(k, model, A0)
    return k


@case()
def zap_outside_the_vma(model):
    """zap_page_range_single() of ranges that miss the VMA: at vm_end, and one that ends at
    vm_start."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    zap(k, model, END)
    zap(k, model, A0 - PAGE_SIZE)
    return k


@case()
def zap_of_a_range_that_starts_below_the_vma(model):
    """vm_insert_mixed() at A0 and A1, then a zap of [A0 - PAGE_SIZE, A0 + PAGE_SIZE):
    unmap_single_vma() clamps it to the VMA, so only A0 goes."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    call(k, model, "vm_insert_mixed", A1, MMIO_PFN)
    zap(k, model, A0 - PAGE_SIZE, 2 * PAGE_SIZE)
    return k


@case()
def zap_of_an_empty_vma(model):
    """The zap of a VMA that has no page table."""
    k = boot(model, SHARED_RW_MIXED)
    zap(k, model, A0, END - A0)
    return k


@case()
def dirty_file_page_zap(model):
    """Without pte_special, in a shared writable VM_MIXEDMAP with no mkwrite callbacks (so
    the prot is writable): insert_page() of a RAM page, a user write (the x86 MMU marks the
    writable entry dirty, no fault), a second identical write, then the zap."""
    k = boot(model, SHARED_RW_MIXED, vm_ops="0", HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    user_fault(k, model, A0, write=True)
    user_fault(k, model, A0, write=True)
    zap(k, model, A0)
    return k


@case()
def writes_to_a_kernel_only_writable_entry(model):
    """vm_insert_pfn_prot() of MMIO with a writable prot without _PAGE_USER (a driver bug
    the C does not check) into a shared writable VM_PFNMAP; then two user stores. Each
    faults with PF_PROT|PF_WRITE|PF_USER and access_error() lets it through (VM_WRITE):
    the first marks the entry dirty, the second finds nothing to change."""
    from fuzzplug.kernel.types import _PAGE_ACCESSED, _PAGE_PRESENT, _PAGE_RW

    k = boot(model, SHARED_RW_PFNMAP)
    call(k, model, "vm_insert_pfn_prot", A0, MMIO,
         pgprot_t(_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED))
    user_fault(k, model, A0, write=True)
    user_fault(k, model, A0, write=True)
    return k


class _OtherCpu:
    """A stand-in for the scheduler of `fuzzplug.runtime.sched` (`Kernel.sched`): at the
    first switch point whose label starts with `where`, another CPU runs `then()`."""

    def __init__(self, where: str, then: Callable[[], None]):
        self.where, self.then, self.fired = where, then, False

    def point(self, label: str) -> None:
        if not self.fired and label.startswith(self.where):
            self.fired = True
            self.then()

    def spin_lock(self, name: str, label: str) -> None:
        """The PTE lock's switch point (`Scheduler.spin_lock`): the other CPU may go first."""
        self.point(label)


@case()
def a_zap_races_a_write_fault_between_the_lockless_read_and_the_pte_lock(model):
    """As writes_to_a_kernel_only_writable_entry, one store: between handle_pte_fault()'s
    lockless read of the entry and its taking of the PTE lock, another CPU zaps the page
    (MADV_DONTNEED; played by a stand-in scheduler at the PTE lock's switch point). The
    re-check under the lock sees another entry: the fault returns 0, to be retried."""
    from fuzzplug.kernel.types import _PAGE_ACCESSED, _PAGE_PRESENT

    k = boot(model, SHARED_RW_PFNMAP)
    call(k, model, "vm_insert_pfn_prot", A0, MMIO,
         pgprot_t(_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED))
    k.sched = _OtherCpu("handle_pte_fault",
                        lambda: model.zap_page_range_single(k.vma, A0, PAGE_SIZE))
    try:
        user_fault(k, model, A0, write=True)
    finally:
        k.sched = None
    return k


# --- vm_normal_page: hand-made entries ---

@case()
def zap_of_a_special_entry_outside_pfnmap_and_mixedmap(model):
    """Hand-made: a special MMIO entry installed (get_locked_pte + set_pte_at) in a VMA with
    neither VM_PFNMAP nor VM_MIXEDMAP, where no kernel path puts one; then the zap."""
    k = boot(model, PLAIN_RO)
    install_pte(k, model, A0, pte_mkspecial(pfn_pte(MMIO, k.vma.vm_page_prot)))
    zap(k, model, A0)
    return k


@case()
def write_to_the_zero_page_of_a_private_mapping(model):
    """Hand-made: the zero-page entry do_anonymous_page() installs on a read fault of a
    private mapping (pte_mkspecial(pfn_pte(zero pfn, vm_page_prot)), set_pte_at), then a
    user write to it."""
    k = boot(model, PRIVATE_RW_PLAIN)
    install_pte(k, model, A0, pte_mkspecial(pfn_pte(ZERO, k.vma.vm_page_prot)))
    user_fault(k, model, A0, write=True)
    return k


@case()
def write_to_the_zero_page_without_pte_special(model):
    """The same without pte_special (pte_mkspecial() is the identity there, so the entry is
    plain pfn_pte())."""
    k = boot(model, PRIVATE_RW_PLAIN, HAVE_PTE_SPECIAL=0)
    install_pte(k, model, A0, pfn_pte(ZERO, k.vma.vm_page_prot))
    user_fault(k, model, A0, write=True)
    return k


@case()
def zap_of_a_normal_entry_beyond_the_memmap(model):
    """Hand-made: a non-special entry for a pfn above highest_memmap_pfn (a corrupted page
    table) in a VM_MIXEDMAP with pte_special; then the zap."""
    k = boot(model, SHARED_RW_MIXED)
    install_pte(k, model, A0, pfn_pte(BEYOND, k.vma.vm_page_prot))
    zap(k, model, A0)
    return k


@case()
def cow_of_a_special_entry_then_zap(model):
    """With pte_special, in a private VM_MIXEDMAP: vm_insert_mixed() of MMIO, a user write
    that COWs it to an anonymous page, then the zap of that page."""
    k = boot(model, PRIVATE_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    user_fault(k, model, A0, write=True)
    zap(k, model, A0)
    return k


@case()
def cow_of_a_file_page_then_zap_of_the_file_mapping_only(model):
    """Without pte_special, in a private VM_MIXEDMAP: the RAM page (a page of the file,
    page->mapping set as the page cache sets it) at A0 and A1, a user write COWs A0; then
    the zap that unmap_mapping_range(mapping, ..., even_cows=0) makes (zap_details with
    check_mapping): the COW copy at A0 stays, the file page at A1 goes."""
    k = boot(model, PRIVATE_RW_MIXED, HAVE_PTE_SPECIAL=0)
    mapping = object()  # stands for the file's struct address_space
    page_at(k, RAM).mapping = mapping
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    call(k, model, "vm_insert_mixed", A1, RAM_PFN)
    user_fault(k, model, A0, write=True)
    _begin(k, "zap", addr=A0)
    model.zap_page_range_single(k.vma, A0, 2 * PAGE_SIZE, zap_details(check_mapping=mapping))
    _end(k, "zap", None)
    return k


@case()
def cow_fault_completed_by_the_fault_handler(model):
    """Stand-in: a vm_ops->fault that completes the COW itself, as DAX does
    (dax_iomap_pte_fault → finish_fault() → alloc_set_pte(): the COW page mapped as a new
    anonymous page, dirty and writable) and returns VM_FAULT_DONE_COW; the user write at A0
    of a private VM_MIXEDMAP."""
    k = boot(model, PRIVATE_RW_MIXED)

    def fault_done_cow(vmf):
        k.event(EventKind.CALLBACK, "fault", addr=vmf.address, pgoff=vmf.pgoff)
        pte = model.get_locked_pte(k.mm, vmf.address)
        entry = pfn_pte(vmf.cow_page.pfn, vmf.vma.vm_page_prot)
        entry = maybe_mkwrite(pte_mkdirty(entry), vmf.vma)
        inc_mm_counter_fast(k.mm, mm_counter.MM_ANONPAGES)
        page_add_new_anon_rmap(k, vmf.cow_page, vmf.vma, vmf.address)
        set_pte_at(k.mm, vmf.address, pte, entry)
        return VM_FAULT_DONE_COW

    k.fault_handler = fault_done_cow
    user_fault(k, model, A0, write=True)
    return k


@case()
def pfnmap_inserts_without_pte_special_then_zap(model):
    """Without pte_special, in a shared VM_PFNMAP with vm_pgoff=MMIO: vm_insert_pfn() of the
    linear pfn at A0 (pfn == vm_pgoff + 0) and of a RAM pfn at A1 (not linear), then the
    zap of both."""
    k = boot(model, SHARED_RW_PFNMAP, pgoff=MMIO, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_pfn", A0, MMIO)
    call(k, model, "vm_insert_pfn", A1, RAM)
    zap(k, model, A0, 2 * PAGE_SIZE)
    return k


@case()
def cow_of_a_remapped_pfn_without_pte_special_then_zap(model):
    """Hand-made: remap_pfn_range() of a private (COW) VM_PFNMAP with vm_pgoff=MMIO installs
    the linear entry (pfn_pte(MMIO, prot); pte_mkspecial() is the identity without
    pte_special); a user write COWs it, then the zap of the anonymous copy."""
    k = boot(model, PRIVATE_RW_PFNMAP, pgoff=MMIO, HAVE_PTE_SPECIAL=0)
    install_pte(k, model, A0, pfn_pte(MMIO, k.vma.vm_page_prot))
    user_fault(k, model, A0, write=True)
    zap(k, model, A0)
    return k

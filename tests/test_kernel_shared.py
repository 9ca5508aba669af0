"""The shared mm models' extension points that the dax_fault models plug into.

Each test boots the insert_pfn scene (the one-VMA kernel of `tests/model_cases/`) and uses
one extension point the way `fuzzplug.kernel.dax_v4_13`/`dax_v4_14` do: vm_ops callbacks
set on the Kernel, a second VMA in `mm.mmap` found by `find_vma`, the `details` of a zap
(unmap_mapping_range's even_cows=0), a fault handler that completes a COW itself
(VM_FAULT_DONE_COW), and the data a COW copies when the run models data.
"""

from __future__ import annotations

import pytest

import model_cases as mc
from fuzzplug.kernel import v4_13, v4_14
from fuzzplug.kernel.mm import do_user_fault, find_vma, vma_page_prot
from fuzzplug.runtime.physmem import PhysMemory
from fuzzplug.kernel.state import EventKind, VmOps, vm_area_struct
from fuzzplug.kernel.types import (
    FAULT_FLAG_USER,
    FAULT_FLAG_WRITE,
    PAGE_SIZE,
    PFN_DEV,
    PFN_MAP,
    VM_FAULT_NOPAGE,
    VM_FAULT_SIGSEGV,
    VM_MAYREAD,
    VM_MAYWRITE,
    VM_MIXEDMAP,
    VM_READ,
    VM_SHARED,
    VM_WRITE,
)

BOTH = pytest.mark.parametrize("model", [v4_13, v4_14], ids=["v4.13", "v4.14"])


def _second_vma(k, start: int, end: int) -> vm_area_struct:
    flags = VM_READ | VM_WRITE | VM_SHARED | VM_MAYREAD | VM_MAYWRITE | VM_MIXEDMAP
    vma = vm_area_struct(start, end, flags, vma_page_prot(flags, True), mc.DEV,
                         VmOps.pfn_mkwrite, k.mm)
    k.mm.mmap.append(vma)
    return vma


@BOTH
def test_a_kernel_boots_with_its_one_vma_in_the_mm_list(model):
    """Kernel() puts `vma` in mm.mmap; find_vma finds it for its addresses only."""
    k = mc.boot(model, mc.SHARED_RW_MIXED)
    assert k.mm.mmap == [k.vma]
    assert find_vma(k.mm, mc.A0) is k.vma
    assert find_vma(k.mm, mc.A0 - 1) is k.vma  # find_vma: the first VMA ending above
    assert find_vma(k.mm, mc.END) is None


@BOTH
def test_a_user_access_faults_in_the_vma_that_covers_its_address(model):
    """With two VMAs, do_user_fault serves each address through its own VMA (here the
    second VMA's page is mapped at the second VMA's pgoff), and a gap between them is
    SIGSEGV (bad_area)."""
    k = mc.boot(model, mc.SHARED_RW_MIXED)
    second = _second_vma(k, mc.END + PAGE_SIZE, mc.END + 2 * PAGE_SIZE)
    ret = do_user_fault(k, second.vm_start, FAULT_FLAG_USER, model.handle_mm_fault)
    assert ret == VM_FAULT_NOPAGE
    assert mc.pte_at(k, second.vm_start).val != 0
    assert mc.pte_at(k, mc.A0).val == 0
    assert do_user_fault(k, mc.END, FAULT_FLAG_USER, model.handle_mm_fault) == VM_FAULT_SIGSEGV
    assert k.branches[-1] == "do_user_fault:bad_area"
    assert k._check_invariants() == []


@BOTH
def test_the_kernel_pfn_mkwrite_handler_replaces_the_stand_in(model):
    """wp_pfn_shared() calls Kernel.pfn_mkwrite_handler when set; its VM_FAULT_NOPAGE ends
    the fault and the entry stays read-only."""
    k = mc.boot(model, mc.SHARED_RW_MIXED)
    mc.call(k, model, "vm_insert_mixed", mc.A0, mc.pfn_of(mc.DEV, PFN_DEV, PFN_MAP))
    seen = []

    def pfn_mkwrite(vmf):
        seen.append(vmf.address)
        return VM_FAULT_NOPAGE

    k.pfn_mkwrite_handler = pfn_mkwrite
    ret = do_user_fault(k, mc.A0, FAULT_FLAG_USER | FAULT_FLAG_WRITE, model.handle_mm_fault)
    assert ret == VM_FAULT_NOPAGE and seen == [mc.A0]
    assert not mc.pte_at(k, mc.A0).val & 0x2  # not made writable
    assert not [e for e in k.events if e.function == "dax_pfn_mkwrite"]


@BOTH
def test_the_kernel_page_mkwrite_handler_replaces_the_stand_in(model):
    """do_page_mkwrite() calls Kernel.page_mkwrite_handler with FAULT_FLAG_WRITE|MKWRITE;
    its VM_FAULT_NOPAGE ends wp_page_shared() (the page reference it took is dropped)."""
    k = mc.boot(model, mc.SHARED_RW_MIXED, vm_ops="page_mkwrite", HAVE_PTE_SPECIAL=0)
    mc.call(k, model, "vm_insert_mixed", mc.A0, mc.pfn_of(mc.RAM))
    flags_seen = []

    def page_mkwrite(vmf):
        flags_seen.append(vmf.flags)
        return VM_FAULT_NOPAGE

    k.page_mkwrite_handler = page_mkwrite
    ret = do_user_fault(k, mc.A0, FAULT_FLAG_USER | FAULT_FLAG_WRITE, model.handle_mm_fault)
    assert ret == VM_FAULT_NOPAGE
    assert flags_seen == [FAULT_FLAG_WRITE | 0x02]  # FAULT_FLAG_WRITE|FAULT_FLAG_MKWRITE
    assert "wp_page_shared:page_mkwrite:failed" in k.branches
    assert mc.page_at(k, mc.RAM)._refcount == 2  # the owner's and the PTE's
    assert not [e for e in k.events if e.kind is EventKind.CALLBACK
                and e.function == "page_mkwrite"]


@BOTH
def test_a_cow_copies_the_data_of_the_old_page_when_the_run_models_data(model):
    """With Kernel.memory, wp_page_copy() gives the new anonymous page the old page's token
    (cow_user_page); without it (insert_pfn) nothing is recorded."""
    k = mc.boot(model, mc.PRIVATE_RW_MIXED)
    k.memory = PhysMemory(k.memmap)
    k.memory.store(mc.MMIO, 7)
    mc.call(k, model, "vm_insert_mixed", mc.A0, mc.MMIO_PFN)
    do_user_fault(k, mc.A0, FAULT_FLAG_USER | FAULT_FLAG_WRITE, model.handle_mm_fault)
    assert "wp_page_copy:alloc_copy" in k.branches
    assert k.memory.load(mc.ANON) == 7


@BOTH
def test_a_cow_of_the_zero_page_gives_a_zeroed_page_even_over_a_stale_token(model):
    """The zero page's COW copy is allocated zeroed (clear_user_highpage), whatever the pool
    page held before."""
    k = mc.boot(model, mc.PRIVATE_RW_MIXED)
    k.memory = PhysMemory(k.memmap)
    k.memory.store(mc.ANON, 9)  # stale data in the page the allocator will hand out
    mc.call(k, model, "vm_insert_mixed", mc.A0, mc.pfn_of(mc.ZERO))
    do_user_fault(k, mc.A0, FAULT_FLAG_USER | FAULT_FLAG_WRITE, model.handle_mm_fault)
    assert "wp_page_copy:alloc_zeroed" in k.branches
    assert k.memory.load(mc.ANON) == 0

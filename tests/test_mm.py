"""The shared mm helpers (`fuzzplug.kernel.mm`) the patch does not touch.

Expected behaviour, from Linux v4.13.9:
- put_page() -> put_page_testzero(): VM_BUG_ON_PAGE(page_ref_count(page) == 0) under
  CONFIG_DEBUG_VM (include/linux/mm.h); without it the count goes below zero.
- vm_get_page_prot() (mm/mmap.c) over each architecture's protection_map: x86-64's
  (asm/pgtable_types.h) _EXEC variants lack _PAGE_NX; arm64's (asm/pgtable-prot.h) VM_EXEC
  alone is PAGE_EXECONLY, which has no PTE_USER.
- __anon_vma_prepare() (mm/rmap.c): anon_vma_chain_alloc(), then anon_vma_alloc(); either can
  fail (-ENOMEM) and a failure leaves the VMA without anon_vma.
- free_swap_and_cache() (mm/swapfile.c): 1 for a non_swap_entry(), else 0 when no swap area
  has the type.
"""

from __future__ import annotations

import pytest

import model_cases as mc
from fuzzplug.kernel import mm, v4_13
from fuzzplug.kernel.state import Arch, EventKind, Oops, PageKind, page
from fuzzplug.kernel.types import (
    _PAGE_NX,
    _PAGE_USER,
    ENOMEM,
    PAGE_COPY,
    PAGE_COPY_EXEC,
    PAGE_EXECONLY,
    PAGE_NONE,
    PAGE_READONLY,
    PAGE_READONLY_EXEC,
    PAGE_SHARED,
    PAGE_SHARED_EXEC,
    SWP_HWPOISON,
    SWP_MIGRATION_READ,
    VM_EXEC,
    VM_READ,
    VM_SHARED,
    VM_WRITE,
    pte_present,
    pte_protnone,
    swp_entry,
)


def kernel(**config):
    return mc.boot(v4_13, mc.SHARED_RW_MIXED, **config)


# --- put_page ---

def test_put_page_of_a_page_with_no_reference_is_a_vm_bug_on_with_debug_vm():
    """put_page_testzero(): VM_BUG_ON_PAGE(page_ref_count(page) == 0): a BUG, the count is
    left alone."""
    k = kernel(DEBUG_VM=1)
    p = page(mc.RAM, PageKind.RAM, _refcount=0)
    with pytest.raises(Oops):
        mm.put_page(k, p)
    assert [(e.kind, e.function, e.get("condition")) for e in k.events] == [
        (EventKind.BUG, "put_page", "page_ref_count(page) == 0")]
    assert p._refcount == 0


def test_put_page_of_a_page_with_no_reference_goes_negative_without_debug_vm():
    """Without DEBUG_VM the check compiles away: the count becomes -1 and nothing is freed."""
    k = kernel(DEBUG_VM=0)
    p = page(mc.RAM, PageKind.RAM, _refcount=0)
    mm.put_page(k, p)
    assert p._refcount == -1
    assert [e.kind for e in k.events] == [EventKind.REF]


# --- vm_get_page_prot ---

@pytest.mark.parametrize("flags, prot", [
    (0, PAGE_NONE),
    (VM_READ, PAGE_READONLY),
    (VM_READ | VM_WRITE, PAGE_COPY),
    (VM_READ | VM_WRITE | VM_SHARED, PAGE_SHARED),
    (VM_EXEC, PAGE_READONLY_EXEC),
    (VM_READ | VM_EXEC, PAGE_READONLY_EXEC),
    (VM_READ | VM_WRITE | VM_EXEC, PAGE_COPY_EXEC),
    (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED, PAGE_SHARED_EXEC),
    (VM_EXEC | VM_SHARED, PAGE_READONLY_EXEC),
], ids=["none", "r", "rw_private", "rw_shared", "x", "rx", "rwx_private", "rwx_shared",
        "x_shared"])
def test_vm_get_page_prot_follows_x86s_protection_map_and_vm_exec_clears_nx(flags, prot):
    """__P000..__S111: VM_EXEC picks the _EXEC protection, the same without _PAGE_NX."""
    assert mm.vm_get_page_prot(flags) == prot
    assert bool(prot.val & _PAGE_NX) is (not flags & VM_EXEC and prot != PAGE_NONE)


def test_arm64_maps_an_exec_only_vma_without_pte_user():
    """arm64's __P100/__S100 are PAGE_EXECONLY: executable, not readable from EL0; every
    other combination reads as x86's in the model's layout."""
    assert mm.vm_get_page_prot(VM_EXEC, Arch.arm64) == PAGE_EXECONLY
    assert mm.vm_get_page_prot(VM_EXEC | VM_SHARED, Arch.arm64) == PAGE_EXECONLY
    assert not PAGE_EXECONLY.val & _PAGE_USER
    assert mm.vm_get_page_prot(VM_READ | VM_EXEC, Arch.arm64) == PAGE_READONLY_EXEC


def test_a_vma_without_read_write_or_exec_gets_page_none_entries():
    """PAGE_NONE (x86: _PAGE_PROTNONE | _PAGE_ACCESSED, present to pte_present()) is the
    prot of such a VMA, and vm_insert_pfn() maps with it: PROTNONE entries exist."""
    k = mc.boot(v4_13, "VM_SHARED|VM_PFNMAP")
    assert k.vma.vm_page_prot == PAGE_NONE
    assert v4_13.vm_insert_pfn(k.vma, mc.A0, mc.MMIO) == 0
    assert pte_protnone(mc.pte_at(k, mc.A0)) and pte_present(mc.pte_at(k, mc.A0))


# --- anon_vma_prepare ---

@pytest.mark.parametrize("nth, events", [
    (1, [("alloc_fail", "anon_vma_chain_alloc")]),
    (2, [("alloc", "anon_vma_chain_alloc"), ("alloc_fail", "anon_vma_alloc")]),
    (0, [("alloc", "anon_vma_chain_alloc"), ("alloc", "anon_vma_alloc")]),
], ids=["chain_fails", "anon_vma_fails", "both_succeed"])
def test_anon_vma_prepare_makes_two_allocations_either_of_which_can_fail(nth, events):
    """__anon_vma_prepare(): the anon_vma_chain first, then the anon_vma; -ENOMEM if either
    fails, 0 and vma->anon_vma set if both succeed; once set, nothing is allocated again."""
    k = kernel()
    k.fail_nth_alloc(nth)
    ret = mm.anon_vma_prepare(k, k.vma)
    assert ret == (0 if nth == 0 else -ENOMEM)
    assert [(e.kind.value, e.function) for e in k.events] == events
    assert k.vma.anon_vma is (nth == 0)
    if nth == 0:
        assert mm.anon_vma_prepare(k, k.vma) == 0 and len(k.events) == 2


# --- swap entries with no swap area ---

def test_free_swap_and_cache_succeeds_only_for_entries_that_are_no_swap_entries():
    """A non_swap_entry() (hwpoison, migration): 1, nothing reported; a swap type no swap
    area has: 0 (zap_pte_range() then prints a bad PTE)."""
    k = kernel()
    assert mm.free_swap_and_cache(k, swp_entry(SWP_HWPOISON, 0x10)) == 1
    assert mm.free_swap_and_cache(k, swp_entry(SWP_MIGRATION_READ, 0x10)) == 1
    assert mm.free_swap_and_cache(k, swp_entry(1, 0x10)) == 0
    assert k.events == []

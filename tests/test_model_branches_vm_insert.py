"""The branches of vm_insert_pfn_prot(), vm_insert_mixed() and insert_page(), a test each."""

from __future__ import annotations

import pytest

import model_cases as mc
from fuzzplug.kernel.state import EventKind
from fuzzplug.kernel.types import (
    _PAGE_PCD,
    _PAGE_PRESENT,
    _PAGE_SPECIAL,
    _PAGE_USER,
    EBUSY,
    EFAULT,
    EINVAL,
    ENOMEM,
    pte_t,
)
from model_branch_helpers import (
    A0,
    A1,
    ALLOC3,
    ANON,
    BOTH,
    DEV,
    MMIO,
    RAM,
    RO,
    SET_AND_UPDATE,
    counters,
    covers,
    details,
    entry,
    page_state,
    trace,
)


# --- vm_insert_pfn_prot ---

@covers("vm_insert_pfn_prot:insert")
@BOTH
def test_a_pfn_insert_into_a_shared_pfnmap_maps_the_pfn_as_a_special_pfn_dev_entry(model):
    """vm_insert_pfn() = vm_insert_pfn_prot(vm_page_prot): the pfn goes in as PFN_DEV (never
    devmap), special; on ppc64 track_pfn_insert() leaves the prot alone."""
    k = mc.pfn_insert_of_mmio_on_ppc64(model)
    c = mc.last_call(k)
    assert c.ret == 0
    assert mc.pte_at(k, A0) == entry(MMIO, RO | _PAGE_SPECIAL)
    assert trace(c.events) == ALLOC3 + SET_AND_UPDATE
    assert c.branches[0] == "vm_insert_pfn_prot:insert"


@BOTH
def test_a_pfn_insert_of_mmio_on_x86_with_pat_gets_the_uncached_minus_cache_mode(model):
    """track_pfn_insert(): lookup_memtype() finds no reservation for MMIO, UC- (PCD)."""
    k = mc.pfn_insert_of_mmio_with_pat(model)
    assert mc.last_call(k).ret == 0
    assert mc.pte_at(k, A0) == entry(MMIO, RO | _PAGE_PCD | _PAGE_SPECIAL)


@BOTH
def test_pat_replaces_the_cache_bits_of_an_explicit_prot(model):
    """vm_insert_pfn_prot(PWT prot) with PAT: the prot's cache bits are masked off and the
    memtype's (UC- = PCD) put in."""
    k = mc.pfn_insert_with_explicit_write_through_prot_with_pat(model)
    assert mc.last_call(k).ret == 0
    assert mc.pte_at(k, A0) == entry(MMIO, _PAGE_PRESENT | _PAGE_USER | _PAGE_PCD | _PAGE_SPECIAL)


@covers("vm_insert_pfn_prot:efault")
@BOTH
def test_a_pfn_insert_outside_the_vma_returns_efault_without_touching_the_page_table(model):
    """addr >= vm_end or < vm_start: -EFAULT, before track_pfn_insert and any allocation."""
    k = mc.pfn_insert_outside_the_vma(model)
    for c in mc.calls(k):
        assert c.ret == -EFAULT
        assert c.events == ()
        assert c.branches == ("vm_insert_pfn_prot:efault",)
    assert k.snapshot()["pgtables"] == {"pud": 0, "pmd": 0, "pte": 0}


@pytest.mark.parametrize("case, condition", [
    (mc.pfn_insert_into_a_vma_without_pfnmap_or_mixedmap,
     "!(vma->vm_flags & (VM_PFNMAP|VM_MIXEDMAP))"),
    (mc.pfn_insert_into_a_vma_with_pfnmap_and_mixedmap,
     "(vma->vm_flags & (VM_PFNMAP|VM_MIXEDMAP)) == (VM_PFNMAP|VM_MIXEDMAP)"),
    (mc.pfn_insert_into_a_cow_pfnmap_outside_the_vma,
     "(vma->vm_flags & VM_PFNMAP) && is_cow_mapping(vma->vm_flags)"),
    (mc.pfn_insert_of_a_valid_pfn_into_a_mixedmap,
     "(vma->vm_flags & VM_MIXEDMAP) && pfn_valid(pfn)"),
], ids=["no_pfnmap_no_mixedmap", "both", "cow_pfnmap", "mixedmap_valid_pfn"])
@BOTH
def test_vm_insert_pfn_prot_bugs_on_each_of_its_four_conditions_before_the_range_check(
        model, case, condition):
    """Each BUG_ON of vm_insert_pfn_prot() fires (even at vm_end) and the call ends there."""
    k = case(model)
    c = mc.last_call(k)
    assert c.ret == "BUG"
    assert details(c.events, EventKind.BUG) == [("vm_insert_pfn_prot", {"condition": condition})]
    assert trace(c.events) == [("bug", "vm_insert_pfn_prot")]
    assert k.mm.pgtable == {}


# --- vm_insert_mixed, insert_page ---

@covers("vm_insert_mixed:efault")
@BOTH
def test_a_mixed_insert_outside_the_vma_returns_efault(model):
    """Below vm_start and at vm_end: -EFAULT, nothing allocated."""
    k = mc.mixed_insert_outside_the_vma(model)
    for c in mc.calls(k):
        assert c.ret == -EFAULT
        assert c.events == ()
        assert c.branches == ("vm_insert_mixed:efault",)


@BOTH
def test_a_mixed_insert_into_a_vma_without_mixedmap_bugs(model):
    """BUG_ON(!(vma->vm_flags & VM_MIXEDMAP))."""
    k = mc.mixed_insert_into_a_vma_without_mixedmap(model)
    c = mc.last_call(k)
    assert c.ret == "BUG"
    assert details(c.events, EventKind.BUG) == [
        ("vm_insert_mixed", {"condition": "!(vma->vm_flags & VM_MIXEDMAP)"})]


@covers("vm_insert_mixed:insert_pfn")
@BOTH
def test_without_pte_devmap_a_mixed_insert_of_device_memory_is_a_plain_special_insert_pfn(model):
    """pfn_t_devmap() is always false without __HAVE_ARCH_PTE_DEVMAP; with pte_special the
    pfn goes to insert_pfn() as a special entry, unrefcounted."""
    k = mc.mixed_insert_of_device_memory_without_devmap(model)
    c = mc.last_call(k)
    assert c.ret == 0
    assert c.branches[0] == "vm_insert_mixed:insert_pfn"
    assert mc.pte_at(k, A0) == entry(DEV, RO | _PAGE_SPECIAL)
    assert k.snapshot()["pages"] == {}


@covers("vm_insert_mixed:insert_page")
@BOTH
def test_without_pte_special_a_mixed_insert_of_a_valid_pfn_is_refcounted_through_insert_page(model):  # noqa: E501
    """!HAVE_PTE_SPECIAL && !pfn_t_devmap && pfn_t_valid: insert_page() with vm_page_prot,
    a normal (not special) entry."""
    k = mc.mixed_insert_of_ram_without_pte_special(model)
    c = mc.last_call(k)
    assert c.ret == 0
    assert c.branches[0] == "vm_insert_mixed:insert_page"
    assert mc.pte_at(k, A0) == entry(RAM, RO)
    assert page_state(k, RAM) == (2, 1)


@covers("insert_page:insert")
@BOTH
def test_insert_page_takes_a_reference_counts_a_file_page_adds_the_rmap_and_skips_update_mmu_cache(model):  # noqa: E501
    """get_page, inc_mm_counter_fast(MM_FILEPAGES), page_add_file_rmap, set_pte_at(mk_pte),
    and no update_mmu_cache() (the C's "XXX: why not for insert_page?")."""
    k = mc.mixed_insert_of_ram_without_pte_special(model)
    c = mc.last_call(k)
    assert trace(c.events) == ALLOC3 + [("ref", "get_page"), ("counter", "inc_mm_counter"),
                                         ("rmap", "page_add_file_rmap"),
                                         ("arch", "set_pte_at")]
    assert details(c.events, EventKind.REF) == [("get_page", {"pfn": RAM, "refcount": 2})]
    assert details(c.events, EventKind.COUNTER) == [
        ("inc_mm_counter", {"counter": "MM_FILEPAGES", "value": 1})]
    assert details(c.events, EventKind.RMAP) == [
        ("page_add_file_rmap", {"pfn": RAM, "mapcount": 1})]
    assert counters(k) == {"MM_FILEPAGES": 1, "MM_ANONPAGES": 0, "MM_SHMEMPAGES": 0, "MM_SWAPENTS": 0}
    assert "insert_page:insert" in c.branches


@covers("insert_page:busy")
@BOTH
def test_insert_page_over_a_present_pte_returns_ebusy_without_a_second_reference(model):
    """-EBUSY; refcount, mapcount and MM_FILEPAGES stay as the first insert left them."""
    k = mc.mixed_insert_of_ram_twice_without_pte_special(model)
    c = mc.last_call(k)
    assert c.ret == -EBUSY
    assert c.events == ()
    assert "insert_page:busy" in c.branches
    assert page_state(k, RAM) == (2, 1)
    assert counters(k)["MM_FILEPAGES"] == 1


@covers("insert_page:no_pte")
@BOTH
def test_insert_page_without_a_pte_returns_enomem_and_takes_no_reference(model):
    """get_locked_pte() fails (PUD): -ENOMEM before get_page()."""
    k = mc.mixed_insert_of_ram_without_pte_special_failing_pud_alloc(model)
    c = mc.last_call(k)
    assert c.ret == -ENOMEM
    assert trace(c.events) == [("alloc_fail", "pud_alloc")]
    assert "insert_page:no_pte" in c.branches
    assert page_state(k, RAM) == (1, 0)
    assert counters(k)["MM_FILEPAGES"] == 0


@covers("insert_page:anon")
@BOTH
def test_insert_page_refuses_an_anonymous_page_with_einval(model):
    """PageAnon(page): -EINVAL before the page table is even walked."""
    k = mc.mixed_insert_of_a_cow_copy_without_pte_special(model)
    c = mc.last_call(k)
    assert c.ret == -EINVAL
    assert c.events == ()
    assert c.branches == ("vm_insert_mixed:insert_page", "insert_page:anon")
    assert mc.pte_at(k, A1) == pte_t(0)
    assert page_state(k, ANON) == (1, 1)

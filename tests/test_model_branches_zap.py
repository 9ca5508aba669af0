"""The branches of vm_normal_page() and of the zap (zap_page_range_single(), zap_pte_range())."""

from __future__ import annotations

import model_cases as mc
from fuzzplug.kernel.state import EventKind
from fuzzplug.kernel.types import (
    mm_counter,
    _PAGE_DEVMAP,
    _PAGE_SPECIAL,
    _PAGE_USER,
    pte_pfn,
    pte_t,
)
from model_branch_helpers import (
    A0,
    A1,
    ANON,
    BEYOND,
    BOTH,
    DEV,
    MMIO,
    RAM,
    RO,
    counters,
    covers,
    details,
    entry,
    in_a_row,
    observable,
    page_state,
    trace,
)


# --- vm_normal_page ---

@covers("vm_normal_page:special_arch:special_pfnmap_mixedmap")
@BOTH
def test_a_special_pte_of_a_mixedmap_has_no_normal_page_so_its_zap_does_no_page_bookkeeping(model):  # noqa: E501
    """pte_special in a VM_PFNMAP|VM_MIXEDMAP VMA: NULL; the zap only clears the entry."""
    k = mc.mixed_insert_then_zap(model)
    c = mc.last_call(k)
    assert "vm_normal_page:special_arch:special_pfnmap_mixedmap" in c.branches
    assert not [e for e in c.events
                if e.kind in (EventKind.REF, EventKind.RMAP, EventKind.COUNTER, EventKind.BAD_PTE)]


@covers("vm_normal_page:special_arch:bad_special")
@BOTH
def test_a_special_pte_outside_pfnmap_and_mixedmap_that_is_not_the_zero_page_is_a_bad_pte(model):
    """print_bad_pte(vma, addr, pte, NULL) taints; the zap still clears the entry."""
    k = mc.zap_of_a_special_entry_outside_pfnmap_and_mixedmap(model)
    c = mc.last_call(k)
    bad = entry(MMIO, RO | _PAGE_SPECIAL)
    assert details(c.events, EventKind.BAD_PTE) == [
        ("print_bad_pte", {"addr": A0, "pte": bad.val, "pfn": None})]
    assert "vm_normal_page:special_arch:bad_special" in c.branches
    assert k.tainted
    assert mc.pte_at(k, A0) == pte_t(0)


@covers("vm_normal_page:special_arch:zero_pfn")
@BOTH
def test_the_special_zero_page_pte_is_not_a_normal_page_and_not_a_bad_one(model):
    """is_zero_pfn: NULL without print_bad_pte; a write then copies into a zeroed page."""
    k = mc.write_to_the_zero_page_of_a_private_mapping(model)
    c = mc.last_call(k)
    assert "vm_normal_page:special_arch:zero_pfn" in c.branches
    assert observable(c.events) == []
    assert not k.tainted


@covers("vm_normal_page:special_arch:not_special")
@BOTH
def test_with_pte_special_a_non_special_pte_is_checked_against_the_memmap(model):
    """!pte_special goes to check_pfn: the COW copy's anonymous page is found and unmapped."""
    k = mc.cow_of_a_special_entry_then_zap(model)
    c = mc.last_call(k)
    assert in_a_row(c.branches, "vm_normal_page:special_arch:not_special",
                    "vm_normal_page:check_pfn:normal")


@covers("vm_normal_page:check_pfn:normal")
@BOTH
def test_a_normal_anonymous_page_is_unmapped_with_its_counter_rmap_and_reference(model):
    """The zap of the COW copy: MM_ANONPAGES, mapcount and refcount back to 0; PageAnon
    pages skip the dirty/accessed propagation."""
    k = mc.cow_of_a_special_entry_then_zap(model)
    c = mc.last_call(k)
    assert "vm_normal_page:check_pfn:normal" in c.branches
    assert trace(c.events) == [("arch", "ptep_get_and_clear_full"),
                               ("counter", "dec_mm_counter"), ("rmap", "page_remove_rmap"),
                               ("ref", "put_page")]
    assert counters(k)["MM_ANONPAGES"] == 0
    assert page_state(k, ANON) == (0, 0)
    assert k._check_invariants() == []


@covers("vm_normal_page:check_pfn:bad")
@BOTH
def test_a_non_special_pte_beyond_highest_memmap_pfn_is_a_bad_pte(model):
    """pfn > highest_memmap_pfn: print_bad_pte(..., NULL), no page; the entry is cleared."""
    k = mc.zap_of_a_normal_entry_beyond_the_memmap(model)
    c = mc.last_call(k)
    assert details(c.events, EventKind.BAD_PTE) == [
        ("print_bad_pte", {"addr": A0, "pte": entry(BEYOND, RO).val, "pfn": None})]
    assert "vm_normal_page:check_pfn:bad" in c.branches
    assert mc.pte_at(k, A0) == pte_t(0)
    assert counters(k) == {"MM_FILEPAGES": 0, "MM_ANONPAGES": 0, "MM_SHMEMPAGES": 0, "MM_SWAPENTS": 0}


@covers("vm_normal_page:mixedmap:pfn_invalid")
@BOTH
def test_without_pte_special_a_mixedmap_pte_without_struct_page_has_no_normal_page(model):
    """VM_MIXEDMAP && !pfn_valid: NULL; the zap clears the entry and nothing else."""
    k = mc.mixed_insert_of_mmio_without_pte_special_then_zap(model)
    c = mc.last_call(k)
    assert "vm_normal_page:mixedmap:pfn_invalid" in c.branches
    assert trace(c.events) == [("arch", "ptep_get_and_clear_full")]
    assert mc.pte_at(k, A0) == pte_t(0)


@covers("vm_normal_page:mixedmap:pfn_valid")
@BOTH
def test_without_pte_special_a_mixedmap_pte_with_struct_page_is_a_normal_page(model):
    """VM_MIXEDMAP && pfn_valid: the page, whose insert_page() reference the zap returns."""
    k = mc.mixed_insert_of_ram_without_pte_special_then_zap(model)
    c = mc.last_call(k)
    assert "vm_normal_page:mixedmap:pfn_valid" in c.branches
    assert page_state(k, RAM) == (1, 0)
    assert counters(k)["MM_FILEPAGES"] == 0


@covers("vm_normal_page:pfnmap:linear")
@BOTH
def test_without_pte_special_a_linear_pfnmap_pte_is_special(model):
    """pfn == vm_pgoff + (addr - vm_start) >> PAGE_SHIFT: remap_pfn_range's rule, NULL."""
    k = mc.pfnmap_inserts_without_pte_special_then_zap(model)
    c = mc.last_call(k)
    assert in_a_row(c.branches, "vm_normal_page:pfnmap:linear", "zap_pte_range:present:no_page")
    assert mc.pte_at(k, A0) == pte_t(0)


@covers("vm_normal_page:pfnmap:not_cow")
@BOTH
def test_without_pte_special_a_non_linear_pte_of_a_shared_pfnmap_is_special_even_over_ram(model):
    """Not linear, not a COW mapping: NULL; the RAM page it maps is never touched."""
    k = mc.pfnmap_inserts_without_pte_special_then_zap(model)
    c = mc.last_call(k)
    assert "vm_normal_page:pfnmap:not_cow" in c.branches
    assert mc.page_at(k, RAM).pristine()
    assert k.mm.pgtable == {}
    assert not [e for e in c.events if e.kind in (EventKind.REF, EventKind.RMAP)]


@covers("vm_normal_page:pfnmap:cowed")
@BOTH
def test_without_pte_special_a_cowed_page_of_a_private_pfnmap_is_normal(model):
    """Not linear in a COW mapping: "COWed pages of a VM_PFNMAP are always normal"; the
    anonymous copy is unmapped with its counter, rmap and reference."""
    k = mc.cow_of_a_remapped_pfn_without_pte_special_then_zap(model)
    c = mc.last_call(k)
    assert in_a_row(c.branches, "vm_normal_page:pfnmap:cowed", "vm_normal_page:check_pfn:normal")
    assert counters(k)["MM_ANONPAGES"] == 0
    assert page_state(k, ANON) == (0, 0)


@covers("vm_normal_page:zero_pfn")
@BOTH
def test_without_pte_special_the_zero_page_outside_pfnmap_and_mixedmap_is_not_normal(model):
    """is_zero_pfn: NULL (no bad PTE); the write copies into a zeroed page."""
    k = mc.write_to_the_zero_page_without_pte_special(model)
    c = mc.last_call(k)
    assert "vm_normal_page:zero_pfn" in c.branches
    assert "wp_page_copy:alloc_zeroed" in c.branches
    assert observable(c.events) == []


# --- zap ---

@covers("zap_page_range_single:outside")
@BOTH
def test_a_zap_that_misses_the_vma_does_nothing(model):
    """unmap_single_vma(): start >= vm_end, or end <= vm_start: return."""
    k = mc.zap_outside_the_vma(model)
    for c in mc.calls(k)[1:]:
        assert c.branches == ("zap_page_range_single:outside",)
        assert c.events == ()
    assert mc.pte_at(k, A0) == entry(MMIO, RO | _PAGE_SPECIAL)


@covers("zap_page_range_single:zap")
@BOTH
def test_a_zap_that_starts_below_the_vma_is_clamped_to_it(model):
    """[A0 - PAGE_SIZE, A0 + PAGE_SIZE) becomes [A0, A0 + PAGE_SIZE): A0 goes, A1 stays."""
    k = mc.zap_of_a_range_that_starts_below_the_vma(model)
    c = mc.last_call(k)
    assert c.branches[0] == "zap_page_range_single:zap"
    assert details(c.events, EventKind.ARCH) == [
        ("ptep_get_and_clear_full",
         {"addr": A0, "old": entry(MMIO, RO | _PAGE_SPECIAL).val, "new": 0})]
    assert mc.pte_at(k, A0) == pte_t(0)
    assert mc.pte_at(k, A1) == entry(MMIO, RO | _PAGE_SPECIAL)


@covers("zap_pte_range:no_pte_table")
@BOTH
def test_a_zap_of_a_range_without_pte_table_skips_it(model):
    """zap_pmd_range's pmd_none_or_clear_bad(): no table, nothing to clear."""
    k = mc.zap_of_an_empty_vma(model)
    c = mc.last_call(k)
    assert c.branches == ("zap_page_range_single:zap", "zap_pte_range:no_pte_table")
    assert c.events == ()
    assert k.snapshot()["pgtables"] == {"pud": 0, "pmd": 0, "pte": 0}


@covers("zap_pte_range:present:no_page")
@BOTH
def test_a_zap_of_a_present_pte_without_page_only_clears_the_entry(model):
    """!page: ptep_get_and_clear_full and continue."""
    k = mc.mixed_insert_then_zap(model)
    c = mc.last_call(k)
    assert "zap_pte_range:present:no_page" in c.branches
    assert trace(c.events) == [("arch", "ptep_get_and_clear_full")]
    assert k.mm.pgtable == {}


@covers("zap_pte_range:present:page")
@BOTH
def test_a_zap_of_a_clean_young_file_page_marks_it_accessed_and_drops_counter_rmap_and_reference(model):  # noqa: E501
    """Clear, mark_page_accessed (young), MM_FILEPAGES--, page_remove_rmap, put_page."""
    k = mc.mixed_insert_of_ram_without_pte_special_then_zap(model)
    c = mc.last_call(k)
    assert "zap_pte_range:present:page" in c.branches
    assert trace(c.events) == [("arch", "ptep_get_and_clear_full"),
                               ("page_flag", "mark_page_accessed"),
                               ("counter", "dec_mm_counter"), ("rmap", "page_remove_rmap"),
                               ("ref", "put_page")]
    assert counters(k)["MM_FILEPAGES"] == 0
    assert page_state(k, RAM) == (1, 0)
    assert k._check_invariants() == []


@covers("zap_pte_range:present:other_mapping")
@BOTH
def test_a_zap_that_checks_the_mapping_keeps_the_private_cow_copy_and_unmaps_the_file_page(model):  # noqa: E501
    """zap_details.check_mapping (unmap_mapping_range with even_cows=0): the anonymous COW
    copy at A0 is not the mapping's page, so its entry stays; the file page at A1 is
    unmapped (counter, rmap, reference)."""
    k = mc.cow_of_a_file_page_then_zap_of_the_file_mapping_only(model)
    c = mc.last_call(k)
    assert c.branches.count("zap_pte_range:present:other_mapping") == 1
    assert pte_pfn(mc.pte_at(k, A0)) == ANON
    assert mc.pte_at(k, A1).val == 0
    assert page_state(k, RAM) == (1, 0)
    assert counters(k)["MM_ANONPAGES"] == 1 and counters(k)["MM_FILEPAGES"] == 0
    assert k._check_invariants() == []


@covers("zap_pte_range:present:page:file_young")
@BOTH
def test_a_zap_of_a_young_file_pte_marks_the_page_accessed_but_not_dirty(model):
    """pte_young → mark_page_accessed; a clean entry does not set_page_dirty."""
    k = mc.mixed_insert_of_ram_without_pte_special_then_zap(model)
    c = mc.last_call(k)
    assert "zap_pte_range:present:page:file_young" in c.branches
    assert "zap_pte_range:present:page:file_dirty" not in c.branches
    p = mc.page_at(k, RAM)
    assert p.referenced and not p.dirty


@covers("zap_pte_range:present:page:file_dirty")
@BOTH
def test_a_zap_of_a_dirty_file_pte_dirties_the_page(model):
    """pte_dirty → set_page_dirty before the accessed bit and the counters."""
    k = mc.dirty_file_page_zap(model)
    c = mc.last_call(k)
    assert "zap_pte_range:present:page:file_dirty" in c.branches
    assert trace(c.events)[:3] == [("arch", "ptep_get_and_clear_full"),
                                   ("page_flag", "set_page_dirty"),
                                   ("page_flag", "mark_page_accessed")]
    p = mc.page_at(k, RAM)
    assert p.dirty and p.referenced
    assert page_state(k, RAM) == (1, 0)


@covers("zap_pte_range:present:page:mapcount_negative")
@BOTH
def test_a_zap_that_drives_a_mapcount_negative_prints_a_bad_pte(model):
    """Devmap without pte_special (no real arch): the unrefcounted devmap entry is taken for
    a VM_MIXEDMAP pfn_valid page; page_mapcount < 0 → print_bad_pte(..., page); the rss
    counter goes negative too and both invariants report it."""
    k = mc.mixed_insert_of_device_memory_without_pte_special_then_zap(model)
    c = mc.last_call(k)
    assert "zap_pte_range:present:page:mapcount_negative" in c.branches
    bad = entry(DEV, RO | _PAGE_DEVMAP)  # set_pte_at drops SPECIAL without pte_special
    assert details(c.events, EventKind.BAD_PTE) == [
        ("print_bad_pte", {"addr": A0, "pte": bad.val, "pfn": DEV})]
    assert page_state(k, DEV) == (0, -1)
    assert counters(k)["MM_FILEPAGES"] == -1
    broken = k._check_invariants()
    assert any("mapcount -1" in b for b in broken)
    assert any("MM_FILEPAGES" in b for b in broken)


@covers("zap_pte_range:not_present")
@covers("zap_pte_range:not_present:swap_entry")
@BOTH
def test_a_zap_of_a_non_present_non_none_pte_prints_a_bad_pte_and_clears_it(model):
    """The entry decodes as a swap entry (x86-64: type 1, SPECIAL) with no swap file:
    MM_SWAPENTS--, free_swap_and_cache() fails (swap_info_get: bad file),
    print_bad_pte(..., NULL), the entry is cleared."""
    k = mc.pfn_insert_with_a_non_present_prot_then_fault_and_zap(model)
    c = mc.last_call(k)
    assert in_a_row(c.branches, "zap_pte_range:not_present", "zap_pte_range:not_present:swap_entry")
    assert details(c.events, EventKind.BAD_PTE) == [
        ("print_bad_pte", {"addr": A0, "pte": entry(MMIO, _PAGE_USER | _PAGE_SPECIAL).val,
                           "pfn": None})]
    assert mc.pte_at(k, A0) == pte_t(0)


@covers("do_swap_page:garbage_swap_entry")
@BOTH
def test_a_fault_on_a_non_present_non_none_pte_oopses_in_the_swap_cache_lookup(model):
    """handle_pte_fault(): !pte_present → do_swap_page(); the bits decode as a swap entry of
    a type with no swap area (not a non_swap_entry), so lookup_swap_cache() dereferences
    NULL: the call ends in an oops; vm_ops->fault is not called. The zap then counts the
    entry off MM_SWAPENTS, reports it as bad (free_swap_and_cache() finds no swap file) and
    clears it."""
    k = mc.pfn_insert_with_a_non_present_prot_then_fault_and_zap(model)
    fault, zapped = mc.calls(k)[1], mc.calls(k)[2]
    assert fault.ret == "BUG"
    assert "do_swap_page:garbage_swap_entry" in fault.branches
    assert [(e.kind, e.function) for e in fault.events if e.kind is EventKind.BUG] == [
        (EventKind.BUG, "lookup_swap_cache")]
    assert not [e for e in fault.events if e.kind is EventKind.CALLBACK]
    assert "zap_pte_range:not_present" in zapped.branches
    assert [e.function for e in zapped.events if e.kind is EventKind.BAD_PTE] == ["print_bad_pte"]
    assert k.mm.rss_stat[mm_counter.MM_SWAPENTS] == -1
    assert not k.mm.pgtable

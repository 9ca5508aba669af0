"""The branches of a write fault on a present read-only PTE: do_wp_page() and below."""

from __future__ import annotations

import model_cases as mc
from fuzzplug.kernel.state import EventKind
from fuzzplug.kernel.types import (
    _PAGE_DEVMAP,
    _PAGE_RW,
    _PAGE_SPECIAL,
    VM_FAULT_NOPAGE,
    VM_FAULT_OOM,
    VM_FAULT_WRITE,
)
from model_branch_helpers import (
    A0,
    ANON,
    BOTH,
    DEV,
    DIRTY,
    MMIO,
    RAM,
    RO,
    ZERO,
    counters,
    covers,
    details,
    entry,
    in_a_row,
    observable,
    page_state,
    trace,
)


@covers("do_wp_page:no_page:shared")
@BOTH
def test_a_write_to_a_special_pte_of_a_shared_writable_mapping_is_not_copied(model):
    """No normal page and VM_WRITE|VM_SHARED: wp_pfn_shared(), not wp_page_copy(); no
    allocation, no anonymous page."""
    k = mc.dax_write_fault(model)
    c = mc.last_call(k)
    assert "do_wp_page:no_page:shared" in c.branches
    assert not [e for e in c.events if e.kind in (EventKind.ALLOC, EventKind.RMAP)]
    assert counters(k)["MM_ANONPAGES"] == 0


@covers("wp_pfn_shared:pfn_mkwrite:done")
@BOTH
def test_the_v4_13_dax_write_fault_makes_the_devmap_pte_young_dirty_and_writable(model):
    """dax_pfn_mkwrite → finish_mkwrite_fault → wp_page_reuse: entry made young, dirty,
    writable; dax_pfn_mkwrite returns VM_FAULT_NOPAGE, which ends wp_pfn_shared()."""
    k = mc.dax_write_fault(model)
    c = mc.last_call(k)
    old = entry(DEV, RO | _PAGE_SPECIAL | _PAGE_DEVMAP)
    new = entry(DEV, RO | _PAGE_SPECIAL | _PAGE_DEVMAP | DIRTY | _PAGE_RW)
    assert c.ret == VM_FAULT_NOPAGE
    assert c.branches[-1] == "wp_pfn_shared:pfn_mkwrite:done"
    assert trace(c.events) == [("callback", "dax_pfn_mkwrite"),
                               ("arch", "ptep_set_access_flags"), ("arch", "update_mmu_cache")]
    assert details(c.events, EventKind.ARCH)[0] == (
        "ptep_set_access_flags", {"addr": A0, "old": old.val, "new": new.val, "changed": 1})
    assert mc.pte_at(k, A0) == new
    assert observable(c.events) == []


@covers("wp_pfn_shared:pfn_mkwrite:finish")
@BOTH
def test_a_pfn_mkwrite_that_returns_0_lets_wp_pfn_shared_finish_the_fault(model):
    """Neither error nor VM_FAULT_NOPAGE: finish_mkwrite_fault(), whose 0 is returned."""
    k = mc.write_fault_with_a_pfn_mkwrite_that_only_notifies(model)
    c = mc.last_call(k)
    assert c.ret == 0
    assert c.branches[-3:] == ("wp_pfn_shared:pfn_mkwrite:finish", "finish_mkwrite_fault:reuse",
                               "wp_page_reuse:changed")
    assert mc.pte_at(k, A0) == entry(DEV, RO | _PAGE_SPECIAL | _PAGE_DEVMAP | DIRTY | _PAGE_RW)


@covers("wp_pfn_shared:reuse")
@BOTH
def test_without_pfn_mkwrite_a_shared_pfn_write_reuses_the_entry_directly(model):
    """No vm_ops->pfn_mkwrite: wp_page_reuse(), VM_FAULT_WRITE; no callback."""
    k = mc.write_fault_on_a_special_entry_with_page_mkwrite_only(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_WRITE
    assert c.branches[-2:] == ("wp_pfn_shared:reuse", "wp_page_reuse:changed")
    assert not [e for e in c.events if e.kind is EventKind.CALLBACK]
    assert mc.pte_at(k, A0) == entry(MMIO, RO | _PAGE_SPECIAL | DIRTY | _PAGE_RW)


@covers("finish_mkwrite_fault:reuse")
@BOTH
def test_finish_mkwrite_fault_on_an_unchanged_pte_of_a_shared_mapping_reuses_it_without_warning(model):  # noqa: E501
    """VM_SHARED: no WARN_ON_ONCE; pte_same(*pte, orig_pte) → wp_page_reuse()."""
    k = mc.dax_write_fault(model)
    c = mc.last_call(k)
    assert "finish_mkwrite_fault:reuse" in c.branches
    assert not [e for e in c.events if e.kind is EventKind.WARN]


@covers("finish_mkwrite_fault:raced")
@BOTH
def test_finish_mkwrite_fault_after_a_concurrent_zap_backs_off(model):
    """The PTE changed while pfn_mkwrite ran unlocked: VM_FAULT_NOPAGE, nothing stored;
    dax_pfn_mkwrite ignores it and returns VM_FAULT_NOPAGE."""
    k = mc.dax_write_fault_racing_a_zap(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_NOPAGE
    assert "finish_mkwrite_fault:raced" in c.branches
    assert trace(c.events) == [("arch", "ptep_get_and_clear_full"),
                               ("callback", "dax_pfn_mkwrite")]
    assert k.mm.pgtable == {}


@covers("wp_page_reuse:changed")
@BOTH
def test_wp_page_reuse_stores_the_young_dirty_writable_entry_and_updates_the_mmu(model):
    """ptep_set_access_flags() reports a change, so update_mmu_cache() follows."""
    k = mc.write_fault_on_a_special_entry_with_page_mkwrite_only(model)
    c = mc.last_call(k)
    assert "wp_page_reuse:changed" in c.branches
    assert trace(c.events) == [("arch", "ptep_set_access_flags"), ("arch", "update_mmu_cache")]


@covers("wp_page_reuse:unchanged")
@BOTH
def test_wp_page_reuse_of_an_already_young_dirty_entry_without_vm_write_changes_nothing(model):
    """maybe_mkwrite adds nothing without VM_WRITE: ptep_set_access_flags() returns 0 and
    update_mmu_cache() is skipped."""
    k = mc.forced_writes_to_a_private_read_only_mapping(model)
    c = mc.last_call(k)
    same = entry(ANON, RO | DIRTY)
    assert "wp_page_reuse:unchanged" in c.branches
    assert details(c.events, EventKind.ARCH) == [
        ("ptep_set_access_flags", {"addr": A0, "old": same.val, "new": same.val, "changed": 0})]
    assert mc.pte_at(k, A0) == same


@covers("do_wp_page:anon:reuse")
@BOTH
def test_a_write_to_an_anonymous_page_mapped_once_reuses_it(model):
    """reuse_swap_page() (mapcount 1, no swap): wp_page_reuse, VM_FAULT_WRITE; no copy."""
    k = mc.forced_writes_to_a_private_read_only_mapping(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_WRITE
    assert "do_wp_page:anon:reuse" in c.branches
    assert not [e for e in c.events if e.kind in (EventKind.ALLOC, EventKind.REF)]
    assert page_state(k, ANON) == (1, 1)
    assert counters(k)["MM_ANONPAGES"] == 1


@covers("do_wp_page:anon:shared")
@BOTH
def test_a_write_to_an_anonymous_page_shared_with_a_fork_child_copies_it(model):
    """mapcount 2: not reusable, so get_page and wp_page_copy(); the child's mapping and
    reference stay on the old page."""
    k = mc.write_after_fork_to_a_shared_anonymous_page(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_WRITE
    assert in_a_row(c.branches, "do_wp_page:anon:shared", "do_wp_page:page:copy")
    assert mc.pte_at(k, A0) == entry(ANON + 1, RO | DIRTY | _PAGE_RW)
    assert page_state(k, ANON) == (1, 1)
    assert page_state(k, ANON + 1) == (1, 1)


@covers("do_wp_page:page:shared")
@BOTH
def test_a_write_to_a_file_page_of_a_shared_writable_mapping_goes_to_wp_page_shared(model):
    """A normal, non-anonymous page in a VM_WRITE|VM_SHARED VMA: no COW."""
    k = mc.write_fault_on_a_shared_file_page(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_WRITE
    assert "do_wp_page:page:shared" in c.branches
    assert not [e for e in c.events if e.kind is EventKind.ALLOC]
    assert counters(k) == {"MM_FILEPAGES": 1, "MM_ANONPAGES": 0, "MM_SHMEMPAGES": 0, "MM_SWAPENTS": 0}


@covers("do_wp_page:page:copy")
@BOTH
def test_a_write_to_a_file_page_of_a_private_mapping_copies_it(model):
    """Not anonymous, not shared-writable: get_page, then wp_page_copy()."""
    k = mc.mixed_insert_of_a_cow_copy_without_pte_special(model)
    c = mc.calls(k)[1]
    assert c.ret == VM_FAULT_WRITE
    assert "do_wp_page:page:copy" in c.branches
    assert trace(c.events)[0] == ("ref", "get_page")
    assert details(c.events, EventKind.REF)[0] == ("get_page", {"pfn": RAM, "refcount": 3})


@covers("wp_page_shared:reuse")
@BOTH
def test_wp_page_shared_without_page_mkwrite_reuses_the_entry_and_dirties_the_page(model):
    """get_page, wp_page_reuse, fault_dirty_shared_page (set_page_dirty), put_page."""
    k = mc.write_fault_on_a_shared_file_page(model)
    c = mc.last_call(k)
    assert c.branches[-2:] == ("wp_page_shared:reuse", "wp_page_reuse:changed")
    assert trace(c.events) == [("ref", "get_page"), ("arch", "ptep_set_access_flags"),
                               ("arch", "update_mmu_cache"), ("page_flag", "set_page_dirty"),
                               ("ref", "put_page")]
    assert mc.pte_at(k, A0) == entry(RAM, RO | DIRTY | _PAGE_RW)
    assert page_state(k, RAM) == (2, 1)
    assert mc.page_at(k, RAM).dirty


@covers("wp_page_shared:page_mkwrite:reused")
@BOTH
def test_wp_page_shared_with_page_mkwrite_makes_the_entry_writable_after_the_callback(model):
    """do_page_mkwrite (the page dirtied and locked), finish_mkwrite_fault → reuse, then
    fault_dirty_shared_page; VM_FAULT_WRITE."""
    k = mc.write_fault_on_a_shared_file_page_with_page_mkwrite(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_WRITE
    assert c.branches[-1] == "wp_page_shared:page_mkwrite:reused"
    assert trace(c.events) == [("ref", "get_page"), ("callback", "page_mkwrite"),
                               ("page_flag", "set_page_dirty"),
                               ("arch", "ptep_set_access_flags"), ("arch", "update_mmu_cache"),
                               ("page_flag", "set_page_dirty"), ("ref", "put_page")]
    assert mc.pte_at(k, A0) == entry(RAM, RO | DIRTY | _PAGE_RW)
    assert page_state(k, RAM) == (2, 1)


@covers("do_page_mkwrite:locked")
@BOTH
def test_do_page_mkwrite_accepts_a_page_returned_locked(model):
    """VM_FAULT_LOCKED without error or NOPAGE: the fault goes on to finish_mkwrite_fault."""
    k = mc.write_fault_on_a_shared_file_page_with_page_mkwrite(model)
    c = mc.last_call(k)
    i = c.branches.index("do_page_mkwrite:locked")
    assert c.branches[i + 1] == "finish_mkwrite_fault:reuse"


@covers("do_page_mkwrite:error_or_nopage")
@BOTH
def test_do_page_mkwrite_passes_a_nopage_result_straight_back(model):
    """filemap_page_mkwrite on a truncated page returns VM_FAULT_NOPAGE: returned as is."""
    k = mc.write_fault_on_a_truncated_shared_file_page(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_NOPAGE
    i = c.branches.index("do_page_mkwrite:error_or_nopage")
    assert c.branches[i + 1] == "wp_page_shared:page_mkwrite:failed"


@covers("wp_page_shared:page_mkwrite:failed")
@BOTH
def test_wp_page_shared_gives_up_when_page_mkwrite_fails_and_drops_its_reference(model):
    """put_page and return the callback's result; the entry stays read-only and clean."""
    k = mc.write_fault_on_a_truncated_shared_file_page(model)
    c = mc.last_call(k)
    assert c.branches[-1] == "wp_page_shared:page_mkwrite:failed"
    assert trace(c.events) == [("ref", "get_page"), ("callback", "page_mkwrite"),
                               ("ref", "put_page")]
    assert mc.pte_at(k, A0) == entry(RAM, RO)
    assert page_state(k, RAM) == (2, 1)
    assert not mc.page_at(k, RAM).dirty


@covers("wp_page_shared:page_mkwrite:raced")
@BOTH
def test_wp_page_shared_backs_off_when_the_pte_changed_during_page_mkwrite(model):
    """finish_mkwrite_fault → VM_FAULT_NOPAGE: put_page, no store, no second dirtying; the
    concurrent zap's unmap leaves only the page cache's reference."""
    k = mc.write_fault_on_a_shared_file_page_racing_a_zap(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_NOPAGE
    assert c.branches[-2:] == ("finish_mkwrite_fault:raced", "wp_page_shared:page_mkwrite:raced")
    assert trace(c.events)[-3:] == [("callback", "page_mkwrite"), ("page_flag", "set_page_dirty"),
                                    ("ref", "put_page")]
    assert k.mm.pgtable == {}
    assert page_state(k, RAM) == (1, 0)
    assert counters(k)["MM_FILEPAGES"] == 0


@covers("wp_page_copy:alloc_copy")
@BOTH
def test_wp_page_copy_of_a_file_page_allocates_a_copy_and_maps_it_anonymous_dirty_writable(model):
    """alloc_page_vma + cow_user_page; the new anonymous page is mapped
    maybe_mkwrite(pte_mkdirty(mk_pte(new, vm_page_prot)))."""
    k = mc.mixed_insert_of_a_cow_copy_without_pte_special(model)
    c = mc.calls(k)[1]
    assert "wp_page_copy:alloc_copy" in c.branches
    assert trace(c.events)[1:4] == [("alloc", "anon_vma_chain_alloc"), ("alloc", "anon_vma_alloc"),
                                    ("alloc", "alloc_page_vma")]
    assert mc.pte_at(k, A0) == entry(ANON, RO | DIRTY | _PAGE_RW)
    assert page_state(k, ANON) == (1, 1)
    assert mc.page_at(k, ANON).anon


@covers("wp_page_copy:alloc_zeroed")
@BOTH
def test_wp_page_copy_of_the_zero_page_maps_a_zeroed_anonymous_page(model):
    """is_zero_pfn(orig_pte): alloc_zeroed_user_highpage_movable; the new page mapped
    anonymous, dirty, writable; the zero page itself is not touched."""
    k = mc.write_to_the_zero_page_of_a_private_mapping(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_WRITE
    assert "wp_page_copy:alloc_zeroed" in c.branches
    assert mc.pte_at(k, A0) == entry(ANON, RO | DIRTY | _PAGE_RW)
    assert mc.page_at(k, ZERO).pristine()


@covers("wp_page_copy:copied:from_file_page")
@BOTH
def test_a_cow_of_a_file_page_moves_the_rss_from_file_to_anon_and_releases_the_old_page(model):
    """MM_FILEPAGES-- and MM_ANONPAGES++, page_remove_rmap(old), two put_page(old) (the
    page table's and do_wp_page's references)."""
    k = mc.mixed_insert_of_a_cow_copy_without_pte_special(model)
    c = mc.calls(k)[1]
    assert "wp_page_copy:copied:from_file_page" in c.branches
    assert details(c.events, EventKind.COUNTER) == [
        ("dec_mm_counter", {"counter": "MM_FILEPAGES", "value": 0}),
        ("inc_mm_counter", {"counter": "MM_ANONPAGES", "value": 1})]
    assert trace(c.events)[-6:] == [("rmap", "page_add_new_anon_rmap"), ("arch", "set_pte_at"),
                                    ("arch", "update_mmu_cache"), ("rmap", "page_remove_rmap"),
                                    ("ref", "put_page"), ("ref", "put_page")]
    assert page_state(k, RAM) == (1, 0)


@covers("wp_page_copy:copied:from_anon_page")
@BOTH
def test_a_cow_of_an_anonymous_page_keeps_the_rss_and_drops_the_old_mapping(model):
    """No counter changes; the old page keeps the child's mapping and reference."""
    k = mc.write_after_fork_to_a_shared_anonymous_page(model)
    c = mc.last_call(k)
    assert "wp_page_copy:copied:from_anon_page" in c.branches
    assert details(c.events, EventKind.COUNTER) == []
    assert details(c.events, EventKind.RMAP) == [
        ("page_add_new_anon_rmap", {"pfn": ANON + 1, "mapcount": 1}),
        ("page_remove_rmap", {"pfn": ANON, "mapcount": 1})]
    assert counters(k)["MM_ANONPAGES"] == 1


@covers("wp_page_copy:copied:from_no_page")
@BOTH
def test_a_cow_of_a_special_pte_only_adds_an_anonymous_page(model):
    """No old page: MM_ANONPAGES++ only; clear-flush, new rmap, set_pte_at, update_mmu_cache."""
    k = mc.cow_of_a_special_entry_then_zap(model)
    c = mc.calls(k)[1]
    assert c.ret == VM_FAULT_WRITE
    assert c.branches[-3:] == ("do_wp_page:no_page:copy", "wp_page_copy:alloc_copy",
                               "wp_page_copy:copied:from_no_page")
    assert trace(c.events) == [("alloc", "anon_vma_chain_alloc"), ("alloc", "anon_vma_alloc"),
                               ("alloc", "alloc_page_vma"),
                               ("counter", "inc_mm_counter"), ("arch", "ptep_clear_flush"),
                               ("rmap", "page_add_new_anon_rmap"), ("arch", "set_pte_at"),
                               ("arch", "update_mmu_cache")]


@covers("do_wp_page:no_page:copy")
@BOTH
def test_a_write_to_a_special_pte_of_a_private_mapping_is_copied(model):
    """No normal page and not shared-writable: wp_page_copy() without an old page; the
    entry becomes the anonymous copy, dirty and writable."""
    k = mc.cow_of_a_special_entry_then_zap(model)
    c = mc.calls(k)[1]
    assert "do_wp_page:no_page:copy" in c.branches
    assert details(c.events, EventKind.ARCH)[1] == (
        "set_pte_at", {"addr": A0, "old": 0, "new": entry(ANON, RO | DIRTY | _PAGE_RW).val})


@covers("wp_page_copy:oom:anon_vma")
@BOTH
def test_a_cow_whose_anon_vma_allocation_fails_is_an_oom_and_returns_the_old_page_reference(model):  # noqa: E501
    """oom: put_page(old_page); VM_FAULT_OOM; the read-only entry stays. Either of
    anon_vma_prepare()'s allocations may fail."""
    for case, fails in ((mc.cow_of_a_file_page_failing_anon_vma,
                         [("alloc_fail", "anon_vma_chain_alloc")]),
                        (mc.cow_of_a_file_page_failing_the_anon_vma_itself,
                         [("alloc", "anon_vma_chain_alloc"), ("alloc_fail", "anon_vma_alloc")])):
        k = case(model)
        c = mc.last_call(k)
        assert c.ret == VM_FAULT_OOM
        assert "wp_page_copy:oom:anon_vma" in c.branches
        assert trace(c.events) == [("ref", "get_page"), *fails, ("ref", "put_page"),
                                   ("signal", "mm_fault_error")]
        assert page_state(k, RAM) == (2, 1)
        assert mc.pte_at(k, A0) == entry(RAM, RO)


@covers("wp_page_copy:oom:alloc")
@BOTH
def test_a_cow_whose_page_allocation_fails_is_an_oom_and_returns_the_old_page_reference(model):
    """alloc_page_vma() NULL: oom, put_page(old_page); VM_FAULT_OOM."""
    k = mc.cow_of_a_file_page_failing_the_copy(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_OOM
    assert "wp_page_copy:oom:alloc" in c.branches
    assert trace(c.events) == [("ref", "get_page"), ("alloc", "anon_vma_chain_alloc"),
                               ("alloc", "anon_vma_alloc"),
                               ("alloc_fail", "alloc_page_vma"), ("ref", "put_page"),
                               ("signal", "mm_fault_error")]
    assert page_state(k, RAM) == (2, 1)
    assert counters(k) == {"MM_FILEPAGES": 1, "MM_ANONPAGES": 0, "MM_SHMEMPAGES": 0, "MM_SWAPENTS": 0}


@covers("wp_page_copy:raced")
@BOTH
def test_a_cow_that_finds_the_pte_changed_frees_the_new_page_and_returns_0(model):
    """!pte_same after the allocation: put_page(new_page), put_page(old_page), 0; nothing
    mapped, no counter moved by the COW."""
    k = mc.cow_of_a_file_page_racing_a_zap(model)
    c = mc.last_call(k)
    assert c.ret == 0
    assert "wp_page_copy:raced" in c.branches
    assert trace(c.events)[-2:] == [("ref", "put_page"), ("ref", "put_page")]
    assert details(c.events, EventKind.REF)[-2:] == [
        ("put_page", {"pfn": ANON, "refcount": 0}), ("put_page", {"pfn": RAM, "refcount": 1})]
    assert k.mm.pgtable == {}
    assert counters(k) == {"MM_FILEPAGES": 0, "MM_ANONPAGES": 0, "MM_SHMEMPAGES": 0, "MM_SWAPENTS": 0}
    assert observable(c.events) == []

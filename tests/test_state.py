"""The kernel's record and assertion macros (`fuzzplug.kernel.state.Kernel`)."""

from __future__ import annotations

import json

import pytest

import model_cases as mc
from fuzzplug.kernel import v4_13, v4_14
from fuzzplug.kernel.state import EventKind, Kernel, Oops, PageKind, hpte, page
from fuzzplug.kernel.types import pte_t


def kernel(**config) -> Kernel:
    return mc.boot(v4_13, mc.SHARED_RW_MIXED, **config)


def warns(k: Kernel) -> list[tuple[str, str, bool]]:
    return [(e.function, e.get("condition"), e.get("printed")) for e in k.events
            if e.kind is EventKind.WARN]


# --- WARN_ON_ONCE, VM_WARN_ON, VM_BUG_ON ---

def test_warn_on_once_prints_the_first_hit_of_a_site_and_records_but_does_not_print_the_next():
    """The once-state is per site (function and condition); the return is the condition."""
    k = kernel()
    assert k.WARN_ON_ONCE(True, "f", "x") is True
    assert k.WARN_ON_ONCE(True, "f", "x") is True
    assert k.WARN_ON_ONCE(True, "f", "y") is True
    assert k.WARN_ON_ONCE(False, "f", "z") is False
    assert warns(k) == [("f", "x", True), ("f", "x", False), ("f", "y", True)]
    assert k.tainted


def test_warn_on_once_state_survives_between_calls_of_the_model():
    """Two mismatching mkwrite inserts: the second WARN_ON_ONCE in insert_pfn is silent."""
    k = mc.mkwrite_of_another_pfn_twice(v4_14)
    assert [w[2] for w in warns(k)] == [True, False]
    assert k.warned_once == {"insert_pfn:pte_pfn(*pte) != pfn_t_to_pfn(pfn)"}


def test_warn_on_prints_every_hit():
    """WARN_ON has no once-state."""
    k = kernel()
    k.WARN_ON(True, "f", "x")
    k.WARN_ON(True, "f", "x")
    assert warns(k) == [("f", "x", True), ("f", "x", True)]


def test_vm_warn_on_is_compiled_out_without_debug_vm():
    """Without CONFIG_DEBUG_VM: no event, no taint, and it returns false even for a true
    condition; with it, a printed WARN that returns true."""
    off, on = kernel(DEBUG_VM=0), kernel(DEBUG_VM=1)
    assert off.VM_WARN_ON(True, "f", "x") is False
    assert off.VM_WARN_ONCE(True, "f", "y") is False
    assert off.events == [] and not off.tainted
    assert on.VM_WARN_ON(True, "f", "x") is True
    assert on.VM_WARN_ONCE(True, "f", "y") is True
    assert on.VM_WARN_ONCE(True, "f", "y") is True
    assert warns(on) == [("f", "x", True), ("f", "y", True), ("f", "y", False)]


def test_vm_bug_on_oopses_only_with_debug_vm():
    """VM_BUG_ON: nothing without DEBUG_VM; with it a BUG event and the Oops that ends the
    call."""
    off, on = kernel(DEBUG_VM=0), kernel(DEBUG_VM=1)
    off.VM_BUG_ON(True, "f", "x")
    assert off.events == []
    with pytest.raises(Oops):
        on.VM_BUG_ON(True, "f", "x")
    assert [(e.kind, e.function, e.get("condition")) for e in on.events] == [
        (EventKind.BUG, "f", "x")]


def test_bug_on_oopses_whatever_the_config():
    """BUG_ON is always there; a false condition does nothing."""
    k = kernel(DEBUG_VM=0)
    k.BUG_ON(False, "f", "x")
    with pytest.raises(Oops) as oops:
        k.BUG_ON(True, "f", "x")
    assert (oops.value.function, oops.value.condition) == ("f", "x")


# --- fail_nth_alloc ---

def test_fail_nth_alloc_1_fails_the_very_next_allocation_and_only_that_one():
    """nth=1: the next allocation fails (ALLOC_FAIL), the following ones succeed."""
    k = kernel()
    k.fail_nth_alloc(1)
    assert [k.should_fail_alloc(s) for s in ("a", "b", "c")] == [True, False, False]
    assert [(e.kind, e.function) for e in k.events] == [
        (EventKind.ALLOC_FAIL, "a"), (EventKind.ALLOC, "b"), (EventKind.ALLOC, "c")]


def test_fail_nth_alloc_counts_from_the_allocations_already_made():
    """nth=3 after two allocations: the fifth allocation overall fails."""
    k = kernel()
    k.should_fail_alloc("a")
    k.should_fail_alloc("b")
    k.fail_nth_alloc(3)
    assert [k.should_fail_alloc(str(i)) for i in range(4)] == [False, False, True, False]


def test_fail_nth_alloc_0_disables_a_pending_failure():
    """nth=0: nothing fails."""
    k = kernel()
    k.fail_nth_alloc(1)
    k.fail_nth_alloc(0)
    assert [k.should_fail_alloc(s) for s in ("a", "b")] == [False, False]
    assert all(e.kind is EventKind.ALLOC for e in k.events)


def test_a_later_fail_nth_alloc_replaces_the_pending_one():
    """Only one failure is pending at a time."""
    k = kernel()
    k.fail_nth_alloc(1)
    k.fail_nth_alloc(2)
    assert [k.should_fail_alloc(s) for s in ("a", "b", "c")] == [False, True, False]


# --- snapshot ---

@pytest.mark.parametrize("case", [
    mc.mixed_insert_of_a_cow_copy_without_pte_special,
    mc.mixed_insert_of_device_memory_without_pte_special_then_zap,
    mc.dax_write_fault,
], ids=lambda c: c.name)
def test_the_snapshot_round_trips_through_json_unchanged(case):
    """PTEs, touched pages, counters, page-table counts and taint survive dumps/loads."""
    k = case(v4_13)
    snap = k.snapshot()
    assert json.loads(json.dumps(snap)) == snap
    assert snap["ptes"] or snap["pages"]


def test_the_snapshot_shows_only_pages_the_run_touched():
    """A page that pfn_to_page() only looked at is pristine and left out."""
    k = mc.mixed_insert_of_ram_without_pte_special(v4_13)
    mc.page_at(k, mc.RAM + 1)
    assert list(k.snapshot()["pages"]) == [f"{mc.RAM:#x}"]
    assert k.snapshot()["pages"][f"{mc.RAM:#x}"]["refcount"] == 2


def test_the_snapshot_names_pte_bits_and_the_pfn():
    """A PTE is shown by its virtual address, pfn and flag names."""
    k = mc.mixed_insert_of_mmio(v4_13)
    assert k.snapshot()["ptes"] == {
        f"{mc.A0:#x}": {"pfn": mc.MMIO, "flags": "PRESENT|USER|ACCESSED|SPECIAL|NX"}}


# --- _check_invariants ---

def test_check_invariants_reports_a_negative_mapcount():
    """The zap that drives a mapcount below zero (print_bad_pte's case) breaks the
    invariant, and the check says which page."""
    k = mc.mixed_insert_of_device_memory_without_pte_special_then_zap(v4_13)
    assert f"page {mc.DEV:#x}: mapcount -1 < 0" in k._check_invariants()


def test_check_invariants_of_a_page_reports_negative_counts_and_refcount_below_mapcount():
    """Each broken page invariant is listed."""
    assert page(0x10, PageKind.RAM, _refcount=1, _mapcount=2)._check_invariants() == [
        "page 0x10: refcount 1 < mapcount 2"]
    assert page(0x11, PageKind.RAM, _refcount=-1, _mapcount=0)._check_invariants() == [
        "page 0x11: refcount -1 < 0", "page 0x11: refcount -1 < mapcount 0"]


def test_check_invariants_is_empty_after_balanced_runs():
    """An insert_page and its zap, a COW and its zap: nothing broken."""
    for case in (mc.mixed_insert_of_ram_without_pte_special_then_zap,
                 mc.cow_of_a_special_entry_then_zap,
                 mc.write_after_fork_to_a_shared_anonymous_page):
        assert case(v4_13)._check_invariants() == []


def test_check_invariants_reports_an_hpte_no_linux_pte_tracks():
    """ppc64 hash: an HPTE orphaned by set_pte_at() is a broken kernel invariant (the model
    may produce it: it is the ppc64 finding), named by address and slot."""
    k = mc.load_through_a_stale_hpte_after_the_zap(v4_13)
    assert k._check_invariants() == [f"hpte {mc.A0:#x} slot 0: not tracked by its linux PTE"]


# --- the hash page table and the architectures' reading of an entry in the state ---

def test_the_snapshot_lists_the_hash_page_table_by_address_and_slot():
    """The hash table is part of the state: `hptes` maps each address to its slots' pfn and
    permission; empty without a hash MMU."""
    k = mc.read_then_write_fault_on_ppc64_hash(v4_13)
    assert k.snapshot()["hptes"] == {f"{mc.A0:#x}": {"0": {"pfn": mc.DEV, "perm": "rw"}}}
    assert mc.read_then_write_fault_on_ppc64_radix(v4_13).snapshot()["hptes"] == {}


def test_two_kernels_that_differ_only_in_the_hash_table_are_not_the_same_state():
    """same_state() and state_key() see the hash table (the exhaustive checker merges
    states by them)."""
    a = mc.read_then_write_fault_on_ppc64_hash(v4_13)
    b = mc.read_then_write_fault_on_ppc64_hash(v4_13)
    assert a.same_state(b) and a.state_key() == b.state_key()
    b.htab[(mc.A0 >> 12, 1)] = hpte(mc.DEV, rw=False)
    assert not a.same_state(b) and a.state_key() != b.state_key()


def test_arm64_hardware_dirty_and_software_dirty_entries_are_the_same_state():
    """arm64: PTE_WRITE without PTE_RDONLY (dirtied by the hardware's DBM) and PTE_DIRTY are
    one dirty state to the kernel (pte_dirty()); the state comparison and the snapshot show
    both as DIRTY, so they compare equal."""
    from fuzzplug.kernel.types import _PAGE_DIRTY

    hw = mc.mmu_serves_a_load_and_a_store_on_arm64(v4_13)
    sw = mc.mmu_serves_a_load_and_a_store_on_arm64(v4_13)
    vpn = mc.A0 >> 12
    sw.mm.pgtable[vpn] = pte_t(sw.mm.pgtable[vpn].val | _PAGE_DIRTY)
    assert hw.mm.pgtable != sw.mm.pgtable
    assert hw.same_state(sw) and hw.snapshot() == sw.snapshot()


def test_a_nonzero_entry_that_pte_none_ignores_is_kept_in_the_page_table():
    """Only a zero entry is stored as absence; an entry of only x86's KNL-erratum bits is
    kept (pte_none() is true for it, the value is not zero)."""
    from fuzzplug.kernel.state import pte_ptr
    from fuzzplug.kernel.types import _PAGE_ACCESSED

    k = kernel()
    p = pte_ptr(k.mm, mc.A0 >> 12)
    k.mm.pte_tables.add(mc.A0 >> 12 >> 9)
    p._store(pte_t(_PAGE_ACCESSED))
    assert k.mm.pgtable == {mc.A0 >> 12: pte_t(_PAGE_ACCESSED)}
    p._store(pte_t(0))
    assert k.mm.pgtable == {}

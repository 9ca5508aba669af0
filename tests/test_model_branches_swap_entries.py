"""The branches of non-present entries decoded as swap entries, on a fault and on a zap."""

from __future__ import annotations

import model_cases as mc
from fuzzplug.kernel.state import EventKind
from fuzzplug.kernel.types import PAGE_SHIFT, VM_FAULT_HWPOISON, VM_FAULT_SIGBUS
from model_branch_helpers import A0, BOTH, POST, counters, covers, details, observable


@covers("do_swap_page:hwpoison_entry")
@covers("zap_pte_range:not_present:non_swap_entry")
@BOTH
def test_a_swap_entry_of_type_29_is_hwpoison_sigbus_mceerr_and_its_zap_counts_nothing(model):
    """x86-64 swap type (bits 9-13) 29 = SWP_HWPOISON: do_swap_page() returns
    VM_FAULT_HWPOISON, the fault handler sends SIGBUS with BUS_MCEERR_AR; zap_pte_range()
    neither decrements MM_SWAPENTS nor reports a bad PTE (free_swap_and_cache() returns 1
    for a non_swap_entry()), and clears the entry."""
    k = mc.fault_and_zap_of_a_hwpoison_swap_entry(model)
    fault, zapped = mc.calls(k)[-2:]
    assert fault.ret == VM_FAULT_HWPOISON
    assert fault.branches[-1] == "do_swap_page:hwpoison_entry"
    assert details(fault.events, EventKind.SIGNAL) == [
        ("mm_fault_error", {"signal": "SIGBUS BUS_MCEERR_AR", "ret": "VM_FAULT_HWPOISON"})]
    assert zapped.branches[-1] == "zap_pte_range:not_present:non_swap_entry"
    assert observable(zapped.events) == []
    assert counters(k)["MM_SWAPENTS"] == 0
    assert k.mm.pgtable == {}


@covers("do_swap_page:migration_entry")
@covers("zap_pte_range:not_present:migration_entry")
@BOTH
def test_a_migration_swap_entry_oopses_in_migration_entry_to_page_on_fault_and_on_zap(model):
    """Type 31 = SWP_MIGRATION_WRITE: the fault's migration_entry_wait() and the zap both
    reach migration_entry_to_page(), whose BUG_ON(!PageLocked(p)) fires (nothing is being
    migrated); the entry stays."""
    k = mc.fault_and_zap_of_a_migration_swap_entry(model)
    fault, zapped = mc.calls(k)[-2:]
    for c in (fault, zapped):
        assert c.ret == "BUG"
        assert details(c.events, EventKind.BUG) == [
            ("migration_entry_to_page", {"condition": "!PageLocked(p)"})]
    assert fault.branches[-1] == "do_swap_page:migration_entry"
    assert zapped.branches[-1] == "zap_pte_range:not_present:migration_entry"
    assert A0 >> PAGE_SHIFT in k.mm.pgtable


@covers("do_swap_page:bad_entry")
@BOTH
def test_a_swap_entry_above_every_type_is_a_bad_pte_and_sigbus(model):
    """arm64's swap type is six bits (2-7); PTE_USER|PTE_RDONLY with MT_NORMAL is 52, a
    non_swap_entry that is neither migration nor hwpoison: print_bad_pte(), VM_FAULT_SIGBUS.
    Its zap reports nothing (free_swap_and_cache() returns 1)."""
    k = mc.fault_and_zap_of_an_entry_with_no_swap_type(model)
    fault, zapped = mc.calls(k)[-2:]
    assert fault.ret == VM_FAULT_SIGBUS
    assert fault.branches[-1] == "do_swap_page:bad_entry"
    assert observable(fault.events) == [("bad_pte", "print_bad_pte"), ("signal", "mm_fault_error")]
    assert observable(zapped.events) == []
    assert k.mm.pgtable == {}


@POST
def test_an_mkwrite_reuse_of_a_non_present_entry_turns_its_swap_type_into_hwpoison(model):
    """pte_mkdirty() of the reuse path sets SOFT_DIRTY, bit 11 of x86-64's swap type: the
    insert-made entry of MMIO+3 (type 25, a swap type) becomes type 29 (hwpoison), so the
    next access is SIGBUS with BUS_MCEERR_AR and its zap counts nothing."""
    k = mc.mkwrite_reuse_of_a_non_present_entry_makes_a_hwpoison_entry(model)
    _, mkwrite, fault, zapped = mc.calls(k)
    assert mkwrite.ret == 0
    assert fault.ret == VM_FAULT_HWPOISON
    assert zapped.branches[-1] == "zap_pte_range:not_present:non_swap_entry"
    assert counters(k)["MM_SWAPENTS"] == 0

"""The branches of a user fault: the access checks, handle_pte_fault() and do_*_fault()."""

from __future__ import annotations

import model_cases as mc
from fuzzplug.kernel.state import EventKind
from fuzzplug.kernel.types import (
    _PAGE_DEVMAP,
    _PAGE_SPECIAL,
    PAGE_SHIFT,
    VM_FAULT_DONE_COW,
    VM_FAULT_NOPAGE,
    VM_FAULT_OOM,
    VM_FAULT_SIGBUS,
    VM_FAULT_SIGSEGV,
    pte_t,
)
from model_branch_helpers import (
    A0,
    A1,
    ANON,
    BOTH,
    DEV,
    DIRTY,
    KERNEL_RW,
    MMIO,
    RO,
    RW,
    SET_AND_UPDATE,
    counters,
    covers,
    details,
    entry,
    in_a_row,
    observable,
    page_state,
    trace,
)


@covers("do_user_fault:bad_area")
@BOTH
def test_a_user_access_outside_the_vma_gets_sigsegv_bad_area(model):
    """__do_page_fault: no VMA covers the address → SIGSEGV, handle_mm_fault not called."""
    k = mc.faults_refused_by_the_access_checks(model)
    c = mc.calls(k)[0]
    assert c.ret == VM_FAULT_SIGSEGV
    assert details(c.events, EventKind.SIGNAL) == [
        ("__do_page_fault", {"signal": "SIGSEGV", "reason": "bad_area",
                             "where": "__do_page_fault"})]
    assert c.branches == ("mmu_access:x86_64:not_present", "do_user_fault:bad_area")


@covers("do_user_fault:access_error")
@BOTH
def test_a_user_write_to_a_vma_without_vm_write_gets_sigsegv_access_error(model):
    """access_error(): a write needs VM_WRITE (error code PF_WRITE|PF_USER: not present)."""
    k = mc.faults_refused_by_the_access_checks(model)
    c = mc.calls(k)[1]
    assert c.ret == VM_FAULT_SIGSEGV
    assert details(c.events, EventKind.SIGNAL) == [
        ("__do_page_fault", {"signal": "SIGSEGV", "reason": "access_error",
                             "where": "__do_page_fault", "error_code": 6})]
    assert c.branches == ("mmu_access:x86_64:not_present", "do_user_fault:access_error")


@BOTH
def test_a_user_read_of_a_vma_without_read_write_or_exec_gets_sigsegv_access_error(model):
    """access_error(): a read needs one of VM_READ, VM_EXEC, VM_WRITE."""
    k = mc.read_fault_on_a_vma_without_access_rights(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_SIGSEGV
    assert c.branches == ("mmu_access:x86_64:not_present", "do_user_fault:access_error")


@covers("do_user_fault:handle_mm_fault")
@BOTH
def test_a_permitted_user_read_reaches_handle_mm_fault_and_raises_no_signal(model):
    """The access passes the checks; VM_FAULT_NOPAGE is no error, so no signal."""
    k = mc.read_faults(model)
    c = mc.calls(k)[0]
    assert c.ret == VM_FAULT_NOPAGE
    assert c.branches[:2] == ("mmu_access:x86_64:not_present", "do_user_fault:handle_mm_fault")
    assert observable(c.events) == []


@covers("__handle_mm_fault:pud_alloc_failed")
@BOTH
def test_a_fault_whose_pud_allocation_fails_is_an_oom(model):
    """pud_alloc() fails: VM_FAULT_OOM, the OOM path of mm_fault_error()."""
    k = mc.read_fault_failing_pud_alloc(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_OOM
    assert trace(c.events) == [("alloc_fail", "pud_alloc"), ("signal", "mm_fault_error")]
    assert details(c.events, EventKind.SIGNAL) == [
        ("mm_fault_error", {"signal": "OOM", "ret": "VM_FAULT_OOM"})]
    assert "__handle_mm_fault:pud_alloc_failed" in c.branches


@covers("__handle_mm_fault:pmd_alloc_failed")
@BOTH
def test_a_fault_whose_pmd_allocation_fails_is_an_oom_and_keeps_the_pud_table(model):
    """pmd_alloc() fails: VM_FAULT_OOM; the PUD table stays."""
    k = mc.read_fault_failing_pmd_alloc(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_OOM
    assert trace(c.events) == [("alloc", "pud_alloc"), ("alloc_fail", "pmd_alloc"),
                               ("signal", "mm_fault_error")]
    assert "__handle_mm_fault:pmd_alloc_failed" in c.branches
    assert k.snapshot()["pgtables"] == {"pud": 1, "pmd": 0, "pte": 0}


@covers("handle_pte_fault:no_pte_table")
@BOTH
def test_a_fault_without_pte_table_goes_to_do_fault_and_the_handler_allocates_the_table(model):
    """pmd_none: vmf->pte = NULL → do_fault(); the handler's insert allocates the table."""
    k = mc.read_faults(model)
    c = mc.calls(k)[0]
    assert in_a_row(c.branches, "handle_pte_fault:no_pte_table", "do_read_fault")
    assert trace(c.events) == [("alloc", "pud_alloc"), ("alloc", "pmd_alloc"),
                               ("callback", "fault"), ("alloc", "pte_alloc")] + SET_AND_UPDATE
    assert mc.pte_at(k, A0) == entry(DEV, RO | _PAGE_SPECIAL | _PAGE_DEVMAP)


@covers("handle_pte_fault:pte_none")
@BOTH
def test_a_fault_on_a_none_pte_of_an_existing_table_goes_to_do_fault(model):
    """pte_none(orig_pte) → do_fault(); the handler maps pgoff + 1 at the second page."""
    k = mc.read_faults(model)
    c = mc.calls(k)[1]
    assert c.ret == VM_FAULT_NOPAGE
    assert in_a_row(c.branches, "handle_pte_fault:pte_none", "do_read_fault")
    assert trace(c.events) == [("callback", "fault")] + SET_AND_UPDATE
    assert mc.pte_at(k, A1) == entry(DEV + 1, RO | _PAGE_SPECIAL | _PAGE_DEVMAP)


@covers("handle_pte_fault:write:wp")
@BOTH
def test_a_write_to_a_present_read_only_pte_goes_to_do_wp_page(model):
    """FAULT_FLAG_WRITE && !pte_write → do_wp_page()."""
    k = mc.dax_write_fault(model)
    c = mc.last_call(k)
    assert c.branches[:3] == ("mmu_access:x86_64:protection", "do_user_fault:handle_mm_fault",
                              "handle_pte_fault:write:wp")


@covers("handle_pte_fault:access_flags_changed")
@BOTH
def test_a_write_fault_on_a_writable_clean_pte_dirties_it_through_ptep_set_access_flags(model):
    """The entry is writable but not user-accessible, so the store faults (PF_PROT) and
    access_error() lets it through: entry = pte_mkyoung(pte_mkdirty(orig)); x86 stores it
    (changed and dirty) and update_mmu_cache() follows; the fault returns 0."""
    k = mc.writes_to_a_kernel_only_writable_entry(model)
    c = mc.calls(k)[1]
    old = entry(MMIO, KERNEL_RW | _PAGE_SPECIAL)
    new = entry(MMIO, KERNEL_RW | _PAGE_SPECIAL | DIRTY)
    assert c.ret == 0
    assert c.branches == ("mmu_access:x86_64:protection", "do_user_fault:handle_mm_fault",
                          "handle_pte_fault:access_flags_changed")
    assert details(c.events, EventKind.ARCH) == [
        ("ptep_set_access_flags", {"addr": A0, "old": old.val, "new": new.val, "changed": 1}),
        ("update_mmu_cache", {"addr": A0, "old": new.val, "new": new.val})]


@covers("handle_pte_fault:spurious")
@BOTH
def test_a_write_to_a_young_dirty_writable_pte_is_spurious_and_flushes_the_tlb_entry(model):
    """The retried store faults again (the entry is still not user-accessible);
    ptep_set_access_flags() sees no change: flush_tlb_fix_spurious_fault() for a write (the
    task loops on this fault: the C has no way out of it)."""
    k = mc.writes_to_a_kernel_only_writable_entry(model)
    c = mc.calls(k)[2]
    assert c.ret == 0
    assert c.branches == ("mmu_access:x86_64:protection", "do_user_fault:handle_mm_fault",
                          "handle_pte_fault:spurious")
    assert trace(c.events) == [("arch", "ptep_set_access_flags"),
                               ("arch", "flush_tlb_fix_spurious_fault")]
    same = entry(MMIO, KERNEL_RW | _PAGE_SPECIAL | DIRTY)
    assert details(c.events, EventKind.ARCH)[0] == (
        "ptep_set_access_flags", {"addr": A0, "old": same.val, "new": same.val, "changed": 0})


@covers("handle_pte_fault:raced")
@BOTH
def test_a_write_fault_whose_entry_another_cpu_zapped_before_the_pte_lock_returns_0(model):
    """The entry read without the lock is gone once the lock is taken: pte_same() fails,
    nothing is changed, the fault returns 0 (the access faults again)."""
    k = mc.a_zap_races_a_write_fault_between_the_lockless_read_and_the_pte_lock(model)
    c = mc.calls(k)[-1]
    assert c.ret == 0
    assert c.branches[-1] == "handle_pte_fault:raced"
    assert k.mm.pgtable.get(A0 >> PAGE_SHIFT) is None


@covers("do_read_fault")
@BOTH
def test_a_read_fault_on_a_none_pte_calls_vm_ops_fault_with_the_linear_pgoff(model):
    """do_read_fault → __do_fault → vm_ops->fault(pgoff = vm_pgoff + page index)."""
    k = mc.read_faults(model)
    c = mc.calls(k)[0]
    assert "do_read_fault" in c.branches
    assert details(c.events, EventKind.CALLBACK) == [("fault", {"addr": A0, "pgoff": DEV})]


@covers("do_shared_fault")
@BOTH
def test_a_write_fault_on_a_none_pte_of_a_shared_mapping_is_a_shared_fault(model):
    """do_shared_fault → the handler installs its read-only entry, VM_FAULT_NOPAGE."""
    k = mc.write_fault_on_a_none_pte_of_a_shared_mapping(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_NOPAGE
    assert "do_shared_fault" in c.branches
    assert "do_cow_fault:uncharge_out" not in c.branches
    assert mc.pte_at(k, A0) == entry(DEV, RO | _PAGE_SPECIAL | _PAGE_DEVMAP)


@covers("do_cow_fault:uncharge_out")
@BOTH
def test_a_cow_fault_whose_handler_installs_its_own_entry_frees_the_cow_page(model):
    """anon_vma_prepare, alloc the COW page, the handler returns VM_FAULT_NOPAGE →
    uncharge_out: put_page(cow_page) frees it; nothing anonymous is mapped."""
    k = mc.write_fault_on_a_none_pte_of_a_private_mapping(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_NOPAGE
    assert trace(c.events) == [("alloc", "pud_alloc"), ("alloc", "pmd_alloc"),
                               ("alloc", "anon_vma_chain_alloc"), ("alloc", "anon_vma_alloc"),
                               ("alloc", "alloc_page_vma"),
                               ("callback", "fault"), ("alloc", "pte_alloc"),
                               *SET_AND_UPDATE, ("ref", "put_page")]
    assert details(c.events, EventKind.REF) == [("put_page", {"pfn": ANON, "refcount": 0})]
    assert page_state(k, ANON) == (0, 0)
    assert counters(k)["MM_ANONPAGES"] == 0
    assert "do_cow_fault:uncharge_out" in c.branches


@covers("do_cow_fault:done_cow")
@BOTH
def test_a_cow_fault_completed_by_its_handler_keeps_the_cow_page_mapped(model):
    """The handler returns VM_FAULT_DONE_COW (DAX's COW path): do_cow_fault() returns it
    without put_page(cow_page); the anonymous page stays mapped dirty and writable, with
    the entry's reference and mapcount."""
    k = mc.cow_fault_completed_by_the_fault_handler(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_DONE_COW
    assert c.branches[-1] == "do_cow_fault:done_cow"
    assert "do_cow_fault:uncharge_out" not in c.branches
    assert details(c.events, EventKind.REF) == []
    assert mc.pte_at(k, A0) == entry(ANON, RW | DIRTY)
    assert page_state(k, ANON) == (1, 1)
    assert counters(k)["MM_ANONPAGES"] == 1
    assert k._check_invariants() == []


@covers("do_cow_fault:oom:anon_vma")
@BOTH
def test_a_cow_fault_whose_anon_vma_allocation_fails_is_an_oom_before_the_handler(model):
    """anon_vma_prepare() fails, at either of its two allocations (the anon_vma_chain, then
    the anon_vma): VM_FAULT_OOM; vm_ops->fault is not called."""
    for case, fails in ((mc.cow_fault_failing_anon_vma, [("alloc_fail", "anon_vma_chain_alloc")]),
                        (mc.cow_fault_failing_the_anon_vma_itself,
                         [("alloc", "anon_vma_chain_alloc"), ("alloc_fail", "anon_vma_alloc")])):
        k = case(model)
        c = mc.last_call(k)
        assert c.ret == VM_FAULT_OOM
        assert trace(c.events) == [("alloc", "pud_alloc"), ("alloc", "pmd_alloc"), *fails,
                                   ("signal", "mm_fault_error")]
        assert "do_cow_fault:oom:anon_vma" in c.branches
        assert k.vma.anon_vma is False


@covers("do_cow_fault:oom:alloc")
@BOTH
def test_a_cow_fault_whose_cow_page_allocation_fails_is_an_oom_before_the_handler(model):
    """alloc_page_vma() fails: VM_FAULT_OOM; the anon_vma stays."""
    k = mc.cow_fault_failing_cow_page(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_OOM
    assert trace(c.events)[-2:] == [("alloc_fail", "alloc_page_vma"), ("signal", "mm_fault_error")]
    assert "do_cow_fault:oom:alloc" in c.branches
    assert k.vma.anon_vma is True
    assert k.mm.pgtable == {}


@covers("mixedmap_fault:nopage")
@BOTH
def test_the_fault_handler_maps_device_memory_as_devmap_and_returns_nopage(model):
    """The handler's vm_insert_mixed(PFN_DEV|PFN_MAP) returns 0 → VM_FAULT_NOPAGE."""
    k = mc.read_faults(model)
    c = mc.calls(k)[0]
    assert c.ret == VM_FAULT_NOPAGE
    assert c.branches[-1] == "mixedmap_fault:nopage"
    assert "insert_pfn:insert:devmap" in c.branches


@covers("mixedmap_fault:oom")
@BOTH
def test_the_fault_handler_turns_enomem_into_an_oom(model):
    """The insert's PTE-table allocation fails: -ENOMEM → VM_FAULT_OOM, OOM signal."""
    k = mc.read_fault_failing_pte_alloc(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_OOM
    assert c.branches[-2:] == ("insert_pfn:no_pte", "mixedmap_fault:oom")
    assert details(c.events, EventKind.SIGNAL) == [
        ("mm_fault_error", {"signal": "OOM", "ret": "VM_FAULT_OOM"})]


@covers("mixedmap_fault:sigbus")
@BOTH
def test_the_fault_handler_turns_insert_page_einval_into_sigbus(model):
    """The linear pfn is an anonymous COW page: insert_page() -EINVAL → VM_FAULT_SIGBUS."""
    k = mc.fault_insert_refused_without_pte_special(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_SIGBUS
    assert c.branches[-2:] == ("insert_page:anon", "mixedmap_fault:sigbus")
    assert details(c.events, EventKind.SIGNAL) == [
        ("mm_fault_error", {"signal": "SIGBUS", "ret": "VM_FAULT_SIGBUS"})]
    assert mc.pte_at(k, A1) == pte_t(0)

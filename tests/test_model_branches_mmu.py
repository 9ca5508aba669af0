"""The branches of the MMU's own access on each architecture, and of ppc64's hash MMU."""

from __future__ import annotations

import model_cases as mc
from fuzzplug.kernel import arch
from fuzzplug.kernel.state import EventKind, Kernel, hpte
from fuzzplug.kernel.types import (
    _PAGE_ACCESSED,
    _PAGE_DEVMAP,
    _PAGE_DIRTY,
    _PAGE_PRESENT,
    _PAGE_RW,
    _PAGE_SPECIAL,
    _PAGE_USER,
    H_PAGE_F_GIX_SHIFT,
    H_PAGE_HASHPTE,
    PAGE_SHIFT,
    VM_FAULT_SIGSEGV,
)
from model_branch_helpers import (
    A0,
    BOTH,
    DEV,
    DIRTY,
    HASHED_AT_0,
    MMIO,
    RO,
    covers,
    details,
    entry,
    in_a_row,
)


def _accesses(k: Kernel):
    return [c for c in mc.calls(k) if c.name == "fault"]


@covers("mmu_access:x86_64:hw_young")
@covers("mmu_access:x86_64:hw_dirty")
@BOTH
def test_x86_sets_accessed_then_dirty_itself_and_no_fault_handler_runs(model):
    """A load of a present user entry sets _PAGE_ACCESSED, a store to a writable one
    _PAGE_DIRTY (not _PAGE_SOFT_DIRTY); handle_mm_fault() is not entered."""
    k = mc.mmu_serves_a_load_and_a_store_on_x86(model)
    load, store, again = _accesses(k)
    assert [c.branches for c in (load, store, again)] == [
        ("mmu_access:x86_64:hw_young",), ("mmu_access:x86_64:hw_dirty",),
        ("mmu_access:x86_64:hw_young",)]
    assert [c.ret for c in (load, store, again)] == [0, 0, 0]
    user_rw = _PAGE_PRESENT | _PAGE_USER | _PAGE_RW | _PAGE_SPECIAL
    assert details(load.events, EventKind.MMU) == [
        ("mmu_access", {"addr": A0, "old": entry(MMIO, user_rw).val,
                        "new": entry(MMIO, user_rw | _PAGE_ACCESSED).val, "write": 0,
                        "pfn": MMIO})]
    assert mc.pte_at(k, A0) == entry(MMIO, user_rw | _PAGE_ACCESSED | _PAGE_DIRTY)


@covers("mmu_access:x86_64:not_present")
@covers("mmu_access:x86_64:protection")
@BOTH
def test_x86_faults_a_load_of_a_present_kernel_only_entry_with_pf_prot_and_refuses_it(model):
    """No _PAGE_USER: the walk faults with PF_PROT|PF_USER; access_error() refuses any read
    with PF_PROT (arch/x86/mm/fault.c): SIGSEGV, handle_mm_fault() not entered. An absent
    entry faults without PF_PROT."""
    k = mc.read_of_a_kernel_only_entry(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_SIGSEGV
    assert c.branches == ("mmu_access:x86_64:protection", "do_user_fault:access_error")
    assert details(c.events, EventKind.SIGNAL)[0][1]["error_code"] == 5  # PF_PROT|PF_USER
    k = mc.read_faults(model)
    assert mc.calls(k)[0].branches[0] == "mmu_access:x86_64:not_present"


@covers("mmu_access:arm64:hw_young")
@covers("mmu_access:arm64:hw_dirty")
@BOTH
def test_arm64_sets_the_access_flag_and_dbm_clears_pte_rdonly_on_a_store(model):
    """ARMv8.1 hardware AF/DBM: the load sets PTE_AF; the store to a PTE_WRITE entry clears
    PTE_RDONLY (hardware-dirty: pte_dirty() is true without PTE_DIRTY)."""
    k = mc.mmu_serves_a_load_and_a_store_on_arm64(model)
    load, store, again = _accesses(k)
    assert [c.branches for c in (load, store, again)] == [
        ("mmu_access:arm64:hw_young",), ("mmu_access:arm64:hw_dirty",),
        ("mmu_access:arm64:hw_young",)]
    final = mc.pte_at(k, A0)
    assert final == entry(MMIO, _PAGE_PRESENT | _PAGE_USER | _PAGE_RW | _PAGE_SPECIAL
                          | _PAGE_ACCESSED)
    assert arch.pte_dirty(k, final) and not final.val & _PAGE_DIRTY
    assert k.snapshot()["ptes"][f"{A0:#x}"]["flags"].split("|").count("DIRTY") == 1


@covers("mmu_access:arm64:translation_fault")
@covers("mmu_access:arm64:permission_fault")
@BOTH
def test_arm64_faults_an_absent_entry_and_a_store_to_a_read_only_one(model):
    """A translation fault for the load of a none PTE; a permission fault for the store to
    the PTE_RDONLY entry without PTE_WRITE: do_wp_page() as on x86."""
    k = mc.read_then_write_fault_on_arm64(model)
    load, store = _accesses(k)
    assert load.branches[:2] == ("mmu_access:arm64:translation_fault",
                                 "do_user_fault:handle_mm_fault")
    assert store.branches[:3] == ("mmu_access:arm64:permission_fault",
                                  "do_user_fault:handle_mm_fault", "handle_pte_fault:write:wp")


@covers("mmu_access:ppc64_radix:hw_young")
@covers("mmu_access:ppc64_radix:hw_dirty")
@BOTH
def test_ppc64_radix_sets_r_then_c_itself(model):
    """The radix MMU sets R (_PAGE_ACCESSED) and, for a store, C (_PAGE_DIRTY); never
    _PAGE_SOFT_DIRTY."""
    k = mc.mmu_serves_a_load_and_a_store_on_ppc64_radix(model)
    load, store, again = _accesses(k)
    assert [c.branches for c in (load, store, again)] == [
        ("mmu_access:ppc64_radix:hw_young",), ("mmu_access:ppc64_radix:hw_dirty",),
        ("mmu_access:ppc64_radix:hw_young",)]
    assert mc.pte_at(k, A0) == entry(MMIO, _PAGE_PRESENT | _PAGE_USER | _PAGE_RW
                                     | _PAGE_SPECIAL | _PAGE_ACCESSED | _PAGE_DIRTY)
    assert k.htab == {}


@covers("mmu_access:ppc64_radix:fault")
@BOTH
def test_ppc64_radix_faults_an_absent_entry_and_a_store_to_a_read_only_one(model):
    """No translation (DSISR_NOHPTE), then a protection fault: do_page_fault() ->
    handle_mm_fault(); radix__ptep_set_access_flags() leaves SOFT_DIRTY out."""
    k = mc.read_then_write_fault_on_ppc64_radix(model)
    load, store = _accesses(k)
    assert load.branches[0] == store.branches[0] == "mmu_access:ppc64_radix:fault"
    assert "wp_page_reuse:changed" in store.branches
    assert mc.pte_at(k, A0) == entry(DEV, RO | _PAGE_SPECIAL | _PAGE_DEVMAP | _PAGE_RW
                                     | _PAGE_DIRTY)


@covers("mmu_access:ppc64:hash_page")
@covers("mmu_access:ppc64:hpte_hit")
@covers("update_mmu_cache:ppc64:not_young")
@covers("__hash_page_4K:updatepp")
@BOTH
def test_ppc64_hash_faults_hash_the_entry_in_and_later_accesses_hit_the_hpte(model):
    """No preload for an old entry; the load misses the hash table and __hash_page_4K()
    inserts a read-only HPTE (the entry is clean), marks the entry accessed and records
    the slot, and the re-executed load hits it; the store is refused by that HPTE,
    __hash_page_4K() marks the entry dirty (not soft-dirty) and updates the HPTE to
    read/write, and the re-executed store hits it; the last load hits it at once."""
    k = mc.mmu_serves_a_load_and_a_store_on_ppc64_hash(model)
    insert = mc.calls(k)[0]
    load, store, again = _accesses(k)
    vpn = A0 >> PAGE_SHIFT
    assert insert.branches[-1] == "update_mmu_cache:ppc64:not_young"
    assert load.branches == ("__hash_page_4K:insert", "mmu_access:ppc64:hash_page",
                             "mmu_access:ppc64:hpte_hit")
    assert store.branches == ("__hash_page_4K:updatepp", "mmu_access:ppc64:hash_page",
                              "mmu_access:ppc64:hpte_hit")
    assert again.branches == ("mmu_access:ppc64:hpte_hit",)
    assert k.htab == {(vpn, 0): hpte(MMIO, rw=True)}
    assert mc.pte_at(k, A0) == entry(MMIO, _PAGE_PRESENT | _PAGE_USER | _PAGE_RW | _PAGE_SPECIAL
                                     | _PAGE_ACCESSED | _PAGE_DIRTY | HASHED_AT_0)
    assert k._check_invariants() == []


@covers("mmu_access:ppc64:page_fault")
@covers("update_mmu_cache:ppc64:hash_preload")
@covers("__hash_page_4K:insert")
@BOTH
def test_ppc64_hash_refused_accesses_reach_do_page_fault_and_update_mmu_cache_preloads(model):
    """The load of a none PTE and the store to a read-only one go to do_page_fault(); the
    fault handler's insert (young, from a data fault) is preloaded, read-only;
    wp_page_reuse() ORs the new bits in keeping the hash bits (no flush), and its
    update_mmu_cache() makes the tracked HPTE read/write."""
    k = mc.read_then_write_fault_on_ppc64_hash(model)
    load, store = _accesses(k)
    vpn = A0 >> PAGE_SHIFT
    assert load.branches[0] == store.branches[0] == "mmu_access:ppc64:page_fault"
    assert in_a_row(load.branches, "update_mmu_cache:ppc64:hash_preload", "__hash_page_4K:insert")
    assert in_a_row(store.branches, "update_mmu_cache:ppc64:hash_preload",
                    "__hash_page_4K:updatepp")
    assert k.htab == {(vpn, 0): hpte(DEV, rw=True)}
    assert mc.pte_at(k, A0) == entry(DEV, RO | _PAGE_SPECIAL | _PAGE_DEVMAP | _PAGE_RW | DIRTY
                                     | HASHED_AT_0)
    assert k._check_invariants() == []


@covers("update_mmu_cache:ppc64:not_from_a_fault")
@BOTH
def test_ppc64_hash_update_mmu_cache_does_not_preload_outside_a_fault(model):
    """TRAP(regs) is neither 0x300 nor 0x400 (a system call): no hash_preload(); the next
    user load hashes the entry in itself."""
    k = mc.insert_from_a_system_call_on_ppc64_hash(model)
    insert, load = mc.calls(k)
    assert insert.branches[-1] == "update_mmu_cache:ppc64:not_from_a_fault"
    assert load.branches == ("__hash_page_4K:insert", "mmu_access:ppc64:hash_page",
                             "mmu_access:ppc64:hpte_hit")
    assert k.htab == {(A0 >> PAGE_SHIFT, 0): hpte(DEV, rw=False)}


@covers("__hash_page_4K:no_access")
@BOTH
def test_ppc64_hash_does_not_preload_a_privileged_entry(model):
    """check_pte_access(0, pte) wants the privilege to match: a kernel-only entry gets no
    HPTE from hash_preload()."""
    k = mc.kernel_only_insert_on_ppc64_hash(model)
    c = mc.last_call(k)
    assert c.branches[-2:] == ("update_mmu_cache:ppc64:hash_preload", "__hash_page_4K:no_access")
    assert k.htab == {}
    assert not mc.pte_at(k, A0).val & H_PAGE_HASHPTE


@covers("pte_update:ppc64:hpte_need_flush")
@BOTH
def test_ppc64_hash_zap_flushes_the_hpte_of_an_entry_with_hashpte(model):
    """ptep_get_and_clear_full() -> pte_update(): the old entry had H_PAGE_HASHPTE, so
    hpte_need_flush() invalidates its HPTE: nothing left in the hash table."""
    k = mc.insert_then_zap_on_ppc64_hash(model)
    insert, zapped = mc.calls(k)
    assert "__hash_page_4K:insert" in insert.branches
    assert "pte_update:ppc64:hpte_need_flush" in zapped.branches
    assert k.htab == {} and k.mm.pgtable == {}


@BOTH
def test_ppc64_hash_a_load_after_the_zap_reaches_the_unmapped_pfn_through_a_stale_hpte(model):
    """An HPTE orphaned by set_pte_at() over a hashed entry is not flushed by the zap (only
    the tracked one is); a user load of the unmapped address hits it and reads the device
    page no PTE maps: BAD_HPTE "user access through a stale HPTE", no fault."""
    k = mc.load_through_a_stale_hpte_after_the_zap(model)
    load = mc.last_call(k)
    assert load.ret == 0
    assert load.branches == ("mmu_access:ppc64:hpte_hit",)
    assert details(load.events, EventKind.BAD_HPTE) == [
        ("hash_page", {"condition": arch.ACCESS_THROUGH_STALE, "addr": A0, "pfn": DEV})]
    assert k.mm.pgtable == {}
    assert k._check_invariants() == [f"hpte {A0:#x} slot 0: not tracked by its linux PTE"]


@covers("mmu_access:ppc64:livelock")
@BOTH
def test_ppc64_hash_a_store_a_stale_read_only_hpte_refuses_faults_forever(model):
    """The stale read-only HPTE in slot 0 refuses the store; each hash fault updates the
    tracked HPTE in slot 1 and the re-executed store faults on slot 0 again: after
    HASH_FAULTS_PER_ACCESS hash faults the access is reported as never completing
    (ACCESS_LIVELOCK, BAD_HPTE "faults forever"), with no MMU event and no page fault."""
    k = mc.store_through_a_stale_read_only_hpte_faults_forever(model)
    store = _accesses(k)[-1]
    vpn = A0 >> PAGE_SHIFT
    assert store.ret is arch.ACCESS_LIVELOCK
    assert store.branches == ("__hash_page_4K:updatepp", "mmu_access:ppc64:hash_page") * 2 + (
        "mmu_access:ppc64:livelock",)
    assert details(store.events, EventKind.BAD_HPTE) == [
        ("hash_page", {"condition": arch.FAULTS_FOREVER_ON_STALE, "addr": A0, "pfn": DEV})]
    assert not [e for e in store.events if e.kind in (EventKind.MMU, EventKind.SIGNAL)]
    assert k.htab == {(vpn, 0): hpte(DEV, rw=False), (vpn, 1): hpte(DEV, rw=True)}


@covers("__hash_page_4K:hpte_remove")
@BOTH
def test_ppc64_hash_a_full_group_evicts_an_hpte_before_the_insert(model):
    """Eight HPTEs for the page fill its group; the next insert has hpte_remove() evict one
    (the model: the lowest slot) and takes that slot; the others stay, stale."""
    k = mc.hash_group_full_of_stale_hptes(model)
    c = mc.last_call(k)
    vpn = A0 >> PAGE_SHIFT
    assert in_a_row(c.branches, "__hash_page_4K:insert", "__hash_page_4K:hpte_remove")
    assert sorted(k.htab) == [(vpn, slot) for slot in range(8)]
    assert mc.pte_at(k, A0).val & (H_PAGE_HASHPTE | 7 << H_PAGE_F_GIX_SHIFT) == HASHED_AT_0
    assert k.untracked_hptes() == [(vpn, slot) for slot in range(1, 8)]

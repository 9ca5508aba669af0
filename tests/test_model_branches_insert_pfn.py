"""The branches of __get_locked_pte() and insert_pfn(), v4.14's mkwrite ones too, a test each."""

from __future__ import annotations

import model_cases as mc
from fuzzplug.kernel import arch, v4_13, v4_14
from fuzzplug.kernel.state import EventKind, hpte
from fuzzplug.kernel.types import (
    _PAGE_ARM64_RDONLY,
    _PAGE_DEVMAP,
    _PAGE_DIRTY,
    _PAGE_RW,
    _PAGE_SPECIAL,
    EBUSY,
    EFAULT,
    ENOMEM,
    PAGE_SHIFT,
    pte_dirty,
    pte_present,
    pte_special,
    pte_t,
    pte_write,
    pte_young,
)
from model_branch_helpers import (
    A0,
    ALLOC3,
    ANON,
    BOTH,
    DEV,
    DIRTY,
    HASHED_AT_1,
    MMIO,
    POST,
    RAM,
    RO,
    SET_AND_UPDATE,
    covers,
    details,
    entry,
    observable,
    page_state,
    trace,
)


# --- __get_locked_pte ---

@covers("__get_locked_pte:pte_table_allocated")
@BOTH
def test_an_insert_into_an_empty_page_table_allocates_the_pud_pmd_and_pte_tables(model):
    """The first insert allocates one PUD, one PMD and one PTE table, in walk order."""
    k = mc.mixed_insert_of_mmio(model)
    c = mc.last_call(k)
    assert trace(c.events)[:3] == ALLOC3
    assert "__get_locked_pte:pte_table_allocated" in c.branches
    assert k.snapshot()["pgtables"] == {"pud": 1, "pmd": 1, "pte": 1}


@covers("__get_locked_pte:ok")
@BOTH
def test_an_insert_into_an_existing_pte_table_allocates_nothing(model):
    """The second insert in the same 2 MiB finds every table there: no allocation."""
    k = mc.pfnmap_inserts_without_pte_special_then_zap(model)
    second = mc.calls(k)[1]
    assert second.ret == 0
    assert trace(second.events) == SET_AND_UPDATE
    assert "__get_locked_pte:ok" in second.branches
    assert "__get_locked_pte:pte_table_allocated" not in second.branches
    assert k.snapshot()["pgtables"] == {"pud": 1, "pmd": 1, "pte": 1}


@covers("__get_locked_pte:pud_alloc_failed")
@BOTH
def test_an_insert_whose_pud_allocation_fails_returns_enomem_and_allocates_nothing(model):
    """pud_alloc() fails: -ENOMEM, no table, no entry."""
    k = mc.mixed_insert_failing_pud_alloc(model)
    c = mc.last_call(k)
    assert c.ret == -ENOMEM
    assert trace(c.events) == [("alloc_fail", "pud_alloc")]
    assert "__get_locked_pte:pud_alloc_failed" in c.branches
    assert k.snapshot()["pgtables"] == {"pud": 0, "pmd": 0, "pte": 0}
    assert k.mm.pgtable == {}


@covers("__get_locked_pte:pmd_alloc_failed")
@BOTH
def test_an_insert_whose_pmd_allocation_fails_keeps_the_pud_table_and_returns_enomem(model):
    """pmd_alloc() fails after pud_alloc(): -ENOMEM; the PUD table stays (nothing frees it)."""
    k = mc.mixed_insert_failing_pmd_alloc(model)
    c = mc.last_call(k)
    assert c.ret == -ENOMEM
    assert trace(c.events) == [("alloc", "pud_alloc"), ("alloc_fail", "pmd_alloc")]
    assert "__get_locked_pte:pmd_alloc_failed" in c.branches
    assert k.snapshot()["pgtables"] == {"pud": 1, "pmd": 0, "pte": 0}


@covers("__get_locked_pte:pte_alloc_failed")
@BOTH
def test_an_insert_whose_pte_table_allocation_fails_keeps_the_upper_tables(model):
    """pte_alloc_map_lock() fails after the PUD and PMD: -ENOMEM, those two tables stay."""
    k = mc.mixed_insert_failing_pte_alloc(model)
    c = mc.last_call(k)
    assert c.ret == -ENOMEM
    assert trace(c.events) == [("alloc", "pud_alloc"), ("alloc", "pmd_alloc"),
                               ("alloc_fail", "pte_alloc")]
    assert "__get_locked_pte:pte_alloc_failed" in c.branches
    assert k.snapshot()["pgtables"] == {"pud": 1, "pmd": 1, "pte": 0}


# --- insert_pfn ---

@covers("insert_pfn:no_pte")
@BOTH
def test_insert_pfn_without_a_pte_returns_enomem_and_stores_nothing(model):
    """get_locked_pte() gave NULL: insert_pfn() returns -ENOMEM before any set_pte_at()."""
    k = mc.mixed_insert_failing_pte_alloc(model)
    c = mc.last_call(k)
    assert c.ret == -ENOMEM
    assert "insert_pfn:no_pte" in c.branches
    assert not [e for e in c.events if e.kind is EventKind.ARCH]
    assert mc.pte_at(k, A0) == pte_t(0)


@covers("insert_pfn:insert:special")
@BOTH
def test_a_mixed_insert_of_mmio_makes_a_present_special_read_only_pte_and_updates_the_mmu(model):
    """pte_mkspecial(pfn_t_pte(pfn, vm_page_prot)), set_pte_at, update_mmu_cache; 0."""
    k = mc.mixed_insert_of_mmio(model)
    c = mc.last_call(k)
    expected = entry(MMIO, RO | _PAGE_SPECIAL)
    assert c.ret == 0
    assert mc.pte_at(k, A0) == expected
    assert trace(c.events) == ALLOC3 + SET_AND_UPDATE
    assert details(c.events, EventKind.ARCH)[0] == (
        "set_pte_at", {"addr": A0, "old": 0, "new": expected.val})
    assert "insert_pfn:insert:special" in c.branches
    assert k.snapshot()["pages"] == {} and k.tainted is False


@covers("insert_pfn:insert:devmap")
@BOTH
def test_a_mixed_insert_of_zone_device_memory_makes_a_devmap_pte(model):
    """pfn_t_devmap (PFN_DEV|PFN_MAP, __HAVE_ARCH_PTE_DEVMAP): pte_mkdevmap sets SPECIAL and
    DEVMAP; no page reference is taken."""
    k = mc.mixed_insert_of_device_memory(model)
    c = mc.last_call(k)
    assert c.ret == 0
    assert mc.pte_at(k, A0) == entry(DEV, RO | _PAGE_SPECIAL | _PAGE_DEVMAP)
    assert trace(c.events) == ALLOC3 + SET_AND_UPDATE
    assert "insert_pfn:insert:devmap" in c.branches
    assert k.snapshot()["pages"] == {}


@covers("insert_pfn:present")
@BOTH
def test_an_insert_over_a_present_pte_returns_ebusy_and_leaves_it_alone(model):
    """insert_pfn() without mkwrite on a populated PTE: -EBUSY, no store, no event."""
    k = mc.mixed_insert_twice(model)
    second = mc.last_call(k)
    assert second.ret == -EBUSY
    assert second.events == ()
    assert "insert_pfn:present" in second.branches
    assert mc.pte_at(k, A0) == entry(MMIO, RO | _PAGE_SPECIAL)


@covers("insert_pfn:out_mkwrite:mkwrite")
@POST
def test_an_mkwrite_insert_into_a_none_pte_of_a_shared_writable_mapping_makes_a_present_special_young_dirty_writable_pte(model):  # noqa: E501
    """vm_insert_mixed_mkwrite() on VM_SHARED|VM_WRITE: pte_mkyoung, pte_mkdirty, maybe_mkwrite
    (RW) on the new special entry, stored once; returns 0."""
    k = mc.mkwrite_insert_into_a_shared_writable_mapping(model)
    c = mc.last_call(k)
    expected = entry(MMIO, RO | _PAGE_SPECIAL | DIRTY | _PAGE_RW)
    pte = mc.pte_at(k, A0)
    assert c.ret == 0
    assert (pte_present(pte), pte_special(pte), pte_young(pte), pte_dirty(pte),
            pte_write(pte)) == (True, True, True, True, True)
    assert pte == expected
    assert trace(c.events) == ALLOC3 + SET_AND_UPDATE
    assert details(c.events, EventKind.ARCH)[0] == (
        "set_pte_at", {"addr": A0, "old": 0, "new": expected.val})
    assert c.branches[-2:] == ("insert_pfn:insert:special", "insert_pfn:out_mkwrite:mkwrite")


@POST
def test_an_mkwrite_insert_into_a_mapping_without_vm_write_makes_a_young_dirty_but_not_writable_pte(model):  # noqa: E501
    """maybe_mkwrite() adds RW only with VM_WRITE: young and dirty, read-only; returns 0."""
    k = mc.mkwrite_insert_into_a_shared_read_only_mapping(model)
    c = mc.last_call(k)
    pte = mc.pte_at(k, A0)
    assert c.ret == 0
    assert (pte_young(pte), pte_dirty(pte), pte_write(pte)) == (True, True, False)
    assert mc.pte_at(k, A0) == entry(MMIO, RO | _PAGE_SPECIAL | DIRTY)
    assert "insert_pfn:out_mkwrite:mkwrite" in c.branches


@POST
def test_an_mkwrite_insert_of_zone_device_memory_makes_a_writable_dirty_devmap_pte(model):
    """The devmap entry gets the same young/dirty/RW treatment (DAX's write fault in v4.14)."""
    k = mc.mkwrite_insert_of_device_memory(model)
    assert mc.last_call(k).ret == 0
    assert mc.pte_at(k, A0) == entry(DEV, RO | _PAGE_SPECIAL | _PAGE_DEVMAP | DIRTY | _PAGE_RW)


@covers("insert_pfn:present:mkwrite:reuse")
@POST
def test_an_mkwrite_insert_over_a_present_pte_of_the_same_pfn_makes_it_dirty_and_writable_in_place(model):  # noqa: E501
    """The present entry is reused (goto out_mkwrite): young, dirty, RW added, stored over
    the old entry with set_pte_at and update_mmu_cache; returns 0 where v4.13 said -EBUSY;
    x86's set_pte_at has no check, so no warning."""
    k = mc.mkwrite_over_a_read_only_insert(model)
    c = mc.last_call(k)
    old = entry(MMIO, RO | _PAGE_SPECIAL)
    new = entry(MMIO, RO | _PAGE_SPECIAL | DIRTY | _PAGE_RW)
    assert c.ret == 0
    assert mc.pte_at(k, A0) == new
    assert trace(c.events) == SET_AND_UPDATE
    assert details(c.events, EventKind.ARCH)[0] == (
        "set_pte_at", {"addr": A0, "old": old.val, "new": new.val})
    assert "insert_pfn:present:mkwrite:reuse" in c.branches
    assert not k.tainted


@POST
def test_an_mkwrite_reuse_on_ppc64_hash_warns_in_set_pte_at_and_leaves_its_hpte_behind(model):
    """ppc64's set_pte_at() VM_WARN_ONs on a present entry (arch/powerpc/mm/pgtable.c), and
    the reuse path stores over one; set_pte_filter() strips the hash bits, so the HPTE the
    first insert's update_mmu_cache() hashed in stays, untracked, and this insert's
    update_mmu_cache() hashes a second one in beside it."""
    k = mc.mkwrite_over_a_read_only_insert_on_ppc64_with_debug_vm(model)
    c = mc.last_call(k)
    vpn = A0 >> PAGE_SHIFT
    assert c.ret == 0
    assert details(c.events, EventKind.WARN) == [
        ("set_pte_at", {"condition": "pte_present(*ptep) && !pte_protnone(*ptep)",
                        "printed": True})]
    assert trace(c.events)[0] == ("warn", "set_pte_at")
    assert [(f, d["condition"]) for f, d in details(c.events, EventKind.BAD_HPTE)] == [
        ("set_pte_at", arch.STALE_HPTE), ("__hash_page_4K", arch.TWO_HPTES)]
    assert mc.pte_at(k, A0) == entry(MMIO, RO | _PAGE_SPECIAL | DIRTY | _PAGE_RW | HASHED_AT_1)
    assert k.htab == {(vpn, 0): hpte(MMIO, rw=False), (vpn, 1): hpte(MMIO, rw=True)}
    assert k.untracked_hptes() == [(vpn, 0)]
    assert k.tainted


@POST
def test_an_mkwrite_reuse_on_arm64_with_debug_vm_clears_rdonly_without_tripping_the_race_checks(model):  # noqa: E501
    """arm64's set_pte_at (v4.13 semantics): a dirty writable entry loses PTE_RDONLY; the
    new entry is young and dirty, so neither racy-clearing VM_WARN_ONCE fires; arm64 has no
    soft-dirty bit."""
    k = mc.mkwrite_over_a_read_only_insert_on_arm64_with_debug_vm(model)
    first, second = mc.calls(k)
    assert details(first.events, EventKind.ARCH)[0][1]["new"] == entry(
        MMIO, RO | _PAGE_SPECIAL | _PAGE_ARM64_RDONLY).val
    assert second.ret == 0
    assert observable(second.events) == []
    assert mc.pte_at(k, A0) == entry(MMIO, RO | _PAGE_SPECIAL | _PAGE_DIRTY | _PAGE_RW)


@covers("insert_pfn:present:mkwrite:pfn_mismatch")
@POST
def test_an_mkwrite_insert_over_another_pfn_warns_once_and_returns_ebusy(model):
    """WARN_ON_ONCE(pte_pfn(*pte) != pfn_t_to_pfn(pfn)): -EBUSY, entry untouched; the second
    hit of the same WARN_ON_ONCE is not printed."""
    k = mc.mkwrite_of_another_pfn_twice(model)
    _, first, second = mc.calls(k)
    condition = "pte_pfn(*pte) != pfn_t_to_pfn(pfn)"
    assert first.ret == second.ret == -EBUSY
    assert details(first.events, EventKind.WARN) == [
        ("insert_pfn", {"condition": condition, "printed": True})]
    assert details(second.events, EventKind.WARN) == [
        ("insert_pfn", {"condition": condition, "printed": False})]
    assert not [e for e in first.events + second.events if e.kind is EventKind.ARCH]
    assert "insert_pfn:present:mkwrite:pfn_mismatch" in first.branches
    assert mc.pte_at(k, A0) == entry(MMIO, RO | _PAGE_SPECIAL)


@POST
def test_an_mkwrite_insert_over_a_private_cow_copy_warns_and_leaves_the_copy(model):
    """The code comment's case: the PTE maps a writable COW copy, not the requested pfn:
    WARN_ON_ONCE, -EBUSY, the anonymous copy stays mapped."""
    k = mc.mkwrite_over_a_cow_copy(model)
    c = mc.last_call(k)
    assert c.ret == -EBUSY
    assert observable(c.events) == [("warn", "insert_pfn")]
    assert mc.pte_at(k, A0) == entry(ANON, RO | DIRTY | _PAGE_RW)


@POST
def test_an_mkwrite_insert_of_ram_without_pte_special_goes_through_insert_page_and_stays_clean(model):  # noqa: E501
    """__vm_insert_mixed() passes mkwrite to insert_pfn() only: without pte_special a valid
    pfn goes to insert_page(), which maps it read-only and clean, refcounted."""
    k = mc.mkwrite_insert_of_ram_without_pte_special(model)
    c = mc.last_call(k)
    assert c.ret == 0
    assert mc.pte_at(k, A0) == entry(RAM, RO)
    assert "insert_pfn:out_mkwrite:mkwrite" not in c.branches
    assert page_state(k, RAM) == (2, 1)


@POST
def test_an_mkwrite_insert_outside_the_vma_returns_efault(model):
    """__vm_insert_mixed() checks the range before anything: -EFAULT, no allocation."""
    k = mc.mkwrite_insert_outside_the_vma(model)
    c = mc.last_call(k)
    assert c.ret == -EFAULT
    assert c.events == ()


def test_an_mkwrite_insert_leaves_the_entry_v4_13_reached_through_the_dax_pfn_mkwrite_write_fault():  # noqa: E501
    """The commit's intent: insert_pfn() with mkwrite does the work wp_page_reuse() did via
    dax_pfn_mkwrite(); both end with the same young, dirty, writable devmap entry."""
    before = mc.dax_write_fault(v4_13)
    after = mc.mkwrite_insert_of_device_memory(v4_14)
    assert mc.pte_at(after, A0) == mc.pte_at(before, A0)
    assert mc.pte_at(after, A0) == entry(DEV, RO | _PAGE_SPECIAL | _PAGE_DEVMAP | DIRTY | _PAGE_RW)

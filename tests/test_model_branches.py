"""One test per modelled branch of the kernel models (`fuzzplug.kernel.v4_13`, `v4_14`).

Each test runs a case of `tests/model_cases.py` and asserts what the kernel does on that
branch: the exact PTE (x86-64 bits, `fuzzplug.kernel.types`), the return value, the events
(WARN/BUG/bad-PTE/signal, architecture hooks, references, rmap, counters) and the page
bookkeeping. Expected values come from mm/memory.c (v4.13.9, and v4.14.5 for the patched
functions), arch/x86 (pgtable_types.h: PAGE_COPY = PAGE_READONLY = PRESENT|USER|ACCESSED|NX,
PAGE_SHARED adds RW; pte_mkdirty sets DIRTY and SOFT_DIRTY; pte_mkdevmap sets SPECIAL and
DEVMAP), fs/dax.c (v4.13 dax_pfn_mkwrite) and mm/filemap.c (filemap_page_mkwrite).

`@covers(id)` names the branch a test is about; the last test checks that every branch id the
models declare has a test of its own.
"""

from __future__ import annotations

import pytest

import model_cases as mc
from fuzzplug.kernel import arch, v4_13, v4_14
from fuzzplug.kernel.state import EventKind, Kernel, hpte
from fuzzplug.kernel.types import (
    mm_counter,
    _PAGE_ACCESSED,
    _PAGE_ARM64_RDONLY,
    _PAGE_DEVMAP,
    _PAGE_DIRTY,
    _PAGE_NX,
    _PAGE_PCD,
    _PAGE_PRESENT,
    _PAGE_RW,
    _PAGE_SOFT_DIRTY,
    _PAGE_SPECIAL,
    _PAGE_USER,
    EBUSY,
    EFAULT,
    H_PAGE_F_GIX_SHIFT,
    H_PAGE_HASHPTE,
    EINVAL,
    ENOMEM,
    PAGE_SHIFT,
    VM_FAULT_DONE_COW,
    VM_FAULT_HWPOISON,
    VM_FAULT_NOPAGE,
    VM_FAULT_OOM,
    VM_FAULT_SIGBUS,
    VM_FAULT_SIGSEGV,
    VM_FAULT_WRITE,
    pte_dirty,
    pte_pfn,
    pte_present,
    pte_special,
    pte_t,
    pte_write,
    pte_young,
)
from fuzzplug.targets.insert_pfn import TARGET

BOTH = pytest.mark.parametrize("model", [v4_13, v4_14], ids=["v4.13", "v4.14"])
POST = pytest.mark.parametrize("model", [v4_14], ids=["v4.14"])

A0, A1, END = mc.A0, mc.A1, mc.END
RAM, DEV, MMIO, ZERO, ANON, BEYOND = mc.RAM, mc.DEV, mc.MMIO, mc.ZERO, mc.ANON, mc.BEYOND

# x86 pgtable_types.h: PAGE_COPY == PAGE_READONLY; PAGE_SHARED adds _PAGE_RW.
RO = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX
RW = RO | _PAGE_RW
DIRTY = _PAGE_DIRTY | _PAGE_SOFT_DIRTY  # pte_mkdirty()
KERNEL_RW = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED  # writable, not user-accessible
HASHED_AT_0 = H_PAGE_HASHPTE  # ppc64 hash: the entry's HPTE is in slot 0 of its group
HASHED_AT_1 = H_PAGE_HASHPTE | 1 << H_PAGE_F_GIX_SHIFT

COVERED: dict[str, str] = {}


def covers(branch_id: str):
    """Name the branch id a test is about (one test of its own per id)."""

    def mark(fn):
        assert branch_id not in COVERED, f"{branch_id} already has {COVERED[branch_id]}"
        COVERED[branch_id] = fn.__name__
        return fn

    return mark


def entry(pfn: int, bits: int) -> pte_t:
    return pte_t(pfn << PAGE_SHIFT | bits)


def trace(events) -> list[tuple[str, str]]:
    """Events as (kind, function)."""
    return [(e.kind.value, e.function) for e in events]


def details(events, kind: EventKind) -> list[tuple[str, dict]]:
    return [(e.function, dict(e.detail)) for e in events if e.kind is kind]


def observable(events) -> list[tuple[str, str]]:
    kinds = {EventKind.BUG, EventKind.WARN, EventKind.BAD_PTE, EventKind.SIGNAL,
             EventKind.BAD_HPTE}
    return [(e.kind.value, e.function) for e in events if e.kind in kinds]


def counters(k: Kernel) -> dict[str, int]:
    return k.snapshot()["counters"]


def page_state(k: Kernel, pfn: int) -> tuple[int, int]:
    p = mc.page_at(k, pfn)
    return p._refcount, p._mapcount


def in_a_row(branches, *ids: str) -> bool:
    """`ids` were taken one right after the other (in that order) somewhere in `branches`."""
    n = len(ids)
    return any(tuple(branches[i:i + n]) == ids for i in range(len(branches) - n + 1))


ALLOC3 = [("alloc", "pud_alloc"), ("alloc", "pmd_alloc"), ("alloc", "pte_alloc")]
SET_AND_UPDATE = [("arch", "set_pte_at"), ("arch", "update_mmu_cache")]


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


# --- the user access ---

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


# --- do_wp_page and below ---

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


# --- non-present entries decoded as swap entries ---

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


# --- the MMU's own access ---

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


# --- the smaller discrepancies ---

@covers("vm_normal_page:check_pfn:memmap_hole")
@BOTH
def test_a_non_special_pte_of_a_pfn_in_a_memmap_hole_is_trusted_and_oopses(model):
    """check_pfn tests only pfn > highest_memmap_pfn: a pfn below it without a struct page
    is handed to pfn_to_page(), whose pointer is into unmapped vmemmap: the zap oopses
    (no bad-PTE report)."""
    k = mc.zap_of_a_normal_entry_in_a_memmap_hole(model)
    c = mc.last_call(k)
    assert c.ret == "BUG"
    assert c.branches[-1] == "vm_normal_page:check_pfn:memmap_hole"
    assert observable(c.events) == [("bug", "vm_normal_page")]


@covers("filemap_page_mkwrite:not_this_file")
@BOTH
def test_filemap_page_mkwrite_of_a_page_not_of_the_file_returns_nopage_without_dirtying(model):
    """page->mapping != inode->i_mapping (a ZONE_DEVICE page has none in v4.13): unlock,
    VM_FAULT_NOPAGE; wp_page_shared() drops its reference; nothing dirtied, entry as it was."""
    k = mc.write_fault_on_a_device_page_with_page_mkwrite(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_NOPAGE
    assert in_a_row(c.branches, "filemap_page_mkwrite:not_this_file",
                    "do_page_mkwrite:error_or_nopage", "wp_page_shared:page_mkwrite:failed")
    assert not mc.page_at(k, DEV).dirty
    assert page_state(k, DEV) == (1, 0)
    assert mc.pte_at(k, A0) == entry(DEV, RO | _PAGE_DEVMAP)


@covers("filemap_page_mkwrite:dirty")
@BOTH
def test_filemap_page_mkwrite_of_a_page_of_the_file_dirties_it_and_returns_it_locked(model):
    """page->mapping is the file's: set_page_dirty(), VM_FAULT_LOCKED."""
    k = mc.write_fault_on_a_shared_file_page_with_page_mkwrite(model)
    c = mc.last_call(k)
    assert in_a_row(c.branches, "filemap_page_mkwrite:dirty", "do_page_mkwrite:locked")
    assert mc.page_at(k, RAM).dirty


@BOTH
def test_arm64_refuses_a_load_of_an_exec_only_vma_where_x86_lets_it_through(model):
    """arm64's __do_page_fault() wants VM_READ|VM_WRITE for a load; x86's access_error()
    takes VM_EXEC too, and the entry it maps is PAGE_READONLY_EXEC (no NX)."""
    k = mc.read_of_an_exec_only_vma_on_arm64(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_SIGSEGV
    assert c.branches == ("mmu_access:arm64:translation_fault", "do_user_fault:access_error")
    k = mc.read_of_an_exec_only_vma_on_x86(model)
    assert mc.last_call(k).ret == VM_FAULT_NOPAGE
    assert mc.pte_at(k, A0) == entry(DEV, RO & ~_PAGE_NX | _PAGE_SPECIAL | _PAGE_DEVMAP)


# --- the list is complete ---

def test_every_branch_id_the_models_declare_has_a_test_of_its_own():
    """The union of both models' declared branch ids is exactly the set named by @covers."""
    declared = set().union(*TARGET.branch_ids().values())
    assert sorted(declared - set(COVERED)) == []
    assert sorted(set(COVERED) - declared) == []


"""One test per branch the fixes add to insert_pfn(), and what each fix changes on the way.

The fixed models (`fuzzplug.kernel.v4_14_f2c57d91b0d9`, `v4_14_f2c57d91b0d9_cae85cb8add3`)
are v4.14 with one fix each (`tests/test_model_siblings.py`); everything `tests/
test_model_branches_*.py` say of v4.14 outside insert_pfn() holds for them. Expected values
come from the stable 4.14 postings of the fixes (the linux-mm archive) and the architecture
hooks: x86's ptep_set_access_flags() stores when the entry changed and dirty is set,
hash__ptep_set_access_flags() ORs the access bits into the entry keeping its hash bits,
radix__ptep_set_access_flags() ORs DIRTY|ACCESSED|RW|EXEC (not SOFT_DIRTY).
"""

from __future__ import annotations

import pytest

import model_cases as mc
from fuzzplug.kernel import v4_14, v4_14_f2c57d91b0d9, v4_14_f2c57d91b0d9_cae85cb8add3
from fuzzplug.kernel.state import EventKind, hpte
from fuzzplug.kernel.types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_NX,
    _PAGE_PRESENT,
    _PAGE_RW,
    _PAGE_SOFT_DIRTY,
    _PAGE_SPECIAL,
    _PAGE_USER,
    EBUSY,
    H_PAGE_HASHPTE,
    PAGE_SHIFT,
    pte_t,
)
from fuzzplug.targets.insert_pfn import TARGET

F2C = v4_14_f2c57d91b0d9
BOTH_FIXES = v4_14_f2c57d91b0d9_cae85cb8add3
WITH_F2C = pytest.mark.parametrize("model", [F2C, BOTH_FIXES], ids=["f2c", "f2c+cae"])
WITH_CAE = pytest.mark.parametrize("model", [BOTH_FIXES], ids=["f2c+cae"])

A0, A1 = mc.A0, mc.A1
MMIO, ZERO = mc.MMIO, mc.ZERO
RO = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX
DIRTY = _PAGE_DIRTY | _PAGE_SOFT_DIRTY

COVERED: dict[str, str] = {}


def covers(branch_id: str):
    """Name the branch id (one the fixes add) a test is about."""

    def mark(fn):
        assert branch_id not in COVERED
        COVERED[branch_id] = fn.__name__
        return fn

    return mark


def entry(pfn: int, bits: int) -> pte_t:
    return pte_t(pfn << PAGE_SHIFT | bits)


def details(events, kind: EventKind) -> list[tuple[str, dict]]:
    return [(e.function, dict(e.detail)) for e in events if e.kind is kind]


def arch_calls(events) -> list[str]:
    return [e.function for e in events if e.kind is EventKind.ARCH]


# --- f2c57d91b0d9 "mm: Fix warning in insert_pfn()" ---------------------------------------------

@covers("insert_pfn:present:mkwrite:pfn_mismatch:zero_pfn")
@WITH_F2C
def test_an_mkwrite_insert_over_the_zero_page_returns_ebusy_without_a_warning(model):
    """The hole-to-block race of the fix's message: the PTE still maps the zero page; the
    pfns differ, so -EBUSY and the entry untouched, but no WARN (is_zero_pfn)."""
    k = mc.mkwrite_over_the_zero_page_then_over_another_pfn(model)
    _, over_zero, _, over_other = mc.calls(k)
    assert over_zero.ret == -EBUSY
    assert details(over_zero.events, EventKind.WARN) == []
    assert over_zero.branches[-2:] == ("insert_pfn:present:mkwrite:pfn_mismatch",
                                       "insert_pfn:present:mkwrite:pfn_mismatch:zero_pfn")
    assert arch_calls(over_zero.events) == []
    assert mc.pte_at(k, A0) == entry(ZERO, RO | _PAGE_SPECIAL)


@WITH_F2C
def test_an_mkwrite_insert_over_another_non_zero_pfn_still_warns_with_the_new_condition(model):
    """Mismatch with a pfn that is not the zero page: WARN_ON_ONCE(!is_zero_pfn(...)) fires,
    printed even after the zero-page mismatch (which no longer spends the once), -EBUSY."""
    k = mc.mkwrite_over_the_zero_page_then_over_another_pfn(model)
    over_other = mc.calls(k)[3]
    assert over_other.ret == -EBUSY
    assert details(over_other.events, EventKind.WARN) == [
        ("insert_pfn", {"condition": "!is_zero_pfn(pte_pfn(*pte))", "printed": True})]
    assert "insert_pfn:present:mkwrite:pfn_mismatch:zero_pfn" not in over_other.branches
    assert mc.pte_at(k, A1) == entry(MMIO, RO | _PAGE_SPECIAL)


def test_before_the_fix_the_zero_page_mismatch_warns_and_spends_the_once():
    """v4.14: the first mismatch (the zero page) prints the WARN, the second does not."""
    k = mc.mkwrite_over_the_zero_page_then_over_another_pfn(v4_14)
    _, over_zero, _, over_other = mc.calls(k)
    assert [d["printed"] for _, d in details(over_zero.events + over_other.events,
                                             EventKind.WARN)] == [True, False]


# --- cae85cb8add3 "mm/memory.c: fix modifying of page protection by insert_pfn()" ---------------

@covers("insert_pfn:present:mkwrite:reuse:changed")
@WITH_CAE
def test_an_mkwrite_reuse_stores_with_ptep_set_access_flags_then_updates_the_mmu(model):
    """On x86: the entry made young, dirty and writable, stored by ptep_set_access_flags
    (changed), then update_mmu_cache; no set_pte_at; the return is -EBUSY (retval)."""
    k = mc.mkwrite_over_a_read_only_insert(model)
    c = mc.last_call(k)
    assert c.ret == -EBUSY
    assert arch_calls(c.events) == ["ptep_set_access_flags", "update_mmu_cache"]
    assert details(c.events, EventKind.ARCH)[0][1]["changed"] == 1
    assert mc.pte_at(k, A0) == entry(MMIO, RO | _PAGE_SPECIAL | DIRTY | _PAGE_RW)
    assert not k.tainted


@covers("insert_pfn:present:mkwrite:reuse:unchanged")
@WITH_CAE
def test_an_mkwrite_reuse_of_an_entry_already_upgraded_changes_nothing(model):
    """The second mkwrite over the same pfn: ptep_set_access_flags finds the entry as it
    would make it, stores nothing and reports no change, so no update_mmu_cache; -EBUSY."""
    k = mc.mkwrite_twice_over_a_read_only_insert(model)
    c = mc.last_call(k)
    assert c.ret == -EBUSY
    assert arch_calls(c.events) == ["ptep_set_access_flags"]
    assert details(c.events, EventKind.ARCH)[0][1]["changed"] == 0
    assert mc.pte_at(k, A0) == entry(MMIO, RO | _PAGE_SPECIAL | DIRTY | _PAGE_RW)


@WITH_CAE
def test_an_mkwrite_reuse_on_ppc64_hash_keeps_one_tracked_hpte_and_warns_nowhere(model):
    """The report of the fix: no set_pte_at() VM_WARN_ON; the hash bits stay, and
    update_mmu_cache()'s preload updates the one HPTE in place (writable now)."""
    k = mc.mkwrite_over_a_read_only_insert_on_ppc64_with_debug_vm(model)
    c = mc.last_call(k)
    vpn = A0 >> PAGE_SHIFT
    assert c.ret == -EBUSY
    assert details(c.events, EventKind.WARN) == []
    assert details(c.events, EventKind.BAD_HPTE) == []
    assert mc.pte_at(k, A0) == entry(MMIO, RO | _PAGE_SPECIAL | DIRTY | _PAGE_RW
                                     | H_PAGE_HASHPTE)
    assert k.htab == {(vpn, 0): hpte(MMIO, rw=True)}
    assert k.untracked_hptes() == []
    assert not k.tainted


@WITH_CAE
def test_an_mkwrite_reuse_on_ppc64_radix_loses_soft_dirty_as_the_write_fault_did(model):
    """radix__ptep_set_access_flags() ORs DIRTY|ACCESSED|RW|EXEC only: the entry is dirty
    and writable without _PAGE_SOFT_DIRTY, as v4.13's wp_page_reuse() left it; no warning."""
    k = mc.mkwrite_over_a_read_only_insert_on_ppc64_radix_with_debug_vm(model)
    c = mc.last_call(k)
    assert details(c.events, EventKind.WARN) == []
    assert mc.pte_at(k, A0) == entry(MMIO, RO | _PAGE_SPECIAL | _PAGE_DIRTY | _PAGE_RW)


def test_every_branch_id_a_fix_adds_has_a_test_of_its_own():
    """The branch ids the fixed models declare beyond v4.14's are exactly those named here."""
    ids = {}
    for post in ("v4.14+f2c57d91b0d9", "v4.14+f2c57d91b0d9+cae85cb8add3"):
        ids.update(TARGET.with_pair("v4.14", post).branch_ids())
    added = set().union(*ids.values()) - ids["v4.14"]
    assert sorted(added) == sorted(COVERED)

"""What the branch tests of the kernel models share (not a test module): `@covers`, the
x86-64 entry bits, and views of a call's events and of the page bookkeeping.

The tests (tests/test_model_branches_*.py) are one per modelled branch of the kernel models
(`fuzzplug.kernel.v4_13`, `v4_14`). Each runs a case of `tests/model_cases/` and asserts what
the kernel does on that branch: the exact PTE (x86-64 bits, `fuzzplug.kernel.types`), the
return value, the events (WARN/BUG/bad-PTE/signal, architecture hooks, references, rmap,
counters) and the page bookkeeping. Expected values come from mm/memory.c (v4.13.9, and v4.14.5
for the patched functions), arch/x86 (pgtable_types.h: PAGE_COPY = PAGE_READONLY =
PRESENT|USER|ACCESSED|NX, PAGE_SHARED adds RW; pte_mkdirty sets DIRTY and SOFT_DIRTY;
pte_mkdevmap sets SPECIAL and DEVMAP), fs/dax.c (v4.13 dax_pfn_mkwrite) and mm/filemap.c
(filemap_page_mkwrite).

`@covers(id)` names the branch a test is about; tests/test_model_branches_are_all_covered.py
checks that every branch id the models declare has a test of its own.
"""

from __future__ import annotations

import pytest

import model_cases as mc
from fuzzplug.kernel import v4_13, v4_14
from fuzzplug.kernel.state import EventKind, Kernel
from fuzzplug.kernel.types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_NX,
    _PAGE_PRESENT,
    _PAGE_RW,
    _PAGE_SOFT_DIRTY,
    _PAGE_USER,
    H_PAGE_F_GIX_SHIFT,
    H_PAGE_HASHPTE,
    PAGE_SHIFT,
    pte_t,
)


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

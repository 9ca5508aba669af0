"""insert_pfn_pmd's semantic features: the generic ones, and a coarse class of the states
reached (the target's `Featured` capability).

The generic features (`fuzzplug.core.features`: branch successions, returns per op,
verdict and signature) reward new code paths of the models; the ones here reward new
*states*, so that libFuzzer keeps an input that built an unusual state even when reaching
it took no new branch (a writable dirty huge entry left by a write fault is what a racing
read then overwrites in v5.0; a second table deposited under one PMD is what exit then
counts):

- `("pmd", side, flags, zero)` and `("pud", side, flags)`: each huge entry of the final
  page table, by its flag names (present, RW, DIRTY, ACCESSED, PSE, DEVMAP... as
  `huge_flag_names` spells them) and, for a PMD, whether it maps the huge zero page;
- `("hook", side, function, flags)`: each entry an architecture hook stored during the run
  (`set_pmd_at`, `pmdp_set_access_flags`, `pmdp_huge_get_and_clear_full`...; not
  `update_mmu_cache_pmd`, which stores nothing), by the flags of the new value: the
  intermediate states, which the final state may not show;
- `("tables", side, deposited, bytes, live)`: the most tables deposited under one PMD,
  mm->pgtables_bytes in tables, and the PTE tables alive, each in buckets (0, 1, 2, 3 or
  more; negative: -1);
- `("file", side, zero_entries, inode_dirty)`: whether the file has huge zero entries and
  uncommitted metadata;
- `("alloc_fail", side, op, site)`: where an injected allocation failure landed.

Addresses and pfn values are left out: the classes are coarse on purpose (one mapping, a
few entries, a handful of hooks: a few hundred features in all).
"""

from __future__ import annotations

from collections.abc import Hashable

from fuzzplug.core.features import outcome_features
from fuzzplug.core.opslang import Op
from fuzzplug.core.oracle import Outcome
from fuzzplug.kernel.huge_state import HUGE_ZERO_PFN, PTE_TABLE_BYTES, HugeKernel
from fuzzplug.kernel.huge_types import huge_flag_names, pmd_pfn
from fuzzplug.kernel.state import EventKind
from fuzzplug.kernel.types import PTE_PFN_MASK

SILENT_HOOKS = frozenset({"update_mmu_cache_pmd", "update_mmu_cache_pud"})
"""Hooks whose event stores nothing (old == new)."""


def _bucket(n: int) -> int:
    return -1 if n < 0 else min(n, 3)


def state_features(side: int, k: HugeKernel, calls: tuple[Op, ...], runs,
                   out: set[Hashable]) -> None:
    """Add the state features of one side to `out` (see the module docstring)."""
    mm = k.mm5
    add = out.add
    for entry in mm.pmds.values():
        add(("pmd", side, huge_flag_names(entry.val & ~PTE_PFN_MASK),
             pmd_pfn(entry) == HUGE_ZERO_PFN))
    for entry in mm.puds.values():
        add(("pud", side, huge_flag_names(entry.val & ~PTE_PFN_MASK)))
    deposited = max((len(t) for t in mm.pmd_huge_pte.values()), default=0)
    add(("tables", side, _bucket(deposited), _bucket(mm.pgtables_bytes // PTE_TABLE_BYTES),
         _bucket(len(mm.pgtables_live))))
    if k.file is not None:
        add(("file", side, bool(k.file.zero_entries), bool(k.file.inode_dirty)))
    arch, alloc_fail = EventKind.ARCH, EventKind.ALLOC_FAIL
    for op, run in zip(calls, runs):
        for e in run.events:
            if e.kind is arch:
                if e.function in SILENT_HOOKS:
                    continue
                new = dict(e.detail).get("new")
                if new is None:
                    continue
                add(("hook", side, e.function, huge_flag_names(new & ~PTE_PFN_MASK)))
            elif e.kind is alloc_fail:
                add(("alloc_fail", side, op.name, e.function))


def features(schema, ops: tuple[Op, ...], outcome: Outcome) -> set[Hashable]:
    """Every feature of one evaluation: the generic ones and the state classes."""
    calls = tuple(op for op in ops if not schema.spec(op.name).scene)
    out = set(outcome_features(calls, outcome))
    for side, record in enumerate((outcome.pre, outcome.post)):
        if record.kernel is not None:
            state_features(side, record.kernel, calls, record.runs, out)
    return out

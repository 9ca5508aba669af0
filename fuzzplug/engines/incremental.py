"""Steppers: run an op sequence one call at a time, fork the run, and name its state.

The exhaustive checker walks a tree of op sequences. Re-evaluating every sequence from the
start costs its length in op steps; a `Stepper` instead keeps the two models' state after a
prefix, so each node of the tree costs one op step (plus a clone), and its `key()` lets the
checker merge prefixes that reach the same state.

`stepper_for(target, scene)` gives the insert_pfn stepper (`InsertPfnStepper`) for targets
with insert_pfn's runner, and `ReplayStepper` for any other target: it keeps only the prefix
and calls `Target.evaluate` on prefix + op (correct for any target, no state merging).

A target may bring its own stepper (`Target.stepper(scene_ops)`, the protocol addition this
module proposes; `stepper_for` uses it when present). `InsertPfnStepper` judges each op with
the target's own `compare_op`, the per-op comparison `InsertPfnTarget.evaluate` uses, so the
oracle logic lives once; `tests/test_exhaustive.py` checks that stepping and evaluating agree
on random sequences, and the checker re-runs every reproducer it reports through
`Target.evaluate`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Protocol

from fuzzplug.opslang import Op
from fuzzplug.oracle import Finding, Verdict


class Stepper(Protocol):
    """One run of a target, call by call."""

    calls: int
    """Calls run so far."""
    merges: bool
    """Whether `key()` can name two different prefixes alike (state merging)."""

    def step(self, op: Op) -> Finding | None:
        """Run one call on both models; the finding if this call is the first divergence."""
        ...

    def clone(self) -> "Stepper":
        """An independent copy of the run so far."""
        ...

    def key(self) -> Hashable:
        """Everything that decides what later calls do: equal keys, equal futures."""
        ...

    @property
    def finished(self) -> bool:
        """No extension of the run can diverge (checked after a non-divergent step)."""
        ...


class ReplayStepper:
    """Any target: keep the prefix; each step evaluates the whole sequence again."""

    merges = False

    def __init__(self, target, scene: tuple[Op, ...], prefix: tuple[Op, ...] = ()):
        self.target = target
        self.scene = scene
        self.prefix = prefix
        self.calls = len(prefix)

    def step(self, op: Op) -> Finding | None:
        index = len(self.prefix)
        self.prefix = self.prefix + (op,)
        self.calls = len(self.prefix)
        outcome = self.target.evaluate(self.scene + self.prefix)
        if outcome.verdict is Verdict.DIVERGENT and outcome.finding.op_index == index:
            return outcome.finding
        return None

    def clone(self) -> "ReplayStepper":
        return ReplayStepper(self.target, self.scene, self.prefix)

    def key(self) -> Hashable:
        return self.prefix  # no merging: only the same prefix is the same state

    @property
    def finished(self) -> bool:
        return False


# --- insert_pfn ---------------------------------------------------------------------------------

# The Kernel fields this module knows how to clone and key; a new field fails loudly here
# (teach clone_kernel and kernel_key about it) instead of being silently shared or ignored.
_KERNEL_FIELDS = frozenset({
    "config", "memmap", "events", "branches", "warned_once", "alloc_count", "fail_at",
    "next_anon_pfn", "tainted", "pages", "version", "mm", "vma", "fault_handler", "htab",
    "trap"})
_MM_FIELDS = frozenset({"kernel", "pgtable", "pud_tables", "pmd_tables", "pte_tables",
                        "rss_stat"})
_PAGE_FIELDS = frozenset({"pfn", "kind", "_refcount", "_mapcount", "anon", "dirty",
                          "referenced", "allocated"})
_VMA_FIELDS = frozenset({"vm_start", "vm_end", "vm_flags", "vm_page_prot", "vm_pgoff",
                         "vm_ops", "vm_mm", "anon_vma"})


def check_kernel_layout(k) -> None:
    """Fail loudly if the Kernel's objects have fields this module does not know."""
    from fuzzplug.kernel.state import mm_struct, page, vm_area_struct

    layout = (
        (set(vars(k)), _KERNEL_FIELDS, "Kernel"),
        ({f.name for f in dataclasses.fields(mm_struct)}, _MM_FIELDS, "mm_struct"),
        ({f.name for f in dataclasses.fields(page)}, _PAGE_FIELDS, "page"),
        ({f.name for f in dataclasses.fields(vm_area_struct)}, _VMA_FIELDS,
         "vm_area_struct"),
    )
    for have, known, what in layout:
        if have != known:
            raise AssertionError(f"{what} fields changed ({sorted(have ^ known)}): update "
                                 "fuzzplug.engines.incremental clone_kernel and kernel_key")


def clone_kernel(k):
    """A copy of a Kernel sharing no mutable object with it (the event and branch records
    start empty: they belong to the op that made them). Built field by field (the layout
    is checked by `check_kernel_layout`): copy.deepcopy is six times slower."""
    from fuzzplug.kernel.state import Kernel, mm_struct, page, vm_area_struct

    c = Kernel.__new__(Kernel)
    d = c.__dict__
    d.update(k.__dict__)
    d["events"] = []
    d["branches"] = []
    d["warned_once"] = set(k.warned_once)
    d["htab"] = dict(k.htab)  # hpte values are frozen
    d["pages"] = {pfn: page(p.pfn, p.kind, p._refcount, p._mapcount, p.anon, p.dirty,
                            p.referenced, p.allocated) for pfn, p in k.pages.items()}
    m = k.mm
    mm = mm_struct(c, dict(m.pgtable), set(m.pud_tables), set(m.pmd_tables),
                   set(m.pte_tables), dict(m.rss_stat))
    v = k.vma
    d["mm"] = mm
    d["vma"] = vm_area_struct(v.vm_start, v.vm_end, v.vm_flags, v.vm_page_prot, v.vm_pgoff,
                              v.vm_ops, mm, v.anon_vma)
    return c


def kernel_key(k) -> tuple:
    """Everything about a Kernel that later calls can depend on, normalised where two values
    provably behave the same:

    - struct pages still pristine are left out: `pfn_to_page` makes an absent page in exactly
      that state on first sight, so absent and pristine are one state;
    - allocation counting is kept as the distance to the failing allocation
      (`fail_at - alloc_count`): `should_fail_alloc` only compares the two for equality and
      `fail_nth_alloc` sets `fail_at` relative to `alloc_count`;
    - the event and branch records are the past, not the state, and are left out.

    The config, memory map, version and the VMA's fixed fields are the same for every
    prefix of one scene and are kept anyway (cheap, and safe if a model ever changes them).
    """
    mm = k.mm
    vma = k.vma
    pages = tuple(sorted((pfn, p.state()) for pfn, p in k.pages.items() if not p.pristine()))
    fail = None if k.fail_at is None else k.fail_at - k.alloc_count
    return (
        tuple(sorted(mm.pgtable.items())),
        tuple(sorted(mm.pud_tables)), tuple(sorted(mm.pmd_tables)),
        tuple(sorted(mm.pte_tables)),
        tuple((c.value, n) for c, n in mm.rss_stat.items()),
        pages, frozenset(k.warned_once), fail, k.next_anon_pfn, k.tainted,
        (vma.vm_start, vma.vm_end, vma.vm_flags, vma.vm_page_prot, vma.vm_pgoff,
         int(vma.vm_ops), vma.anon_vma),
        k.config, k.memmap, k.version, k.fault_handler,
        tuple(sorted(k.htab.items())), k.trap,
    )


_RUNNER: tuple | None = None


def _insert_pfn_runner() -> tuple:
    """The insert_pfn target's per-op comparison, imported once (targets load lazily)."""
    global _RUNNER
    if _RUNNER is None:
        from fuzzplug.targets.insert_pfn import compare_op

        _RUNNER = (compare_op,)
    return _RUNNER


class InsertPfnStepper:
    """insert_pfn: both models' kernels after the prefix, each call run and judged by the
    target's own `compare_op`, as `InsertPfnTarget.evaluate` does."""

    merges = True

    def __init__(self, target, scene: tuple[Op, ...], *, renaming=None, _state=None):
        from fuzzplug.targets.insert_pfn import Scene

        self.target = target
        self.renaming = renaming
        self.pre_model = target.pre_model
        self.post_model = target.post_model
        if _state is not None:
            self.kpre, self.kpost, self.dead_pre, self.dead_post, self.calls = _state
            return
        booted = Scene.from_ops(scene)
        self.kpre = booted.boot(self.pre_model)
        self.kpost = booted.boot(self.post_model)
        check_kernel_layout(self.kpre)
        self.dead_pre = self.dead_post = False
        self.calls = 0

    def step(self, op: Op) -> Finding | None:
        (compare_op,) = _insert_pfn_runner()
        kpre, kpost = self.kpre, self.kpost
        a, b, finding, _ = compare_op(kpre, kpost, self.pre_model, self.post_model, op,
                                      self.calls, self.dead_pre, self.dead_post)
        self.dead_pre, self.dead_post = self.dead_pre or a.oops, self.dead_post or b.oops
        self.calls += 1
        kpre.events.clear()
        kpre.branches.clear()
        kpost.events.clear()
        kpost.branches.clear()
        return finding

    def clone(self) -> "InsertPfnStepper":
        state = (clone_kernel(self.kpre), clone_kernel(self.kpost), self.dead_pre,
                 self.dead_post, self.calls)
        return InsertPfnStepper(self.target, (), renaming=self.renaming, _state=state)

    @property
    def finished(self) -> bool:
        """Both tasks are dead: every later call returns "dead" on both sides with no events
        and no state change, and the states were equal when the last call was judged, so
        no extension can diverge."""
        return self.dead_pre and self.dead_post

    def key(self) -> Hashable:
        if self.finished:
            return "both dead"
        pre, post = kernel_key(self.kpre), kernel_key(self.kpost)
        key = (pre, post, self.dead_pre, self.dead_post)
        if self.renaming is None:
            return key
        image = (renamed_key(pre, self.renaming), renamed_key(post, self.renaming),
                 self.dead_pre, self.dead_post)
        return frozenset((key, image))  # the same for a state and its image


def has_insert_pfn_runner(target) -> bool:
    """Whether the target runs ops as insert_pfn does (its models and its schema)."""
    from fuzzplug.targets.insert_pfn import SCHEMA

    return (getattr(target, "schema", None) is SCHEMA and hasattr(target, "pre_model")
            and hasattr(target, "post_model"))


def stepper_for(target, scene: tuple[Op, ...], renaming=None) -> Stepper:
    """The fastest correct stepper for the target (see the module docstring); `renaming`
    (a proven `fuzzplug.engines.domains.Renaming`) makes the insert_pfn stepper's keys
    name a state and its renamed image alike."""
    own = getattr(target, "stepper", None)
    if callable(own):  # the protocol addition proposed above
        return own(scene)
    if has_insert_pfn_runner(target):
        return InsertPfnStepper(target, scene, renaming=renaming)
    return ReplayStepper(target, scene)


def renamed_key(key: tuple, renaming) -> tuple:
    """`kernel_key` of the renamed kernel, computed from the key."""
    from fuzzplug.kernel.types import PAGE_SHIFT, PTE_PFN_MASK, pte_t

    def entry(e):
        pfn = (e.val & PTE_PFN_MASK) >> PAGE_SHIFT
        new = renaming.pfn(pfn)
        if new == pfn:
            return e
        return pte_t((e.val & ~PTE_PFN_MASK) | ((new << PAGE_SHIFT) & PTE_PFN_MASK))

    pgtable = tuple(sorted((renaming.vpn(v), entry(e)) for v, e in key[0]))
    pages = tuple(sorted((renaming.pfn(p), st) for p, st in key[5]))
    htab = tuple(sorted(((renaming.vpn(v), slot), dataclasses.replace(h, pfn=renaming.pfn(h.pfn)))
                        for (v, slot), h in key[-2]))
    return (pgtable, *key[1:5], pages, *key[6:-2], htab, key[-1])

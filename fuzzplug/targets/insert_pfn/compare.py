"""insert_pfn's oracle, op by op: one call on one side (`run_op`), and one call on both sides
compared as a caller and the rest of the kernel can observe it, under the pair's rules
(`compare_op`, with the judges of the fixes' rules and what they allow: `STORE_KEEPS`...).
`InsertPfnTarget.reference_evaluate` runs it over a sequence; `fast.py` mirrors it."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from fuzzplug.core.opslang import Op
from fuzzplug.core.oracle import Finding, OpRun, events_diff, family
from fuzzplug.explore.mkwrite import (
    F2C_WARN,
    MISMATCH,
    MISMATCH_ZERO_PFN,
    OLD_STORE_REPORTS,
    REUSE,
    REUSE_STORED,
    SEED_WARN,
)
from fuzzplug.explore.mkwrite import STORE_KEEPS as PTE_BITS_KEPT
from fuzzplug.explore.observe import entry_diff, entry_key, observables, signature, state_diff
from fuzzplug.kernel.state import EventKind, Kernel, Oops
from fuzzplug.kernel.types import EBUSY, errname, pte_t
from fuzzplug.targets.insert_pfn.calls import _call
from fuzzplug.targets.insert_pfn.rules import (
    PATH_BRANCHES,
    RULED_OPS,
    _entry_at,
    _vpn,
    promise_diffs,
)

if TYPE_CHECKING:
    from fuzzplug.targets.insert_pfn.target import InsertPfnTarget


def run_op(k: Kernel, model: ModuleType, op: Op, dead: bool, dax: bool = True) -> OpRun:
    """One call on one side: its return, and the events and branch ids it produced. A BUG
    ends the call (and the task: later ops on that side are `dead`)."""
    if dead:
        return OpRun(ret="dead", oops=True)
    e0, b0 = len(k.events), len(k.branches)
    try:
        ret = _call(k, model, op, dax)
        oops = False
    except Oops:
        ret, oops = "BUG", True
    return OpRun(ret=ret, events=k.events[e0:], branches=k.branches[b0:], oops=oops)


def _raw_ret(run: OpRun) -> int | None:
    for e in run.events:
        if e.kind is EventKind.RET and e.function == "vm_insert_mixed_mkwrite":
            return {"0": 0}.get(e.get("ret"), -1)
    return None


STORE_KEEPS = {arch: frozenset(f"pte.{bit}" for bit in bits)
               for arch, bits in PTE_BITS_KEPT.items()}
"""`fuzzplug.explore.mkwrite.STORE_KEEPS` as this target's state diff names the bits."""
REUSE_HPTE_DIFFS = frozenset({"hpte.presence", "hpte.perm"})
"""What the same rule allows of the page's HPTEs (ppc64 hash): the old store's stranded HPTE
and its preload's second one (`hpte.presence`), and the one HPTE the new store updates in
place (`hpte.perm`). Never `hpte.pfn`: the reuse is for the requested pfn, on both sides."""


@dataclass(slots=True)
class _Sides:
    """One op on both sides, as the rules see it: the observables still to compare, and
    what the rules accounted for."""

    a: OpRun
    b: OpRun
    events_a: list[tuple]
    events_b: list[tuple]
    ret_a: str
    ret_b: str
    skip: set[int]
    applied: list[str]
    carried: set[int]


def _fired(run: OpRun, warn: tuple) -> list:
    return [e for e in run.events if e.kind is EventKind.WARN
            and (e.kind.value, e.function, e.get("condition")) == warn]


def _judge_zero_pfn_mismatch(sides: _Sides, kpre: Kernel, kpost: Kernel, op: Op) -> None:
    """Rule `zero_pfn_mismatch_is_silent` (f2c57d91b0d9)."""
    if MISMATCH not in sides.a.branches or MISMATCH not in sides.b.branches:
        return
    pre_warn = _fired(sides.a, SEED_WARN)
    if not pre_warn:
        return  # the pre side does not run the code the fix replaced
    sides.events_b = [SEED_WARN if e == F2C_WARN else e for e in sides.events_b]
    if MISMATCH_ZERO_PFN in sides.b.branches and SEED_WARN in sides.events_a \
            and SEED_WARN not in sides.events_b:
        sides.events_a.remove(SEED_WARN)
        sides.applied.append("zero_pfn_mismatch_is_silent")
    elif SEED_WARN in sides.events_b and SEED_WARN not in sides.events_a \
            and not any(e.get("printed", True) for e in pre_warn):
        sides.events_b.remove(SEED_WARN)
        sides.applied.append("zero_pfn_mismatch_is_silent")


def _judge_reuse_store(sides: _Sides, kpre: Kernel, kpost: Kernel, op: Op,
                       raw_returns: bool) -> None:
    """Rules `reuse_stores_with_ptep_set_access_flags` and `reuse_returns_ebusy`
    (cae85cb8add3)."""
    if REUSE not in sides.a.branches or any(b in sides.a.branches for b in REUSE_STORED):
        return  # the pre side does not run the store the fix replaced
    if not any(b in sides.b.branches for b in REUSE_STORED):
        return
    vpn = _vpn(op)
    entry = set(entry_diff(kpre, kpost, vpn))
    allowed = STORE_KEEPS[kpre.config.arch] | REUSE_HPTE_DIFFS
    rule = "reuse_stores_with_ptep_set_access_flags"
    if entry and entry <= allowed:
        sides.skip.add(vpn)
        sides.carried.add(vpn)
        sides.applied.append(rule)
    reports = [e for e in sides.events_a
               if e[1] in OLD_STORE_REPORTS and e not in sides.events_b]
    if reports:
        sides.events_a = [e for e in sides.events_a if e not in reports]
        if rule not in sides.applied:
            sides.applied.append(rule)
    if raw_returns and (sides.ret_a, sides.ret_b) == ("0", errname(-EBUSY)):
        sides.ret_b = sides.ret_a
        sides.applied.append("reuse_returns_ebusy")


def compare_op(target: "InsertPfnTarget", kpre: Kernel, kpost: Kernel, op: Op, index: int,
               dead_pre: bool, dead_post: bool, carried: frozenset[int] = frozenset(),
               ) -> tuple[OpRun, OpRun, Finding | None, tuple[str, ...], frozenset[int]]:
    """Run one call on both sides and compare what can be observed: returns, observable
    events, state, and for the ruled op the pair's intended-delta rules. `carried`: pages
    whose translation differs as a rule allowed in an earlier op, not compared while
    neither side changes it. Returns both runs, the finding if the sides differ beyond the
    rules, the rules the op matched through, and the pages carried on."""
    names = target.rule_names
    seed = "mkwrite_is_insert_then_write_fault" in names
    ruled = op.name in RULED_OPS
    before_pre = _entry_at(kpre, op) if ruled else pte_t(0)
    before_post = _entry_at(kpost, op) if ruled else pte_t(0)
    saved = {vpn: (entry_key(kpre, vpn), entry_key(kpost, vpn)) for vpn in carried}
    a = run_op(kpre, target.pre_model, op, dead_pre, dax=seed)
    b = run_op(kpost, target.post_model, op, dead_post, dax=seed)
    dead_pre, dead_post = dead_pre or a.oops, dead_post or b.oops
    kept = {vpn for vpn, key in saved.items()
            if (entry_key(kpre, vpn), entry_key(kpost, vpn)) == key}
    sides = _Sides(a, b, observables(a.events), observables(b.events), a.ret, b.ret,
                   set(kept), [], set(kept))
    promises: list[str] = []
    if ruled and not (dead_pre and dead_post):
        if seed:
            sides.applied.append("mkwrite_is_insert_then_write_fault")
        if "zero_pfn_mismatch_is_silent" in names:
            _judge_zero_pfn_mismatch(sides, kpre, kpost, op)
        if "reuse_stores_with_ptep_set_access_flags" in names:
            _judge_reuse_store(sides, kpre, kpost, op, raw_returns=not seed)
        post_promise = promise_diffs(kpost, op, _raw_ret(b), before_post, REUSE in b.branches)
        if seed:
            promises = post_promise
        else:
            pre_promise = promise_diffs(kpre, op, _raw_ret(a), before_pre, REUSE in a.branches)
            promises = [d for d in post_promise if d not in pre_promise]
    diffs = []
    if sides.ret_a != sides.ret_b:
        diffs.append(f"ret:{a.ret}->{b.ret}")
    diffs += events_diff(sides.events_a, sides.events_b)
    diffs += state_diff(kpre, kpost, frozenset(sides.skip))
    diffs += promises
    applied = tuple(sides.applied)
    if not diffs:
        return a, b, None, applied, frozenset(sides.carried)
    finding = Finding(index, op.name, diffs,
                      signature(op.name, diffs, a.branches, b.branches, PATH_BRANCHES),
                      family(op.name, diffs), applied[0] if applied else None,
                      sorted(set(a.branches)), sorted(set(b.branches)))
    return a, b, finding, (), frozenset(sides.carried)

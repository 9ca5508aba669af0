"""fuzzplug_toy: a third-party fuzzplug target, as small as one can be.

A counter in 0..255 with three ops, `inc n=N`, `dec n=N` and `reset`. The "patch" (v1 → v2)
makes `dec` below zero wrap around instead of stopping at zero and failing, so a `dec`
past zero is a divergence: both the return and the counter differ.

Registered in the entry-point group `fuzzplug.targets` (setup.cfg: `toy =
fuzzplug_toy:TARGET`); `TARGET` satisfies `fuzzplug.targets.Target`.
"""

from __future__ import annotations

from pathlib import Path

from fuzzplug.core.opslang import ArgKind, ArgSpec, Op, OpSpec, Schema
from fuzzplug.core.oracle import (
    Finding,
    OpRun,
    Outcome,
    SideRecord,
    Verdict,
    family,
    signature,
)
from fuzzplug_toy import v1, v2

SCHEMA = Schema(
    name="toy",
    version=1,
    max_ops=16,
    ops=(
        OpSpec("inc", 0, (ArgSpec("n", ArgKind.INT, 1),), doc="counter += n (saturating)"),
        OpSpec("dec", 1, (ArgSpec("n", ArgKind.INT, 1),), doc="counter -= n"),
        OpSpec("reset", 2, (), doc="counter = 0"),
    ),
)


class Counter:
    """One side's state: the counter, and the branch ids the current op took."""

    def __init__(self) -> None:
        self.value = 0
        self.branches: list[str] = []

    def branch(self, branch_id: str) -> None:
        self.branches.append(branch_id)

    def snapshot(self) -> dict:
        """The observable state, for the side's record (`SideRecord.state`)."""
        return {"value": self.value}


def _run(k: Counter, model, op: Op) -> OpRun:
    k.branches = []
    args = [value for _, value in op.args]
    ret = getattr(model, op.name)(k, *args)
    return OpRun(ret=str(ret), branches=k.branches)


class ToyTarget:
    """The toy target (satisfies `fuzzplug.targets.Target`)."""

    name = "toy"
    description = "toy counter: dec below zero stops at zero (v1) or wraps (v2)"
    schema = SCHEMA

    def evaluate(self, ops: tuple[Op, ...]) -> Outcome:
        kpre, kpost = Counter(), Counter()
        pre, post = SideRecord(v1.VERSION, kpre), SideRecord(v2.VERSION, kpost)
        finding = None
        for index, op in enumerate(ops):
            a, b = _run(kpre, v1, op), _run(kpost, v2, op)
            pre.add(index, a)
            post.add(index, b)
            diffs = []
            if a.ret != b.ret:
                diffs.append(f"ret:{a.ret}->{b.ret}")
            if kpre.value != kpost.value:
                diffs.append("counter.value")
            if diffs:
                finding = Finding(index, op.name, diffs,
                                  signature(op.name, diffs, a.branches, b.branches),
                                  family(op.name, diffs), None, sorted(set(a.branches)),
                                  sorted(set(b.branches)))
                break
        verdict = Verdict.DIVERGENT if finding else Verdict.SAME
        return Outcome(verdict, finding, pre, post)

    def branch_ids(self) -> dict[str, frozenset[str]]:
        return {m.VERSION: m.BRANCH_IDS for m in (v1, v2)}

    def known_findings(self) -> dict[str, dict]:
        return {}

    def seeds_dir(self) -> Path | None:
        return Path(__file__).parent / "seeds"


TARGET = ToyTarget()

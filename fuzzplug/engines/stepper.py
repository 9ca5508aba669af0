"""Steppers: run an op sequence one call at a time, fork the run, and name its state.

The exhaustive checker walks a tree of op sequences. Re-evaluating every sequence from the
start costs its length in op steps; a `Stepper` instead keeps the two models' state after a
prefix, so each node of the tree costs one op step (plus a clone), and its `key()` lets the
checker merge prefixes that reach the same state.

`stepper_for(target, scene)` gives the target's own stepper when it has one
(`Target.stepper(scene_ops, renaming)`, the optional capability
`fuzzplug.targets.Steppable`), and `ReplayStepper` for any other target: it keeps only the
prefix and calls `Target.evaluate` on prefix + op (correct for any target, no state
merging). A target's own stepper should judge each op with the same per-op comparison its
`evaluate` uses, so the oracle logic lives once; the checker re-runs every reproducer it
reports through `Target.evaluate`.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from fuzzplug.core.opslang import Op
from fuzzplug.core.oracle import Finding, Verdict


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


def stepper_for(target, scene: tuple[Op, ...], renaming=None) -> Stepper:
    """The fastest correct stepper for the target (see the module docstring); `renaming`
    (a domain's proven symmetry, `Domain.renaming_for`) is passed on to the target's own
    stepper, whose keys then name a state and its renamed image alike."""
    from fuzzplug.targets import Steppable

    if isinstance(target, Steppable):
        return target.stepper(scene, renaming)
    return ReplayStepper(target, scene)

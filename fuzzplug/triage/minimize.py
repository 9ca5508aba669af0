"""Minimising a divergent op sequence while keeping exactly its signature.

`minimize_ops(target, ops, signature)` is delta debugging over the op language, through the
`Target` protocol only (the schema and `evaluate`). A candidate is kept when it is
*interesting* — `target.evaluate(candidate)` is divergent with exactly `signature` — and
*simpler* than the current sequence by the order :func:`simplicity` defines:

    (calls, ops, args off their default, encoded bytes, sum of the arg values,
     scene op ids in order)

compared lexicographically. Every accepted step makes this key strictly smaller, so the
search ends, and the calls count leads, so the result never has more calls than the input;
a candidate is also refused if its canonical encoding is longer than the input's, so the
result is never longer in bytes either. Args off their default come before bytes because a
reproducer is read as text, where a default is not written: `pfn=0x80` (the default, two
varint bytes) beats `pfn=0x10` (one byte).

The passes, repeated until none changes anything (a fixpoint):

1. *drop calls*: cut everything after the call where the sides first differ, then remove
   runs of calls, ddmin-style: chunks of half the calls, then a quarter, ... down to single
   calls;
2. *drop scene ops*: each scene op in turn, so its defaults apply;
3. *simplify shared values*: a value that several ops share for one arg name (two calls on
   the same `addr=0x101000`) is simplified in all of them at once;
4. *simplify args*, op by op and arg by arg (scene ops too): toward the arg's default, then
   toward 0 and small values — for FLAGS, clearing one bit at a time; for CHOICE, each
   lower index; for an `addr` INT, the page-aligned address first; for an INT, finally
   the smallest value that still works, by bisection;
5. *sort the scene*: scene ops in op id order, as people write them.

Everything is deterministic: candidates are tried in a fixed order, and the target's
`evaluate` is deterministic by the `Target` contract. A candidate is evaluated through the
target's budgeted evaluation first (`fuzzplug.targets.evaluate_settled`: a two-task input
whose budget settles it costs milliseconds; one it cannot settle is evaluated in full), which
gives `evaluate`'s verdict and signature, so the result is the same. `should_stop` (a
deadline: `fuzzplug fuzz` budgets its time) ends the search early with the best so far,
and the `minimize_progress` event is logged every `PROGRESS_EVERY` seconds.

*Provisional* minimisation (`provisional=True`) shrinks a candidate before it is confirmed
(`fuzzplug.engines.finish.confirm_one`): the predicate is the budgeted evaluation alone, a
candidate or a divergence with the candidate's provisional signature, so each step costs
what a unit of the fuzz loop costs. Its result proves nothing by itself: the full
evaluation confirms it or not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from fuzzplug.core.opslang import ADDR_LOW_MASK, ArgKind, ArgSpec, Op, Schema, encode
from fuzzplug.core.oracle import Verdict
from fuzzplug.errors import InputError
from fuzzplug.log import get_logger
from fuzzplug.targets import evaluate_budgeted, evaluate_settled

__all__ = ["MinimizeStats", "Stop", "minimize_ops", "simplicity"]

PROGRESS_EVERY = 2.0
"""Seconds between two `minimize_progress` events."""
SMALL_INT_STEPS = 64
"""An INT arg also tries `value - 1` while the value is below this (bounded work)."""


def _arg_specs(schema: Schema, op: Op) -> tuple[ArgSpec, ...]:
    return schema.spec(op.name).args


def _is_scene(schema: Schema, op: Op) -> bool:
    return schema.spec(op.name).scene


def simplicity(schema: Schema, ops: tuple[Op, ...]) -> tuple:
    """The order minimisation descends: (calls, ops, args off their default, canonical
    bytes, sum of the arg values, scene op ids in order); smaller is simpler. The last
    element only puts scene ops in op id order. `InputError` if `ops` cannot be encoded."""
    calls = off_default = magnitude = 0
    scene_order = []
    for op in ops:
        if _is_scene(schema, op):
            scene_order.append(schema.spec(op.name).op_id)
        else:
            calls += 1
        for arg, (_, value) in zip(_arg_specs(schema, op), op.args):
            if value != arg.default:
                off_default += 1
            magnitude += value
    return (calls, len(ops), off_default, len(encode(schema, ops)), magnitude,
            tuple(scene_order))


class Stop(Exception):
    """Raised into a minimisation (by a deadline's alarm, `fuzzplug.engines.finish`) to end
    it now with the best sequence so far, even inside an evaluation."""


@dataclass(slots=True)
class MinimizeStats:
    """What one minimisation did: evaluations made, steps accepted, passes run."""

    evaluations: int = 0
    accepted: int = 0
    rounds: int = 0
    passes: dict[str, int] = field(default_factory=dict)
    stopped: bool = False  # should_stop (or Stop) ended it before the fixpoint
    outcome: object = None  # the result's outcome (`evaluate_settled`'s)


class _Minimizer:
    """The state of one minimisation: the current sequence, its key, the byte limit and a
    cache of verdicts by sequence."""

    def __init__(self, target, ops: tuple[Op, ...], sig: str,
                 max_evaluations: int | None, should_stop: Callable[[], bool] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 provisional: bool = False) -> None:
        self.target = target
        self.evaluate = evaluate_budgeted if provisional else evaluate_settled
        self.verdicts = ((Verdict.DIVERGENT, Verdict.CANDIDATE) if provisional
                         else (Verdict.DIVERGENT,))
        self.schema: Schema = target.schema
        self.sig = sig
        self.max_evaluations = max_evaluations
        self.should_stop = should_stop
        self.clock = clock
        self.started = self.last_progress = clock()
        self.log = get_logger(target=target.name)
        self.cache: dict[tuple[Op, ...], bool] = {}
        self.stats = MinimizeStats()
        try:
            self.key = simplicity(self.schema, ops)
        except InputError as exc:
            raise InputError(f"cannot minimise an input that has no binary form: {exc}") \
                from None
        self.byte_limit = self.key[3]
        self.current = ops
        self.last_outcome = self.current_outcome = None
        if not self._interesting(ops):
            outcome = self.evaluate(target, ops)
            raise InputError(f"the input does not reproduce signature {sig!r}: it gives "
                             f"{outcome.verdict.value} {outcome.signature}")
        self.current_outcome = self.last_outcome

    def _check_invariants(self) -> None:
        assert self.key == simplicity(self.schema, self.current)
        assert self.key[3] <= self.byte_limit
        assert self.cache.get(self.current) is True

    # --- the predicate -------------------------------------------------------------------

    def _interesting(self, ops: tuple[Op, ...]) -> bool:
        known = self.cache.get(ops)
        if known is not None:
            return known
        outcome = self._evaluate(ops)
        found = outcome.verdict in self.verdicts and outcome.signature == self.sig
        self.cache[ops] = found
        self.last_outcome = outcome
        return found

    def _evaluate(self, ops: tuple[Op, ...]):
        self.stats.evaluations += 1
        outcome = self.evaluate(self.target, ops)
        now = self.clock()
        if now - self.last_progress >= PROGRESS_EVERY:
            self.last_progress = now
            self.log.info("minimize_progress", signature=self.sig,
                          evaluations=self.stats.evaluations, accepted=self.stats.accepted,
                          calls=self.schema.calls(self.current),
                          elapsed_s=round(now - self.started, 1))
        return outcome

    def _budget_left(self) -> bool:
        if self.should_stop is not None and self.should_stop():
            self.stats.stopped = True
            return False
        return self.max_evaluations is None or self.stats.evaluations < self.max_evaluations

    def consider(self, candidate: tuple[Op, ...], pass_name: str) -> bool:
        """Adopt `candidate` if it is simpler, no longer in bytes, and interesting."""
        if candidate == self.current or not self._budget_left():
            return False
        try:
            key = simplicity(self.schema, candidate)
        except InputError:  # not a valid sequence (cannot happen for our moves; be safe)
            return False
        if key >= self.key or key[3] > self.byte_limit:
            return False
        if not self._interesting(candidate):
            return False
        self.current, self.key = candidate, key
        self.current_outcome = self.last_outcome
        self.stats.accepted += 1
        self.stats.passes[pass_name] = self.stats.passes.get(pass_name, 0) + 1
        return True

    # --- the passes ----------------------------------------------------------------------

    def _split(self) -> tuple[tuple[Op, ...], tuple[Op, ...]]:
        n_scene = sum(1 for op in self.current if _is_scene(self.schema, op))
        return self.current[:n_scene], self.current[n_scene:]

    def drop_calls(self) -> None:
        scene, calls = self._split()
        outcome = self._evaluate(self.current)
        if outcome.finding is not None:  # nothing after the first difference is run
            self.consider(scene + calls[: outcome.finding.op_index + 1], "truncate")
        size = len(self._split()[1]) // 2
        while size >= 1:
            index = 0
            while True:
                scene, calls = self._split()
                if index >= len(calls):
                    break
                if not self.consider(scene + calls[:index] + calls[index + size:],
                                     "drop_calls"):
                    index += size
            size //= 2

    def drop_scene(self) -> None:
        index = 0
        while index < len(self.current):
            op = self.current[index]
            if not _is_scene(self.schema, op):
                break
            if not self.consider(self.current[:index] + self.current[index + 1:],
                                 "drop_scene"):
                index += 1

    def sort_scene(self) -> None:
        """Scene ops in op id order (`config` before `vma`), as people write them."""
        scene, calls = self._split()
        ordered = tuple(sorted(scene, key=lambda op: self.schema.spec(op.name).op_id))
        self.consider(ordered + calls, "sort_scene")

    def simplify_shared_values(self) -> None:
        """One value shared by several ops for the same arg name, simplified everywhere."""
        sites: dict[tuple[str, int], list[tuple[int, int]]] = {}
        for i, op in enumerate(self.current):
            for j, (name, value) in enumerate(op.args):
                sites.setdefault((name, value), []).append((i, j))
        for (name, value), where in sorted(sites.items()):
            if len(where) < 2:
                continue
            specs = [_arg_specs(self.schema, self.current[i])[j] for i, j in where]
            for new in _candidates(specs[0], value):
                if not all(spec.accepts(new) for spec in specs):
                    continue
                if self.consider(_replace(self.current, where, new), "shared_values"):
                    break  # the sites changed; the next round looks again

    def simplify_args(self) -> None:
        for i in range(len(self.current)):
            for j in range(len(self.current[i].args)):
                self._simplify_arg(i, j)

    def _simplify_arg(self, i: int, j: int) -> None:
        spec = _arg_specs(self.schema, self.current[i])[j]
        progress = True
        while progress:
            progress = False
            value = self.current[i].args[j][1]
            for new in _candidates(spec, value):
                if self.consider(_replace(self.current, [(i, j)], new), "simplify_args"):
                    progress = True
                    break
        if spec.kind is ArgKind.INT:
            # The smallest value that still works, by bisection (exact when the bug holds
            # for every value above a threshold, a plain descent otherwise).
            lo, hi = 0, self.current[i].args[j][1]
            while lo + 1 < hi:
                mid = (lo + hi) // 2
                if self.consider(_replace(self.current, [(i, j)], mid), "bisect_int"):
                    hi = mid
                else:
                    lo = mid

    def run(self) -> tuple[Op, ...]:
        passes: tuple[Callable[[], None], ...] = (
            self.drop_calls, self.drop_scene, self.simplify_shared_values, self.simplify_args,
            self.sort_scene)
        try:
            while self._budget_left():
                self.stats.rounds += 1
                before = self.current
                for step in passes:
                    step()
                if self.current == before:
                    break
        except Stop:
            self.stats.stopped = True
        return self.current


def _replace(ops: tuple[Op, ...], where: list[tuple[int, int]], value: int) -> tuple[Op, ...]:
    out = list(ops)
    for i, j in where:
        args = list(out[i].args)
        args[j] = (args[j][0], value)
        out[i] = Op(out[i].name, tuple(args))
    return tuple(out)


def _candidates(spec: ArgSpec, value: int) -> Iterator[int]:
    """Simpler values for one arg, most preferred first; each valid for `spec`. Whether a
    candidate is simpler at all is decided by `simplicity`, not here."""
    seen = {value}

    def fresh(*values: int) -> Iterator[int]:
        for v in values:
            if v not in seen and spec.accepts(v):
                seen.add(v)
                yield v

    yield from fresh(spec.default, 0)
    if spec.kind is ArgKind.FLAGS:
        yield from fresh(value & spec.default)
        yield from fresh(*(value & ~(1 << bit) for bit in range(value.bit_length())
                           if value >> bit & 1))
    elif spec.kind is ArgKind.CHOICE:
        yield from fresh(*range(value))
    elif spec.kind is ArgKind.RANGE:
        lo, hi = value & 0xFFFFFFFF, value >> 32
        yield from fresh((lo << 32) | lo, (hi << 32) | hi)
    else:
        if spec.addr:
            yield from fresh(value & ~ADDR_LOW_MASK)
        if value:
            yield from fresh(1, 1 << (value.bit_length() - 1),
                             value & ~(1 << (value.bit_length() - 1)), value >> 1)
        if 0 < value < SMALL_INT_STEPS:
            yield from fresh(value - 1)


def minimize_ops(target, ops: tuple[Op, ...], signature: str, *,
                 max_evaluations: int | None = None,
                 stats: MinimizeStats | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 provisional: bool = False) -> tuple[Op, ...]:
    """The simplest sequence found that `target` still evaluates as divergent with exactly
    `signature`: calls and runs of calls dropped, scene ops dropped, args simplified, to a
    fixpoint (see the module docstring). Never more calls or canonical bytes than `ops`;
    deterministic. `max_evaluations` bounds the work, and so does `should_stop` (checked
    before each candidate; the result is then the best so far, `stats.stopped`); `clock`
    times the `minimize_progress` events. `provisional`: keep a candidate's provisional
    `signature` under the budgeted evaluation instead (see the module docstring).
    `InputError` if `ops` does not reproduce `signature` or has no binary form."""
    ops = tuple(ops)
    minimizer = _Minimizer(target, ops, signature, max_evaluations, should_stop, clock,
                           provisional)
    result = minimizer.run()
    minimizer._check_invariants()
    if stats is not None:
        stats.evaluations = minimizer.stats.evaluations
        stats.accepted = minimizer.stats.accepted
        stats.rounds = minimizer.stats.rounds
        stats.passes = dict(minimizer.stats.passes)
        stats.stopped = minimizer.stats.stopped
        stats.outcome = minimizer.current_outcome
    get_logger(target=target.name).debug(
        "minimize_finished", signature=signature, ops_before=len(ops), ops_after=len(result),
        evaluations=minimizer.stats.evaluations, accepted=minimizer.stats.accepted)
    return result

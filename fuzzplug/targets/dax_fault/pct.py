"""dax_fault's `pct` line: a PCT schedule as the fuzzer's bytes give it, and the schedule
mutations of the op mutator (the target's `ScheduleMutable` capability).

    pct prio=t0_t1_t2 depth=3 at1=17 at2=13

is the schedule `fuzzplug.runtime.pct.Pct` runs for the steps an input's `sched` runs
leave (all of them when it has none): task 0 starts with the highest priority, then task 1,
then task 2; `depth` d gives d - 1 change points, `at1` .. `at<d-1>` (the others are kept,
unused, so that a change of depth brings them back): after the run's 17th step the task
that took it drops to priority 1, after the 13th to priority 2 (both below every starting
priority). The generic/344 race (the seed `divergent_write_fault_races_write_over_zero_page`)
is this line: task 0 runs the load and the store's fault up to its entry lookup (13
steps), drops; task 1's write(2) runs until it has dropped the zero entry (step 17),
drops below task 0; task 0's fault inserts over the zero page still mapped.

Every byte string is a schedule (`line_of`): `prio` is a CHOICE (modulo the six orders),
`depth` is taken into 1..MAX_PCT_DEPTH and each change point it uses into 1..MAX_PCT_STEP
(both modulo their range, counting from 1), a second `pct` line is ignored. So random
bytes decode into PCT schedules of a random depth with d - 1 random change points, which
is what gives PCT its guarantee per run. The text form says the same: `check_pct` refuses
there what the binary form normalises, and the normalised line (`replay`, `decode`) loads
as it is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from fuzzplug.core.opslang import Op
from fuzzplug.targets.dax_fault.schema import (
    MAX_PCT_DEPTH,
    MAX_PCT_STEP,
    MAX_TASKS,
    PRIO_NAMES,
    PRIORITIES,
    SCHEMA,
)

AT_ARGS = ("at1", "at2", "at3")
"""The change points' args, `at<i>` for k_i."""


@dataclass(frozen=True, slots=True)
class PctLine:
    """A `pct` line as it runs: the task ids (the input's numbering) from highest starting
    priority to lowest, and the d - 1 change points."""

    order: tuple[int, ...]
    points: tuple[int, ...]

    @property
    def depth(self) -> int:
        return len(self.points) + 1


def depth_of(raw: int) -> int:
    """`depth=` as it runs: 1..MAX_PCT_DEPTH, a value outside taken modulo the range."""
    return 1 + (raw - 1) % MAX_PCT_DEPTH


def step_of(raw: int) -> int:
    """A change point as it runs: 1..MAX_PCT_STEP, a value outside taken modulo the range."""
    return 1 + (raw - 1) % MAX_PCT_STEP


def line_of(op: Op) -> PctLine:
    """The schedule of a `pct` op (see the module docstring): total."""
    depth = depth_of(op["depth"])
    return PctLine(PRIORITIES[op["prio"] % len(PRIORITIES)],
                   tuple(step_of(op[name]) for name in AT_ARGS[:depth - 1]))


def op_of(line: PctLine, keep: Op | None = None) -> Op:
    """The `pct` op of `line` (its unused change points taken from `keep`, if given)."""
    values = {"prio": PRIORITIES.index(line.order), "depth": line.depth}
    for name in AT_ARGS:
        values[name] = keep[name] if keep is not None else 1
    for name, step in zip(AT_ARGS, line.points):
        values[name] = step
    return Op.make(SCHEMA, "pct", **values)


def check_pct(op: Op) -> tuple[Op, list[str]]:
    """A `pct` op's values checked: `depth` in 1..MAX_PCT_DEPTH, each change point it uses
    in 1..MAX_PCT_STEP. Returns the op as it runs (unused change points kept) and what was
    out of range (empty: the op unchanged)."""
    problems = []
    depth = op["depth"]
    if not 1 <= depth <= MAX_PCT_DEPTH:
        problems.append(f"pct depth={depth} is out of range (1 to {MAX_PCT_DEPTH})")
    for name in AT_ARGS[:depth_of(depth) - 1]:
        if not 1 <= op[name] <= MAX_PCT_STEP:
            problems.append(f"pct {name}={op[name]} is out of range (a change point is a "
                            f"step from 1 to {MAX_PCT_STEP})")
    if not problems:
        return op, []
    return op_of(line_of(op), keep=op), problems


# --- schedule mutations (the op mutator's `ScheduleMutable` hook) ------------------------------

def _task_ids(calls: list[Op]) -> set[int]:
    """The ids of the tasks that have calls, as `tasks.split` numbers them."""
    current, ids = 0, set()
    for op in calls:
        if op.name == "task":
            current = op["id"] % MAX_TASKS
        elif op.name not in ("sched", "pct", "fail_alloc"):
            ids.add(current)
    return ids


CLUSTER = 8
"""`random_line`'s clustered draws put the second change point at most this many steps
after the first."""
STEPS_PER_CALL = 10
"""`horizon`: the steps a call takes, at most (over the two-task inputs of a cold run's
corpus, a run took 7.5 steps per call at the median, 11 at the 90th percentile)."""


def horizon(calls: list[Op]) -> int:
    """The steps a run of `calls` is expected to take, as PCT's `k`: STEPS_PER_CALL a call
    (`SCHEMA.calls`: the control ops, `task`, `sched`, `pct` and `fail_alloc`, take none),
    at least CLUSTER + 1, at most MAX_PCT_STEP. PCT draws its change points among the run's k steps; a point
    beyond the run's end never fires, so drawing them in 1..MAX_PCT_STEP for a run of 25
    steps (the generic/344 race's three calls) wastes three draws in five."""
    return max(CLUSTER + 1, min(MAX_PCT_STEP, STEPS_PER_CALL * SCHEMA.calls(calls)))


def random_line(rng: random.Random, steps: int = MAX_PCT_STEP) -> PctLine:
    """A PCT schedule drawn as PCT draws one for a run of `steps` steps (`horizon`): a
    random order of priorities, a depth of 2 or 3 (the races known so far have depth 2 or
    3), its change points uniform in 1..steps. Half of the depth-3 draws are *clustered*:
    a point `p` uniform, the other `p + 1 .. p + CLUSTER`, the later one `at1` (so the task
    preempted at `p` comes back before the one that ran in between): a kernel path's
    window is a few steps, and a race over one (the generic/344 race: a fault stopped at
    `p`, a write(2) that runs four steps in it) needs the second point exactly there, one
    chance in `steps` from a uniform draw, one in CLUSTER from a clustered one."""
    steps = max(CLUSTER + 1, min(MAX_PCT_STEP, steps))
    depth = rng.choice((2, 3))
    order = rng.choice(PRIORITIES)
    if depth == 3 and rng.random() < 0.5:
        first = rng.randint(1, steps - CLUSTER)
        return PctLine(order, (first + rng.randint(1, CLUSTER), first))
    return PctLine(order, tuple(rng.randint(1, steps) for _ in range(depth - 1)))


def move_point(line: PctLine, i: int, delta: int) -> PctLine:
    """`line` with change point `i` (from 0) moved by `delta` steps, kept in range."""
    points = list(line.points)
    points[i] = min(MAX_PCT_STEP, max(1, points[i] + delta))
    return PctLine(line.order, tuple(points))


def swap_priorities(line: PctLine, i: int) -> PctLine:
    """`line` with the tasks at priority ranks `i` and `i + 1` swapped."""
    order = list(line.order)
    order[i], order[i + 1] = order[i + 1], order[i]
    return PctLine(tuple(order), line.points)


def mutate_schedule(calls: list[Op], rng: random.Random) -> list[Op] | None:
    """One change of the schedule of `calls` (an input's ops without its scene), or None
    when there is none to make (no calls). An input of one task gets a `task id=1` line
    between two calls (a second task); one of several tasks without a `pct` line gets a
    random one (`random_line`); one with a `pct` line: a change point moved by one step
    (most often), two adjacent priorities swapped, the depth changed by one, a change
    point drawn again, or the `sched` runs before it dropped (else the line drawn
    again)."""
    calls = list(calls)
    real = [k for k, op in enumerate(calls) if op.name not in ("task", "sched", "pct")]
    if not real:
        return None
    if len(_task_ids(calls)) < 2:
        if len(real) < 2:
            return None
        at = rng.choice(real[1:])
        calls.insert(at, Op.make(SCHEMA, "task", id=1))
        return calls
    where = [k for k, op in enumerate(calls) if op.name == "pct"]
    if not where:
        calls.insert(rng.randint(0, len(calls)), op_of(random_line(rng, horizon(calls))))
        return calls
    k = where[0]
    old = calls[k]
    line = line_of(old)
    choice = rng.random()
    if choice < 0.45 and line.points:
        line = move_point(line, rng.randrange(len(line.points)), rng.choice((-1, 1)))
    elif choice < 0.65:
        line = swap_priorities(line, rng.randrange(len(line.order) - 1))
    elif choice < 0.75:
        depth = min(MAX_PCT_DEPTH, max(1, line.depth + rng.choice((-1, 1))))
        line = line_of(Op.make(SCHEMA, "pct", prio=old["prio"], depth=depth,
                               **{name: old[name] for name in AT_ARGS}))
    elif choice < 0.88 and line.points:
        points = list(line.points)
        points[rng.randrange(len(points))] = rng.randint(1, horizon(calls))
        line = PctLine(line.order, tuple(points))
    elif any(op.name == "sched" for op in calls):
        return [op for op in calls if op.name != "sched"]
    else:
        line = random_line(rng, horizon(calls))
    calls[k] = op_of(line, keep=old)
    return calls


__all__ = ["AT_ARGS", "PRIO_NAMES", "PctLine", "check_pct", "depth_of", "horizon",
           "line_of", "move_point", "mutate_schedule", "op_of", "random_line", "step_of",
           "swap_priorities"]


def _programs(calls: list[Op]) -> list[list[Op]]:
    """The calls of each task that has some (in order of id), without the task, `sched`
    and `pct` lines."""
    current, by_task = 0, {}
    for op in calls:
        if op.name == "task":
            current = op["id"] % MAX_TASKS
        elif op.name not in ("sched", "pct"):
            by_task.setdefault(current, []).append(op)
    return [by_task[tid] for tid in sorted(by_task)]


def cross_tasks(calls1: list[Op], calls2: list[Op], rng: random.Random) -> list[Op] | None:
    """A crossover of tasks: one task's program of the first input (its ops without the
    scene) as task 0 and one task's program of the second as task 1, under the first
    input's `pct` line, else the second's, else a random one (`random_line`); None when
    either has no calls. The two programs a race needs are often found apart, each in an
    input of its own (a load and a store of the hole in one, a write(2) of its page in
    another: one task each, which single-task coverage rewards); this puts them side by
    side in one step, where inserting calls and a `task` line would take several."""
    first, second = _programs(calls1), _programs(calls2)
    if not first or not second:
        return None
    one, two = rng.choice(first), rng.choice(second)
    lines = [op for op in calls1 if op.name == "pct"] or \
        [op for op in calls2 if op.name == "pct"] or \
        [op_of(random_line(rng, horizon(one + two)))]
    return one + [Op.make(SCHEMA, "task", id=1)] + two + lines[:1]


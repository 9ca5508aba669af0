"""dax_fault's input of several tasks as programs and a schedule: `Tasks` (each task's
calls, the `sched` runs and the `pct` line), `split` from the op sequence, the chooser that
follows them, the scene check of the task lines (`check_tasks`), and the programs the models
run (`model_programs`). `fuzzplug.targets.dax_fault.tasks` runs and compares them."""

from __future__ import annotations

from dataclasses import dataclass

from fuzzplug.core.opslang import Op, format_text
from fuzzplug.runtime.pct import Pct
from fuzzplug.runtime.sched import FollowSchedule
from fuzzplug.targets import SceneIssue
from fuzzplug.targets.dax_fault import pct
from fuzzplug.targets.dax_fault.schema import MAX_RUN_STEPS, MAX_TASKS, SCHEMA, call_args


@dataclass(frozen=True, slots=True)
class Tasks:
    """An input's calls as programs: per task (renumbered 0, 1... in order of id), its
    calls as (index among the input's non-scene ops, op); the schedule's runs as (task,
    steps) in the new numbering (runs of tasks without calls dropped); the PCT schedule of
    the input's first `pct` line, if any, as (the tasks from highest priority to lowest,
    the change points) in the new numbering (`fuzzplug.targets.dax_fault.pct`)."""

    programs: tuple[tuple[tuple[int, Op], ...], ...]
    runs: tuple[tuple[int, int], ...]
    pct: tuple[tuple[int, ...], tuple[int, ...]] | None = None

    @property
    def concurrent(self) -> bool:
        return len(self.programs) >= 2


def split(calls: list[Op]) -> Tasks:
    """The programs and schedule of an input's non-scene ops (see the module docstring)."""
    current = 0
    by_task: dict[int, list[tuple[int, Op]]] = {}
    raw_runs: list[tuple[int, int]] = []
    line = None
    for index, op in enumerate(calls):
        if op.name == "task":
            current = op["id"] % MAX_TASKS
        elif op.name == "sched":
            if op["steps"] > 0:
                raw_runs.append((op["task"] % MAX_TASKS, min(op["steps"], MAX_RUN_STEPS)))
        elif op.name == "pct":
            if line is None:  # a second pct line changes nothing
                line = pct.line_of(op)
        else:
            by_task.setdefault(current, []).append((index, op))
    ids = sorted(by_task)
    rank = {tid: r for r, tid in enumerate(ids)}
    programs = tuple(tuple(by_task[tid]) for tid in ids)
    if len(programs) >= 2:  # fail_alloc is not run with several tasks
        programs = tuple(tuple((i, op) for i, op in p if op.name != "fail_alloc")
                         for p in programs)
    runs = tuple((rank[t], s) for t, s in raw_runs if t in rank)
    order = None
    if line is not None:
        order = (tuple(rank[t] for t in line.order if t in rank), line.points)
    return Tasks(programs, runs, order)


def chooser(tasks: Tasks) -> FollowSchedule:
    """The input's schedule as a chooser: its `sched` runs, then its PCT schedule (or,
    without a `pct` line, round robin)."""
    then = Pct(*tasks.pct) if tasks.pct is not None else None
    return FollowSchedule(list(tasks.runs), then=then)


def check_tasks(ops: tuple[Op, ...]) -> tuple[tuple[Op, ...], list[SceneIssue]]:
    """The `task` and `sched` lines checked: a task id (`task id=`, `sched task=`) below
    MAX_TASKS, a run of at most MAX_RUN_STEPS steps, and no `task` line naming the task the
    calls already go to (before any `task` line, task 0: `task id=0` there changes nothing,
    and a race written so would silently run as one task). The text loader refuses each at
    its line; the binary form, which accepts every byte string, normalises it to what it
    runs: an id modulo MAX_TASKS, the steps clamped, and a `task` line that changes nothing
    made the no-op it is, `sched task=<id> steps=0` (a run of no steps is skipped). A `pct`
    line's depth and the change points it uses are checked the same way (`pct.check_pct`),
    and a second `pct` line is the no-op `sched task=0 steps=0`. Returns
    the ops normalised and the issues, in op order; the verdict is unchanged."""
    out, issues, current, seen_pct = list(ops), [], 0, False
    for index, op in enumerate(ops):
        if op.name == "pct":
            if seen_pct:
                out[index] = Op.make(SCHEMA, "sched", task=0, steps=0)
                issues.append(SceneIssue(index, "a second pct line: an input has one PCT "
                                         "schedule, its first pct line's",
                                         "a no-op, taken as sched task=0 steps=0"))
                continue
            seen_pct = True
            normal, problems = pct.check_pct(op)
            if problems:
                out[index] = normal
                issues.append(SceneIssue(index, "; ".join(problems),
                                         "taken as " + format_text(SCHEMA, (normal,)).strip()))
        elif op.name == "task":
            tid = op["id"]
            problems = []
            if tid >= MAX_TASKS:  # then, reduced, it may name the current task too
                tid %= MAX_TASKS
                problems.append(f"task id={op['id']} is out of range (tasks are 0 to "
                                f"{MAX_TASKS - 1})")
            if tid == current:
                out[index] = Op.make(SCHEMA, "sched", task=tid, steps=0)
                problems.append(f"task id={tid}: the calls here are already task {tid}'s "
                                "(before any task line, task 0's); name another task to "
                                "start its program")
                issues.append(SceneIssue(index, "; ".join(problems),
                                         f"a no-op, taken as sched task={tid} steps=0"))
            elif problems:
                out[index] = Op.make(SCHEMA, "task", id=tid)
                issues.append(SceneIssue(index, problems[0], f"taken as task id={tid}"))
            current = tid
        elif op.name == "sched":
            tid, steps = op["task"], op["steps"]
            problems = []
            if tid >= MAX_TASKS:
                problems.append(f"sched task={tid} is out of range (tasks are 0 to "
                                f"{MAX_TASKS - 1})")
                tid %= MAX_TASKS
            if steps > MAX_RUN_STEPS:
                problems.append(f"sched steps={steps} is out of range (a run takes at most "
                                f"{MAX_RUN_STEPS} steps)")
                steps = MAX_RUN_STEPS
            if problems:
                out[index] = Op.make(SCHEMA, "sched", task=tid, steps=steps)
                issues.append(SceneIssue(index, "; ".join(problems),
                                         f"taken as sched task={tid} steps={steps}"))
    return tuple(out), issues


def model_programs(tasks: Tasks) -> list[list[tuple[str, dict]]]:
    return [[(op.name, call_args(op)) for _, op in program] for program in tasks.programs]

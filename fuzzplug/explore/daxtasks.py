"""Several tasks on one DAX machine: each program a task of its own on the machine, tracked
(`daxtrack.track`), the scheduler (`fuzzplug.runtime.sched`) letting them take steps as a
chooser decides (`run_tasks`), and what each call did (`CallRecord`, `TasksRun`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fuzzplug.explore.daxfile import Access, DaxMachine, OpResult, Stop, run_op
from fuzzplug.explore.daxtrack import Boot, track
from fuzzplug.explore.observe import observables
from fuzzplug.kernel.fs import task_struct
from fuzzplug.runtime.sched import Chooser, Scheduler, StepEvent


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call of a task's program: what it returned (`OpResult`), and the kernel's trace
    events and branch ids of its steps."""

    result: OpResult
    events: tuple
    branches: tuple


@dataclass(slots=True)
class TasksRun:
    """A run of several tasks on one machine: per task, its calls' records (in program
    order; a call the task never finished ends as a HANG, a task dead after a BUG stops);
    the steps in the order they ran; and, when every task that was left waited, what each
    waited for (a deadlock, or a lost wake-up)."""

    calls: list[list[CallRecord]]
    trace: list[StepEvent]
    deadlock: list[tuple[int, str]]
    abandoned: bool
    completions: list[int] = field(default_factory=list)  # the task of each finished call


def done(r: CallRecord, branches: frozenset[str] | None = None) -> tuple:
    """What a finished call leaves that the run's outcome shows (a stateful search keys a
    task by these: `fuzzplug.explore.statecache`), but an access's fault count: the key
    leaves it out as it leaves out the count of an access that retries (so that two runs
    whose accesses retried a different number of times before they ended meet in one
    state; the outcome then has the first run's counts, which no comparison of outcomes
    reads: `docs/races.md`, "The state cache"). `branches`: only those branch ids (None:
    all of them)."""
    res = r.result
    ret = res.ret
    if isinstance(ret, Access):
        ret = (ret.status, ret.value)
    taken = set(r.branches) if branches is None else set(r.branches) & branches
    return (repr(ret), res.stop, res.where, tuple(observables(list(r.events))),
            tuple(sorted(taken)))


def run_tasks(m: DaxMachine, programs: list[list[tuple[str, dict]]],
              chooser: Chooser, boot: Boot | None = None) -> TasksRun:
    """Run each program as a task of its own on the machine (tracked, `track`), the
    scheduler letting them take steps as `chooser` decides (`fuzzplug.runtime.sched`). A
    task starts each call at a switch point; a BUG ends its call and its program (the locks
    it held stay held, as after an oops). `boot`: what the runs of one search share of
    their machines, which boot alike (`daxtrack.CellCache.start`)."""
    k = m.k
    track(m)
    if boot is not None and m.cells is not None:  # the machine booted as `boot`'s did
        m.cells.start(boot)
    sched = Scheduler(k, m.sb, chooser)
    k.sched = sched
    records: list[list[CallRecord]] = [[] for _ in programs]
    marks = [(0, 0) for _ in programs]  # where each task's current call began in its logs

    def body_of(tid: int, program: list[tuple[str, dict]]):
        def body(task) -> None:
            for i, (name, args) in enumerate(program):
                if i:
                    task.call = i
                    sched.point(f"{name}", ("call", i))
                events, branches = sched.so_far(task)
                marks[tid] = e0, b0 = len(events), len(branches)
                res = run_op(m, name, **args)
                events, branches = sched.so_far(task)
                records[tid].append(CallRecord(res, tuple(events[e0:]),
                                               tuple(branches[b0:])))
                task.finished += 1
                sched.completions.append(tid)
                if res.stop is not None:
                    return
        return body

    for tid, program in enumerate(programs):
        ts = task_struct()
        m.tasks.append(ts)
        first = program[0][0] if program else "exit"
        sched.spawn(ts, body_of(tid, program), first)
    sched.machine = m
    sched.call_marks = marks
    sched.call_records = records
    try:
        sched.run()
    finally:
        k.sched = None
    for task in sched.tasks:
        if not task.done and task.call < len(programs[task.tid]):
            where = task.pending.label if task.pending is not None else "abandoned"
            e0, b0 = marks[task.tid]
            records[task.tid].append(CallRecord(OpResult(None, Stop.HANG, where),
                                                tuple(task.events[e0:]),
                                                tuple(task.branches[b0:])))
    return TasksRun(records, sched.trace, sched.deadlock, sched.abandoned, sched.completions)

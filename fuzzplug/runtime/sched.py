"""Tasks whose kernel paths interleave as the locks allow (issue #13).

A run of the dax_fault target may have several tasks, each a program of calls (user loads
and stores on one CPU, write(2) on another...). Each task runs in a greenlet of its own:
the models are plain Python functions calling each other, as the C does, and a greenlet can
be suspended at any depth of those calls and resumed later, which neither a generator (every
function would have to become one) nor a thread (one runs at a time anyway, and a switch
costs 17 to 74 times more: README, "Races: two tasks under a schedule") gives as cheaply.

Switch points. A task stops, and another may run, only at a *switch point*: where its kernel
path takes a sleeping lock (`down_read`, `down_write`, `lock_page`: `fuzzplug.kernel.fs`),
waits for a DAX entry lock (a wait queue below), takes the PTE lock of a page table (a
spinlock: `fuzzplug.kernel.mm.pte_lock`), starts a named step (`fs.step`), starts a call, or
retries a user access after a fault (`fuzzplug.explore.daxfile`). Between two switch points a
task runs alone: a *step*. That is sound because everything a step touches is either the
task's own, or protected by a lock it holds, or a cell whose order with other tasks' steps
the switch point before it decides (the lockless PTE read of handle_pte_fault() is
re-checked under the PTE lock, as in the C). A spinlock's section (the PTE lock, tree_lock,
the inode's i_lock) contains no switch point, as the kernel does not sleep there either,
with one exception (`spin_hold`): where a PTE is cleared and set again under the PTE lock
(`ptep_clear_flush()` then `set_pte_at()`), another CPU's user access walks the page table
without the lock and sees the entry empty. There the task stops holding the PTE lock: the
other tasks may run any step but one that takes that lock (`spin_lock` waits).

What a task waits for, at the switch point it stopped at (`Pending`):

- `POINT`: nothing; it may run.
- `ACQUIRE`: a lock; it may run when the lock is free for it (the semaphores and page locks:
  their wake-ups never get lost in the kernel, so the model lets the availability decide;
  and the PTE lock, a spinlock, which another task may hold across a switch point of its
  own: `spin_hold`).
- `SLEEP`: a wake-up on a wait queue (a DAX entry lock: `get_unlocked_mapping_entry()` sleeps
  exclusively until `dax_wake_mapping_entry_waiter()` wakes it; a wake-up that is never sent
  leaves it asleep, which is how a lost wake-up shows).
- `SPIN`: a change of state. A user access whose fault changed nothing it read (the fault
  found nothing to do, and nobody else did anything) would fault again exactly the same way;
  it waits until one of the cells that fault read changes. When nothing else can run, the
  access is a livelock (the kernel would fault forever).

The scheduler. `Scheduler.run` lets the tasks take steps in the order a `Chooser` decides,
among the tasks that may run; when none may and some are not finished, they all wait: a
deadlock (or a lost wake-up), recorded with what each waits for. Every step is recorded as a
`StepEvent`: the task, the switch point it started at, the tasks that could have run, and
its footprint (`fuzzplug.runtime.footprint`), which the exhaustive checker's partial-order
reduction needs.

Without a scheduler (`Kernel.sched` is None: every single-task run, and the insert_pfn
target) switch points cost one attribute test and a lock that cannot be taken is the
`fs.TaskHang` of a sequential run, exactly as before.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from itertools import repeat
from typing import Callable, Protocol

import greenlet

from fuzzplug.runtime.footprint import EVERYTHING, R, RECORDER, W, Footprint, touch


class Wait(enum.Enum):
    """What a task stopped at a switch point waits for."""

    POINT = "point"
    ACQUIRE = "acquire"
    SLEEP = "sleep"
    SPIN = "spin"


@dataclass(slots=True)
class Waiter:
    """One task on a wait queue (`wait_queue_entry_t`); `woken` once a wake-up took it off."""

    tid: int
    woken: bool = False


@dataclass(slots=True)
class Pending:
    """A task stopped at a switch point: what the point is (its label: the lock, the step,
    the call), and what the task waits for there."""

    kind: Wait
    label: str
    ready: Callable[[], bool] | None = None  # ACQUIRE, SPIN: may it run now?
    waiter: Waiter | None = None  # SLEEP
    cells: frozenset = frozenset()  # SPIN: the cells it waits on
    blocked_by: tuple[str, ...] = ()  # ACQUIRE: another task's holds (`task_struct.held`)
    # that keep it waiting, exactly those (its `ready` is their absence)
    resume: tuple | None = None  # declared by the task: everything its future depends on
    # besides the machine's state and its call's records so far (a stateful search keys
    # the task by it here instead of by what it read since: `fuzzplug.explore.statecache`)


@dataclass(slots=True)
class Watch:
    """What happened while a task's fault ran (`Scheduler.watch`): the cells the task's
    finished steps touched, whether another task took a step, and the cells other tasks
    wrote. Kept by the scheduler as steps end, so that the task holds the answer itself
    (its state, not an index into the run's trace): the steps' footprints, gathered into
    the sets `touched` and `written` when those are read (most steps end with nobody
    reading them)."""

    tid: int
    others: bool = False
    before: dict | None = None  # the cells' values when the fault began (the watcher's)
    own: list = field(default_factory=list)  # the footprints of the task's steps
    other: list = field(default_factory=list)  # those of the other tasks' steps
    _touched: set = field(default_factory=set)  # of `own[:_own_seen]`
    _own_seen: int = 0
    _written: set = field(default_factory=set)  # of `other[:_other_seen]`
    _other_seen: int = 0

    @property
    def touched(self) -> set:
        """The cells the task's finished steps touched (the set grows; never change it)."""
        touched = self._touched
        if self._own_seen == len(self.own):
            return touched
        for fp in self.own[self._own_seen:]:
            for kind, keys in fp.cells.items():
                touched.update(zip(repeat(kind), keys))
        self._own_seen = len(self.own)
        return touched

    @property
    def written(self) -> set:
        """The cells the other tasks' steps wrote (the set grows; never change it)."""
        written = self._written
        if self._other_seen == len(self.other):
            return written
        for fp in self.other[self._other_seen:]:
            for kind, keys in fp.cells.items():
                written.update((kind, key) for key, mode in keys.items() if mode != R)
        self._other_seen = len(self.other)
        return written


@dataclass(slots=True)
class StepEvent:
    """One step of a run: which task, from which switch point, which tasks could have run
    instead, the task's call (index in its program), and what the step touched."""

    tid: int
    label: str
    enabled: tuple[int, ...]
    call: int
    fp: Footprint = field(default_factory=Footprint)
    events: tuple = ()  # the kernel's trace events the step made
    branches: tuple = ()
    forced: bool = False  # no task could run: a livelocked access ends (the chooser told)
    held: tuple[str, ...] = ()  # the locks the task held when the step began
    blocked_by: tuple[str, ...] = ()  # its switch point's: another task's holds it waited out


@dataclass(frozen=True, slots=True)
class EndAccess:
    """A chooser's answer that runs task `tid` by ending the user access it retries as a
    LIVELOCK (a stateful search found the run in a cycle: the access can fault forever)."""

    tid: int


class Chooser(Protocol):
    """Decides which task takes the next step."""

    def choose(self, sched: "Scheduler", enabled: list[int], forced: bool = False) -> int | None:
        """One of `enabled` (never empty), or None to abandon the run (the exhaustive
        checker's sleep sets: every task that may run would repeat a run already made).
        `forced`: the scheduler has no choice (a livelocked access ends); told, not asked."""
        ...

    def observe(self, event: StepEvent) -> None:
        """The step just taken (with its footprint)."""
        ...


class Task:
    """One task: its greenlet, its `fs.task_struct`, where it stopped, its program's results
    so far, and the trace events and branch ids of its steps."""

    __slots__ = ("tid", "ts", "glet", "pending", "done", "call", "events", "branches",
                 "results", "livelocked", "steps_taken", "finished")

    def __init__(self, tid: int, ts: object):
        self.tid = tid
        self.ts = ts
        self.glet: greenlet.greenlet | None = None
        self.pending: Pending | None = Pending(Wait.POINT, "start")
        self.done = False
        self.call = 0
        self.events: list = []
        self.branches: list[str] = []
        self.results: list = []
        self.livelocked = False
        self.steps_taken = 0
        self.finished = 0  # calls of its program it has finished


class Scheduler:
    """Runs tasks on one kernel, one step at a time (see the module docstring). `sb` is the
    super block whose `current` is the running task's `task_struct`."""

    def __init__(self, k, sb, chooser: Chooser, *, max_steps: int = 20000):
        self.k = k
        self.sb = sb
        self.chooser = chooser
        self.tasks: list[Task] = []
        self.trace: list[StepEvent] = []
        self.current: Task | None = None
        self.deadlock: list[tuple[int, str]] = []
        self.abandoned = False
        self.waitqueues: dict[object, list[Waiter]] = {}
        # A spinlock held across a switch point (`spin_hold`): its name → the holder's id.
        self.spinlocks: dict[str, int] = {}
        self.completions: list[int] = []  # the task of each finished call, in order
        self.max_steps = max_steps
        self.watches: list[Watch] = []
        self.machine = None  # the machine the tasks run on (a stateful search keys it)
        self.call_marks: list | None = None  # per task, where its call began in its logs
        self.call_records: list | None = None  # per task, its finished calls' records
        self._main: greenlet.greenlet | None = None
        self._e0 = self._b0 = 0

    # --- setting up -------------------------------------------------------------------------
    def spawn(self, ts: object, body: Callable[[Task], None], label: str = "start") -> Task:
        """A new task (id = its rank) that will run `body(task)`, stopped at its first
        switch point (`label`: the start of its first call)."""
        task = Task(len(self.tasks), ts)
        task.pending = Pending(Wait.POINT, label, resume=("call", 0))

        def run() -> None:
            try:
                body(task)
            finally:
                task.done = True
                task.pending = None
                # A fault a BUG ended never stopped its watch.
                self.watches = [w for w in self.watches if w.tid != task.tid]

        task.glet = greenlet.greenlet(run)
        self.tasks.append(task)
        return task

    # --- the loop ---------------------------------------------------------------------------
    def _may_run(self, task: Task) -> bool:
        p = task.pending
        if p.kind is Wait.POINT:
            return True
        if p.kind is Wait.SLEEP:
            return p.waiter.woken
        return p.ready()

    def run(self) -> None:
        """Run every task to its end, or until they all wait (a deadlock), or until the
        chooser abandons the run."""
        self._main = greenlet.getcurrent()
        k, sb = self.k, self.sb
        saved = sb.current
        tasks, trace, chooser = self.tasks, self.trace, self.chooser
        k_events, k_branches = k.events, k.branches
        POINT, SLEEP, SPIN = Wait.POINT, Wait.SLEEP, Wait.SPIN
        try:
            while True:
                live = [t for t in tasks if not t.done]
                if not live:
                    break
                enabled = []  # `_may_run`, inline
                for t in live:
                    p = t.pending
                    kind = p.kind
                    if (kind is POINT or (p.waiter.woken if kind is SLEEP else p.ready())):
                        enabled.append(t.tid)
                resume_with = None
                enabled_choice = True
                if enabled:
                    if len(trace) >= self.max_steps:
                        raise AssertionError("a run took more steps than any program can")
                    tid = chooser.choose(self, enabled)
                    if tid is None:
                        self.abandoned = True
                        break
                    if isinstance(tid, EndAccess):  # a stateful search closed a cycle
                        tid, resume_with = tid.tid, "livelock"
                else:
                    spinning = [t for t in live if t.pending.kind is SPIN]
                    if not spinning:
                        self.deadlock = [(t.tid, t.pending.label) for t in live]
                        break
                    # Nothing can change what the spinning access reads: it would fault
                    # forever. Its access ends as a livelock; its task goes on.
                    tid = spinning[0].tid
                    resume_with = "livelock"
                    enabled_choice = False
                    enabled = [tid]
                    chooser.choose(self, enabled, forced=True)
                task = tasks[tid]
                pending = task.pending
                fp = Footprint()
                event = StepEvent(tid, pending.label, tuple(enabled), task.call, fp,
                                  forced=resume_with is not None and not enabled_choice,
                                  held=tuple(task.ts.held),
                                  blocked_by=pending.blocked_by)
                if pending.kind is SPIN:
                    for kind, key in pending.cells:
                        fp.touch(kind, key, R)
                e0, b0 = len(k_events), len(k_branches)
                self._e0, self._b0 = e0, b0
                self.current = task
                sb.current = task.ts
                RECORDER.fp = fp
                try:
                    if task.glet:  # started: resume it where it stopped
                        task.glet.switch(resume_with)
                    else:
                        task.glet.switch()
                finally:
                    RECORDER.fp = None
                    self.current = None
                task.steps_taken += 1
                if len(k_events) != e0:
                    event.events = events = tuple(k_events[e0:])
                    task.events.extend(events)
                if len(k_branches) != b0:
                    event.branches = branches = tuple(k_branches[b0:])
                    task.branches.extend(branches)
                trace.append(event)
                for w in self.watches:
                    if w.tid == tid:
                        w.own.append(fp)
                    else:
                        w.others = True
                        w.other.append(fp)
                chooser.observe(event)
        finally:
            self._teardown()
            sb.current = saved

    def _teardown(self) -> None:
        """Unwind the tasks left waiting (a deadlock, an abandoned run): their greenlets end
        at the switch point they stopped at, recording nothing."""
        for task in self.tasks:
            if not task.done and task.glet is not None and task.glet:
                task.glet.throw(greenlet.GreenletExit)

    # --- called from the running task ---------------------------------------------------------
    def so_far(self, task: Task) -> tuple[list, list[str]]:
        """The running task's trace events and branch ids, its current step's included."""
        return (task.events + self.k.events[self._e0:],
                task.branches + self.k.branches[self._b0:])

    def switch(self, pending: Pending) -> object:
        """Stop the running task at a switch point; returns when the scheduler resumes it
        (with "livelock" for a SPIN nobody can end)."""
        task = self.current
        assert task is not None and greenlet.getcurrent() is task.glet, \
            "a switch point outside a task's step"
        task.pending = pending
        value = self._main.switch()
        task.pending = None
        if value == "livelock":
            task.livelocked = True
        return value

    def point(self, label: str, resume: tuple | None = None) -> object:
        """A switch point that waits for nothing; `resume`: see `Pending.resume`. Returns
        "livelock" when a stateful search ends the task's access there (a cycle)."""
        return self.switch(Pending(Wait.POINT, label, resume=resume))

    def acquire(self, label: str, ready: Callable[[], bool],
                blocked_by: tuple[str, ...] = ()) -> None:
        self.switch(Pending(Wait.ACQUIRE, label, ready=ready, blocked_by=blocked_by))

    def spin_lock(self, name: str, label: str) -> None:
        """spin_lock() of `name` (the PTE lock of a page table): a switch point where the
        task waits while another task holds the lock across a switch point of its own
        (`spin_hold`); otherwise the lock is free, since a section without such a point
        runs inside one step. The task's section then runs as (part of) its next step.
        Taking a free lock and dropping it within a step changes nothing another task can
        see: the step reads the lock's cell, so two such sections commute (their PTEs are
        recorded cell by cell), and each is dependent with the steps that take the lock
        into a switch point or out of it."""
        tid = self.current.tid
        self.acquire(label, lambda: self.spinlocks.get(name, tid) == tid, (name,))
        touch("lock", name, R)

    def spin_hold(self, name: str, label: str) -> None:
        """A switch point inside the running task's section of the spinlock `name`, which it
        keeps while stopped there: another task may run any step that does not take `name`
        (a user access's MMU walk takes no lock; a fault then waits in `spin_lock`, as the
        kernel's waits on the PTE lock another CPU holds). The step that enters the window
        and the one that leaves it write the lock's cell; the holder's `held` names the lock
        while it is stopped (`dpor.reversible`: a task's `spin_lock` cannot have run before
        the step that released the lock it waited for)."""
        task = self.current
        self.spinlocks[name] = task.tid
        task.ts.held.append(name)
        touch("lock", name, W)
        self.point(label)
        del self.spinlocks[name]
        task.ts.held.remove(name)
        touch("lock", name, W)

    def spin(self, label: str, cells: frozenset, changed: Callable[[], bool],
             resume: tuple | None = None) -> bool:
        """Wait until `changed()`: True when it did, False for a livelock. `resume`: see
        `Pending.resume` (what `changed` compares with belongs in it)."""
        return self.switch(Pending(Wait.SPIN, label, ready=changed, cells=cells,
                                   resume=resume)) is None

    def watch(self) -> Watch:
        """Start recording what happens while the running task's fault runs (its steps
        after the current one, and every other task's)."""
        w = Watch(self.current.tid)
        self.watches.append(w)
        return w

    def unwatch(self, w: Watch) -> None:
        self.watches.remove(w)

    def next_call(self) -> None:
        self.current.call += 1

    # --- wait queues (include/linux/wait.h), keyed as the caller's hash + key would be -------
    def sleep(self, key: object, label: str) -> None:
        """prepare_to_wait_exclusive() then schedule(): queue the running task on `key`'s
        wait queue and sleep until a wake-up takes it off; finish_wait() after. (No
        `blocked_by`: a woken task may run while another holds the entry lock again, as
        when the waker takes it back first; it looks, finds it locked and sleeps again.)"""
        waiter = Waiter(self.current.tid)
        queue = self.waitqueues.setdefault(key, [])
        queue.append(waiter)
        touch("wq", key, W)
        self.switch(Pending(Wait.SLEEP, label, waiter=waiter))
        if waiter in queue:  # finish_wait(): off the queue if a wake-up has not taken it
            queue.remove(waiter)

    def wake_up(self, key: object, wake_all: bool) -> int:
        """__wake_up() of the queue of `key`: the first exclusive waiter (or all of them)
        taken off and made runnable; the number woken."""
        touch("wq", key, W)
        queue = self.waitqueues.get(key)
        if not queue:
            return 0
        woken = queue[:] if wake_all else queue[:1]
        for waiter in woken:
            queue.remove(waiter)
            waiter.woken = True
        return len(woken)


# --- switch points, as the models call them --------------------------------------------------

def sched_of(k) -> Scheduler | None:
    return k.sched


def switch_point(k, label: str) -> None:
    """A point where another task may run (nothing to wait for)."""
    s = k.sched
    if s is not None:
        s.point(label)


# --- choosers --------------------------------------------------------------------------------

class FollowSchedule:
    """The schedule of an input: runs `(task, steps)` in order, each letting `task` take up
    to `steps` steps (a run whose task cannot run, or that blocks, ends early: the next run
    is taken). When the runs are used up, `then` decides (a `fuzzplug.runtime.pct.Pct`,
    which is told every step from the first); without it, the task that ran last goes on
    while it can, then the lowest-numbered task after it that can (round robin from it)."""

    def __init__(self, runs: list[tuple[int, int]], then: Chooser | None = None):
        self.runs = list(runs)
        self.index = 0
        self.left: int | None = None
        self.last: int | None = None
        self.then = then

    def choose(self, sched: Scheduler, enabled: list[int], forced: bool = False) -> int:
        if forced:
            self.last = enabled[0]
            if self.then is not None:
                self.then.choose(sched, enabled, True)
            return enabled[0]
        while self.index < len(self.runs):
            tid, steps = self.runs[self.index]
            if self.left is None:
                self.left = steps
            if self.left > 0 and tid in enabled:
                self.left -= 1
                self.last = tid
                return tid
            self.index += 1
            self.left = None
        if self.then is not None:
            self.last = self.then.choose(sched, enabled)
            return self.last
        n = len(sched.tasks)
        start = self.last if self.last is not None else 0
        for i in range(n):
            tid = (start + i) % n
            if tid in enabled:
                self.last = tid
                return tid
        raise AssertionError("choose() with no task enabled")

    def observe(self, event: StepEvent) -> None:
        if self.then is not None:
            self.then.observe(event)


class Serial:
    """Whole calls one after another: the tasks of `order` in turn, each running until it
    has finished one more call of its program (the lowest-numbered task that can run when
    the one due cannot, or when `order` is used up). The oracle's first try at matching an
    outcome of one version with a run of the other (`fuzzplug.targets.dax_fault.tasks`):
    an outcome whose calls did not overlap is met again by running them in the same
    order."""

    def __init__(self, order: list[int]):
        self.order = list(order)
        self.k = 0
        self.goal: int | None = None

    def choose(self, sched: Scheduler, enabled: list[int], forced: bool = False) -> int:
        if forced:
            return enabled[0]
        while self.k < len(self.order):
            task = sched.tasks[self.order[self.k]]
            if self.goal is None:
                self.goal = task.finished + 1
            if task.finished >= self.goal or task.done:
                self.k += 1
                self.goal = None
                continue
            if task.tid in enabled:
                return task.tid
            break
        return enabled[0]

    def observe(self, event: StepEvent) -> None:
        pass


__all__ = ["EVERYTHING", "Chooser", "EndAccess", "FollowSchedule", "Pending", "Scheduler", "Serial",
           "StepEvent", "Task", "Wait", "Waiter", "Watch", "sched_of", "switch_point"]

"""Every interleaving of a few tasks, up to commuting steps: dynamic partial-order reduction.

A run of several tasks is a sequence of steps (`fuzzplug.runtime.sched.StepEvent`: which task,
which tasks could have run instead, and the step's footprint). Two runs that differ only by
the order of adjacent steps that commute (different tasks, `footprint.dependent` false:
neither writes a cell the other touches) end in the same state with the same results: they
are one *trace* (Mazurkiewicz). The explorer runs at least one run of every trace, and
usually about one, instead of every interleaving.

The algorithm is Flanagan and Godefroid's (POPL 2005) with sleep sets (Godefroid 1996), in
its stateless form: each run starts from the initial state (the caller's `run`, given a
`Chooser`), replays a prefix of choices, then takes the lowest-numbered task that may run and
is not asleep. After the run, every *race* is found: a step j of task p and each step i
< j of another task that is dependent with j and does not happen before p's previous step
(vector clocks over program order and dependence). For each race, the run that lets p go
before i must be tried: p is added to the backtrack set of the node before i (all the
tasks that may run there, when p may not). The next run branches at the deepest node with a
backtrack choice not yet explored and not asleep. Sleep sets keep a task that was explored
at a node asleep in the branches after it as long as the steps taken commute with its
step; a run in which every task that may run is asleep repeats an explored trace and is
abandoned.

With a state cache (`fuzzplug.explore.statecache`) the search is stateful: a run stops at a
state explored before, or where it comes back to a state on its own path (a cycle). It
keeps the race-driven backtracking (`SUMMARIES`; Yang, Chen, Gopalakrishnan and Kirby,
SPIN 2008): a cached state keeps what every step explored from it touched, and a run
stopped there races with all of it (`_summary_races`); a cached state whose future goes
back to a state still being explored keeps that state's key and takes its summary when a
run stops there (`Node.via`, `_Chooser._whole_summary`); and the states of a cycle are
explored with every task (docs/races.md, "Combined with the reduction", has the argument).

Sound when (1) runs are deterministic (the same choices give the same steps: checked, a
replayed choice must be enabled), (2) footprints are complete (`fuzzplug.runtime.footprint`,
checked by `tests/test_footprint.py`), and (3) a step can enable or disable another task
only by touching a cell of that task's pending step (locks, wait queues and the cells a
spinning access waits on are cells; a PTE lock held across a switch point,
`Scheduler.spin_hold`, is written by the steps that enter and leave its window and read by
every step that takes it). `reduce=False` explores every interleaving instead
(every enabled task at every node), which `tests/test_dax_tasks.py` compares with the reduction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from fuzzplug.explore import statecache
from fuzzplug.explore.statecache import StateCache
from fuzzplug.runtime.footprint import ANY, Footprint, R, S, W, dependent
from fuzzplug.runtime.sched import EndAccess


@dataclass(slots=True)
class Node:
    """The state before one step of the current run: the tasks that could run, the one
    taken, those explored (and their steps' footprints), those still to try, and those
    asleep on entry (with their steps' footprints)."""

    enabled: tuple[int, ...]
    choice: int
    sleep: dict[int, Footprint]
    done: set[int] = field(default_factory=set)
    backtrack: set[int] = field(default_factory=set)
    fps: dict[int, Footprint] = field(default_factory=dict)
    # With a state cache (`fuzzplug.explore.statecache`): the state's key, the cells'
    # values and each task's key before the step, and what the steps explored from the
    # state touched (items (task, kind, key, mode)).
    key: bytes | None = None
    livelock: bool = False  # the choices end a retrying access (LIVELOCK + its task)
    vals: dict | None = None
    read: dict | None = None  # vals as a step's read of them is keyed (`statecache`)
    bases: list | None = None
    after: tuple | None = None  # (choice, each task's key after the step): replays reuse it
    # With `SUMMARIES`: what every step explored from the state touched (items (task, kind,
    # key, mode)), and the keys of the states above it that a cycle from its subtree went
    # back to (its future goes on through theirs: their summaries are part of its own).
    summary: set = field(default_factory=set)
    via: set = field(default_factory=set)


class _Chooser:
    """Replays the stack's choices, then takes the lowest task that may run and is not
    asleep; keeps the sleep sets and records the new nodes."""

    def __init__(self, stack: list[Node], depth: int, reduce: bool,
                 cache: StateCache | None = None):
        self.stack = stack
        self.depth = depth  # nodes 0..depth-1 are replayed
        self.reduce = reduce
        self.at = 0
        self.sleep: dict[int, Footprint] = {}
        self.cache = cache
        self.hist: list[bytes] | None = None  # each task's key (`statecache`)
        self.path = {n.key: i for i, n in enumerate(stack[:depth]) if n.key is not None}
        self.cut: tuple | None = None  # ("hit", its whole summary) or ("cycle", node index)
        self.cycles: list[tuple[int, int]] = []  # (the state's first node, where it came back)
        self.memo = None  # the machine's cell cache (`daxtrack.CellCache`), if it has one

    def choose(self, sched, enabled: list[int], forced: bool = False) -> int | None:
        at = self.at
        if at < self.depth:
            node = self.stack[at]
            if node.livelock:
                self.sleep = node.sleep
                return EndAccess(node.choice - LIVELOCK)
            assert tuple(enabled) == node.enabled, \
                "a replayed run reached another state: the models are not deterministic"
            self.sleep = node.sleep
            return node.choice
        if at < len(self.stack):
            del self.stack[at:]
        key = vals = bases = None
        if self.cache is not None:
            vals = statecache.snapshot(sched)
            self.memo = sched.machine.cells
            statecache.check_zero_refcount(sched)
            if self.hist is None:
                self.hist = [statecache.digest(("start", t.tid)) for t in sched.tasks]
            bases = [statecache.base_of(sched, t, self.cache.branches) or self.hist[t.tid]
                     for t in sched.tasks]
            key = (statecache.fast_state_key if self.memo is not None
                   else statecache.state_key)(sched, vals, bases)
            if not forced:
                if key in self.path:
                    self.cache.cycles += 1
                    self.cycles.append((self.path[key], at))
                    return self._close_cycle(sched, at, vals, bases)
                entry = self.cache.get(key)
                if entry is not None and entry.sleep <= self.sleep.keys():
                    summary = self._whole_summary(entry, at) if SUMMARIES else entry.summary
                    if summary is not None:
                        self.cut = ("hit", summary)
                        self.cache.hits += 1
                        return None
        awake = ([t for t in enabled if t not in self.sleep] if self.reduce and not forced
                 else list(enabled))
        if not awake:
            return None
        tid = awake[0]
        read = (statecache.without_zero_refcount(vals, sched.machine.k.memmap.zero,
                                                 sched.machine.cells)
                if vals is not None else None)
        self.stack.append(Node(tuple(enabled), tid, dict(self.sleep), done={tid}, key=key,
                               vals=vals, read=read, bases=bases))
        if key is not None:
            self.path[key] = at
        return tid

    def _whole_summary(self, entry, at: int) -> frozenset | None:
        """A cached state's summary joined with those of the states its future goes
        through (`Node.via`, and theirs in turn); a state of those on the run's path is a
        cycle back to it (`_summary_races`). None when one of them is neither (dropped
        from the cache): the state is explored again."""
        if not entry.via:
            return entry.summary
        summary = set(entry.summary)
        todo, seen, cycles = list(entry.via), set(), len(self.cycles)
        while todo:
            v = todo.pop()
            if v in seen:
                continue
            seen.add(v)
            if v in self.path:
                self.cycles.append((self.path[v], at))
                continue
            e = self.cache.peek(v)
            if e is None:
                del self.cycles[cycles:]
                return None
            summary |= e.summary
            todo.extend(e.via)
        return frozenset(summary)

    def _close_cycle(self, sched, at: int, vals: dict, bases: list):
        """The run is back in a state it was in: the steps since can repeat forever. Each
        task whose user access is retrying there (`sched.Pending.resume`) may fault
        forever: a node whose choices end one such access as a LIVELOCK (all of them are
        explored). A cycle without such a task is cut: its states are explored from their
        first visit."""
        looping = retrying(sched)
        if not looping:
            self.cut = ("cycle", self.cycles[-1][0])
            return None
        choices = tuple(LIVELOCK + t for t in looping)
        read = statecache.without_zero_refcount(vals, sched.machine.k.memmap.zero,
                                                sched.machine.cells)
        self.stack.append(Node(choices, choices[0], dict(self.sleep), done={choices[0]},
                               backtrack=set(choices), vals=vals, read=read, bases=bases,
                               livelock=True))
        return EndAccess(looping[0])

    def observe(self, event) -> None:
        at = self.at
        node = self.stack[at]
        self.at = at + 1
        if at < self.depth - 1 and REPLAY_SKIPS:
            # A replayed step before the branch: the step the node's choice took when it was
            # first made (runs are deterministic), whose footprint and task keys the node
            # keeps; the sleep set the next step starts with is the next node's (`choose`).
            return
        node.fps[node.choice] = event.fp
        if node.bases is not None:
            if node.after is None or node.after[0] != node.choice:
                hist = list(node.bases)
                hist[event.tid] = statecache.step_record(node.bases[event.tid], event.label,
                                                         node.read, event.fp, self.memo)
                node.after = (node.choice, hist)
            self.hist = node.after[1]
        if node.livelock:  # a choice of no task: nothing to put to sleep
            self.sleep = {t: f for t, f in node.sleep.items() if not dependent(f, event.fp)}
            return
        if not self.reduce:
            return
        if not node.sleep and len(node.done) == 1:  # the choice alone: nobody asleep after
            self.sleep = {}
            return
        asleep = dict(node.sleep)
        for tid in node.done:
            if tid != node.choice:
                asleep[tid] = node.fps[tid]
        self.sleep = {t: f for t, f in asleep.items()
                      if t != node.choice and not dependent(f, event.fp)}


def retrying(sched) -> list[int]:
    """The tasks whose user access is retrying (waiting at a retry point or a SPIN:
    `sched.Pending.resume`, not a call's start): those a LIVELOCK node may end."""
    return [t.tid for t in sched.tasks
            if not t.done and t.pending is not None and t.pending.resume is not None
            and t.pending.resume[0] != "call"]


def _conflict(a: str, b: str) -> bool:
    return not (a == b and a in (R, S))


def _dependent_earlier(trace: list, j: int, index: dict) -> set[int]:
    """The steps before j (of other tasks) that are dependent with step j, from the index
    kind → list of (step, key, mode) of the steps before j."""
    fp = trace[j].fp
    out: set[int] = set()
    if "*" in fp.cells:  # reads everything: every earlier write
        for entries in index.values():
            out.update(i for i, _, mode in entries if mode != R)
        return out
    for kind, keys in fp.cells.items():
        for i, key, mode in index.get(kind, ()):
            if i in out:
                continue
            if key == ANY:
                if any(_conflict(mode, m) for m in keys.values()):
                    out.add(i)
            else:
                m = keys.get(key)
                if m is not None and _conflict(mode, m):
                    out.add(i)
                    continue
                m = keys.get(ANY)
                if m is not None and _conflict(mode, m):
                    out.add(i)
    for i, _, mode in index.get("*", ()):
        if fp.has_writes():
            out.add(i)
    return out


_CONFLICTING = {R: (W, S), W: (R, W, S), S: (R, W)}
"""The modes of an earlier access that conflict with an access of each mode (`_conflict`)."""


class _Index:
    """The footprints of a run's steps so far, for `races`: by kind, then key, then mode,
    the steps with such an access (a bit per step), and by kind then mode whatever the
    key, so that the steps dependent with the next one are the union of a few such masks
    instead of a scan of every earlier access of its kinds. `dependent_earlier(trace, j)`
    is `_dependent_earlier` (`tests/test_dpor.py` compares the two on random footprints)."""

    __slots__ = ("by_key", "by_kind", "writers", "everything")

    def __init__(self) -> None:
        self.by_key: dict[str, dict[object, dict[str, int]]] = {}
        self.by_kind: dict[str, dict[str, int]] = {}
        self.writers = 0  # the steps with an access that is not a read
        self.everything = 0  # the steps that read every cell (kind "*")

    def add(self, j: int, fp: Footprint) -> None:
        bit = 1 << j
        for kind, keys in fp.cells.items():
            if kind == "*":
                self.everything |= bit
            by_key = self.by_key.get(kind)
            if by_key is None:
                by_key = self.by_key[kind] = {}
                by_kind = self.by_kind[kind] = {}
            else:
                by_kind = self.by_kind[kind]
            for key, mode in keys.items():
                modes = by_key.get(key)
                if modes is None:
                    by_key[key] = {mode: bit}
                else:
                    modes[mode] = modes.get(mode, 0) | bit
                by_kind[mode] = by_kind.get(mode, 0) | bit
                if mode != R:
                    self.writers |= bit

    def truncate(self, n: int) -> None:
        """Forget the steps from the `n`th on."""
        keep = (1 << n) - 1
        for by_key in self.by_key.values():
            for modes in by_key.values():
                for mode, bits in modes.items():
                    if bits >> n:
                        modes[mode] = bits & keep
        for modes in self.by_kind.values():
            for mode, bits in modes.items():
                if bits >> n:
                    modes[mode] = bits & keep
        self.writers &= keep
        self.everything &= keep

    def dependent_mask(self, fp: Footprint) -> int:
        """The earlier steps dependent with a step of footprint `fp`, a bit each."""
        cells = fp.cells
        if "*" in cells:  # reads everything: every earlier write
            return self.writers
        out = 0
        for kind, keys in cells.items():
            by_key = self.by_key.get(kind)
            if by_key is None:
                continue
            whole = by_key.get(ANY)
            for key, m in keys.items():
                conflicting = _CONFLICTING[m]
                if key == ANY:
                    modes = self.by_kind[kind]
                    for mode in conflicting:
                        out |= modes.get(mode, 0)
                    continue
                modes = by_key.get(key)
                if modes is not None:
                    for mode in conflicting:
                        out |= modes.get(mode, 0)
                if whole is not None:
                    for mode in conflicting:
                        out |= whole.get(mode, 0)
        if self.everything and fp.has_writes():
            out |= self.everything
        return out

    def dependent_earlier(self, trace: list, j: int) -> set[int]:
        mask = self.dependent_mask(trace[j].fp)
        return {i for i in range(j) if mask >> i & 1}


def reversible(trace: list, i: int, j: int) -> bool:
    """Whether step j could have run before step i: not when j starts by taking a
    sleeping lock (a semaphore, a page lock), or a PTE lock another task held across a
    switch point (`Scheduler.spin_hold`), that i's task held when i began: j waited for
    that task to drop it, at i or after (a lock's release and the acquire it lets go, or a
    step inside the holder's critical section and the acquire waiting for it). A wake-up
    from the DAX entry wait queue is no such step: the woken task may run while the waker
    holds the entry lock again (it then looks and sleeps again)."""
    needs = trace[j].blocked_by
    return not needs or not any(hold in trace[i].held for hold in needs)


def _clock_of(before: dict[int, int], clocks: list[dict[int, int]], steps, p: int,
              j: int) -> dict[int, int]:
    """The vector clock of step j of task p: its task's clock `before`, joined with the
    clocks of the earlier `steps` it depends on, and j itself."""
    clock = dict(before)
    for i in steps:
        for t, v in clocks[i].items():
            if clock.get(t, -1) < v:
                clock[t] = v
    clock[p] = j
    return clock


def races(trace: list) -> list[tuple[int, int]]:
    """The races of a run: (i, j) with j a step of task p, i < j a step of another task
    dependent with j that does not happen before p's step before j, and `reversible`.
    Every such i, not only the last: the last is the one Flanagan and Godefroid take,
    which is enough when it could have run beside j; here a lock's release is the last
    step dependent with the next acquire but never co-enabled with it (the acquirer
    waits), so the acquire before it must be a race too, or the order with the other task
    first is never tried (`tests/test_dax_tasks.py` caught it against the unreduced
    search). A race that is not reversible is dropped (as source-set DPOR drops them,
    Abdulla et al., POPL 2014): backtracking there lets the other task run only up to the
    lock it waits for, and the sleep sets then abandon the run (44 % of the runs of two
    tasks of three system calls were such before)."""
    return races_from(trace, 0, [])


def races_from(trace: list, start: int, clocks: list[dict[int, int]],
               index: _Index | None = None) -> list[tuple[int, int]]:
    """`races(trace)` of the steps j >= `start` only, given in `clocks` the vector clocks
    of the steps before `start`, kept from an earlier call on a trace with the same first
    `start` steps; `clocks` is left holding every step's. A search replays the previous
    run up to the node it branches at (`explore`): the races of the replayed steps are the
    previous run's, found when a run first took those steps, and their backtrack points
    are on the same nodes, so only the steps from the branch on are looked at again (the
    replayed steps' accesses are indexed again, `_Index.add`; `tests/test_dax_tasks.py`
    checks that the search makes the same runs either way). `index`, if given, holds the
    accesses of the earlier call's steps (kept with `clocks`), and is left holding every
    step's."""
    del clocks[start:]
    assert len(clocks) == start, "the clocks of the replayed steps are missing"
    last_of: dict[int, int] = {}
    if index is None:
        index = _Index()
        for j in range(start):  # the replayed steps: their races are known, clocks kept
            e = trace[j]
            last_of[e.tid] = j
            index.add(j, e.fp)
    else:
        index.truncate(start)
        for j in range(start):
            last_of[trace[j].tid] = j
    out = []
    for j in range(start, len(trace)):
        e = trace[j]
        p = e.tid
        prev = last_of.get(p)
        cp = clocks[prev] if prev is not None else {}
        deps = index.dependent_mask(e.fp)
        needs = e.blocked_by  # `reversible` is true without them
        latest: dict[int, int] = {}  # per task, its last step among deps
        while deps:  # the dependent steps, in order
            low = deps & -deps
            deps ^= low
            i = low.bit_length() - 1
            q = trace[i].tid
            latest[q] = i
            if q != p and cp.get(q, -1) < i and (not needs or reversible(trace, i, j)):
                out.append((i, j))
        # A task's clocks only grow along its steps (each starts from its step before),
        # so its last step among deps has the greatest of their clocks.
        clocks.append(_clock_of(cp, clocks, latest.values(), p, j))
        last_of[p] = j
        index.add(j, e.fp)
    return out


def _races_readable(trace: list) -> list[tuple[int, int]]:
    """`races` as first written: a scan of every earlier access of the step's kinds, and
    every dependent step's clock merged (`tests/test_dpor.py` checks `races` against it)."""
    clocks: list[dict[int, int]] = []
    last_of: dict[int, int] = {}
    index: dict[str, list[tuple[int, object, str]]] = {}
    out = []
    for j, e in enumerate(trace):
        p = e.tid
        prev = last_of.get(p)
        cp = clocks[prev] if prev is not None else {}
        deps = _dependent_earlier(trace, j, index)
        for i in sorted(deps):
            q = trace[i].tid
            if q != p and cp.get(q, -1) < i and reversible(trace, i, j):
                out.append((i, j))
        clocks.append(_clock_of(cp, clocks, deps, p, j))
        last_of[p] = j
        for kind, keys in e.fp.cells.items():
            bucket = index.setdefault(kind, [])
            for key, mode in keys.items():
                bucket.append((j, key, mode))
    return out


@dataclass(slots=True)
class Exploration:
    """What an exploration did: runs made (complete, and abandoned by the sleep sets)."""

    runs: int = 0
    abandoned: int = 0
    complete: bool = True  # False when the budget ran out first
    steps: int = 0  # steps of all the runs


@dataclass(slots=True)
class Limits:
    """An exploration's budget: runs and steps of all the runs (None: no limit), and for a
    pausing exploration `stop`, a time slice's end (`fuzzplug.core.timeslice`): it pauses
    there as at its budget, to go on with the same runs when asked for more."""

    max_runs: int | None = None
    max_steps: int | None = None
    stop: Callable[[], bool] | None = None

    def budget_reached(self, stats: Exploration) -> bool:
        return ((self.max_runs is not None and stats.runs >= self.max_runs)
                or (self.max_steps is not None and stats.steps >= self.max_steps))

    def reached(self, stats: Exploration) -> bool:
        return self.budget_reached(stats) or (self.stop is not None and self.stop())


PAUSED = object()
"""What a pausing exploration (`explore` with `limits`) yields where its budget is reached."""
INCREMENTAL = True
"""`explore` looks for races only in the steps a run did not replay (`races_from`); False:
in every step of every run (the readable path the tests compare it with)."""
REPLAY_SKIPS = True
"""`_Chooser.observe` skips the steps a run replays before its branch (nothing it would
record there is read); False: it records every step alike (the readable path the tests
compare it with)."""
SUMMARIES = True
"""A search with a state cache keeps DPOR's race-driven backtracking, a run stopped at a
cached state racing with what was explored from it (stateful DPOR: `_summary_races`);
False: every task that may run is tried at every state, the sleep sets alone pruning (the
search the tests compare it with)."""
LIVELOCK = 1000
"""A node's choice LIVELOCK + t ends task t's retrying access as a LIVELOCK."""


def _add_backtrack(node: Node, p: int) -> None:
    if p in node.enabled:
        node.backtrack.add(p)
    else:
        node.backtrack.update(node.enabled)


def _summary_races(stack: list[Node], trace: list, cut: tuple | None,
                   cycles: list[tuple[int, int]], index: _Index) -> None:
    """After a run with a state cache and `SUMMARIES` (stateful DPOR: Yang, Chen,
    Gopalakrishnan and Kirby, SPIN 2008): the races of the run's steps with the steps a
    run cut at a cached state would have taken after it (that state's whole summary,
    `_Chooser._whole_summary`: every step explored from it or from the states its future
    goes through, per task; each dependent step of another task is a race, whatever
    happens before it, which may backtrack more than needed and never less). The states
    of a cycle, from its first visit (a node still being explored, whose summary is not
    whole yet) to the step that came back, are explored with every task that may run.
    `index`: the run's steps' accesses (`races_from`)."""
    if cut is not None and cut[0] == "hit" and cut[1]:
        for p, fp in _summary_footprints(cut[1]).items():
            mask = index.dependent_mask(fp)  # the steps dependent with one of p's
            while mask:
                low = mask & -mask
                mask ^= low
                i = low.bit_length() - 1
                if trace[i].tid != p:
                    _add_backtrack(stack[i], p)
    for first, back in cycles:
        for i in range(first, back):
            node = stack[i]
            node.backtrack.update(node.enabled)


def _summarize(stack: list[Node], trace: list, cut: tuple | None,
               cycles: list[tuple[int, int]], branch: int) -> None:
    """Join the run's steps below `branch` (the node the next run branches at, or -1) into
    the summaries of their nodes, from the bottom up: each node's summary takes its step
    and its child's summary, and its `via` the keys of the states a cycle below it went
    back to, but its own. The nodes above `branch` take theirs when their own subtree is
    explored (the run that explores it last goes up through them)."""
    below: set = set(cut[1]) if cut is not None and cut[0] == "hit" else set()
    back: dict[int, set] = {}
    for first, at in cycles:
        if stack[first].key is not None:
            back.setdefault(at - 1, set()).add(stack[first].key)
    via: set = set()
    for i in range(len(trace) - 1, max(branch, 0) - 1, -1):
        node = stack[i]
        node.summary |= below
        node.summary |= statecache.items(trace[i].tid, trace[i].fp)
        below = node.summary
        if i in back:
            via = via | back[i]
        if via:
            node.via |= via
        if node.key in node.via:
            node.via.discard(node.key)
        via = node.via


_FOOTPRINTS: dict[int, tuple[frozenset, dict[int, Footprint]]] = {}


def _summary_footprints(summary: frozenset) -> dict[int, Footprint]:
    """`statecache.footprints` of an interned summary, kept while it is the last one asked
    of its id."""
    got = _FOOTPRINTS.get(id(summary))
    if got is None or got[0] is not summary:
        if len(_FOOTPRINTS) > 4096:
            _FOOTPRINTS.clear()
        got = _FOOTPRINTS[id(summary)] = (summary, statecache.footprints(summary))
    return got[1]


def explore(run: Callable[[object], object], *, reduce: bool = True,
            max_runs: int | None = None, max_steps: int | None = None,
            stats: Exploration | None = None,
            cache: StateCache | None = None, limits: Limits | None = None) \
        -> Iterator[object]:
    """Yield a run of every trace (`reduce`) or of every interleaving (not `reduce`). `run`
    makes one run from the initial state with the chooser it is given and returns an
    object with `trace` (the steps) and `abandoned` (the chooser gave up); abandoned runs
    are not yielded. With `max_runs` (`max_steps`), stop after that many runs (steps of
    all the runs: a budget that bounds the time too when the runs are long, and, unlike a
    time limit, gives the same search on every machine); `stats.complete` says whether the
    exploration finished. With `limits` instead, the budget is read from it before each
    run, and where it is reached the exploration yields `PAUSED` instead of stopping: it
    goes on, exactly as an exploration given the bigger budget from the start, when it is
    asked for its next run after `limits` was raised (`complete` is then True again until
    the next pause)."""
    stats = stats if stats is not None else Exploration()
    if limits is None:
        limits = Limits(max_runs, max_steps)
        pausing = False
    else:
        pausing = True
    stack: list[Node] = []
    clocks: list[dict[int, int]] = []  # the last run's steps' vector clocks (`races_from`)
    index = _Index()  # and their accesses
    depth = 0
    while True:
        while limits.reached(stats):
            stats.complete = False
            if not pausing:
                return
            result = trace = None  # a paused exploration keeps its stack, not a machine
            yield PAUSED
            stats.complete = True
        chooser = _Chooser(stack, depth, reduce, cache)
        result = run(chooser)
        stats.runs += 1
        stats.steps += len(result.trace)
        trace = result.trace
        assert len(stack) >= len(trace), "a step without a node"
        del stack[len(trace):]
        if reduce and (cache is None or SUMMARIES):
            # The first depth - 1 steps replayed the previous run's (the step at depth - 1
            # is the branch's new choice).
            start = min(max(depth - 1, 0), len(clocks), len(trace)) if INCREMENTAL else 0
            for i, j in races_from(trace, start, clocks, index):
                _add_backtrack(stack[i], trace[j].tid)
        else:
            for node in stack:
                node.backtrack.update(node.enabled)
        if cache is not None and SUMMARIES and reduce:
            _summary_races(stack, trace, chooser.cut, chooser.cycles, index)
        if result.abandoned:
            stats.abandoned += 1
        else:
            yield result
        depth = -1
        for i in range(len(stack) - 1, -1, -1):
            node = stack[i]
            todo = sorted(node.backtrack - node.done - set(node.sleep))
            if todo:
                node.choice = todo[0]
                node.done.add(todo[0])
                depth = i + 1
                break
        if cache is not None and SUMMARIES and reduce:
            _summarize(stack, trace, chooser.cut, chooser.cycles, depth - 1)
        if cache is not None:  # the states below the branch are explored: cache them
            for node in stack[max(depth, 0):]:
                if node.key is not None:
                    cache.put(node.key, frozenset(node.sleep), frozenset(node.summary),
                              frozenset(node.via))
        if depth < 0:
            return
        del stack[depth:]

"""dax_fault with several tasks: programs, a schedule, and what "the same behaviour" means
when the two versions take different numbers of steps (issue #13).

An input's calls are split into per-task programs by its `task id=` lines and its `sched`
lines give the schedule (`fuzzplug.targets.dax_fault.schema`). Each version boots the same
scene and runs the same programs, one task per CPU, under the same schedule
(`fuzzplug.explore.daxtasks.run_tasks` with `fuzzplug.runtime.sched.FollowSchedule`): the
schedule is consumed one choice per switch point, on each side independently.

Alignment. The series changes the number of switch points (v4.13 allocates and locks a page
for a hole, v4.14 inserts the zero page; a store to a zero-page PTE takes one fault less),
so the n-th step of one side is not the n-th step of the other, and a schedule that stops
task 0 "after its third step" stops it at different points of its path on each side. The
oracle therefore compares *outcomes*, never steps: the outcome of a run is, per task and in
each task's program order, every completed call's return as user space sees it (the
`user_view`) and its printed kernel events (WARN, BUG, bad PTE, signal),
then the state both versions leave when every task has ended (the `normalised_view`, with
the series' intended differences folded as in the one-task oracle), and any deadlock.
Two outcomes are *the same* when that comparison finds no difference other than those the
intended rules allow (`compare`).

Fairness. Under one schedule the sides may simply have interleaved differently, so a
difference under the schedule is not yet a finding: it is one only when the post-series
outcome is one the pre-series kernel cannot produce under *any* interleaving of the same
programs, or the other way round (the outcome sets of the two versions differ). Both sets
are searched: first the run that makes the same calls whole in the order they finished
(`fuzzplug.runtime.sched.Serial`: most outcomes of a schedule are those of a serial order),
then with the exhaustive checker's partial-order reduction
(`fuzzplug.explore.dpor`), which runs one interleaving of every class of equivalent ones, so
"cannot produce" is a proof for the models when the search completes (it does for the
small programs a finding minimises to). The search first takes up to `SEARCH_RUNS` runs;
an outcome it did not find there, while runs were left, is looked for again in a search of
up to `CONFIRM_RUNS` (ten times more, made only for an outcome that would otherwise be a
finding: most outcomes match within the first budget, and a cut search can miss the one
that matches), then, if the search was cut even there, among the runs with at most one
preemption (`one_preemption`), which a depth-first search reaches last, and last in the
stateful search (`PROOF_RUNS`, `PROOFS`), which completes on programs where the stateless
one cannot (it only decides whether a match exists: the closest outcome, which names a
finding, is chosen without it); a finding of a search cut even there means "not within
that many interleavings": `fuzzplug exhaustive dax_fault
--tasks 2` or a minimised reproducer settles it. Neither version is blamed for an
interleaving the other could also take; a version is blamed for a behaviour the other
never has. A deadlock (every task left waits) is a finding on its own, on either side.

The other version's search does not depend on the schedule, and the fuzzer mutates
schedules far more often than programs: `SearchCache` keeps each whole search (within the
budget, never cut short at the first match) per model, scene and programs, so a cached
search gives the verdict a new one would.

Signatures. The finding's differences are those against the *closest* outcome of the
other version, among its search's outcomes, its two runs made first and its
one-preemption runs (fewest
differences, then fewest of whole entries, then fewest of state, then the first in sorted
order: `closest`). A race shows under many schedules, and the calls' branch ids vary with
them (where a retry ran, whether an entry was found locked, which fault found the PTE first), so a
two-task signature names what the race does and nothing of how the schedule reached it
(`finding_of`): the op of the differing call that shows most strongly (`named_call`: a
printed kernel event, then a return, then a loaded value; neither which call finished first
nor which task is numbered 0 decides), the primary observables in a fixed order (returns,
values, then printed events, each sorted), and no branch ids (the hash part is the empty
set's). The branch ids every interleaving that shows the difference takes were measured as
an alternative: one hash for every schedule of one pair of programs, but another when a
call is added to a task, and a search of the finding's own version to compute. The cost of
having none: two causes whose races show the same observables at the same op share a
signature, and only the scene (a cause's `when` in the known list) tells them apart (the
one known case: README, "Signatures of races"). One-task signatures are the target's own
(`fuzzplug.targets.dax_fault.compare.compare_op`) and keep their hash.

`fail_alloc` calls are not run in a run of several tasks: which allocation is the n-th
depends on the interleaving, and the versions do not allocate alike (rule
fewer_allocations); the one-task oracle covers allocation failures.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from fuzzplug.core import timeslice
from fuzzplug.core.opslang import Op
from fuzzplug.core.oracle import Finding, OpRun, Outcome, SideRecord, Verdict, family
from fuzzplug.core.words import plural
from fuzzplug.explore import daxfile, daxtasks, daxtrack, statecache
from fuzzplug.explore import dpor
from fuzzplug.explore.daxfile import DaxMachine
from fuzzplug.explore.daxtasks import TasksRun
from fuzzplug.explore.mkwrite import MISMATCH, MISMATCH_ZERO_PFN, REUSE, REUSE_STORED
from fuzzplug.explore.observe import observables, signature
from fuzzplug.runtime.sched import Chooser, FollowSchedule, Serial
from fuzzplug.targets.dax_fault.outcome import (
    CallOutcome,
    Comparison,
    RunOutcome,
    _call_rank,
    compare,
    named_call,
    outcome_of,
)
from fuzzplug.targets.dax_fault.programs import (
    Tasks,
    check_tasks,
    chooser,
    model_programs,
    split,
)
from fuzzplug.targets.dax_fault.schema import call_args

SEARCH_RUNS = 400
"""Runs a search of one version's interleavings may take (per version) in `evaluate`."""
CONFIRM_RUNS = 4000
"""Runs the search may take before an outcome it did not find within `SEARCH_RUNS` is a
finding (`evaluate`)."""
FAST_RUNS = 4
"""Runs (and `FAST_RUNS * STEPS_PER_RUN` steps) of the other version's search in the
budgeted evaluation of the fuzz loop (`evaluate` with `budget`): what a two-task input may
cost there, a few milliseconds a search; what it cannot settle is a candidate, confirmed
outside the loop (`docs/races.md`, "Candidates"). In a cold run's loop the budget's search
settled 59 of 558 searches at 12 runs, 40 of them at the first run and 46 within four; the
other 499 ended cut, candidates, and took a quarter of the loop. At 4 (it was 24, then 12)
two A/B rounds of ten cold seeds made 18 % more executions and reported the generic/344
race in 7 of 10 seeds either way, sooner at 4 (`docs/races.md`, "The loop's budget")."""
STEPS_PER_RUN = 60
"""The budgets in steps are this many a run (the runs of two-call programs take 20 to 60
steps; a pair of accesses that keep retrying each other's faults takes hundreds a run, and
the step budget stops its search where 400 or 4,000 such runs would take minutes)."""
RESUME = True
"""`SearchCache` keeps a search of `SEARCH_RUNS` cut at its budget paused, and goes on from
its last run when `evaluate` asks for `CONFIRM_RUNS` (the same runs as a new search of that
budget, which repeats the first ones); False: a new search."""
PREEMPTION_RUNS = 400
"""Runs of the other version with at most one preemption (`one_preemption`) the full
evaluation makes, after a search cut at `CONFIRM_RUNS` without a match, before an outcome is
a finding."""
PROOF_RUNS = 40000
"""Runs (and `PROOF_RUNS * STEPS_PER_RUN` steps) of the stateful search (`search` with
`stateful`: sleep sets and a state cache, `fuzzplug.explore.statecache`) the full
evaluation makes last, when the stateless search was cut at `CONFIRM_RUNS` and the
one-preemption runs did not match either: it completes on programs whose stateless search
cannot (a private mapping's two programs of nine and ten calls: 27,304 runs, 119 s, where
the stateless one was cut at 4,000 with the match not reached, docs/races.md "The last
confirmation: a stateful search"). Made only for an outcome that would otherwise be a
finding."""


# --- running the versions ----------------------------------------------------------------------

@dataclass(slots=True)
class Run:
    """One run of one version: the machine, the scheduler's record, its outcome."""

    m: DaxMachine
    result: TasksRun
    outcome: RunOutcome | None  # None for a run a search abandoned (`search`)

    @property
    def trace(self):
        return self.result.trace

    @property
    def abandoned(self) -> bool:
        return self.result.abandoned


def run_version(model, scene, tasks: Tasks, chooser: Chooser) -> Run:
    """One run of `tasks` on a fresh machine of `model` with the given chooser."""
    m = daxfile.boot(model, scene)
    result = daxtasks.run_tasks(m, model_programs(tasks), chooser)
    return Run(m, result, outcome_of(tasks, result, m))


@dataclass(slots=True)
class Search:
    """Every outcome one version has over the interleavings the search ran."""

    outcomes: dict[RunOutcome, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    """Each outcome → the schedule (`runs_of`) of the first run that had it."""
    stats: dpor.Exploration = field(default_factory=dpor.Exploration)
    first_seen: dict[RunOutcome, tuple[int, int]] = field(default_factory=dict)
    """Each outcome → (the number of runs, the number of steps) made before the first run
    that had it: what a smaller budget would have seen of it (`within`)."""
    last_run: tuple[int, int] = (0, 0)
    """(runs, steps) made before the search's last run."""
    cache: object = None  # the search's state cache, when it was stateful
    more: object = field(default=None, repr=False, compare=False)
    """For a search cut at its budget and made `resumable`: `more(runs, steps)` goes on to
    that bigger budget, exactly as a search given it from the start (`dpor.Limits`)."""

    @property
    def complete(self) -> bool:
        return self.stats.complete

    def within(self, runs: int) -> "Search":
        """This search as a search with a budget of `runs` runs and `runs *
        STEPS_PER_RUN` steps would have been: the exploration's order is fixed, so that
        search is this one's first runs (`dpor.explore` checks the budget before each
        run). Exact whatever budget this one had, if at least that one: the budgeted
        evaluation asks it of any search the cache holds."""
        steps = runs * STEPS_PER_RUN
        kept = {o: (r, st) for o, (r, st) in self.first_seen.items()
                if r < runs and st < steps}
        if len(kept) == len(self.first_seen) and self.complete and \
                self.last_run[0] < runs and self.last_run[1] < steps:
            return self
        stats = dpor.Exploration(runs=min(self.stats.runs, runs), complete=False)
        return Search({o: self.outcomes[o] for o in kept}, stats, kept, self.last_run)


COMPARED_BRANCHES = frozenset({REUSE, MISMATCH, MISMATCH_ZERO_PFN, *REUSE_STORED})
"""The branch ids `compare` reads of a call (its rules: `compare.zero_pfn_mismatch_events`
and `compare.old_store_reports`); the others are in an outcome for the record only (a
finding's branch lists), never in a difference or a rule. A stateful search keys the calls
by these alone, so its outcomes are one per class of outcomes that differ only in other
branch ids, every one of which `compare` compares alike with any outcome
(`tests/test_statecache.py` checks it on the known races' outcome sets)."""


def search(model, scene, tasks: Tasks, *, reduce: bool = True, max_runs: int | None = None,
           max_steps: int | None = None, stop_at=None, stateful: bool = False,
           resumable: bool = False) -> Search:
    """The outcomes of every interleaving of `tasks` on `model` (one run per class of
    equivalent interleavings with `reduce`); with `stop_at(outcome)`, stop at the first
    outcome for which it is true (`complete` is then False). `stateful`: with a state
    cache (`fuzzplug.explore.statecache`), whose outcomes are the search's without it up
    to fault counts and to branch ids outside `COMPARED_BRANCHES`. `resumable` (without
    `stop_at`): a search cut at its budget keeps its exploration paused (`Search.more`)."""
    s = Search(cache=statecache.StateCache(branches=COMPARED_BRANCHES) if stateful else None)
    last = [(0, 0)]
    boot = daxtrack.Boot()  # every run boots the same machine

    def one(chooser):
        last[0] = (s.stats.runs, s.stats.steps)
        m = daxfile.boot(model, scene)
        result = daxtasks.run_tasks(m, model_programs(tasks), chooser, boot)
        # An abandoned run (sleep sets, a cached state) is not yielded (`dpor.explore`):
        # nobody reads its outcome.
        return Run(m, result, outcome_of(tasks, result, m) if not result.abandoned else None)

    limits = dpor.Limits(max_runs, max_steps, stop=timeslice.passed)
    runs = dpor.explore(one, reduce=reduce, stats=s.stats, cache=s.cache, limits=limits)

    def more(max_runs: int | None, max_steps: int | None) -> None:
        limits.max_runs, limits.max_steps = max_runs, max_steps
        paused = False
        for run in runs:
            if run is dpor.PAUSED:
                paused = True
                break
            if run.outcome not in s.outcomes:
                s.outcomes[run.outcome] = runs_of(run.trace)
                s.first_seen[run.outcome] = last[0]
            if stop_at is not None and stop_at(run.outcome):
                s.stats.complete = False
                break
        s.last_run = last[0]
        if s.complete:
            s.more = None  # nothing left to go on with: let the exploration go
        elif paused and not limits.budget_reached(s.stats):
            # The time slice is over before the budget: paused, to go on in the next.
            if stop_at is None:
                s.more = more
            raise timeslice.Interrupted(s)

    more(max_runs, max_steps)
    if resumable and stop_at is None and not s.complete:
        s.more = more
    return s


def runs_of(trace) -> tuple[tuple[int, int], ...]:
    """A run's choices as schedule runs (task, steps), which `FollowSchedule` replays: the
    steps a task took in a row (steps the scheduler forced, with no task able to run, are
    not choices)."""
    out: list[list[int]] = []
    for e in trace:
        if e.forced:
            continue
        if out and out[-1][0] == e.tid:
            out[-1][1] += 1
        else:
            out.append([e.tid, 1])
    return tuple((t, n) for t, n in out)


def one_preemption(model, scene, tasks: Tasks, max_runs: int = PREEMPTION_RUNS):
    """Runs of `tasks` on `model` (their outcomes, lazily) whose schedules preempt a task at
    most once: for each ordered pair of tasks (a, b) and each k from 0 up to the steps a
    takes before another task must run, task a takes k steps, then task b runs while it
    can, then the default order goes on (the task that ran last while it can, then round
    robin: `FollowSchedule`); k = 0 is task b's program whole first (run once per b). The
    pairs take turns, one run each, in a fixed order, `max_runs` runs at most. Context
    bounding (Musuvathi and Qadeer, "Iterative Context Bounding for Systematic Testing of
    Multithreaded Programs", PLDI 2007): a depth-first search of the interleavings, whose
    first runs all share the first run's long prefix, reaches these schedules last, so
    where it is cut at its budget they are what is left to try cheaply; an outcome of one
    of them is an outcome of the version as much as the search's."""
    n = len(tasks.programs)

    def preempted(a: int, b: int):
        for k in range(0 if a == (b + 1) % n else 1, 1 << 30):
            run = run_version(model, scene, tasks, FollowSchedule([(a, k), (b, 1 << 30)]))
            yield run.outcome
            lead = 0
            for e in run.trace:
                if e.tid != a:
                    break
                lead += 1
            if lead < k:  # task a had to stop before its k-th step: no later k differs
                return

    pending = [preempted(a, b) for b in range(n) for a in range(n) if a != b]
    made = 0
    while pending:
        for runs in list(pending):
            if made >= max_runs:
                return
            outcome = next(runs, None)
            if outcome is None:
                pending.remove(runs)
                continue
            made += 1
            yield outcome


# --- the other version's searches, cached ------------------------------------------------------

SEARCH_CACHE_SIZE = 256
"""Searches `SearchCache` keeps at most (the least recently used is dropped first)."""
SEARCH_CACHE_OUTCOMES = 4096
"""Outcomes `SearchCache` keeps at most, over all its searches: what bounds its memory (an
outcome, its schedule and first-seen record take about 6 KiB: `bench/rss_fuzz.py`; 4,096
of them about 24 MiB), whatever the searches' sizes (one search of 4,000 runs can hold
a thousand outcomes, one of two-call programs a few)."""


def program_key(tasks: Tasks) -> tuple:
    """What a search of `tasks` depends on besides the model and the scene: each task's
    calls as the model runs them (`model_programs`), without their indices in the input."""
    return tuple(tuple((op.name, tuple(sorted(call_args(op).items()))) for _, op in program)
                 for program in tasks.programs)


def relabelled(s: Search, tasks: Tasks) -> Search:
    """`s`, a search of the same programs with other indices in the input (`sched` lines
    placed elsewhere), with the calls' indices of `tasks`: what `search` returns for
    `tasks` (the runs do not depend on the indices; the outcomes' order is kept)."""
    def relabel(o: RunOutcome) -> RunOutcome:
        calls = tuple(tuple(CallOutcome(index, c.name, c.user, c.faults, c.observed,
                                        c.branches)
                            for (index, _), c in zip(program, outcome_calls))
                      for program, outcome_calls in zip(tasks.programs, o.calls))
        return RunOutcome(calls, o.deadlock, o.view)

    return Search({relabel(o): runs for o, runs in s.outcomes.items()}, s.stats,
                  {relabel(o): seen for o, seen in s.first_seen.items()}, s.last_run)


class SearchCache:
    """Per process, the other version's search of the oracle (`evaluate`), keyed by the
    model (the module itself: a mutant's copy of v4.14 has v4.14's VERSION but is another
    model), the scene and the programs (`program_key`): the fuzzer mutates an input's
    schedule far more often than its programs, and the search does not depend on the
    schedule. Only whole searches are kept (`search` with `max_runs` and no `stop_at`:
    every outcome within the budget), and a search of a bigger budget replaces a cut one:
    the exploration's order is fixed, so a search of `SEARCH_RUNS` is the first runs of one
    of `CONFIRM_RUNS`, and a kept search answers any question `evaluate` asks of it exactly
    as a new one would (it asks the bigger one only what the smaller could not settle).
    The same input gets the same verdict and signature with the cache cold or warm.
    Bounded by memory: at most `size` searches and `outcomes` outcomes in all (the least
    recently used dropped first; a search of more outcomes than that is kept alone, until
    the next: the exhaustive checker puts its search, then names a class from it), so a
    long fuzzing run's memory stays flat (`docs/benchmarks.md`)."""

    def __init__(self, size: int = SEARCH_CACHE_SIZE, outcomes: int = SEARCH_CACHE_OUTCOMES,
                 stateful: bool = False):
        self.size = size
        self.outcomes = outcomes
        self.stateful = stateful
        """Its searches are stateful (`search`'s `stateful`): `PROOFS`."""
        self._entries: OrderedDict[tuple, tuple[Tasks, Search, int]] = OrderedDict()
        self.kept_outcomes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self.kept_outcomes = 0
        self.hits = self.misses = 0

    def _check_invariants(self) -> None:
        assert len(self._entries) <= self.size
        assert self.kept_outcomes == sum(len(e[1].outcomes) for e in self._entries.values())
        assert self.kept_outcomes <= self.outcomes or len(self._entries) == 1

    def put(self, model, scene, tasks: Tasks, found: Search, runs: int) -> None:
        """Keep a search made with a budget of `runs` runs (here, and `runs *
        STEPS_PER_RUN` steps), here or elsewhere (the exhaustive checker's, with its
        larger budget and no step budget: the oracle it then runs on a reproducer of the
        same programs answers from it); the least recently used go while the cache is
        over its bounds. A search whose exploration is over is kept without its state
        cache (`Search.cache`): no later question reads its states, and they were most of
        its memory (kept, they took the exhaustive checker's process from 62 to 321 MB
        and it 13 % more CPU on one scene of the 2/2 bound: docs/races.md, "The state
        cache")."""
        key = (model, scene, program_key(tasks))
        old = self._entries.pop(key, None)
        if old is not None:
            self.kept_outcomes -= len(old[1].outcomes)
        if found.cache is not None and found.more is None:
            found = replace(found, cache=None)
        self._entries[key] = (tasks, found, runs)
        self.kept_outcomes += len(found.outcomes)
        self._drop_over_bounds()

    def _drop_over_bounds(self) -> None:
        """The least recently used searches dropped while the cache is over its bounds."""
        while len(self._entries) > 1 and (len(self._entries) > self.size
                                          or self.kept_outcomes > self.outcomes):
            _, (_, dropped, _) = self._entries.popitem(last=False)
            self.kept_outcomes -= len(dropped.outcomes)

    def search(self, model, scene, tasks: Tasks, runs: int | None = None) -> Search:
        """`search(model, scene, tasks, max_runs=runs)` (default `SEARCH_RUNS`), from the
        cache when an input with the same model, scene and programs asked before with at
        least that budget (or the search was complete); a kept search cut short goes on
        from its last run (`_resume`); otherwise a new one is made and kept (`_new`)."""
        runs = SEARCH_RUNS if runs is None else runs
        key = (model, scene, program_key(tasks))
        entry = self._entries.get(key)
        if entry is None or not (entry[1].complete or entry[2] >= runs):
            self.misses += 1
            if entry is None or entry[1].more is None:
                return self._new(model, scene, tasks, runs)
            found = self._resume(key, entry, runs)
        else:
            self.hits += 1
            self._entries.move_to_end(key)
            found = entry[1]
        first = entry[0]
        if all(tuple(i for i, _ in p) == tuple(i for i, _ in q)
               for p, q in zip(first.programs, tasks.programs)):
            return found
        return relabelled(found, tasks)  # its outcomes are labelled with `first`'s indices

    def _new(self, model, scene, tasks: Tasks, runs: int) -> Search:
        """A new search of `runs` runs, kept. One paused at its time slice's end is kept
        with a budget of none, so that the next question goes on from where it stopped
        (`Search.more`)."""
        try:
            found = search(model, scene, tasks, max_runs=runs, max_steps=runs * STEPS_PER_RUN,
                           stateful=self.stateful,
                           resumable=RESUME and runs == SEARCH_RUNS)
        except timeslice.Interrupted as cut:
            self.put(model, scene, tasks, cut.args[0], 0)
            raise
        self.put(model, scene, tasks, found, runs)
        return found

    def _resume(self, key: tuple, entry: tuple[Tasks, Search, int], runs: int) -> Search:
        """A kept search cut at a smaller budget (`SEARCH_RUNS`, asked for `CONFIRM_RUNS`),
        gone on from its last run to `runs`: the same runs as a new search of that budget.
        Paused at a time slice's end, it stays kept with its budget as it was (a later
        question goes on from there). Cut off mid-way (an alarm, Ctrl-C), the exploration
        ended with the exception and the runs it added are those of neither budget: the
        entry goes, so that no later question is answered from it."""
        first, found, _ = entry
        before = len(found.outcomes)
        try:
            found.more(runs, runs * STEPS_PER_RUN)
        except timeslice.Interrupted:
            self.kept_outcomes += len(found.outcomes) - before
            self._entries.move_to_end(key)
            self._drop_over_bounds()
            raise
        except BaseException:
            del self._entries[key]
            self.kept_outcomes -= before
            raise
        self.kept_outcomes += len(found.outcomes) - before
        self._entries[key] = (first, found, runs)
        self._entries.move_to_end(key)
        self._drop_over_bounds()
        return found


SEARCHES = SearchCache()
"""The oracle's cache of the other version's searches (`SearchCache`)."""
PROOFS = SearchCache(stateful=True)
"""The oracle's cache of the other version's stateful searches of `PROOF_RUNS` (`evaluate`'s
last confirmation), apart from `SEARCHES`: their outcomes are one per class of outcomes
that differ only in fault counts and branch ids outside `COMPARED_BRANCHES`, so they answer
whether an outcome matches, never which is closest."""
INITIAL_VIEWS = 256
"""Initial views `initial_view` remembers (two per scene of a pair)."""


def _whole_entries(diffs: list[str]) -> int:
    """How many of the differences are of a whole entry (present on one side only, or
    mapping another pfn) rather than of a field of an entry both sides have."""
    return sum(1 for d in diffs if d.endswith(".presence") or d == "map.pfn")


def closest(mine: RunOutcome, others, mine_is_pre: bool,
            names: frozenset[str] | None = None) -> Comparison:
    """The comparison of `mine` with the closest of `others`: the fewest differences, then
    the fewest of them of whole entries (a PTE that differs in one bit is closer than one
    that is absent: otherwise a ppc64 radix outcome that differs from its nearest v4.13
    outcome in SOFT_DIRTY alone was named by `map.presence` against one where write(2)
    had unmapped the page, which sorts first), then the fewest differences of state (a
    printed event or a return names what the other version's code did; a state
    difference of the same count can be a harmless other order: on ppc64 with DEBUG_VM, a
    store, fsync, a store was named `state:file` against a v4.14 run where fsync came
    before the store's data, rather than by the set_pte_at() WARN v4.14 needs for that
    order), then the smallest sorted list of them, then the first found."""
    best = None
    for other in others:
        c = compare(mine, other, names) if mine_is_pre else compare(other, mine, names)
        key = (len(c.diffs), _whole_entries(c.diffs), sum(":" not in d for d in c.diffs),
               sorted(c.diffs))
        if best is None or key < best[0]:
            best = (key, c)
    return best[1]


def _named_order(diff: str) -> tuple[int, str]:
    """The order of a two-task signature's observables, as a one-task signature has them:
    returns, then loaded values, then printed events and deadlocks (each sorted), then the
    state."""
    if diff.startswith("ret:"):
        return 0, diff
    if diff == "load:value":
        return 1, diff
    return (2 if ":" in diff else 3), diff


def finding_of(c: Comparison, last: tuple[int, str]) -> Finding:
    """The finding of a comparison whose outcomes differ, named by what the race does, not
    by the schedule that shows it (see the module docstring, "Signatures"): the op of the
    call `named_call` chose (`tasks_<op>`, or `tasks` for the final state alone), the
    primary differences in a fixed order (`_named_order`, not the tasks' order), and no
    branch ids (the hash part is that of the empty set). The branch ids that call took on
    each side stay in the record."""
    where = c.at
    if where is not None:
        index, op = where.index, f"tasks_{where.name}"
    else:  # the final state only: no call to name (any of them may have made it)
        index, op = last[0], "tasks"
    named = sorted(c.diffs, key=_named_order)
    return Finding(index, op, c.diffs, signature(op, named, [], []), family(op, named), None,
                   sorted(set(c.pre_branches)), sorted(set(c.post_branches)))


# --- the oracle ---------------------------------------------------------------------------------

def evaluate(target, scene, calls: list[Op], tasks: Tasks, budget: int | None = None) -> Outcome:
    """The oracle for an input with several tasks (see the module docstring). With a
    `budget` (runs, and `budget * STEPS_PER_RUN` steps), the other version's search is cut
    there and never looked at again: what it settles (an outcome it has, or a search that
    completed within it) is what the full evaluation gives, verdict and signature, since
    the budget's runs are the first runs of the full search (`Search.within`, with the
    cache warm or cold); an outcome it neither finds nor rules out makes the input a
    `Verdict.CANDIDATE`, named provisionally from the outcomes the budget saw, for the full
    evaluation to confirm or drop (`Target.evaluate_budgeted`, the fuzz loop's)."""
    from fuzzplug.targets.dax_fault.compare import _hole_rules
    from fuzzplug.targets.dax_fault.view import MachineRecord, story

    pre = run_version(target.pre_model, scene, tasks, chooser(tasks))
    post = run_version(target.post_model, scene, tasks, chooser(tasks))
    records = []
    for run in (pre, post):
        rec = SideRecord(run.m.k.version, MachineRecord(run.m, run.trace))
        by_index = {}
        for program, calls_done in zip(tasks.programs, run.result.calls):
            for (index, _), r in zip(program, calls_done):
                by_index[index] = OpRun(ret=story(r.result), events=list(r.events),
                                        branches=list(r.branches),
                                        oops=r.result.stop is not None)
        for index, op in enumerate(calls):
            rec.add(index, by_index.get(index, OpRun(ret="-")))
        records.append(rec)
    # The last call (a final-state finding names it); none when every task's calls were
    # fail_alloc, which a run of several tasks drops: both sides then run nothing.
    last = max(((i, op.name) for program in tasks.programs for i, op in program),
               default=(0, "tasks"))
    names = target.rule_names
    direct = compare(pre.outcome, post.outcome, names)
    deadlocks = [side for side, run in (("pre", pre), ("post", post)) if run.result.deadlock]
    if deadlocks:
        diffs = [f"deadlock:{'both' if len(deadlocks) == 2 else deadlocks[0]}"]
        diffs += [d for d in direct.diffs if not d.startswith("deadlock")]
        c = Comparison(diffs, [], direct.at, direct.pre_branches, direct.post_branches)
        return Outcome(Verdict.DIVERGENT, finding_of(c, last), *records)
    if direct.same:
        rules = [r for r in direct.rules + _hole_rules(*_initial_and_final(target, scene, pre,
                                                                         post))
                 if r in target.rule_names]  # the series' rules, on a pair that spans it
        return Outcome(Verdict.of(None, rules), None, *records, rules)
    # A difference under this schedule: does the other version have this outcome under
    # another interleaving?
    for mine_run, other_run, other_model, mine_is_pre in (
            (post, pre, target.pre_model, False), (pre, post, target.post_model, True)):
        mine = mine_run.outcome

        def matches(o, mine=mine, mine_is_pre=mine_is_pre):
            return (compare(mine, o, names) if mine_is_pre else compare(o, mine, names)).same

        # First the calls whole, in the order they finished in this run; then the search
        # (cached: the same programs come back under other schedules).
        serial = run_version(other_model, scene, tasks, Serial(mine_run.result.completions))
        if matches(serial.outcome):
            continue
        if budget is not None:
            s = SEARCHES.search(other_model, scene, tasks, budget).within(budget)
            if any(matches(o) for o in s.outcomes):
                continue
            c = closest(mine, [*s.outcomes, serial.outcome, other_run.outcome], mine_is_pre,
                        names)
            verdict = Verdict.DIVERGENT if s.complete else Verdict.CANDIDATE
            return Outcome(verdict, finding_of(c, last), *records)
        s = SEARCHES.search(other_model, scene, tasks)
        found = any(matches(o) for o in s.outcomes)
        if not found and not s.complete:
            s = SEARCHES.search(other_model, scene, tasks, CONFIRM_RUNS)
            found = any(matches(o) for o in s.outcomes)
        # A search cut even there may have missed a run of few preemptions, which it
        # reaches last (a complete search has every outcome: nothing to add, and the
        # budgeted evaluation's verdict on it stays the full one's).
        bounded: list[RunOutcome] = []
        if not found and not s.complete:
            for o in one_preemption(other_model, scene, tasks, PREEMPTION_RUNS):
                bounded.append(o)
                if matches(o):
                    found = True
                    break
        # Last, the stateful search: complete where the stateless one is cut, it settles
        # the question. It only finds a match or rules one out: the closest outcome, which
        # names a finding, is still chosen among the outcomes above, so a finding's
        # signature is the same whether it ran or not.
        if not found and not s.complete and PROOF_RUNS:
            proof = PROOFS.search(other_model, scene, tasks, PROOF_RUNS)
            found = any(matches(o) for o in proof.outcomes)
        if found:
            continue
        # The other version's runs made here are outcomes of it as much as the search's: a
        # search cut short may lack the one this schedule gave, the closest of all.
        c = closest(mine, [*s.outcomes, serial.outcome, other_run.outcome, *bounded],
                    mine_is_pre, names)
        return Outcome(Verdict.DIVERGENT, finding_of(c, last), *records)
    return Outcome(Verdict.SAME, None, *records, [])


def _initial_and_final(target, scene, pre: Run, post: Run):
    before = (initial_view(target.pre_model, scene), initial_view(target.post_model, scene))
    return before, (dict(pre.outcome.view), dict(post.outcome.view))


@functools.lru_cache(maxsize=INITIAL_VIEWS)
def initial_view(model, scene) -> dict[str, object]:
    """The normalised view of `model` booted on `scene`, a function of the two (the module
    itself, as in `SearchCache`'s key: a mutant's copy is another model): remembered for
    the last `INITIAL_VIEWS` pairs, and shared, so read only."""
    from fuzzplug.targets.dax_fault.view import normalised_view

    return normalised_view(daxfile.boot(model, scene))


# --- the story ---------------------------------------------------------------------------------

def story(target, scene, calls: list[Op], tasks: Tasks) -> str:
    """The run of each version under the input's schedule, told per CPU: which task takes
    which steps in which order (consecutive steps of one task on one line), and what each
    call returned."""
    lines = []
    for label, model in (("pre", target.pre_model), ("post", target.post_model)):
        run = run_version(model, scene, tasks, chooser(tasks))
        lines.append(f"-- {label} ({run.m.k.version}), under the input's schedule:")
        group: list[str] = []
        who = None
        for e in run.trace:
            if e.tid != who and group:
                lines.append(f"   CPU{who}: " + " > ".join(group))
                group = []
            who = e.tid
            group.append(e.label)
            for ev in observables(list(e.events)):
                group.append(f"[{ev[0].upper()} {ev[1]}]")
        if group:
            lines.append(f"   CPU{who}: " + " > ".join(group))
        for tid, (program, calls_done) in enumerate(zip(tasks.programs, run.outcome.calls)):
            told = ", ".join(f"{c.name} -> {c.user}"
                             + (f" ({plural(c.faults, 'fault')})" if c.faults is not None else "")
                             for c in calls_done)
            lines.append(f"   CPU{tid} returns: {told}")
        if run.result.deadlock:
            lines.append("   DEADLOCK: " + "; ".join(f"CPU{t} waits at {w}"
                                                    for t, w in run.result.deadlock))
    return "\n".join(lines) + "\n"

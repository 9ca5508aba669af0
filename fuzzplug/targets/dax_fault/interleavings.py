"""`fuzzplug exhaustive dax_fault --tasks 2 --depth K`: every interleaving of every pair of
small programs, and what it proves.

The bound. Scenes: those of dax_fault's small domain (`domain.small_domain`), or those
`--scenes` names. Calls: three memory accesses (`ACCESSES`: a load and a store at the hole,
file page 1, a store at the block, page 0) and five system calls (`SYSCALLS`: write(2) over
the hole and over the block, a hole punch of the hole, truncate to one page, fsync); a task
takes its calls from one of the sets `CALL_SETS` names (`--calls all`, the default, or
`--calls syscalls`; `--calls accesses/syscalls` gives task 0 the accesses and task 1 the
system calls). Programs: every sequence of 1..K calls of the task's set (`--depth K`, or
`--depth K0/K1` per task). Pairs: every pair of programs, run as task 0 and task 1; when
both tasks take the same set and depth, every unordered pair (the order of the two tasks
does not matter: the search runs every interleaving, whichever task is numbered 0, and the
outcome lists the tasks by number, so (B, A) is (A, B) renamed). For each pair and each
version, every interleaving of the two tasks at the models' switch points is run, up to
the commuting of independent steps (`fuzzplug.explore.dpor`: one run of every Mazurkiewicz
trace; sound by the argument in its docstring), and its outcome recorded
(`tasks.RunOutcome`).

What it proves: for the models, in each scene, for each pair, the set of outcomes of
v4.14 equals the set of v4.13 (up to the intended rules, `tasks.compare`) except for the
outcomes listed, each named by the signature its reproducer gives through the target's
oracle (`Target.evaluate` on the pair with the schedule that produced it), so that
`replay` and the fuzzer name it alike. Outcomes of one pair whose comparison with the
closest outcome of the other version shows the same differences are named by the first
one's reproducer (the oracle is run once per such class, not once per outcome). A pair
whose search did not finish within `MAX_RUNS` runs a version is listed as not proven.

What it costs (README, "Races: two tasks under a schedule"): the classes of interleavings
grow fast with the number of memory accesses, since two faults on one page, or a fault and
a write(2) with a hole punch, touch the same entries, PTEs and wait queues at almost every
step (v4.13's hole pages most of all). One call each over every call and scene, and three
system calls each, are proved in minutes; programs of several accesses against several
system calls are not (a single pair can take more than 50,000 runs).
"""

from __future__ import annotations

import itertools
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from fuzzplug.core.known import KnownList, KnownMatch
from fuzzplug.core.opslang import Op, encode, format_text
from fuzzplug.core.words import plural
from fuzzplug.targets import pair_name
from fuzzplug.targets.dax_fault import tasks
from fuzzplug.targets.dax_fault.domain import small_domain
from fuzzplug.targets.dax_fault.schema import MAX_RUN_STEPS, SCHEMA, Scene

HOLE = 0x101000
BLOCK = 0x100000
CALLS = (
    Op.make(SCHEMA, "load", addr=HOLE),
    Op.make(SCHEMA, "store", addr=HOLE, val=0x66),
    Op.make(SCHEMA, "store", addr=BLOCK, val=0x66),
    Op.make(SCHEMA, "write", page=1, pages=1, val=0x40),
    Op.make(SCHEMA, "write", page=0, pages=1, val=0x40),
    Op.make(SCHEMA, "punch_hole", page=1, pages=1),
    Op.make(SCHEMA, "truncate", pages=1),
    Op.make(SCHEMA, "fsync"),
)
ACCESSES = CALLS[:3]
SYSCALLS = CALLS[3:]
CALL_SETS = {"all": CALLS, "accesses": ACCESSES, "syscalls": SYSCALLS}
MAX_RUNS = 20000
"""Runs a search of one version's interleavings of one pair may take."""
STATEFUL = True
"""The reduced search keeps a state cache (`fuzzplug.explore.statecache`): no run goes on
from a state already explored, and an access that retries in a cycle of states ends as a
LIVELOCK there (docs/races.md, "The state cache")."""
USER_ACCESSES = frozenset(op.name for op in ACCESSES)
"""The calls that make user memory accesses (`ACCESSES`' names). `STATEFUL` applies to a pair where a task makes
one (`uses_state_cache`): an access is what retries its fault, what livelocks, and what brings
a run back to a state it was in (a cycle), and two faults of one page meet the same states
by many interleavings. A pair of system calls alone has none of that: with the cache (when it
still gave up DPOR's race-driven backtracking for sleep sets alone, before stateful DPOR:
docs/races.md, "Combined with the reduction") the search found no state twice to pay for
it: about four times the runs, and more than three times the CPU on one scene of `--calls
syscalls --depth 3` (docs/races.md, "Which pairs get the state cache")."""


@dataclass(frozen=True, slots=True)
class Bound:
    """What the checker covers: per task, its set of calls (a `CALL_SETS` name) and the
    most calls of its programs; the scenes (indices into the small domain)."""

    sets: tuple[str, str]
    depths: tuple[int, int]
    scenes: tuple[int, ...]

    @property
    def symmetric(self) -> bool:
        return self.sets[0] == self.sets[1] and self.depths[0] == self.depths[1]

    def describe(self) -> str:
        if self.symmetric:
            return (f"two tasks, each a program of 1..{self.depths[0]} calls from "
                    f"{self.sets[0]} ({_calls_text(CALL_SETS[self.sets[0]])})")
        return "; ".join(f"task {t}: 1..{self.depths[t]} calls from {self.sets[t]} "
                         f"({_calls_text(CALL_SETS[self.sets[t]])})" for t in (0, 1))

    def to_json(self) -> dict:
        return {"description": self.describe(), "sets": list(self.sets),
                "depths": list(self.depths), "scenes": list(self.scenes)}


def _calls_text(calls) -> str:
    return ", ".join(format_text(SCHEMA, [c]).strip() for c in calls)


def parse_bound(depth: str, calls: str | None = None, scenes: str | None = None) -> Bound:
    """The bound of `--depth K` or `K0/K1`, `--calls SET` or `SET0/SET1`, `--scenes i,j`
    (InputError, with one line, for anything else)."""
    from fuzzplug.errors import InputError

    def two(text: str, what: str) -> tuple[str, str]:
        parts = text.split("/")
        if len(parts) == 1:
            return parts[0], parts[0]
        if len(parts) == 2:
            return parts[0], parts[1]
        raise InputError(f"--{what} {text!r}: one value, or two separated by '/'")

    d0, d1 = two(str(depth), "depth")
    try:
        depths = (int(d0), int(d1))
    except ValueError:
        raise InputError(f"--depth {depth!r}: a number of calls, or two as K0/K1") from None
    if min(depths) < 1:
        raise InputError(f"--depth {depth!r}: a program has at least one call")
    sets = two(calls or "all", "calls")
    for name in sets:
        if name not in CALL_SETS:
            raise InputError(f"--calls {calls!r}: {name!r} is not one of "
                             f"{', '.join(CALL_SETS)}")
    n = len(small_domain().scenes)
    if scenes is None:
        chosen = tuple(range(n))
    else:
        try:
            chosen = tuple(int(x) for x in scenes.split(","))
        except ValueError:
            raise InputError(f"--scenes {scenes!r}: scene numbers 0..{n - 1}, comma-"
                             "separated") from None
        if not chosen or any(not 0 <= i < n for i in chosen):
            raise InputError(f"--scenes {scenes!r}: scene numbers 0..{n - 1}, comma-"
                             "separated")
    return Bound(sets, depths, chosen)


def schedule_ops(runs) -> list[Op]:
    out = []
    for tid, steps in runs:
        while steps > 0:
            n = min(steps, MAX_RUN_STEPS)
            out.append(Op.make(SCHEMA, "sched", task=tid, steps=n))
            steps -= n
    return out


@dataclass(slots=True)
class Hit:
    signature: str
    side: str  # which version has the outcome the other has not
    reproducer: tuple[Op, ...]
    scene: str = ""
    count: int = 1


@dataclass(slots=True)
class Report:
    bound: Bound | None
    scenes: list[str]
    pairs: int = 0
    runs: dict[str, int] = field(default_factory=lambda: {"pre": 0, "post": 0})
    abandoned: int = 0
    unproven: list[str] = field(default_factory=list)
    hits: dict[str, Hit] = field(default_factory=dict)
    seconds: float = 0.0
    outcome_sets: dict = field(default_factory=dict)  # (scene, pair) → (pre, post) sets
    named: dict = field(default_factory=dict)  # (scene, side, differences) → signature
    jobs: int = 1

    def merge(self, other: "Report") -> None:
        """Add a worker's report on other pairs (hits keep the first reproducer)."""
        self.pairs += other.pairs
        for side in self.runs:
            self.runs[side] += other.runs[side]
        self.abandoned += other.abandoned
        self.unproven += other.unproven
        for sig, hit in other.hits.items():
            mine = self.hits.get(sig)
            if mine is None:
                self.hits[sig] = hit
            else:
                mine.count += hit.count

    @property
    def proven(self) -> bool:
        return not self.unproven

    def statement(self) -> str:
        """The line that says what the run proved, or that it did not."""
        if self.unproven:
            return f"NOT PROVEN: {len(self.unproven)} pair searches hit {MAX_RUNS} runs"
        return ("proved: for every pair in every scene, every interleaving at the models' "
                "switch points was run (one per class of interleavings that differ only in "
                "the order of independent steps); the two versions' outcome sets differ "
                "only by the signatures below.")

    def to_json(self, target) -> dict:
        """The report as `--json` prints it (`fuzzplug.engines.exhaustive.print_json`):
        the bound, the counts, what is proven, and each signature (by signature) with its
        status in the known list and its reproducer."""
        known = KnownList.of(target)
        return {
            "target": target.name, "pair": pair_name(target), "engine": "exhaustive",
            "tasks": len(self.bound.sets), "bound": self.bound.to_json(),
            "scenes": list(self.scenes), "pairs": self.pairs, "runs": dict(self.runs),
            "abandoned": self.abandoned, "seconds": round(self.seconds, 3),
            "jobs": self.jobs, "proven": self.proven, "unproven": list(self.unproven),
            "statement": self.statement(),
            "signatures": [_hit_json(hit, known.match(sig, hit.reproducer))
                           for sig, hit in sorted(self.hits.items())],
        }


def status(match: KnownMatch | None) -> str:
    """How the report marks a signature: its match in the known list, or NEW."""
    return match.describe() if match is not None else "NEW: not in the known list"


def _hit_json(hit: Hit, match: KnownMatch | None) -> dict:
    return {"signature": hit.signature, "side": hit.side, "count": hit.count,
            "scene": hit.scene, "status": status(match), "known": match is not None,
            "known_causes": list(match.causes) if match else None,
            "known_by": match.to_json()["by"] if match else None,
            "reproducer": format_text(SCHEMA, hit.reproducer)}


def programs(depth: int, calls=CALLS) -> list[tuple[Op, ...]]:
    out = []
    for n in range(1, depth + 1):
        out += list(itertools.product(calls, repeat=n))
    return out


def pairs(bound: Bound) -> list[tuple[tuple[Op, ...], tuple[Op, ...]]]:
    """The pairs of programs of the bound (unordered when both tasks are alike)."""
    a = programs(bound.depths[0], CALL_SETS[bound.sets[0]])
    if bound.symmetric:
        return [(a[i], a[j]) for i, j in itertools.combinations_with_replacement(range(len(a)), 2)]
    b = programs(bound.depths[1], CALL_SETS[bound.sets[1]])
    return list(itertools.product(a, b))


def check_pair(target, scene_ops: tuple[Op, ...], a: tuple[Op, ...], b: tuple[Op, ...], *,
               reduce: bool, report: Report, keep_sets: bool = False,
               scene_name: str = "") -> None:
    ops = scene_ops + a + (Op.make(SCHEMA, "task", id=1),) + b
    calls = [op for op in ops if not SCHEMA.spec(op.name).scene]
    t = tasks.split(calls)
    scene = Scene.from_ops(ops).dax
    found = {}
    cached = uses_state_cache(a, b)
    for side, model in (("pre", target.pre_model), ("post", target.post_model)):
        s = tasks.search(model, scene, t, reduce=reduce, max_runs=MAX_RUNS,
                         stateful=reduce and cached)
        report.runs[side] += s.stats.runs
        report.abandoned += s.stats.abandoned
        if not s.complete:
            report.unproven.append(format_text(SCHEMA, ops))
        elif reduce:
            # The oracle that names a class answers from this whole search, not from a
            # new one cut at its fuzzing budget (which can miss the outcome that is
            # closest, and name the class by a difference the versions do not have).
            tasks.SEARCHES.put(model, scene, t, s, MAX_RUNS)
        found[side] = {}
        for outcome, runs in s.outcomes.items():
            found[side].setdefault(compared(outcome), runs)
    if keep_sets:
        report.outcome_sets[ops] = (frozenset(found["pre"]), frozenset(found["post"]))
    for side, other in (("post", "pre"), ("pre", "post")):
        for outcome, runs in found[side].items():
            if any((tasks.compare(o, outcome, target.rule_names) if side == "post"
                    else tasks.compare(outcome, o, target.rule_names)).same
                   for o in found[other]):
                continue
            c = tasks.closest(outcome, found[other], side == "pre", target.rule_names)
            at = c.at.name if c.at is not None else ""
            cls = (scene_name, side, at, tuple(sorted(c.diffs)))
            sig = report.named.get(cls)
            if sig is None:
                repro = ops + tuple(schedule_ops(runs))
                sig = target.evaluate(repro).signature or f"(no divergence on replay: {side})"
                report.named[cls] = sig
                if sig not in report.hits:
                    report.hits[sig] = Hit(sig, side, repro, scene_name, 0)
            report.hits[sig].count += 1


def uses_state_cache(a: tuple[Op, ...], b: tuple[Op, ...]) -> bool:
    """Whether the checker searches the pair of programs with the state cache: `STATEFUL`,
    and a task makes a user access (`USER_ACCESSES`)."""
    return STATEFUL and any(op.name in USER_ACCESSES for op in a + b)


def compared(o: tasks.RunOutcome) -> tasks.RunOutcome:
    """An outcome as the checker tells outcomes apart: without fault counts and with only
    the branch ids `tasks.compare` reads (`tasks.COMPARED_BRANCHES`). Outcomes equal so are
    compared alike with any other (`tests/test_statecache.py`), and the stateful search
    keeps one of each class (`fuzzplug.explore.statecache`); a class keeps the schedule
    of the first run that had it, its reproducer."""
    return replace(o, calls=tuple(
        tuple(replace(c, faults=None, branches=tuple(b for b in c.branches
                                                     if b in tasks.COMPARED_BRANCHES))
              for c in calls) for calls in o.calls))


_WORKER: dict = {}


def _check_item(item: tuple[int, int, int]) -> tuple[int, Report]:
    """A worker's pair: (its place in the list, scene index, pair index), checked into a
    report of its own."""
    n, si, pi = item
    target, bound, reduce, all_pairs = (_WORKER[k] for k in ("target", "bound", "reduce",
                                                              "pairs"))
    dom = small_domain()
    report = Report(bound, [])
    a, b = all_pairs[pi]
    check_pair(target, dom.scenes[si], a, b, reduce=reduce, report=report,
               scene_name=dom.scene_name(si))
    report.pairs += 1
    return n, report


def _longest_first(items: list[tuple[int, int]], all_pairs) -> list[int]:
    """The places of `items` in the order the processes take them: the pairs of more calls
    first (their searches are the long ones), the list's order among equals; so that no
    long pair is left to run alone at the end."""
    return sorted(range(len(items)),
                  key=lambda n: -sum(map(len, all_pairs[items[n][1]])))


def run(target, bound: Bound, *, reduce: bool = True, progress: bool = True,
        keep_sets: bool = False, jobs: int = 1) -> Report:
    """Check every pair of programs of the bound in each of its scenes (in `jobs` worker
    processes, which take the pairs one at a time, longest first: `_longest_first`)."""
    import multiprocessing

    dom = small_domain()
    report = Report(bound, [f"{i} {dom.scene_name(i)}" for i in bound.scenes], jobs=jobs)
    all_pairs = pairs(bound)
    items = [(si, pi) for si in bound.scenes for pi in range(len(all_pairs))]
    total = len(items)
    t0 = time.monotonic()
    tty = progress and sys.stderr.isatty()
    if keep_sets:
        for si, pi in items:
            a, b = all_pairs[pi]
            check_pair(target, dom.scenes[si], a, b, reduce=reduce, report=report,
                       keep_sets=True, scene_name=dom.scene_name(si))
            report.pairs += 1
    else:
        # Each pair is checked into a report of its own (its classes named through the
        # oracle there), and the reports are merged in the list's order: the report does
        # not depend on --jobs or on which worker finished first.
        work = [(n, *items[n]) for n in _longest_first(items, all_pairs)]
        parts: list[Report | None] = [None] * total
        _WORKER.update(target=target, bound=bound, reduce=reduce, pairs=all_pairs)
        try:
            if jobs <= 1:
                done = map(_check_item, work)
                pool = None
            else:
                pool = multiprocessing.get_context("fork").Pool(jobs)
                done = pool.imap_unordered(_check_item, work)
            for count, (n, part) in enumerate(done, 1):
                parts[n] = part
                if tty:
                    sys.stderr.write(f"\r{count}/{total} pairs")
            if pool is not None:
                pool.close()
                pool.join()
        finally:
            _WORKER.clear()
        for part in parts:
            report.merge(part)
    if tty:
        sys.stderr.write("\n")
    report.seconds = time.monotonic() - t0
    return report


def new_signatures(target, report: Report) -> list[str]:
    """The report's signatures the target's known list does not match."""
    known = KnownList.of(target)
    return [sig for sig, hit in sorted(report.hits.items())
            if known.match(sig, hit.reproducer) is None]


def render(target, report: Report) -> str:
    lines = [f"dax_fault: {report.bound.describe()}",
             f"scenes: {'; '.join(report.scenes)}",
             f"pairs: {report.pairs}; runs: {target.pair[0]} {report.runs['pre']}, "
             f"{target.pair[1]} {report.runs['post']} (abandoned by the sleep sets: "
             f"{report.abandoned}); "
             f"{report.seconds:.1f} s ({report.jobs} process{'es' if report.jobs > 1 else ''})"]
    lines.append(report.statement())
    known = KnownList.of(target)
    unknown = 0
    for sig, hit in sorted(report.hits.items()):
        match = known.match(sig, hit.reproducer)
        unknown += match is None
        lines.append(f"  {sig}  [{status(match)}] (only {hit.side}; "
                     f"{plural(hit.count, 'outcome')}; first in scene {hit.scene})")
        for line in format_text(SCHEMA, hit.reproducer).splitlines():
            lines.append(f"      {line}")
    if not report.hits:
        lines.append("  no divergent outcome")
    elif unknown:
        lines.append(f"{plural(unknown, 'signature')} not in the known list: triage them "
                     "(`fuzzplug replay` of the reproducer tells the story)")
    return "\n".join(lines) + "\n"


def write_findings(target, report: Report, fdir) -> Path:
    """The signatures as findings folders and summary.json, as the one-task checker writes
    them (`fuzzplug.engines.exhaustive.write_report_folder`): each folder's input is the
    signature's reproducer, the pair with the schedule that had it."""
    from fuzzplug.core.findings import FindingEntry
    from fuzzplug.engines.exhaustive import write_report_folder

    known = KnownList.of(target)
    entries = [FindingEntry(sig, hit.count, encode(SCHEMA, hit.reproducer),
                            match=known.match(sig, hit.reproducer))
               for sig, hit in sorted(report.hits.items())]
    return write_report_folder(target, fdir, report, entries, tasks=len(report.bound.sets))

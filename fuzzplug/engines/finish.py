"""The end of a `fuzzplug fuzz` run, inside its time: confirm the candidates, re-run and
minimise the findings, by a deadline.

`--time T` is the whole command's wall time. `time_split(T)` gives libFuzzer `T` less a
share (`END_SHARE`, at least one second of fuzzing) and leaves the rest to this end
phase, whose steps run while the deadline (`Deadline`: the run's start plus `T`) has not
passed:

1. the candidates (inputs the loop's budgeted evaluation could not settle,
   `fuzzplug.engines.harness`) that the confirmer did not settle while libFuzzer ran
   (`fuzzplug.engines.confirmer`: the same confirmation on the core libFuzzer leaves
   idle) are confirmed or dropped with the full evaluation (`confirm_one`: shrunk under
   the budget first, then evaluated in full), one per provisional signature first, then
   the rest in order of length, each first within `FIRST_PASS_S`, then those that needed
   more within a quarter of the time left (at least `CONFIRM_SLICE_S`; one that needs
   more is left, and so is one the confirmer cut), going on from where the first pass
   stopped (`confirm_within`: its shrinking, its paused searches): a
   confirmed one counts as a hit of its signature (suppressed as known, or recorded with
   the input that shows it), a dropped one is counted; those left when the time is up
   are copied to `FDIR/candidates/`, for `fuzzplug triage FDIR`. With findings to
   minimise, this step takes half of the time left at most, and the candidates left get
   what the findings leave;
2. every finding's shortest input is re-run with the full evaluation (always, unless the
   confirmer evaluated that very input in full: an input the loop settled costs what it
   cost there, under a second), then minimised
   (`fuzzplug.triage.minimize`) in an equal share of the time left, stopped at its share's
   end (a finding not minimised, or minimised only in part, says so in its notes).

No step starts after the deadline, and an evaluation under way then is stopped by an alarm
(`within`): a candidate it was confirming is left, a minimisation keeps its best so far.
Events: `candidate_confirmed`, `candidate_dropped`, `candidates_left`, `minimize_progress`,
`minimize_stopped`.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fuzzplug.core import timeslice
from fuzzplug.core.findings import (
    CANDIDATE_PREFIX,
    CANDIDATES_DIR,
    CANDIDATES_MARKER,
    FindingEntry,
    n_calls,
)
from fuzzplug.core.known import KnownHit, KnownList
from fuzzplug.core.opslang import decode, encode
from fuzzplug.core.oracle import Verdict
from fuzzplug.errors import InputError
from fuzzplug.io import atomic_write, ensure_dir
from fuzzplug.log import get_logger
from fuzzplug.targets import pair_name

END_SHARE = 0.2
"""The share of `--time` kept for the end phase (confirming, re-running, minimising)."""
END_MAX_S = 120
"""The end phase's share is at most this many seconds."""
CONFIRM_SHARES = 4
CONFIRM_SLICE_S = 10.0
"""A candidate's confirmation may take a quarter of the time left, or this many seconds if
more (then it is left for triage, and the next one is tried)."""
FIRST_PASS_S = 3.0
"""The end phase confirms in two passes: the first gives each candidate at most this many
seconds (the confirmer's short slice), the second the candidates it cut, each its share."""


def time_split(seconds: int) -> tuple[int, int]:
    """(libFuzzer's `-max_total_time`, the end phase's seconds) of a run of `seconds`:
    at least one second of fuzzing."""
    end = min(END_MAX_S, round(seconds * END_SHARE))
    fuzz = max(1, seconds - end)
    return fuzz, max(0, seconds - fuzz)


@dataclass(slots=True)
class Deadline:
    """A point in time on `clock` (a monotonic clock; tests give a fake one)."""

    at: float
    clock: Callable[[], float] = time.monotonic

    def left(self) -> float:
        return self.at - self.clock()

    def passed(self) -> bool:
        return self.left() <= 0

    def share(self, parts: int, at_least: float = 0.0) -> "Deadline":
        """The deadline of one of `parts` equal shares of the time left (at least
        `at_least` seconds, never past this deadline)."""
        left = self.left()
        if left == float("inf"):
            return self
        return Deadline(min(self.at, self.clock() + max(at_least, left / max(1, parts))),
                        self.clock)


class TimeUp(Exception):
    """The run's --time was up during an evaluation (`within`)."""


@contextmanager
def within(deadline: Deadline, exc: type[BaseException] = TimeUp):
    """Run the block until the deadline: on the real clock an alarm (SIGALRM) raises `exc`
    into it there, even inside an evaluation (a search runs seconds; what it was doing
    is dropped: the search caches only whole searches); `exc` at once if the time is up.
    On another clock (tests), the deadline is only checked between steps."""
    left = deadline.left()
    if left <= 0:
        raise exc()
    if deadline.clock is not time.monotonic or left == float("inf") or \
            threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(signum, frame):
        raise exc()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, left)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(slots=True)
class Confirmation:
    """What confirming the candidates gave: per signature the hits and the shortest input
    (recorded), the known signatures met (suppressed), how many were dropped, and the
    candidates left unconfirmed when the time was up."""

    counts: dict[str, int] = field(default_factory=dict)
    shortest: dict[str, bytes] = field(default_factory=dict)
    suppressed: dict[str, KnownHit] = field(default_factory=dict)
    confirmed: int = 0
    dropped: int = 0
    left: list[Path] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"confirmed": self.confirmed, "dropped": self.dropped,
                "left": len(self.left)}

    def merge(self, other: "Confirmation") -> None:
        """Add `other`'s counts (its `left` replaces this one's)."""
        for sig, n in other.counts.items():
            self.counts[sig] = self.counts.get(sig, 0) + n
            data, best = other.shortest[sig], self.shortest.get(sig)
            if best is None or (len(data), data) < (len(best), best):
                self.shortest[sig] = data
        for sig, hit in other.suppressed.items():
            have = self.suppressed.get(sig)
            self.suppressed[sig] = KnownHit(sig, hit.count + (have.count if have else 0),
                                            hit.match)
        self.confirmed += other.confirmed
        self.dropped += other.dropped
        self.left = other.left


def _order(paths: list[Path], suppressing: bool = True,
           tried: dict[str, int] | None = None) -> list[tuple[Path, bytes]]:
    """The candidates in the order they are confirmed: round robin over their provisional
    signatures (the shortest of each first), the signatures tried least so far first
    (`tried`: candidates of each already confirmed or dropped elsewhere, by signature id),
    then, when the known list suppresses (`suppressing`), those it did not match before
    those it did (`provisional.<pid>.json` beside them), then the shortest; distinct
    bytes once."""
    tried = tried or {}
    provisional: dict[str, dict] = {}
    for folder in {p.parent for p in paths}:
        for f in sorted(folder.glob("provisional.*.json")):
            try:
                provisional.update(json.loads(f.read_text()))
            except (OSError, ValueError, TypeError):
                continue
    groups: dict[str, list[tuple[Path, bytes]]] = {}
    seen = set()
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if data and data not in seen:
            seen.add(data)
            groups.setdefault(provisional_id(path), []).append((path, data))
    for members in groups.values():
        members.sort(key=lambda pd: (len(pd[1]), pd[1]))

    def known(sig_id: str) -> bool:
        entry = provisional.get(sig_id)
        return suppressing and isinstance(entry, dict) and bool(entry.get("known"))

    members = [(tried.get(g, 0) + rank, known(g), len(data), g, path, data)
               for g, group in groups.items() for rank, (path, data) in enumerate(group)]
    return [(path, data) for *_, path, data in sorted(members, key=lambda m: m[:4])]


def provisional_id(path: Path) -> str:
    """The provisional signature id in a candidate's name (`candidate-<id>-<sha1>`)."""
    return path.name[len(CANDIDATE_PREFIX):].partition("-")[0]


SHRINK_EVALUATIONS = 300
"""Budgeted evaluations a candidate's provisional shrinking may take (`confirm_one`)."""


@dataclass(frozen=True, slots=True)
class Confirmed:
    """What the full evaluation said of one candidate: its verdict and signature, and the
    input that shows them (the candidate shrunk, or the candidate itself)."""

    verdict: Verdict
    signature: str | None
    data: bytes
    shrunk: bool = False
    outcome: object = field(default=None, compare=False)  # the full evaluation's Outcome


@dataclass(slots=True)
class Shrunk:
    """A candidate's provisional shrinking (`shrink_one`), kept between the slices of its
    confirmation (`confirm_within`): its budgeted evaluation (`first`), the calls it shrank
    to (`ops`: the candidate's own when nothing could be dropped, or when the budget
    settled it), the budgeted evaluations spent, and whether the shrinking was stopped
    before its fixpoint (`stopped`: the next slice goes on from `ops`)."""

    first: object  # the candidate's budgeted Outcome
    ops: tuple
    evaluations: int = 0
    stopped: bool = False


def shrink_one(target, data: bytes, should_stop: Callable[[], bool] | None = None,
               shrunk: Shrunk | None = None) -> Shrunk:
    """A candidate shrunk *provisionally* (`minimize_ops(..., provisional=True)`: calls
    dropped and args simplified while the budgeted evaluation still gives it its
    provisional signature, at most `SHRINK_EVALUATIONS` evaluations of a fuzz loop's
    cost in all), because the full evaluation's cost grows with the programs' length (the
    other version's search of ten calls takes its whole budget of runs; of four calls it
    often completes in a few). `should_stop` ends it early with its best so far; given
    such a stopped `shrunk`, it goes on from there with the evaluations left."""
    from fuzzplug.targets import evaluate_budgeted
    from fuzzplug.triage.minimize import MinimizeStats, minimize_ops

    if shrunk is None:
        ops = tuple(decode(target.schema, data))
        first = evaluate_budgeted(target, ops)
        shrunk = Shrunk(first, ops, stopped=first.verdict is Verdict.CANDIDATE)
    if not shrunk.stopped:  # settled by the budget, or shrunk to its fixpoint
        return shrunk
    stats = MinimizeStats()
    small = minimize_ops(target, shrunk.ops, shrunk.first.signature, provisional=True,
                         max_evaluations=max(1, SHRINK_EVALUATIONS - shrunk.evaluations),
                         stats=stats, should_stop=should_stop)
    return Shrunk(shrunk.first, small, shrunk.evaluations + stats.evaluations, stats.stopped)


def confirm_one(target, data: bytes, should_stop: Callable[[], bool] | None = None,
                shrunk: Shrunk | None = None) -> Confirmed:
    """Confirm or drop one candidate with the full evaluation (`target.evaluate`).

    First it is shrunk (`shrink_one`, or the given `shrunk`; `should_stop` ends the
    shrinking early, its best so far is used): a shrunk input the full evaluation finds
    divergent is confirmed, named by its own full signature and kept as the input that
    shows it; otherwise the candidate itself is evaluated in full. Either way the verdict
    is the full evaluation's of the input returned, and the same candidate shrunk alike
    gives the same result every time. One the budget settles is that verdict (the full
    evaluation's, `Target.evaluate_budgeted`)."""
    ops = tuple(decode(target.schema, data))
    if shrunk is None:
        shrunk = shrink_one(target, data, should_stop)
    first = shrunk.first
    if first.verdict is not Verdict.CANDIDATE:
        return Confirmed(first.verdict, first.signature, data, outcome=first)
    if shrunk.ops != ops:
        outcome = target.evaluate(shrunk.ops)
        if outcome.verdict is Verdict.DIVERGENT:
            return Confirmed(outcome.verdict, outcome.signature,
                             encode(target.schema, shrunk.ops), shrunk=True, outcome=outcome)
    outcome = target.evaluate(ops)
    return Confirmed(outcome.verdict, outcome.signature, data, outcome=outcome)


GRACE_S = 0.5
"""Seconds past its slice a candidate's confirmation may run before the alarm cuts it
(`confirm_within`): the shrinking stops itself at the slice's end, between two budgeted
evaluations, and keeps its best so far; the full evaluation's searches pause there
(`fuzzplug.core.timeslice`), kept to go on in the candidate's next slice; the alarm is
for what neither covers (the runs of one preemption, a run that hangs)."""


def confirm_within(target, data: bytes, share: Deadline, memo: dict[bytes, Shrunk]) \
        -> Confirmed:
    """`confirm_one` within `share` (`TimeUp` when it is passed), with the candidate's
    shrinking kept in `memo` (by its bytes) whether or not its full evaluation then fits,
    and the full evaluation's work kept by the target where it pauses at the slice's end
    (`fuzzplug.core.timeslice`: a target of several tasks keeps the other version's
    search paused in its cache): cut, the candidate's next slice goes on where this one
    stopped, shrinking or searching. The caller drops a candidate's entry once it is settled."""
    shrunk = memo.get(data)
    with within(Deadline(share.at + GRACE_S, share.clock)):
        if shrunk is None or shrunk.stopped:
            shrunk = memo[data] = shrink_one(target, data, share.passed, shrunk)
        if share.passed():
            raise TimeUp
        try:
            with timeslice.until(share.passed):
                return confirm_one(target, data, shrunk=shrunk)
        except timeslice.Interrupted:
            raise TimeUp from None


def count_confirmed(target, result: "Confirmation", name: str, found: Confirmed,
                    known: KnownList, suppressing: bool) -> None:
    """Count one candidate's confirmation (`found`) into `result`: a confirmed one as a hit
    of its signature (suppressed as known, or recorded with its input), a dropped one as
    dropped."""
    log = get_logger(target=target.name)
    if found.verdict is not Verdict.DIVERGENT:
        result.dropped += 1
        log.info("candidate_dropped", candidate=name, verdict=found.verdict.value)
        return
    result.confirmed += 1
    sig = found.signature
    match = known.match(sig, decode(target.schema, found.data)) if suppressing else None
    log.info("candidate_confirmed", candidate=name, signature=sig, known=match is not None,
             shrunk=found.shrunk)
    if match is not None:
        hit = result.suppressed.get(sig)
        result.suppressed[sig] = KnownHit(sig, hit.count + 1 if hit else 1, match)
        return
    result.counts[sig] = result.counts.get(sig, 0) + 1
    best = result.shortest.get(sig)
    data = found.data
    if best is None or (len(data), data) < (len(best), best):
        result.shortest[sig] = data


def confirm_candidates(target, paths: list[Path], deadline: Deadline, known: KnownList,
                       suppressing: bool, tried: dict[str, int] | None = None) \
        -> Confirmation:
    """Confirm or drop each candidate (`confirm_one`) while the deadline allows (see the
    module docstring); `tried` as `_order` takes it."""
    result = Confirmation()
    todo = _order(paths, suppressing, tried)
    memo: dict[bytes, Shrunk] = {}  # the first pass's shrinking, for the second
    for first in (True, False):
        cut: list[tuple[Path, bytes]] = []
        for n, (path, data) in enumerate(todo):
            if deadline.passed():
                cut += todo[n:]
                break
            # One candidate may take a share of what is left, so that one whose programs
            # need minutes of search does not take all of it (it is then left for
            # triage); in the first pass at most FIRST_PASS_S, so that the quick ones
            # all come before a slow one takes its share.
            share = deadline.share(CONFIRM_SHARES, CONFIRM_SLICE_S)
            if first:
                share = Deadline(min(share.at, share.clock() + FIRST_PASS_S), share.clock)
            try:
                found = confirm_within(target, data, share, memo)
            except TimeUp:
                cut.append((path, data))
                continue
            memo.pop(data, None)
            count_confirmed(target, result, path.name, found, known, suppressing)
        todo = cut
    result.left = [path for path, _ in todo]
    if result.left:
        get_logger(target=target.name).warning("candidates_left",
                                               candidates=len(result.left))
    return result


def keep_left(target, fdir: Path, left: list[Path]) -> Path | None:
    """Copy the candidates left unconfirmed to `FDIR/candidates/` (atomically), with
    `candidates.json` naming the target and pair (`fuzzplug triage` reads it)."""
    if not left:
        return None
    folder = ensure_dir(Path(fdir) / CANDIDATES_DIR)
    marker = {"target": target.name, "pair": pair_name(target)}
    atomic_write(folder / CANDIDATES_MARKER, json.dumps(marker, sort_keys=True) + "\n")
    for path in left:
        try:
            atomic_write(folder / path.name, path.read_bytes())
        except OSError:
            continue
    for f in {p.parent for p in left}:
        for marker in f.glob("provisional.*.json"):
            atomic_write(folder / marker.name, marker.read_bytes())
    return folder


def finish_entry(target, entry: FindingEntry, deadline: Deadline, minimize: bool,
                 clock: Callable[[], float] = time.monotonic) -> None:
    """Re-run a finding's input (unless it was evaluated in full in this run already,
    `entry.evaluated`); minimise it while the deadline allows; note what was not done."""
    from fuzzplug.triage.minimize import MinimizeStats, Stop, minimize_ops

    ops = decode(target.schema, entry.data)
    if entry.evaluated is not None:
        # Evaluated in full in this run already (by the confirmer): not re-run; a
        # minimisation evaluates it again, inside the deadline.
        outcome = None
    else:
        outcome = target.evaluate(ops)
        if outcome.verdict is not Verdict.DIVERGENT or outcome.signature != entry.signature:
            entry.notes.append(f"does not reproduce: re-run gave {outcome.verdict.value} "
                               f"{outcome.signature}")
            entry.outcome = outcome
            return
    if not minimize:
        entry.outcome = outcome
        return
    if deadline.passed():
        entry.notes.append("not minimised: the run's --time was up (`fuzzplug minimize`)")
        entry.outcome = outcome
        return
    entry.original_len = len(encode(target.schema, ops))  # canonical, as repro.bin
    entry.original_ops = n_calls(target, ops)
    stats = MinimizeStats()
    try:
        with within(deadline, Stop):
            small = minimize_ops(target, ops, entry.signature, stats=stats,
                                 should_stop=deadline.passed, clock=clock)
    except Stop:  # raised before minimize_ops began
        entry.notes.append("not minimised: the run's --time was up (`fuzzplug minimize`)")
        entry.outcome = outcome
        return
    except InputError as exc:  # only an input evaluated elsewhere is not checked first
        entry.notes.append(f"does not reproduce: {exc}")
        return
    if stats.stopped:
        entry.notes.append("minimised in part: the run's --time was up "
                           "(`fuzzplug minimize` goes on)")
        get_logger(target=target.name).warning(
            "minimize_stopped", signature=entry.signature, evaluations=stats.evaluations,
            calls=n_calls(target, small))
    entry.data = encode(target.schema, small)
    entry.outcome = stats.outcome if small != ops and stats.outcome is not None else outcome

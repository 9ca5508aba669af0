"""Confirming candidates while libFuzzer runs: `fuzzplug fuzz`'s second core.

libFuzzer (without `-fork`) fuzzes on one core, and `fuzz` itself only polls it twice a
second. So while it runs, a child process of `fuzz` (`Confirmer`) confirms or drops the
candidates the harness writes into the inbox (`fuzzplug.engines.finish.confirm_one`), in
the order the end phase would take them (new provisional signatures first,
`finish._order`), each first within a short slice, then, if that cut it, within a long
one (`SLICES`; one that needs more is left to the end phase, then to `triage`), its
shrinking kept between the two (`finish.confirm_within`). Each
result is written, atomically, as `<candidate name>.json` into the confirmer's folder
(the `fuzz_progress` events count them, `confirmed`), and a confirmed one is recorded
into the inbox as the harness records a
divergence (the shrunk input that shows it, or a known hit suppressed), so it is a finding
of the run from that moment. At the end of libFuzzer's share `fuzz` winds the child down
(`wind_down`): it takes no new candidate and goes on with those it has begun, beside the
end phase, within the run's time, and exits; the end phase confirms only what the child
neither settled (`results`) nor began, and `fuzz` counts what the child settles until it
is collected (`stop`), from the inbox.

The child runs only when the machine has a core libFuzzer's workers leave idle
(`wanted`: more CPUs than `--jobs`); it dies with `fuzz` (PR_SET_PDEATHSIG) and ignores
Ctrl-C, which `fuzz` handles. Events: `confirmer_started`, `confirmer_stopped`,
`candidate_confirmed`, `candidate_dropped`.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path

from fuzzplug.core.findings import CANDIDATE_PREFIX
from fuzzplug.io import atomic_write, ensure_dir
from fuzzplug.log import get_logger

SLICES = (3.0, 20.0)
"""Seconds one candidate's confirmation may take in the child: every candidate first gets
the short slice, in the end phase's order (most shrunk candidates confirm within it: the
race seed in 0.3 s on a quiet machine). One it cuts waits for the long slice
(`next_candidate`),
which starts where the short one stopped (`finish.confirm_within`: a race's candidate found
from cold is shrunk within the short slice, under 3 s, and its full evaluation, v4.13's
search to its budgets, takes 11 to 15 s at load 2). A candidate cut at the long slice is
left to the end phase, then to `triage`. With one slice of 20 s, a few livelocking
candidates held the child for most of a 60 s run while a candidate of the generic/344
race waited behind them."""
POLL_S = 0.5
"""Seconds between two looks at the candidates folder when nothing is left to confirm."""
CUT = "cut"
"""A result's verdict when its confirmation ran over its last slice (`SLICES`)."""


def next_candidate(paths: list[Path], level: dict[str, int], settled: dict[str, int],
                   tried: list[dict[str, int]], suppressing: bool) \
        -> tuple[Path, bytes, int] | None:
    """The candidate to confirm next among `paths`, its bytes and its slice (an index into
    SLICES: `level`, by name, says which slices cut it); None when none is left. First the
    candidates whose provisional signature no result of the child has settled yet
    (`settled`: results by signature id, confirmed, dropped or cut), then those of a
    signature settled before, each group by its slices: the short one first, so that a
    quick candidate never waits behind a slow one, and a slow one of a new signature
    before any candidate of a signature settled already (the tenth candidate of one
    provisional signature mostly confirms what the first did). Within one, the end
    phase's order (`finish._order`, with the tries of that slice by signature, `tried`).
    In cold runs the child confirmed up to seven candidates of one provisional signature,
    all with one signature. Sharing the time between short and long slices instead (a
    long one after every 10 s of short ones) confirmed fewer candidates and fewer known
    causes (docs/races.md, "Confirming what the loop reaches")."""
    from fuzzplug.engines.finish import _order, provisional_id

    def rank(p: Path) -> tuple[bool, int]:
        return settled.get(provisional_id(p), 0) > 0, level.get(p.name, 0)

    for key in sorted({rank(p) for p in paths}):
        todo = _order([p for p in paths if rank(p) == key], suppressing, tried[key[1]])
        if todo:
            path, data = todo[0]
            return path, data, key[1]
    return None


def wanted(jobs: int) -> bool:
    """Whether a confirmer runs beside `jobs` libFuzzer workers: a core is left idle."""
    return (os.cpu_count() or 1) > jobs


WOUND = "wound-down"
"""The file the child writes in its folder when it is told to wind down: the names of the
candidates it has begun, one a line, which it goes on with and `fuzz` leaves to it
(`Confirmer.wind_down`)."""
WOUND_WAIT_S = 5.0
"""Seconds `fuzz` waits for the child's `WOUND` file (it is written between two bytecodes
of the child, at once unless the machine is starved)."""


def _child(target, candidates: Path, out: Path, suppressing: bool) -> None:
    """The child's loop: confirm the next candidate not yet done, forever (until killed).
    A confirmed one is recorded into the inbox (the folder above `candidates`) as the
    harness records a divergence (`Recorder`: the input that shows it, or a suppressed
    known hit), so the run, `triage` and a benchmark polling the inbox see it at once.
    Once it winds down (`Confirmer.wind_down`, SIGUSR1) it takes no new candidate: it goes
    on with those it had begun (`WOUND`), and exits when none is left."""
    from fuzzplug.core.known import KnownList
    from fuzzplug.core.opslang import decode
    from fuzzplug.core.oracle import Verdict
    from fuzzplug.engines.finish import (
        Deadline,
        Shrunk,
        TimeUp,
        confirm_within,
        provisional_id,
    )
    from fuzzplug.engines.fuzz import _die_with_parent
    from fuzzplug.engines.harness import Recorder

    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    begun: set[str] = set()
    wound: set[str] = set()
    winding = []

    def wind_down(signum, frame) -> None:
        wound.update(begun)  # those begun now are the child's from here on
        winding.append(True)
        atomic_write(out / WOUND, "".join(f"{name}\n" for name in sorted(wound)))

    signal.signal(signal.SIGUSR1, wind_down)
    log = get_logger(target=target.name)
    known = KnownList.of(target)
    recorder = Recorder(str(candidates.parent))
    done: set[str] = set()
    level: dict[str, int] = {}  # a candidate cut at SLICES[i]: i + 1
    tried: list[dict[str, int]] = [{} for _ in SLICES]  # per slice, by signature id
    memo: dict[bytes, Shrunk] = {}  # the shrinking of the candidates cut so far
    settled: dict[str, int] = {}  # results by provisional signature id
    while True:
        paths = [p for p in sorted(candidates.glob(f"{CANDIDATE_PREFIX}*"))
                 if p.name not in done and (not winding or p.name in wound)]
        chosen = next_candidate(paths, level, settled, tried, suppressing)
        if chosen is None:
            if winding:
                return
            time.sleep(POLL_S)
            continue
        path, data, at = chosen
        begun.add(path.name)
        if winding and path.name not in wound:
            continue  # begun after the child was told to wind down: `fuzz` takes it
        sig_id = provisional_id(path)
        tried[at][sig_id] = tried[at].get(sig_id, 0) + 1
        try:
            found = confirm_within(target, data, Deadline(time.monotonic() + SLICES[at]),
                                   memo)
        except TimeUp:
            if at + 1 < len(SLICES):
                level[path.name] = at + 1  # again with the next slice, after the others
                continue
            done.add(path.name)
            record = {"candidate": path.name, "verdict": CUT}
        else:
            done.add(path.name)
            record = {"candidate": path.name, "verdict": found.verdict.value,
                      "signature": found.signature, "data": found.data.hex()}
            if found.verdict is Verdict.DIVERGENT:
                sig = found.signature
                match = known.match(sig, decode(target.schema, found.data)) \
                    if suppressing else None
                if match is not None:
                    recorder.suppress(sig, match)
                else:
                    recorder.record(found.data, sig)
                    record["outcome"] = found.outcome.to_json()
                recorder.flush()
                log.info("candidate_confirmed", candidate=path.name, signature=sig,
                         known=match is not None, shrunk=found.shrunk)
            else:
                log.info("candidate_dropped", candidate=path.name,
                         verdict=found.verdict.value)
        memo.pop(data, None)
        settled[sig_id] = settled.get(sig_id, 0) + 1
        atomic_write(out / f"{path.name}.json", json.dumps(record, sort_keys=True) + "\n")


class Confirmer:
    """The child process confirming candidates from `candidates` into `out`."""

    def __init__(self, target, candidates: Path, out: Path, suppressing: bool) -> None:
        self.target = target
        self.candidates = Path(candidates)
        self.out = ensure_dir(Path(out))
        self.suppressing = suppressing
        self.process: multiprocessing.Process | None = None

    def start(self) -> None:
        ctx = multiprocessing.get_context("fork")
        self.process = ctx.Process(target=_child, daemon=True,
                                   args=(self.target, self.candidates, self.out,
                                         self.suppressing))
        self.process.start()
        get_logger(target=self.target.name).info("confirmer_started",
                                                 child_pid=self.process.pid)

    def wind_down(self) -> set[str]:
        """Ask the child to take no new candidate and to go on with those it has begun
        (SIGUSR1), beside the end phase, rather than lose them: a long slice begun near the
        end of libFuzzer's share, a slow candidate it has shrunk already. The names of
        those candidates (its `WOUND` file), which `fuzz` leaves to it; `stop` collects
        the child, and what it settles is recorded into the inbox as before."""
        if self.process is None or not self.process.is_alive():
            return set()
        os.kill(self.process.pid, signal.SIGUSR1)
        until = time.monotonic() + WOUND_WAIT_S
        while time.monotonic() < until and self.process.is_alive():
            try:
                return set((self.out / WOUND).read_text().split())
            except OSError:
                time.sleep(0.01)
        self.stop()  # no answer: killed now, so that it settles nothing `fuzz` takes
        return set()

    def stop(self, until: float | None = None) -> None:
        """Collect the child: at once (killed), or, with `until` (a `time.monotonic`
        time), once it has exited by itself (wound down), killed if it has not by then."""
        if self.process is None:
            return
        if until is not None:
            self.process.join(timeout=max(0.0, until - time.monotonic()))
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        get_logger(target=self.target.name).info("confirmer_stopped",
                                                 results=len(list(self.out.glob("*.json"))))
        self.process = None

    def results(self) -> dict[str, dict]:
        """Each candidate name the child settled or cut → its record (the candidate's name,
        the verdict, or `CUT`, the signature, the input that shows it, and, for one it
        recorded, the full evaluation of that input, `Outcome.to_json`)."""
        out = {}
        for f in sorted(self.out.glob(f"{CANDIDATE_PREFIX}*.json")):
            try:
                record = json.loads(f.read_text())
            except (OSError, ValueError):
                continue  # not written whole: made again in the end phase
            if isinstance(record, dict) and "candidate" in record and "verdict" in record:
                out[record["candidate"]] = record
        return out

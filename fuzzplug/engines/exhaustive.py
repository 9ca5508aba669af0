"""`fuzzplug exhaustive TARGET --depth K`: every sequence of up to K calls over a small domain.

The domain is the target's declared small domain (`fuzzplug.engines.domain.domain_for`: the
target's own `small_domain()`, else one derived from its schema). For each scene the
checker walks the tree of call sequences breadth first, depth 1 to K, and runs the target's
oracle on each node. What it proves is stated in the report: every sequence of 1..K calls
in the domain was covered, and the divergent signatures listed are all there are in the
domain up to depth K (for the models, as the oracle judges them).

Reductions, each sound for the reason given:

1. **First divergence ends a sequence.** `Target.evaluate` stops at the first divergent
   op, so every extension of a divergent prefix has the prefix's finding; divergent nodes
   are not extended.
2. **Prefix sharing.** A node's state is the parent's state (kept by a `Stepper`, cloned)
   plus one op step, instead of a re-run of the whole prefix. Same results, by determinism.
3. **State merging.** Two prefixes that leave both models in the same state
   (`Stepper.key`: for a target on the kernel models, every PTE, page-table page, struct
   page, counter, WARN_ON_ONCE site, the allocation-failure countdown, the anonymous pool
   cursor, the taint and the dead-task flags; see `fuzzplug.explore.clone.kernel_key`) have
   the same future: the same calls give the same returns, events, branch ids and states,
   hence the same signatures. Breadth first, a state is expanded once, at the smallest
   depth it is reached, with the most calls left; any sequence through a later copy of it
   behaves as the sequence through the first copy with the same suffix, which is no longer
   and was covered. This also covers calls that are no-ops in a state (an access outside
   the VMA, a zap of a none PTE): their child is the parent's state, already expanded.
   Targets without a state-keeping stepper fall back to re-evaluating prefixes with no
   merging.
4. **Equivalent calls** (declared per domain, applied only to the models they were proven
   for, `Domain.applies_to`): calls the domain's `equivalence` maps to one representative
   behave identically in every state; one member per class is run.
5. **Inert calls** (declared the same way): calls that return an error (or BUG) on both
   sides alike before they read or write any state (`Domain.inert`). Such a call is run
   from the initial state only: deeper, a sequence through it behaves as the same sequence
   without it (shorter, covered) or, after a BUG on both sides, cannot diverge again.
6. **Both tasks dead.** After a BUG on both sides every later call returns "dead" on both
   with no event and no state change, so such a node is not extended
   (`Stepper.finished`).
7. **Renaming** (declared the same way): a symmetry of the models (`Domain.renaming`, for
   example a swap of two pages together with two pfns) maps every state and call of the
   domain to one that behaves the same; a state and its image get one key, so only one of
   them is expanded. Every sequence through the image behaves as the renamed sequence
   through the state (same length, same signatures).

Each target's domain module gives the proofs of its declared reductions 4, 5 and 7 and
says what it does not reduce. They are proofs about the stock models; they are off for any
other models (a mutant), where 1 to 3 and 6 still hold. `tests/test_exhaustive.py` checks
each reduction against runs without it.

Every reported reproducer is re-run through `Target.evaluate`; one that does not give its
signature there is flagged and the proof statement withdrawn.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fuzzplug.core.known import KnownList
from fuzzplug.core.opslang import Op, encode, format_text
from fuzzplug.core.oracle import Finding, Verdict
from fuzzplug.core.words import plural
from fuzzplug.engines.domain import Domain, domain_for
from fuzzplug.engines.stepper import stepper_for
from fuzzplug.errors import InputError
from fuzzplug.log import get_logger
from fuzzplug.targets import pair_name

Judge = Callable[[tuple[Op, ...], Finding], bool]
"""Whether a divergent node counts (default: every divergence counts); given the whole
sequence (scene ops then calls) and the finding."""


@dataclass(slots=True)
class Hit:
    """One divergent signature: its first (shortest) reproducer and how often it was seen."""

    signature: str
    calls: int
    scene_index: int
    order: int
    ops: tuple[Op, ...]
    count: int = 1

    def rank(self) -> tuple[int, int, int]:
        return (self.calls, self.scene_index, self.order)


@dataclass(slots=True)
class SceneResult:
    scene_index: int
    hits: dict[str, Hit] = field(default_factory=dict)
    op_steps: int = 0
    states: int = 0
    merged: int = 0
    divergent_nodes: int = 0
    stopped: bool = False
    timed_out: bool = False


@dataclass(slots=True)
class Report:
    """The whole run."""

    target: str
    depth: int
    domain: Domain
    calls_per_step: int
    hits: dict[str, Hit]
    op_steps: int
    states: int
    merged: int
    divergent_nodes: int
    sequences: int
    seconds: float
    equivalence_used: bool
    merging_used: bool
    renaming_used: bool
    known: KnownList
    notes: list[str] = field(default_factory=list)
    stopped: bool = False
    timed_out: bool = False

    @property
    def proven(self) -> bool:
        return not self.notes and not self.stopped

    def statement(self) -> str:
        if self.timed_out:
            return "The run ran out of time: nothing is proven."
        if self.stopped:
            return "The run stopped at its first counted divergence: nothing is proven."
        if self.notes:
            return ("Not proven: a reproducer did not give its signature through "
                    "Target.evaluate (see the notes).")
        n = len(self.hits)
        found = (f"the {n} divergent signature{'s' if n != 1 else ''} above "
                 f"{'are' if n != 1 else 'is'} all there {'are' if n != 1 else 'is'}"
                 if n else "there is no divergent signature")
        return (f"Proven, for these models as the oracle judges them: all "
                f"{self.sequences:,} sequences of 1..{self.depth} calls in this domain "
                f"({len(self.domain.scenes)} scenes x {self.calls_per_step} calls) were "
                f"covered and {found}: no other divergence exists in this domain up to "
                f"depth {self.depth}.")

    def to_json(self, target) -> dict:
        hits = sorted(self.hits.values(), key=Hit.rank)
        return {
            "target": self.target, "pair": pair_name(target), "depth": self.depth,
            "domain": {"description": self.domain.description,
                       "scenes": len(self.domain.scenes),
                       "calls_per_step": self.calls_per_step},
            "sequences": self.sequences, "op_steps": self.op_steps, "states": self.states,
            "merged": self.merged, "divergent_nodes": self.divergent_nodes,
            "seconds": round(self.seconds, 3),
            "reductions": {"first_divergence": True, "prefix_sharing": self.merging_used,
                           "state_merging": self.merging_used,
                           "equivalent_calls": self.equivalence_used,
                           "inert_calls": self.equivalence_used,
                           "renaming": self.renaming_used},
            "signatures": [{"signature": h.signature,
                            "known": self.known.match(h.signature, h.ops) is not None,
                            "calls": h.calls, "nodes": h.count,
                            "scene": self.domain.scene_name(h.scene_index),
                            "reproducer": reproducer_text(target.schema, h.ops)}
                           for h in hits],
            "proven": self.proven, "statement": self.statement(), "notes": self.notes,
            "stopped": self.stopped, "timed_out": self.timed_out,
        }


def explore_scene(target, domain: Domain, scene_index: int, depth: int, *,
                  judge: Judge | None = None, stop_on_first: bool = False,
                  tick: Callable[[int], None] | None = None,
                  merge: bool = True, deadline: float | None = None) -> SceneResult:
    """Breadth-first walk of one scene's call tree to `depth` (see the module docstring);
    `merge=False` expands every non-divergent node (for checking the reductions)."""
    scene = domain.scenes[scene_index]
    calls = domain.reduced_calls(scene, target)
    inert = {op for op in calls if domain.is_inert(scene, op, target)}
    deep_calls = tuple(op for op in calls if op not in inert)
    result = SceneResult(scene_index)
    root = stepper_for(target, scene, domain.renaming_for(target))
    visited = {root.key()}
    result.states = 1
    frontier: list[tuple[object, tuple[Op, ...]]] = [(root, ())]
    order = 0
    pending = 0
    for level in range(depth):
        last = level + 1 == depth
        next_frontier = []
        for parent, prefix in frontier:
            for op in (calls if level == 0 else deep_calls):
                child = parent.clone()
                finding = child.step(op)
                result.op_steps += 1
                pending += 1
                if pending >= 2000 and tick is not None:
                    tick(pending)
                    pending = 0
                order += 1
                if deadline is not None and order % 256 == 0 and time.monotonic() > deadline:
                    result.stopped = result.timed_out = True
                    return result
                if finding is not None:
                    result.divergent_nodes += 1
                    seq = scene + prefix + (op,)
                    if judge is not None and not judge(seq, finding):
                        continue
                    hit = result.hits.get(finding.signature)
                    if hit is None:
                        result.hits[finding.signature] = Hit(finding.signature, level + 1,
                                                             scene_index, order, seq)
                        if stop_on_first:
                            result.stopped = True
                            if tick is not None:
                                tick(pending)
                            return result
                    else:
                        hit.count += 1
                    continue
                if last or child.finished or op in inert:
                    continue
                if merge:
                    key = child.key()
                    if key in visited:
                        result.merged += 1
                        continue
                    visited.add(key)
                result.states += 1
                next_frontier.append((child, prefix + (op,)))
        frontier = next_frontier
        if not frontier:
            break
    if tick is not None and pending:
        tick(pending)
    return result


# --- running scenes in parallel, with a progress bar ----------------------------------------------

_WORKER: dict = {}


def _worker_init(counter) -> None:
    _WORKER["counter"] = counter


def _worker_tick(n: int) -> None:
    counter = _WORKER.get("counter")
    if counter is not None:
        with counter.get_lock():
            counter.value += n


def _worker_run(scene_index: int) -> SceneResult:
    return explore_scene(_WORKER["target"], _WORKER["domain"], scene_index,
                         _WORKER["depth"], tick=_worker_tick, merge=_WORKER["merge"])


class Progress:
    """A progress line on stderr: scenes done, op steps, rate, ETA (redrawn on a terminal,
    a line every few seconds otherwise)."""

    def __init__(self, total: int, enabled: bool = True, stream=None):
        self.total = total
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self.last = 0.0

    def show(self, done: int, steps: int, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not final and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        elapsed = now - self.started
        rate = steps / elapsed if elapsed > 0 else 0.0
        frac = done / self.total if self.total else 1.0
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        width = 24
        bar = "#" * int(width * frac) + "-" * (width - int(width * frac))
        eta_text = "--:--" if eta != eta else f"{int(eta) // 60}:{int(eta) % 60:02d}"
        line = (f"[{bar}] {done}/{self.total} scenes  {steps:,} op steps  "
                f"{rate:,.0f} steps/s  elapsed {elapsed:.0f}s  ETA {eta_text}")
        if self.tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def worker_count(jobs: int | None) -> int:
    """`--jobs` checked (at least one process), or the default: the CPUs, at most 4."""
    if jobs is not None and jobs < 1:
        raise InputError(f"--jobs must be positive, got {jobs}")
    return jobs or min(os.cpu_count() or 1, 4)


def run_exhaustive(target, depth: int, *, jobs: int | None = None, progress: bool = True,
                   judge: Judge | None = None, stop_on_first: bool = False,
                   domain: Domain | None = None, reduce: bool = True,
                   seconds: float | None = None) -> Report:
    """Explore every scene of the target's domain to `depth`; merge into one report.

    With `stop_on_first` (used to time mutant kills) scenes run in order in this process
    and the run ends at the first counted divergence. `reduce=False` turns off the
    reductions 3 to 5 and 7 (state merging, equivalent and inert calls, the renaming).
    `seconds` bounds a sequential run (the report then says it timed out)."""
    if depth < 1:
        raise InputError(f"--depth must be at least 1, got {depth}")
    jobs = worker_count(jobs)
    domain = domain or domain_for(target)
    if not reduce:
        domain = unreduced(domain)
    log = get_logger(target=target.name, depth=depth)
    n_scenes = len(domain.scenes)
    started = time.monotonic()
    bar = Progress(n_scenes, enabled=progress)
    results: list[SceneResult] = []
    log.info("exhaustive_started", scenes=n_scenes, domain_calls=len(domain.calls()),
             jobs=jobs)
    deadline = None if seconds is None else started + seconds
    if jobs == 1 or stop_on_first or judge is not None or deadline is not None:
        steps = [0]

        def tick(n: int) -> None:
            steps[0] += n
            bar.show(len(results), steps[0])

        for i in range(n_scenes):
            res = explore_scene(target, domain, i, depth, judge=judge,
                                stop_on_first=stop_on_first, tick=tick, merge=reduce,
                                deadline=deadline)
            results.append(res)
            bar.show(len(results), steps[0])
            if res.stopped:
                break
        bar.show(len(results), steps[0], final=True)
    else:
        ctx = multiprocessing.get_context("fork")
        counter = ctx.Value("q", 0)
        _WORKER.update(target=target, domain=domain, depth=depth, merge=reduce)
        with ctx.Pool(jobs, initializer=_worker_init, initargs=(counter,)) as pool:
            pending = pool.imap_unordered(_worker_run, range(n_scenes))
            while len(results) < n_scenes:
                try:
                    results.append(pending.next(timeout=0.2))
                except multiprocessing.TimeoutError:
                    pass
                bar.show(len(results), counter.value)
        bar.show(len(results), counter.value, final=True)
        _WORKER.clear()
    seconds = time.monotonic() - started
    report = _merge(target, domain, depth, results, seconds)
    report.merging_used = report.merging_used and reduce
    _verify(target, report)
    log.info("exhaustive_finished", signatures=len(report.hits), op_steps=report.op_steps,
             states=report.states, elapsed_s=round(seconds, 2), proven=report.proven)
    return report


def _merge(target, domain: Domain, depth: int, results: list[SceneResult],
           seconds: float) -> Report:
    hits: dict[str, Hit] = {}
    for res in sorted(results, key=lambda r: r.scene_index):
        for sig, hit in res.hits.items():
            best = hits.get(sig)
            if best is None:
                hits[sig] = dataclasses.replace(hit)
            else:
                best.count += hit.count
                if hit.rank() < best.rank():
                    best.calls, best.scene_index, best.order, best.ops = (
                        hit.calls, hit.scene_index, hit.order, hit.ops)
    n_calls = len(domain.calls())
    sequences = len(domain.scenes) * sum(n_calls ** k for k in range(1, depth + 1))
    probe = stepper_for(target, domain.scenes[0])
    renaming = domain.renaming_for(target)
    known = KnownList.of(target)
    return Report(
        target=target.name, depth=depth, domain=domain, calls_per_step=n_calls, hits=hits,
        op_steps=sum(r.op_steps for r in results), states=sum(r.states for r in results),
        merged=sum(r.merged for r in results),
        divergent_nodes=sum(r.divergent_nodes for r in results), sequences=sequences,
        seconds=seconds, equivalence_used=domain.equivalence_applies(target),
        merging_used=getattr(probe, "merges", False), renaming_used=renaming is not None,
        known=known,
        stopped=any(r.stopped for r in results) or len(results) < len(domain.scenes),
        timed_out=any(r.timed_out for r in results))


def _verify(target, report: Report) -> None:
    """Re-run every reproducer through Target.evaluate."""
    for hit in report.hits.values():
        outcome = target.evaluate(hit.ops)
        if outcome.verdict is not Verdict.DIVERGENT or outcome.signature != hit.signature:
            report.notes.append(f"{hit.signature}: its reproducer gives "
                                f"{outcome.verdict.value} {outcome.signature} through "
                                "Target.evaluate")


def unreduced(domain: Domain) -> Domain:
    """The domain without its declared equivalence, inert calls and renaming."""
    return dataclasses.replace(domain, equivalence=None, inert=None, renaming=None)


# --- output ------------------------------------------------------------------------------------

def reproducer_text(schema, ops) -> str:
    """A reproducer as printed: the text form without the scene lines that only repeat
    their defaults (a bare `config`; a missing scene op takes its defaults, so the text
    means the same and parses back to it)."""
    kept = [op for op in ops if not (schema.spec(op.name).scene
                                     and op == Op.make(schema, op.name))]
    return format_text(schema, kept)


def render(target, report: Report) -> str:
    """The human-readable report."""
    d = report.domain
    lines = [
        f"exhaustive: target {report.target}, depth {report.depth}"
        + (f", pair {pair_name(target)}" if pair_name(target) else ""),
        f"domain: {len(d.scenes)} scenes x {report.calls_per_step} calls ({d.description})",
        f"checked: {report.sequences:,} sequences of 1..{report.depth} calls, through "
        f"{report.op_steps:,} op steps on {report.states:,} distinct states "
        f"({report.merged:,} prefixes merged into an explored state, "
        f"{report.divergent_nodes:,} divergent nodes) in {report.seconds:.1f} s",
        "reductions: first divergence ends a sequence"
        + ("; prefix sharing; state merging" if report.merging_used else
           "; none else (no state-keeping stepper for this target)")
        + ("; equivalent and inert calls" if report.equivalence_used else "")
        + ("; the declared renaming" if report.renaming_used else ""),
        "",
    ]
    hits = sorted(report.hits.values(), key=Hit.rank)
    lines.append(f"{plural(len(hits), 'divergent signature')}:" if hits else
                 "no divergent signature")
    for hit in hits:
        match = report.known.match(hit.signature, hit.ops)
        known = f" [{match.describe()}]" if match is not None else ""
        lines.append("")
        lines.append(f"{hit.signature}{known}")
        lines.append(f"  shortest reproducer: {plural(hit.calls, 'call')}; reached at "
                     f"{plural(hit.count, 'node')}; scene: {d.scene_name(hit.scene_index)}")
        for line in reproducer_text(target.schema, hit.ops).splitlines():
            lines.append(f"    {line}")
    for note in report.notes:
        lines.append(f"note: {note}")
    lines += ["", report.statement(), ""]
    return "\n".join(lines)


def write_findings(target, report: Report, fdir: str | Path) -> Path:
    """The signatures as findings folders and summary.json, as `fuzzplug fuzz` writes them."""
    from fuzzplug.core.findings import FindingEntry

    entries = [FindingEntry(hit.signature, hit.count, encode(target.schema, hit.ops),
                            match=report.known.match(hit.signature, hit.ops))
               for hit in sorted(report.hits.values(), key=Hit.rank)]
    return write_report_folder(target, fdir, report, entries, depth=report.depth)


def write_report_folder(target, fdir: str | Path, report, entries: list, **fields) -> Path:
    """The findings folder of an exhaustive check, this one or another with a report of the
    same kind (`to_json(target)`; the interleavings checker of a target with tasks): a
    folder per entry (`fuzzplug.core.findings.write_entry`) and summary.json with the
    target, its pair, the engine, `fields`, the report's JSON without its signatures, and
    the findings."""
    from fuzzplug.core.findings import write_entry, write_summary
    from fuzzplug.io import ensure_dir

    fdir = ensure_dir(fdir)
    for entry in entries:
        write_entry(target, fdir, entry)
    summary = {"target": target.name, "pair": pair_name(target), "engine": "exhaustive",
               **fields,
               "report": {k: v for k, v in report.to_json(target).items()
                          if k != "signatures"},
               "findings": [{"signature": e.signature, "count": e.count,
                             "folder": e.folder_name(), "bytes": len(e.data),
                             "known": e.known} for e in entries]}
    write_summary(fdir, summary)
    return fdir


def print_json(target, report) -> None:
    """The report (this checker's, or another's with `to_json(target)`) as JSON."""
    sys.stdout.write(json.dumps(report.to_json(target), indent=1, sort_keys=True) + "\n")

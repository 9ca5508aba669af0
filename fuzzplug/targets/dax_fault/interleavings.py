"""`fuzzplug exhaustive dax_fault --tasks 2 --depth K`: every interleaving of every pair of
small programs, and what it proves.

The bound. Scenes: those of dax_fault's small domain (`domain.small_domain`). Calls
(`CALLS`): a load and a store at the hole (file page 1), a store at the block (page 0),
write(2) over the hole and over the block, a hole punch of the hole, truncate to one page,
fsync. Programs: every sequence of 1..K of those calls. Pairs: every unordered pair of
programs, run as task 0 and task 1 (the order of the two tasks does not matter: the
search runs every interleaving, whichever task is numbered 0, and the outcome lists the
tasks by number, so (B, A) is (A, B) renamed). For each pair and each version, every
interleaving of the two tasks at the models' switch points is run, up to the commuting of
independent steps (`fuzzplug.kernel.dpor`: one run of every Mazurkiewicz trace; sound by
the argument in its docstring), and its outcome recorded (`tasks.RunOutcome`).

What it proves: for the models, in each scene, for each pair, the set of outcomes of
v4.14 equals the set of v4.13 (up to the intended rules, `tasks.compare`) except for the
outcomes listed, each named by the signature its reproducer gives through the target's
oracle (`Target.evaluate` on the pair with the schedule that produced it), so that
`replay` and the fuzzer name it alike. A pair whose search did not finish within
`MAX_RUNS` runs a version is listed as not proven.
"""

from __future__ import annotations

import itertools
import sys
import time
from dataclasses import dataclass, field

from fuzzplug.core.opslang import Op, format_text
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
MAX_RUNS = 20000
"""Runs a search of one version's interleavings of one pair may take."""


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
    depth: int
    scenes: list[str]
    pairs: int = 0
    runs: dict[str, int] = field(default_factory=lambda: {"pre": 0, "post": 0})
    abandoned: int = 0
    unproven: list[str] = field(default_factory=list)
    hits: dict[str, Hit] = field(default_factory=dict)
    seconds: float = 0.0
    outcome_sets: dict = field(default_factory=dict)  # (scene, pair) → (pre, post) sets


def programs(depth: int) -> list[tuple[Op, ...]]:
    out = []
    for n in range(1, depth + 1):
        out += list(itertools.product(CALLS, repeat=n))
    return out


def check_pair(target, scene_ops: tuple[Op, ...], a: tuple[Op, ...], b: tuple[Op, ...], *,
               reduce: bool, report: Report, keep_sets: bool = False,
               scene_name: str = "") -> None:
    ops = scene_ops + a + (Op.make(SCHEMA, "task", id=1),) + b
    calls = [op for op in ops if not SCHEMA.spec(op.name).scene]
    t = tasks.split(calls)
    scene = Scene.from_ops(ops).dax
    found = {}
    for side, model in (("pre", target.pre_model), ("post", target.post_model)):
        s = tasks.search(model, scene, t, reduce=reduce, max_runs=MAX_RUNS)
        report.runs[side] += s.stats.runs
        report.abandoned += s.stats.abandoned
        if not s.complete:
            report.unproven.append(format_text(SCHEMA, ops))
        found[side] = s.outcomes
    if keep_sets:
        report.outcome_sets[ops] = (frozenset(found["pre"]), frozenset(found["post"]))
    for side, other in (("post", "pre"), ("pre", "post")):
        for outcome, runs in found[side].items():
            if any((tasks.compare(o, outcome) if side == "post"
                    else tasks.compare(outcome, o)).same for o in found[other]):
                continue
            repro = ops + tuple(schedule_ops(runs))
            sig = target.evaluate(repro).signature or f"(no divergence on replay: {side})"
            hit = report.hits.get(sig)
            if hit is None:
                report.hits[sig] = Hit(sig, side, repro, scene_name)
            else:
                hit.count += 1


def run(target, depth: int, *, reduce: bool = True, scenes: tuple[int, ...] | None = None,
        progress: bool = True, keep_sets: bool = False) -> Report:
    dom = small_domain()
    indices = scenes if scenes is not None else tuple(range(len(dom.scenes)))
    report = Report(depth, [dom.scene_name(i) for i in indices])
    progs = programs(depth)
    pairs = list(itertools.combinations_with_replacement(range(len(progs)), 2))
    t0 = time.monotonic()
    total = len(pairs) * len(indices)
    done = 0
    for si in indices:
        for i, j in pairs:
            check_pair(target, dom.scenes[si], progs[i], progs[j], reduce=reduce,
                       report=report, keep_sets=keep_sets, scene_name=dom.scene_name(si))
            report.pairs += 1
            done += 1
            if progress and sys.stderr.isatty():
                sys.stderr.write(f"\r{done}/{total} pairs")
    if progress and sys.stderr.isatty():
        sys.stderr.write("\n")
    report.seconds = time.monotonic() - t0
    return report


def render(target, report: Report) -> str:
    lines = [f"dax_fault: two tasks, every pair of programs of 1..{report.depth} calls from "
             f"{len(CALLS)} ({', '.join(format_text(SCHEMA, [c]).strip() for c in CALLS)})",
             f"scenes: {'; '.join(report.scenes)}",
             f"pairs: {report.pairs}; runs: v4.13 {report.runs['pre']}, v4.14 "
             f"{report.runs['post']} (abandoned by the sleep sets: {report.abandoned}); "
             f"{report.seconds:.1f} s"]
    if report.unproven:
        lines.append(f"NOT PROVEN: {len(report.unproven)} pair searches hit {MAX_RUNS} runs")
    else:
        lines.append("proved: for every pair in every scene, every interleaving at the "
                     "models' switch points was run (one per class of interleavings that "
                     "differ only in the order of independent steps); the two versions' "
                     "outcome sets differ only by the signatures below.")
    for sig, hit in sorted(report.hits.items()):
        lines.append(f"  {sig}  (only {hit.side}; {hit.count} outcome(s); first in scene "
                     f"{hit.scene})")
        for line in format_text(SCHEMA, hit.reproducer).splitlines():
            lines.append(f"      {line}")
    if not report.hits:
        lines.append("  no divergent outcome")
    return "\n".join(lines) + "\n"

"""The interleavings checker's longest searches, stateless and stateful, in one run: per
pair of programs and version, runs, whether the search finished within the checker's
budget (`interleavings.MAX_RUNS`), outcome classes (`interleavings.compared`), states
cached, cycles closed and seconds.

    python bench/statecache_pairs.py [--stateless] [--readable] [--max-runs N]

The pairs are those that took the longest in the bound `--tasks 2 --calls accesses
--depth 2/2` (docs/races.md, "The state cache"): a load and a store of the hole against two
stores of it (x86-64 shared, v4.13), the zero-page livelock pair (a load and a store of the
hole against a store of it, no pte_special, v4.14), and two stores of the hole (x86-64
shared, v4.13). `--stateless` adds the stateless search of each (cut at the budget);
`--readable` the stateful search through the readable path (machines without a cell
cache: `daxtrack.cell_values` at every reading, `statecache.state_key`), with its ratio
to the fast path's CPU time (`time.process_time`) in the same run.
"""

from __future__ import annotations

import argparse
import time

from fuzzplug.core.opslang import Op
from fuzzplug.explore import daxtasks, daxtrack
from fuzzplug.targets.dax_fault import interleavings, tasks
from fuzzplug.targets.dax_fault.domain import small_domain
from fuzzplug.targets.dax_fault.schema import SCHEMA, Scene
from fuzzplug.targets.dax_fault.target import TARGET

C = interleavings.CALLS
PAIRS = [
    ("load+store hole | store hole x2", "x86_64 shared", (C[0], C[1]), (C[1], C[1]), "pre"),
    ("zero-page livelock pair", "no pte_special shared", (C[0], C[1]), (C[1],), "post"),
    ("store hole | store hole", "x86_64 shared", (C[1],), (C[1],), "pre"),
]


def _pair(scene_name: str, a, b):
    dom = small_domain()
    names = [dom.scene_name(i) for i in range(len(dom.scenes))]
    ops = dom.scenes[names.index(scene_name)] + a + (Op.make(SCHEMA, "task", id=1),) + b
    return (tasks.split([op for op in ops if not SCHEMA.spec(op.name).scene]),
            Scene.from_ops(ops).dax)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stateless", action="store_true", help="also the stateless search")
    ap.add_argument("--readable", action="store_true",
                    help="also the stateful search through the readable path")
    ap.add_argument("--max-runs", type=int, default=interleavings.MAX_RUNS)
    args = ap.parse_args()
    ways = ([("stateless", False, False)] if args.stateless else []) + [
        ("stateful", True, False)] + ([("stateful, readable", True, True)]
                                      if args.readable else [])
    for name, scene_name, a, b, side in PAIRS:
        t, scene = _pair(scene_name, a, b)
        model = TARGET.pre_model if side == "pre" else TARGET.post_model
        cpu = {}
        for way, stateful, readable in ways:
            t0, c0 = time.perf_counter(), time.process_time()
            daxtasks.track = _readable_track if readable else daxtrack.track
            try:
                s = tasks.search(model, scene, t, max_runs=args.max_runs, stateful=stateful)
            finally:
                daxtasks.track = daxtrack.track
            seconds, cpu[way] = time.perf_counter() - t0, time.process_time() - c0
            classes = {interleavings.compared(o) for o in s.outcomes}
            cache = (f"{len(s.cache)} states, {s.cache.cycles} cycles"
                     if s.cache is not None else "-")
            ratio = (f" ({cpu[way] / cpu['stateful']:.2f}x the fast path's CPU)"
                     if readable else "")
            print(f"{name} ({scene_name}, {model.VERSION}), {way}: {s.stats.runs} runs, "
                  f"{'complete' if s.complete else 'cut'}, {len(classes)} outcome classes, "
                  f"{cache}, {seconds:.1f} s, {cpu[way]:.1f} s CPU{ratio}")


def _readable_track(m) -> None:
    """`daxtrack.track` without the cell cache: the readable path."""
    daxtrack.track(m)
    m.cells = None


if __name__ == "__main__":
    main()

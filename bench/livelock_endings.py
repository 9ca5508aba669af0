"""Whether the stateful search misses a livelock's outcome by ending it at one state of its
cycle only: a check of the interleavings checker's searches, pair by pair.

    python bench/livelock_endings.py [--scenes all|N,...] [--versions pre|post|both]
                                     [--pairs all|I,J,...] [--shard I/N]

The stateful search (`tasks.search(..., stateful=True)`) ends a retrying access as a
LIVELOCK where a run comes back to a state on its own path, for the tasks waiting at a
retry point or a SPIN there (`dpor._Chooser._close_cycle`); the other states of the same
cycle, where the stateless search's 64th fault could fall too, are not ends. For each pair
this script makes the checker's search while recording the states it keys (with the tasks
retrying at each), the transitions between them (to a new state, a cached one, or back
onto the run's path) and the endings its cycles explored; takes the states on a cycle of
that graph (its strongly connected components); then makes the search again with, at the
first visit of each such state where an ending was not explored, each retrying task's
ending one more choice beside the tasks that may run. It prints the endings on cycles, how
many the checker's search explored, and the outcome classes (`interleavings.compared`) of
both searches: a class only the second has is a livelock outcome the checker misses.

Default: the no-pte_special scene's v4.14 pairs whose searches close cycles (the zero-page
livelock pairs, the longest of the 2/2 bound); `--scenes all --versions both --pairs all`
checks the whole bound. Figures in docs/races.md, "Where a livelock is ended".
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict

from fuzzplug.core.opslang import Op
from fuzzplug.core.opslang.text import format_text
from fuzzplug.explore import dpor, statecache
from fuzzplug.runtime.sched import EndAccess
from fuzzplug.targets.dax_fault import interleavings, tasks
from fuzzplug.targets.dax_fault.domain import small_domain
from fuzzplug.targets.dax_fault.schema import SCHEMA, Scene
from fuzzplug.targets.dax_fault.target import TARGET

DEFAULT_PAIRS = (15, 42, 44, 45, 46, 48)
"""Pairs of `interleavings.pairs` at `--calls accesses --depth 2/2` whose v4.14 searches in
the no-pte_special scene close cycles."""


class _Graph:
    """What one search keyed: per state the retrying tasks, the transitions, the endings."""

    def __init__(self) -> None:
        self.retrying: dict[bytes, tuple[int, ...]] = {}
        self.edges: dict[bytes, set[bytes]] = defaultdict(set)
        self.ended: set[tuple[bytes, int]] = set()
        self.node_key: dict[int, tuple[object, bytes]] = {}  # a LIVELOCK node's state
        self.last_key: bytes | None = None
        self.extra: set[bytes] = set()  # states where the second search adds the endings
        self.added: set[bytes] = set()  # those where it did

    def on_cycles(self) -> set[bytes]:
        """The states on a cycle: Tarjan's strongly connected components, iteratively."""
        index: dict[bytes, int] = {}
        low: dict[bytes, int] = {}
        stack: list[bytes] = []
        on: set[bytes] = set()
        out: set[bytes] = set()
        nodes = set(self.retrying) | set(self.edges)
        for targets in list(self.edges.values()):
            nodes |= targets
        for root in nodes:
            if root in index:
                continue
            index[root] = low[root] = len(index)
            stack.append(root)
            on.add(root)
            work = [(root, iter(self.edges.get(root, ())))]
            while work:
                v, it = work[-1]
                for w in it:
                    if w not in index:
                        index[w] = low[w] = len(index)
                        stack.append(w)
                        on.add(w)
                        work.append((w, iter(self.edges.get(w, ()))))
                        break
                    if w in on:
                        low[v] = min(low[v], index[w])
                else:
                    work.pop()
                    if work:
                        low[work[-1][0]] = min(low[work[-1][0]], low[v])
                    if low[v] == index[v]:
                        comp = []
                        while True:
                            w = stack.pop()
                            on.discard(w)
                            comp.append(w)
                            if w == v:
                                break
                        if len(comp) > 1 or v in self.edges.get(v, ()):
                            out.update(comp)
        return out


GRAPH = _Graph()  # the search under way's (`check` starts a new one per pair)


def _keyed(fn):
    def wrapper(*args, **kwargs):
        key = fn(*args, **kwargs)
        GRAPH.last_key = key
        return key
    return wrapper


class _Recording(dpor._Chooser):
    def choose(self, sched, enabled, forced=False):
        at = self.at
        if at < self.depth:
            return super().choose(sched, enabled, forced)
        prev = self.stack[at - 1] if 0 < at <= len(self.stack) else None
        out = super().choose(sched, enabled, forced)
        key = GRAPH.last_key
        GRAPH.retrying.setdefault(key, tuple(dpor.retrying(sched)))
        if prev is not None:
            parent = prev.key if prev.key is not None else GRAPH.node_key[id(prev)][1]
            GRAPH.edges[parent].add(key)
        if len(self.stack) == at + 1 and self.stack[at].livelock:
            node = self.stack[at]
            GRAPH.node_key[id(node)] = (node, key)
            GRAPH.ended.update((key, c - dpor.LIVELOCK) for c in node.enabled)
        return out


class _Augmented(dpor._Chooser):
    def choose(self, sched, enabled, forced=False):
        at = self.at
        if at < self.depth:
            node = self.stack[at]
            if not node.livelock and node.choice >= dpor.LIVELOCK:  # an added ending
                self.sleep = node.sleep
                return EndAccess(node.choice - dpor.LIVELOCK)
            return super().choose(sched, enabled, forced)
        out = super().choose(sched, enabled, forced)
        if len(self.stack) == at + 1 and not forced:
            node = self.stack[at]
            if not node.livelock and node.key in GRAPH.extra and node.key not in GRAPH.added:
                GRAPH.added.add(node.key)
                node.backtrack.update(dpor.LIVELOCK + t for t in dpor.retrying(sched))
        return out


def check(scene_index: int, pair_index: int, version: str) -> dict:
    dom = small_domain()
    a, b = interleavings.pairs(interleavings.parse_bound("2", "accesses", None))[pair_index]
    ops = dom.scenes[scene_index] + a + (Op.make(SCHEMA, "task", id=1),) + b
    t = tasks.split([op for op in ops if not SCHEMA.spec(op.name).scene])
    scene = Scene.from_ops(ops).dax
    model = TARGET.pre_model if version == "pre" else TARGET.post_model
    global GRAPH
    GRAPH = _Graph()
    saved = dpor._Chooser, statecache.fast_state_key, statecache.state_key
    statecache.fast_state_key = _keyed(saved[1])
    statecache.state_key = _keyed(saved[2])
    try:
        t0 = time.process_time()
        dpor._Chooser = _Recording
        first = tasks.search(model, scene, t, max_runs=interleavings.MAX_RUNS, stateful=True)
        cyclic = GRAPH.on_cycles()
        endings = {(k, tid) for k in cyclic for tid in GRAPH.retrying.get(k, ())}
        GRAPH.extra.update(k for k, _ in endings - GRAPH.ended)
        second = first  # every ending on a cycle explored: nothing to add
        if GRAPH.extra:
            dpor._Chooser = _Augmented
            second = tasks.search(model, scene, t, max_runs=4 * interleavings.MAX_RUNS,
                                  stateful=True)
        seconds = time.process_time() - t0
    finally:
        dpor._Chooser, statecache.fast_state_key, statecache.state_key = saved
    classes = {interleavings.compared(o) for o in first.outcomes}
    more = {interleavings.compared(o) for o in second.outcomes}
    return {"scene": scene_index, "version": version, "pair": pair_index,
            "programs": " | ".join(format_text(SCHEMA, p).strip().replace("\n", "; ")
                                   for p in (a, b)),
            "runs": first.stats.runs, "complete": first.complete and second.complete,
            "states on cycles": len(cyclic), "endings on cycles": len(endings),
            "explored": len(endings & GRAPH.ended), "added at": len(GRAPH.added),
            "runs with them": second.stats.runs, "classes": len(classes),
            "classes with them": len(more), "new": len(more - classes),
            "lost": len(classes - more), "seconds": round(seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenes", default="1", help="scenes of the small domain, comma-"
                   "separated, or all (default 1: no pte_special)")
    p.add_argument("--versions", default="post", help="pre, post or both")
    p.add_argument("--pairs", default=",".join(map(str, DEFAULT_PAIRS)),
                   help="indices of interleavings.pairs at --depth 2/2, comma-separated, or "
                   "all")
    p.add_argument("--shard", default="0/1", help="I/N: only every Nth search from the Ith "
                   "(to share the searches among processes)")
    args = p.parse_args(argv)
    n_scenes = len(small_domain().scenes)
    n_pairs = len(interleavings.pairs(interleavings.parse_bound("2", "accesses", None)))
    scenes = (range(n_scenes) if args.scenes == "all"
              else [int(x) for x in args.scenes.split(",")])
    versions = ("pre", "post") if args.versions == "both" else (args.versions,)
    pairs = (range(n_pairs) if args.pairs == "all"
             else [int(x) for x in args.pairs.split(",")])
    shard, shards = (int(x) for x in args.shard.split("/"))
    searches = [(s, i, v) for s in scenes for i in pairs for v in versions]
    missed = 0
    for s, i, v in searches[shard::shards]:
        r = check(s, i, v)
        print(r, flush=True)
        missed += r["new"] + r["lost"] + (not r["complete"])
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

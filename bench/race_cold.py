"""Races from cold: the time `fuzzplug fuzz dax_fault --no-known --seed N --time T` takes,
started from a corpus of one trivial input, to reach each two-task known cause.

    python bench/race_cold.py [--seeds 1-5] [--time 60] [--parallel 2]
                              [--tree NAME=PATH ...] [--out FILE]
    python bench/race_cold.py --draws N [--seeds 1-5]

Each `--tree NAME=PATH` is a source tree of fuzzplug (a checkout or `git archive` of a
commit) run with this interpreter and `PYTHONPATH=PATH`; the default is this checkout,
`new=.`. The runs of every tree and seed are interleaved (seed 1 of each tree, then seed
2...) and `--parallel` of them run at a time, so the trees are measured under the same
load. Each run gets a fresh folder whose corpus holds one input, `load addr=0x100000` (a
load of a block: one task, one call). While it runs the recorder's inbox is polled every
half second; the first time each signature's reproducer appears, from the launch, is its
time to find. At the end the run's `summary.json` says which known causes each signature
shows; a cause is reached at the first two-task signature (`tasks...`) that shows it.
Printed: per cause (the generic/344 race first), per tree, in how many seeds it was found
and the times; `--out` writes everything as JSON.

`--draws N` measures the schedules instead, without libFuzzer: for the generic/344 race's
programs (the seed `divergent_write_fault_races_write_over_zero_page` without its `sched`
lines), N schedules drawn per seed of each kind, and how many give the race's signature:
`sched` runs as random bytes give them (1 to 4 runs, each a task of the two and 1 to 64
steps), a `pct` line decoded from random bytes (uniform PCT), and the schedule mutation's
own draw (`pct.random_line` within the programs' `pct.horizon`, half of its depth-3 draws
clustered).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RACE = "write_fault_races_write_over_zero_page"
TRIVIAL = "load addr=0x100000\n"


def two_task_causes() -> list[str]:
    """The causes of known.toml that a two-task signature (`tasks...`) shows, the generic/344
    race first."""
    from fuzzplug.targets import load_target

    known = load_target("dax_fault").known_findings()
    causes = sorted({c for sig, rec in known.items() if sig.startswith("tasks")
                     for c in rec["causes"]})
    return [RACE] + [c for c in causes if c != RACE]


def one_run(tree: Path, seed: int, seconds: int, root: Path) -> dict:
    from fuzzplug.core.opslang import encode, parse_text
    from fuzzplug.core.oracle import signature_id
    from fuzzplug.targets import load_target

    schema = load_target("dax_fault").schema
    work = Path(tempfile.mkdtemp(prefix=f"{tree.name}-{seed}-", dir=root))
    corpus, findings = work / "corpus", work / "findings"
    corpus.mkdir()
    (corpus / "trivial").write_bytes(encode(schema, parse_text(schema, TRIVIAL)))
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = [sys.executable, "-m", "fuzzplug", "fuzz", "dax_fault", "--no-known",
           "--seed", str(seed), "--time", str(seconds), "--corpus", str(corpus),
           "--findings", str(findings)]
    first: dict[str, float] = {}
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while proc.poll() is None:
        now = time.monotonic() - start
        for path in findings.glob(".inbox-*/*.bin"):
            first.setdefault(path.name.split(".")[0], round(now, 1))
        time.sleep(0.5)
    wall = time.monotonic() - start
    try:
        summary = json.loads((findings / "summary.json").read_text())
    except (OSError, ValueError):
        summary = {"findings": []}
    causes: dict[str, float] = {}
    for f in summary["findings"]:
        t = first.get(signature_id(f["signature"]))
        if t is None or not f["signature"].startswith("tasks"):
            continue
        for cause in f.get("known_causes") or ():
            causes[cause] = min(t, causes.get(cause, t))
    return {"seed": seed, "wall_s": round(wall, 1), "causes": causes,
            "execs": summary.get("libfuzzer", {}).get("execs"),
            "signatures": len(summary["findings"])}


def draws(n: int, seeds: list[int]) -> None:
    """The `--draws` measurement (see the module docstring)."""
    import random

    from fuzzplug.core.opslang import Op, decode, parse_text
    from fuzzplug.targets import load_target
    from fuzzplug.targets.dax_fault import pct

    target = load_target("dax_fault")
    schema = target.schema
    seed_file = (ROOT / "corpora" / "dax_fault"
                 / "divergent_write_fault_races_write_over_zero_page.ops")
    programs = tuple(op for op in parse_text(schema, seed_file.read_text())
                     if op.name != "sched")
    race = target.evaluate(parse_text(schema, seed_file.read_text())).signature

    def sched_runs(rng):
        return tuple(Op.make(schema, "sched", task=rng.randrange(2), steps=rng.randint(1, 64))
                     for _ in range(rng.randint(1, 4)))

    def pct_bytes(rng):
        return decode(schema, bytes([1, 17]) + bytes(rng.randrange(256) for _ in range(8)))[:1]

    def pct_mutation(rng):
        return (pct.op_of(pct.random_line(rng, pct.horizon(list(programs)))),)

    for name, draw in (("sched runs", sched_runs), ("pct, random bytes", pct_bytes),
                       ("pct, the mutation's draw", pct_mutation)):
        hits = []
        for seed in seeds:
            rng = random.Random(seed)
            hits.append(sum(target.evaluate(programs + draw(rng)).signature == race
                            for _ in range(n)))
        print(f"{name:26} race in {sum(hits)} of {n * len(seeds)} draws "
              f"(per seed: {', '.join(map(str, hits))})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="1-5", help="libFuzzer seeds, A-B (default 1-5)")
    p.add_argument("--time", type=int, default=60, help="fuzz --time (default 60)")
    p.add_argument("--parallel", type=int, default=2, help="runs at a time (default 2)")
    p.add_argument("--tree", action="append", default=[],
                   help="NAME=PATH of a fuzzplug source tree (default: new=this checkout)")
    p.add_argument("--out", help="write the results as JSON here")
    p.add_argument("--draws", type=int, help="measure N schedules a seed instead (no fuzzing)")
    args = p.parse_args(argv)
    lo, _, hi = args.seeds.partition("-")
    seeds = list(range(int(lo), int(hi or lo) + 1))
    if args.draws:
        draws(args.draws, seeds)
        return 0
    trees = dict(t.split("=", 1) for t in args.tree) or {"new": str(ROOT)}
    causes = two_task_causes()
    load = os.getloadavg()
    jobs = [(name, Path(path).resolve(), seed) for seed in seeds
            for name, path in trees.items()]
    with tempfile.TemporaryDirectory(prefix="race-cold-") as tmp, \
            ThreadPoolExecutor(args.parallel) as pool:
        results = list(pool.map(lambda j: (j[0], one_run(j[1], j[2], args.time, Path(tmp))),
                                jobs))
    by_tree: dict[str, list[dict]] = {name: [] for name in trees}
    for name, r in results:
        by_tree[name].append(r)
    lines = [f"races from cold, fuzz --time {args.time}, seeds {args.seeds}, "
             f"load at start {load[0]:.2f}"]
    for cause in causes:
        lines.append(cause)
        for name, runs in by_tree.items():
            times = [r["causes"].get(cause) for r in runs]
            found = [t for t in times if t is not None]
            med = f"median {statistics.median(found):.0f} s" if found else "never"
            shown = ", ".join("-" if t is None else f"{t:.0f}" for t in times)
            lines.append(f"  {name:8} {len(found)}/{len(runs)} seeds  {med:14} [{shown}]")
    for name, runs in by_tree.items():
        lines.append(f"{name}: execs per run " + ", ".join(str(r['execs']) for r in runs))
    print("\n".join(lines))
    if args.out:
        Path(args.out).write_text(json.dumps({"time": args.time, "seeds": seeds,
                                              "load": load, "trees": trees,
                                              "runs": by_tree}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

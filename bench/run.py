#!/usr/bin/env python3
"""fuzzplug's benchmarks, every figure measured in one run: `make bench` (about 50 minutes on
2 cores, 20 of them the races) or `bench/run.py --quick` (a smoke run of about 5 minutes);
`--only PART` runs parts, `--render FILE` prints an earlier run's tables. Writes
bench/results.json.

The harness is compared with itself in each *configuration*: a feedback mode
(`FUZZPLUG_FEEDBACK`, fuzzplug/engines/feedback.py) and a mutator (`FUZZPLUG_MUTATOR`,
fuzzplug/engines/mutator.py):

    semantic   semantic feedback, op-level mutator     (the default)
    both       semantic feedback and the models' bytecode edges, op-level mutator
    bytecode   bytecode edges of all of fuzzplug, op-level mutator
    old        bytecode edges, libFuzzer's byte mutator alone (the harness before issue #10)

Runs of different configurations are interleaved and run `--jobs` (2) at a time, so every
configuration sees the same load; the figures are ratios and medians within this run.
Every run uses the seed corpus and the farm's flags (`-dict`, `-max_len`, `-timeout` from
`fuzzplug.farm.files`), with FUZZPLUG_RECORD set so divergences do not stop it.

1. `exec`: exec/s of each configuration (and of semantic feedback with the byte mutator,
   to separate the mutator's cost) and of a no-op atheris harness (bench/noop_harness.py):
   exec/s = (N - 1) / (t(-runs=N) - t(-runs=1)), N chosen so a run lasts seconds; median
   of the repetitions, with min and max. Goal: ratio >= 0.02.
2. `lengths`: exec/s of the default configuration replaying one input of 1, 4, 16, 48
   calls (`-runs=N` on a file, N so a run lasts `length_seconds`),
   (t(N runs) - t(1 run)) / (N - 1).
3. `ttff`: time to each signature, FUZZPLUG_NO_KNOWN=1, one run per seed and
   configuration; a signature's time is when its recording first appears (polled every
   0.1 s), from the launch, and net of the start-up (until libFuzzer's `INITED` line).
   Median over seeds, a miss counting as never. Goal: the median time to every signature
   the old harness finds at least 3 times shorter. Also the features the default
   configuration reached (replaying seed 1's final corpus) and how many share a counter.
4. `kills`: the mutation self-test at `kill_budget` seconds per mutant, one seed, each
   configuration (`fuzzplug.selftest.runner.run_mutant`): mutants killed, and time to kill.
5. `deep`: the deepest mutants (a particular scene and two or three calls) at
   `deep_budget` seconds, `seeds` seeds per configuration: the fraction of runs that kill
   each.
6. `rss`: bench/rss_harness.py (the harness, default configuration, with a probe logging
   VmRSS every 100,000 executions) for `rss_execs` executions.
7. `races`: `fuzzplug fuzz dax_fault` as a user runs it, the code of a git ref (`--race-old`,
   default bench_races.BASELINE_REF) against this checkout, from the seeds and from one
   trivial input, `race_seeds` seeds of `race_seconds`: libFuzzer's exec/s, the slowest
   unit, the time to each two-task cause, the causes found over time (the plot
   race-causes.svg beside the results); and `fuzz insert_pfn` for reference
   (`bench/bench_races.py`, which also runs alone: bench/races.json and
   docs/img/race-causes.svg).
8. `engines` (not run by default): time to kill each mutant with the Hypothesis engine and
   the exhaustive checker, beside the harness's (the earlier README's engine comparison).

The parts live in modules of their own beside this script: `bench_speed` (1, 2, 6),
`bench_ttff` (3), `bench_kills` (4, 5, 8), `bench_races` (7, with `races_report`),
`bench_report` (the tables) and `bench_common` (what they share); this script runs them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench's own modules

from bench_common import (  # noqa: E402 (bench_common puts the checkout on sys.path)
    CONFIGS,
    QUICK_KILL_MUTANTS,
    RESULTS,
    SEEDS,
    TARGET,
)
from bench_kills import bench_deep, bench_engines, bench_kills  # noqa: E402
import races_report  # noqa: E402
from bench_report import markdown  # noqa: E402
from bench_races import BASELINE_REF, bench_races  # noqa: E402
from bench_speed import bench_exec, bench_lengths, bench_rss  # noqa: E402
from bench_ttff import bench_ttff  # noqa: E402
from fuzzplug.farm.files import compile_seeds  # noqa: E402
from fuzzplug.log import configure  # noqa: E402
from fuzzplug.targets.insert_pfn.mutants import MUTANTS  # noqa: E402

FULL = dict(seeds=5, exec_seconds=8, exec_reps=3, length_seconds=3, ttff_seconds=30,
            kill_budget=10, deep_budget=20, rss_execs=1_000_000, jobs=2, race_seeds=5,
            race_seconds=60, race_reference_seconds=30)
QUICK = dict(seeds=1, exec_seconds=2, exec_reps=1, length_seconds=1, ttff_seconds=8,
             kill_budget=3, deep_budget=6, rss_execs=20_000, jobs=2, race_seeds=1,
             race_seconds=10, race_reference_seconds=5)
PARTS = ("exec", "lengths", "ttff", "kills", "deep", "rss", "races")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few minutes")
    parser.add_argument("--only", action="append", choices=PARTS + ("engines",),
                        help="run only these parts (repeatable)")
    parser.add_argument("--configs", help=f"comma-separated, of {', '.join(CONFIGS)}")
    for key, value in FULL.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=int, default=None,
                            help=f"(full: {value}, quick: {QUICK[key]})")
    parser.add_argument("--race-old", default=BASELINE_REF,
                        help=f"the old code of part races, a git ref ({BASELINE_REF})")
    parser.add_argument("--output", default=str(RESULTS), help="results JSON path")
    parser.add_argument("--render", metavar="RESULTS_JSON",
                        help="print the tables of an earlier run's results and exit")
    args = parser.parse_args(argv)
    if args.render:
        sys.stdout.write(markdown(json.loads(Path(args.render).read_text())))
        return 0
    configure("console", "warning")  # engine logs to stderr, and only problems
    cfg = dict(QUICK if args.quick else FULL)
    for key in FULL:
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    configs = args.configs.split(",") if args.configs else list(CONFIGS)
    unknown = set(configs) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configurations: {', '.join(sorted(unknown))}")
    parts = args.only or list(PARTS)
    SEEDS.update(compile_seeds(TARGET))
    results: dict = {"mode": "quick" if args.quick else "full", "config": cfg,
                     "configs": {c: dict(zip(("feedback", "mutator"), CONFIGS[c]))
                                 for c in configs},
                     "loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
                     "cpus": os.cpu_count()}
    started = time.monotonic()
    mutants = ([m for m in MUTANTS if m.name in QUICK_KILL_MUTANTS] if args.quick
               else list(MUTANTS))
    with tempfile.TemporaryDirectory(prefix="fuzzplug-bench-") as tmp:
        root = Path(tmp)
        if "exec" in parts:
            results["exec"] = bench_exec(root, cfg, configs)
        if "lengths" in parts:
            results["lengths"] = bench_lengths(root, cfg)
        if "ttff" in parts:
            results["ttff"] = bench_ttff(root, cfg, configs)
        if "kills" in parts:
            results["kills"] = bench_kills(cfg, configs, mutants)
        if "deep" in parts:
            results["deep"] = bench_deep(cfg, configs)
        if "rss" in parts:
            results["rss"] = bench_rss(root, cfg)
        if "races" in parts:
            (root / "races").mkdir()
            results["races"] = bench_races(
                root / "races", old_ref=args.race_old,
                seeds=list(range(1, cfg["race_seeds"] + 1)), seconds=cfg["race_seconds"],
                reference_seconds=cfg["race_reference_seconds"], jobs=cfg["jobs"])
            Path(args.output).with_name("race-causes.svg").write_text(
                races_report.svg(results["races"]))
        if "engines" in parts:
            results["engines"] = bench_engines(cfg)
    results["seconds"] = time.monotonic() - started
    results["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    Path(args.output).write_text(json.dumps(results, indent=1, sort_keys=True,
                                            default=lambda x: None) + "\n")
    sys.stdout.write(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

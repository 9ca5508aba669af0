"""exec/s of every target's harness against a no-op atheris harness, in one run.

`python bench/targets_exec.py [--runs TARGET=N ...] [--reps R]`: for each target (its
compiled seeds as the corpus, its dictionary and .options flags, FUZZPLUG_RECORD set so that
divergences do not stop the run) and for bench/noop_harness.py, exec/s = (N - 1) /
(t(-runs=N) - t(-runs=1)), the median of R repetitions, one process at a time; then each
target's ratio to the no-op harness. The ratios are what carries over between machines
(README, "The dax_fault target" → "Speed"). bench/run.py measures insert_pfn's
configurations in more depth; this script is the cross-target figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fuzzplug.core.opslang import dictionary  # noqa: E402
from fuzzplug.farm.files import compile_seeds, farm_options  # noqa: E402
from fuzzplug.targets import load_target  # noqa: E402

NOOP = ROOT / "bench" / "noop_harness.py"
RUNS = {"dax_fault": 3001, "insert_pfn": 20001, "noop": 2_000_001}


def harness(name: str) -> Path:
    return NOOP if name == "noop" else ROOT / "harnesses" / f"fuzz_{name}.py"


def once(name: str, n: int, seed: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus = work / "corpus"
        corpus.mkdir()
        flags = [f"-seed={seed}", f"-artifact_prefix={work}/", "-rss_limit_mb=4096"]
        if name != "noop":
            target = load_target(name)
            for sha, data in compile_seeds(target).items():
                (corpus / sha).write_bytes(data)
            (work / "t.dict").write_text(dictionary(target.schema))
            options = farm_options(target)
            flags += [f"-dict={work / 't.dict'}", f"-max_len={options.max_len}",
                      f"-timeout={options.timeout}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("FUZZPLUG_")}
        (work / "record").mkdir()
        env["FUZZPLUG_RECORD"] = str(work / "record")
        started = time.monotonic()
        proc = subprocess.run([sys.executable, str(harness(name)), str(corpus), f"-runs={n}",
                               *flags], env=env, cwd=work, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=3600)
        elapsed = time.monotonic() - started
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout.decode("utf-8", "replace")[-4000:])
            raise SystemExit(f"{harness(name).name} -runs={n} -seed={seed}: exit status "
                             f"{proc.returncode}")
        return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", action="append", default=[], metavar="NAME=N",
                        help="-runs=N for one harness (defaults: " +
                             ", ".join(f"{k} {v:,}" for k, v in RUNS.items()) + ")")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    runs = dict(RUNS)
    for item in args.runs:
        name, _, n = item.partition("=")
        runs[name] = int(n)
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for rep in range(args.reps):
        for name, n in runs.items():
            t1, tn = once(name, 1, rep + 1), once(name, n, rep + 1)
            rates[name].append((n - 1) / max(tn - t1, 1e-6))
            print(f"rep {rep}: {name} {rates[name][-1]:,.0f} exec/s", file=sys.stderr)
    noop = statistics.median(rates["noop"])
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    print("| harness | -runs | exec/s (median; reps) | ratio to no-op |")
    print("|---|---|---|---|")
    for name, samples in rates.items():
        med = statistics.median(samples)
        reps = ", ".join(f"{s:,.0f}" for s in samples)
        ratio = "1" if name == "noop" else f"{med / noop:.5f}"
        print(f"| {name} | {runs[name]:,} | {med:,.0f} ({reps}) | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

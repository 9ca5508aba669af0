#!/usr/bin/env python3
"""fuzzplug's benchmarks: `make bench` (about 40 minutes on 2 cores, half of it the million
executions of part 5) or `bench/run.py --quick` (a smoke run of about 6 minutes); `--only
PART` runs parts, `--render FILE` prints an earlier run's table. Prints a markdown table and
writes bench/results.json.

Every figure is a ratio or a median measured in this one run:

1. **exec/s ratio**: the insert_pfn harness against a no-op atheris harness
   (bench/noop_harness.py), same libFuzzer flags and seed corpus, FUZZPLUG_RECORD set so
   divergences do not stop the harness; exec/s = (N - 1) / (t(-runs=N) - t(-runs=1)),
   with N chosen per harness so each run lasts seconds, median of the repetitions.
   Goal: >= 0.02.
2. **exec/s by length**: the harness under libFuzzer replaying one input of 1, 4, 16 and 48
   calls (`-runs=N` on a file runs it N times); (time of N runs - time of 1 run) / (N - 1).
   The inputs are the domain's calls in a fixed random order, kept only while the sequence
   stays non-divergent, so every call of them is evaluated.
3. **time to first finding** of each signature: the harness with FUZZPLUG_NO_KNOWN=1 and
   FUZZPLUG_RECORD on the seed corpus, one run per seed; a signature's time is when its
   recording first appeared (polled every 0.1 s: the recorder rewrites a file when it finds
   a shorter input, so mtimes would tell the last, not the first). Median over seeds; a seed
   that missed it counts as never.
4. **time to kill** each mutant (fuzzplug.selftest.runner's definition): the atheris harness
   (`fuzzplug selftest`'s run, from launch, and net of the start-up until libFuzzer's first
   line), the Hypothesis engine (in-process, from the start of the campaign to the first
   failing example), and the exhaustive checker (deterministic: one run, deepening to 3).
   Median over seeds; a seed that missed counts as never.
5. **RSS across executions**: bench/rss_harness.py (the harness with a probe that logs VmRSS
   every 100,000 executions) for a million executions.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fuzzplug.core.opslang import decode, dictionary, encode  # noqa: E402
from fuzzplug.core.oracle import Verdict  # noqa: E402
from fuzzplug.engines.domain import domain_for  # noqa: E402
from fuzzplug.farm.files import compile_seeds  # noqa: E402
from fuzzplug.log import configure  # noqa: E402
from fuzzplug.selftest.runner import (  # noqa: E402
    Status,
    run_mutant,
    time_to_kill_exhaustive,
    time_to_kill_hypothesis,
)
from fuzzplug.targets.insert_pfn import TARGET  # noqa: E402
from fuzzplug.targets.insert_pfn.mutants import MUTANTS  # noqa: E402

HARNESS = ROOT / "harnesses" / "fuzz_insert_pfn.py"
NOOP = ROOT / "bench" / "noop_harness.py"
RSS_HARNESS = ROOT / "bench" / "rss_harness.py"
RESULTS = ROOT / "bench" / "results.json"
_EXEC_PER_SEC = re.compile(r"stat::average_exec_per_sec:\s*(\d+)")
_EXECS = re.compile(r"stat::number_of_executed_units:\s*(\d+)")

FULL = dict(seeds=5, exec_runs=50_000, noop_runs=20_000_000, exec_reps=3, length_runs=2_000, ttff_seconds=40,
            kill_budget=10, rss_execs=1_000_000)
QUICK = dict(seeds=1, exec_runs=5_000, noop_runs=2_000_000, exec_reps=1, length_runs=300, ttff_seconds=10,
             kill_budget=5, rss_execs=200_000)


def log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def median_or_never(values: list[float | None]) -> float:
    """The median, a miss counting as never (infinity)."""
    return statistics.median([math.inf if v is None else v for v in values])


def fmt(seconds: float | None, digits: int = 2) -> str:
    if seconds is None or math.isinf(seconds):
        return "never"
    return f"{seconds:.{digits}f}"


class Workdir:
    """A temporary folder with the seed corpus, the dictionary and a record folder."""

    def __init__(self, root: Path, name: str):
        self.path = root / name
        self.corpus = self.path / "corpus"
        self.record = self.path / "record"
        for folder in (self.corpus, self.record):
            folder.mkdir(parents=True)
        for sha, data in compile_seeds(TARGET).items():
            (self.corpus / sha).write_bytes(data)
        self.dict = self.path / "insert_pfn.dict"
        self.dict.write_text(dictionary(TARGET.schema))

    def flags(self, seed: int) -> list[str]:
        return [f"-seed={seed}", f"-dict={self.dict}", "-max_len=512", "-timeout=10",
                "-print_final_stats=1", f"-artifact_prefix={self.path}/",
                "-rss_limit_mb=4096"]

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ, FUZZPLUG_RECORD=str(self.record), **extra)
        if "FUZZPLUG_NO_KNOWN" not in extra:
            env.pop("FUZZPLUG_NO_KNOWN", None)
        env.pop("FUZZPLUG_MUTANT", None)
        return env


def run_libfuzzer(script: Path, args: list[str], env: dict, cwd: Path,
                  timeout: float = 3600) -> tuple[str, float]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(script), *args], env=env, cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return proc.stdout.decode("utf-8", "replace"), time.monotonic() - started


# --- 1. exec/s ratio -------------------------------------------------------------------------

def bench_exec_ratio(root: Path, cfg: dict) -> dict:
    """exec/s = (N - 1) / (t(-runs=N) - t(-runs=1)): the difference takes out start-up and
    the seed corpus's first pass. The flags are the same for both harnesses but N: the
    no-op harness runs about 500 times faster, so it gets `noop_runs` executions, enough to
    last as long as the real one (with the same N it would run for a hundredth of a second,
    less than the noise of its start-up). libFuzzer's stat::average_exec_per_sec, which
    divides by whole seconds, is kept alongside."""
    rates: dict[str, list[float]] = {"harness": [], "noop": []}
    stats: dict[str, list[int]] = {"harness": [], "noop": []}
    for rep in range(cfg["exec_reps"]):
        for name, script, runs in (("harness", HARNESS, cfg["exec_runs"]),
                                   ("noop", NOOP, cfg["noop_runs"])):
            walls = {}
            for n in (1, runs):
                work = Workdir(root, f"exec-{name}-{rep}-{n}")
                out, walls[n] = run_libfuzzer(script, [str(work.corpus), f"-runs={n}",
                                                       *work.flags(seed=rep + 1)],
                                              work.env(), work.path)
            found = _EXEC_PER_SEC.search(out)
            stats[name].append(int(found.group(1)) if found else -1)
            rates[name].append((runs - 1) / max(walls[runs] - walls[1], 1e-6))
            log(f"exec/s {name} rep {rep}: {rates[name][-1]:.0f} "
                f"({walls[runs]:.1f} s for {runs} runs)")
    harness, noop = statistics.median(rates["harness"]), statistics.median(rates["noop"])
    return {"harness_exec_per_s": harness, "noop_exec_per_s": noop,
            "ratio": harness / noop, "runs": cfg["exec_runs"], "noop_runs": cfg["noop_runs"],
            "reps": cfg["exec_reps"], "samples": rates,
            "libfuzzer_average_exec_per_sec": stats,
            "uninstrumented_exec_per_s": uninstrumented_rate(
                root / f"exec-harness-0-{cfg['exec_runs']}" / "corpus")}


def uninstrumented_rate(corpus: Path) -> float:
    """Harness.test_one_input in this process (no atheris instrumentation, no libFuzzer)
    over the corpus the harness run left behind: the work itself, for comparison."""
    from fuzzplug.engines.harness import Harness

    inputs = [p.read_bytes() for p in sorted(corpus.iterdir()) if p.is_file()]
    os.environ["FUZZPLUG_RECORD"] = str(corpus.parent / "record-inprocess")
    try:
        harness = Harness(TARGET)
    finally:
        os.environ.pop("FUZZPLUG_RECORD", None)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < 3.0:
        for data in inputs:
            harness.test_one_input(data)
        count += len(inputs)
    return count / (time.perf_counter() - started)


# --- 2. exec/s by sequence length ---------------------------------------------------------------

def non_divergent_input(length: int) -> bytes:
    """`length` calls from the domain, in a fixed random order, skipping any call that would
    make the sequence divergent (the default scene)."""
    domain = domain_for(TARGET)
    rng = random.Random(length)
    calls = list(domain.calls())
    ops: list = []
    while len(ops) < length:
        op = rng.choice(calls)
        if TARGET.evaluate(tuple(ops) + (op,)).verdict is not Verdict.DIVERGENT:
            ops.append(op)
    return encode(TARGET.schema, tuple(ops))


def bench_lengths(root: Path, cfg: dict) -> dict:
    out = {}
    work = Workdir(root, "lengths")
    for length in (1, 4, 16, 48):
        path = work.path / f"input-{length}.bin"
        path.write_bytes(non_divergent_input(length))
        assert len(decode(TARGET.schema, path.read_bytes())) == length
        times = {}
        for runs in (1, cfg["length_runs"]):
            _, times[runs] = run_libfuzzer(HARNESS, [f"-runs={runs}", str(path)],
                                           work.env(), work.path)
        per_exec = (times[cfg["length_runs"]] - times[1]) / (cfg["length_runs"] - 1)
        out[str(length)] = {"exec_per_s": 1 / per_exec if per_exec > 0 else None,
                            "bytes": path.stat().st_size}
        log(f"length {length}: {out[str(length)]['exec_per_s']:.0f} exec/s")
    return out


# --- 3. time to first finding -------------------------------------------------------------------

def poll_recordings(proc: subprocess.Popen, record: Path, started: float,
                    first: dict[str, float]) -> None:
    """Until the process ends: the first time each recording file appears."""
    while True:
        done = proc.poll() is not None
        now = time.monotonic() - started
        for path in record.glob("*.bin"):
            first.setdefault(path.name.split(".")[0], now)
        if done:
            return
        time.sleep(0.1)


def signature_of_recording(record: Path, sig_id: str) -> str | None:
    for path in record.glob(f"{sig_id}.*.bin"):
        outcome = TARGET.evaluate(decode(TARGET.schema, path.read_bytes()))
        return outcome.signature
    return None


def bench_ttff(root: Path, cfg: dict) -> dict:
    per_seed: list[dict[str, float]] = []
    for seed in range(1, cfg["seeds"] + 1):
        work = Workdir(root, f"ttff-{seed}")
        cmd = [sys.executable, str(HARNESS), str(work.corpus),
               f"-max_total_time={cfg['ttff_seconds']}", *work.flags(seed)]
        started = time.monotonic()
        with open(work.path / "libfuzzer.log", "wb") as out:
            proc = subprocess.Popen(cmd, env=work.env(FUZZPLUG_NO_KNOWN="1"), cwd=work.path,
                                    stdout=out, stderr=subprocess.STDOUT)
            first: dict[str, float] = {}
            poll_recordings(proc, work.record, started, first)
        named = {}
        for sig_id, when in first.items():
            sig = signature_of_recording(work.record, sig_id)
            if sig is not None:
                named[sig] = when
        per_seed.append(named)
        log(f"ttff seed {seed}: {len(named)} signatures in {cfg['ttff_seconds']} s")
    known = set(TARGET.known_findings())
    sigs = sorted(set().union(*per_seed))
    table = []
    for sig in sigs:
        times = [seed.get(sig) for seed in per_seed]
        table.append({"signature": sig, "known": sig in known,
                      "median_s": median_or_never(times),
                      "found_in": sum(t is not None for t in times), "seeds": len(times)})
    table.sort(key=lambda r: (r["median_s"], r["signature"]))
    return {"seconds_per_seed": cfg["ttff_seconds"], "seeds": cfg["seeds"],
            "signatures": table}


# --- 4. time to kill ------------------------------------------------------------------------------

def bench_kills(cfg: dict) -> dict:
    seeds_data = compile_seeds(TARGET)
    budget = cfg["kill_budget"]
    rows = []
    for mutant in MUTANTS:
        atheris_times, net_times, hyp_times = [], [], []
        for seed in range(1, cfg["seeds"] + 1):
            run = run_mutant(TARGET, mutant, budget=budget, seed=seed, seeds=seeds_data)
            killed = run.status in (Status.KILLED, Status.CRASHED)
            atheris_times.append(run.seconds if killed else None)
            net_times.append(run.seconds - (run.startup or 0.0) if killed else None)
            hyp_times.append(time_to_kill_hypothesis(TARGET, mutant.name, budget=budget,
                                                     seed=seed))
        exh, depth = time_to_kill_exhaustive(TARGET, mutant.name, budget=budget)
        row = {"mutant": mutant.name,
               "kind": "equivalent" if mutant.equivalent else "gap" if mutant.gap else "mutant",
               "atheris_s": median_or_never(atheris_times),
               "atheris_net_s": median_or_never(net_times),
               "atheris_killed_in": sum(t is not None for t in atheris_times),
               "hypothesis_s": median_or_never(hyp_times),
               "hypothesis_killed_in": sum(t is not None for t in hyp_times),
               "exhaustive_s": math.inf if exh is None else exh, "exhaustive_depth": depth,
               "seeds": cfg["seeds"]}
        rows.append(row)
        log(f"kill {mutant.name}: atheris {fmt(row['atheris_s'])} (net "
            f"{fmt(row['atheris_net_s'])}), hypothesis {fmt(row['hypothesis_s'])}, "
            f"exhaustive {fmt(row['exhaustive_s'])}")
    counted = [r for r in rows if r["kind"] != "equivalent"]
    return {"budget_s": budget, "seeds": cfg["seeds"], "mutants": rows,
            "fastest_counts": fastest(rows, "atheris_s"),
            "fastest_counts_net": fastest(rows, "atheris_net_s"),
            "killed_by": {engine: sum(1 for r in counted if not math.isinf(r[key]))
                          for engine, key in (("atheris", "atheris_s"),
                                              ("hypothesis", "hypothesis_s"),
                                              ("exhaustive", "exhaustive_s"))},
            "counted": len(counted)}


# --- 5. RSS ---------------------------------------------------------------------------------------

def bench_rss(root: Path, cfg: dict) -> dict:
    work = Workdir(root, "rss")
    rss_log = work.path / "rss.log"
    out, wall = run_libfuzzer(RSS_HARNESS, [str(work.corpus), f"-runs={cfg['rss_execs']}",
                                            *work.flags(seed=1)],
                              work.env(FUZZPLUG_RSS_LOG=str(rss_log)), work.path)
    samples = [tuple(map(int, line.split())) for line in rss_log.read_text().splitlines()]
    if not samples:
        raise RuntimeError(f"no RSS samples; libFuzzer said:\n{out[-2000:]}")
    first_mib, last_mib = samples[0][1] / 1024, samples[-1][1] / 1024
    growth = last_mib - first_mib
    execs = _EXECS.search(out)
    return {"executions": int(execs.group(1)) if execs else None, "seconds": wall,
            "exec_per_s": (int(execs.group(1)) / wall) if execs else None,
            "samples": [{"executions": n, "rss_mib": round(kib / 1024, 1)}
                        for n, kib in samples],
            "first_mib": round(first_mib, 1), "last_mib": round(last_mib, 1),
            "growth_mib": round(growth, 1),
            "flat": growth <= max(5.0, 0.05 * first_mib)}


# --- the report ----------------------------------------------------------------------------------

def fastest(rows: list[dict], atheris_key: str) -> dict[str, int]:
    """How many non-equivalent mutants each engine killed first (ties to the first listed)."""
    counts = {"atheris": 0, "hypothesis": 0, "exhaustive": 0}
    for r in rows:
        if r["kind"] == "equivalent":
            continue
        times = {"atheris": r[atheris_key], "hypothesis": r["hypothesis_s"],
                 "exhaustive": r["exhaustive_s"]}
        if not math.isinf(min(times.values())):
            counts[min(times, key=times.get)] += 1
    return counts


def markdown(results: dict) -> str:
    lines = [f"## fuzzplug bench ({results['mode']}, {results['seconds']:.0f} s, "
             f"load average at start {results['loadavg_start']})", ""]
    ex = results.get("exec_ratio")
    if ex:
        lines += ["| figure | value | goal |", "|---|---|---|",
                  f"| harness exec/s (median of {ex['reps']}, -runs={ex['runs']:,}) | "
                  f"{ex['harness_exec_per_s']:.0f} | |",
                  f"| no-op atheris harness exec/s (-runs={ex['noop_runs']:,}) | "
                  f"{ex['noop_exec_per_s']:.0f} | |",
                  f"| **ratio** | **{ex['ratio']:.4f}** | >= 0.02 "
                  f"{'(met)' if ex['ratio'] >= 0.02 else '(NOT met)'} |",
                  f"| same harness in-process, uninstrumented, on its final corpus | "
                  f"{ex['uninstrumented_exec_per_s']:.0f} exec/s | |"]
    rss = results.get("rss")
    if rss:
        lines.append(f"| RSS over {rss['executions']:,} execs (every 100k; "
                     f"{rss['seconds']:.0f} s) | {rss['first_mib']} -> {rss['last_mib']} "
                     f"MiB, growth {rss['growth_mib']} MiB | flat: "
                     f"{'yes' if rss['flat'] else 'NO'} |")
    lengths = results.get("lengths")
    if lengths:
        lines += ["", "| calls per input | exec/s | vs 1 call |", "|---|---|---|"]
        base = lengths["1"]["exec_per_s"]
        for n, row in sorted(lengths.items(), key=lambda item: int(item[0])):
            lines.append(f"| {n} | {row['exec_per_s']:.0f} | {row['exec_per_s'] / base:.2f} |")
    ttff = results.get("ttff")
    if ttff:
        lines += ["", f"Time to first finding (median of {ttff['seeds']} seeds, "
                      f"{ttff['seconds_per_seed']} s each, FUZZPLUG_NO_KNOWN=1):", "",
                  "| signature | known | median s | found in |", "|---|---|---|---|"]
        for r in ttff["signatures"]:
            lines.append(f"| `{r['signature']}` | {'yes' if r['known'] else 'no'} | "
                         f"{fmt(r['median_s'])} | {r['found_in']}/{r['seeds']} |")
    kills = results.get("kills")
    if kills:
        lines += ["", f"Time to kill (s; median of {kills['seeds']} seeds, budget "
                      f"{kills['budget_s']} s; exhaustive is deterministic):", "",
                  "| mutant | kind | atheris | atheris net of start-up | hypothesis | "
                  "exhaustive (depth) |", "|---|---|---|---|---|---|"]
        for r in kills["mutants"]:
            lines.append(
                f"| {r['mutant']} | {r['kind']} | {fmt(r['atheris_s'])} "
                f"({r['atheris_killed_in']}/{r['seeds']}) | {fmt(r['atheris_net_s'])} | "
                f"{fmt(r['hypothesis_s'])} ({r['hypothesis_killed_in']}/{r['seeds']}) | "
                f"{fmt(r['exhaustive_s'])} ({r['exhaustive_depth'] or '-'}) |")
        by = kills["killed_by"]
        lines += ["", f"Killed (median < never) of {kills['counted']} non-equivalent: "
                      f"atheris {by['atheris']}, hypothesis {by['hypothesis']}, exhaustive "
                      f"{by['exhaustive']}. Fastest engine per mutant, wall time: "
                      + ", ".join(f"{k} {v}" for k, v in
                                  fastest(kills["mutants"], "atheris_s").items())
                      + "; with atheris net of its start-up: "
                      + ", ".join(f"{k} {v}" for k, v in
                                  fastest(kills["mutants"], "atheris_net_s").items())]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few minutes")
    parser.add_argument("--only", action="append",
                        choices=("exec", "lengths", "ttff", "kills", "rss"),
                        help="run only these parts (repeatable)")
    for key, value in FULL.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=int, default=None,
                            help=f"(full: {value}, quick: {QUICK[key]})")
    parser.add_argument("--output", default=str(RESULTS), help="results JSON path")
    parser.add_argument("--render", metavar="RESULTS_JSON",
                        help="print the table of an earlier run's results and exit")
    args = parser.parse_args(argv)
    if args.render:
        sys.stdout.write(markdown(json.loads(Path(args.render).read_text())))
        return 0
    configure("console", "warning")  # engine logs to stderr, and only problems
    cfg = dict(QUICK if args.quick else FULL)
    for key in FULL:
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    parts = args.only or ["exec", "lengths", "ttff", "kills", "rss"]
    results: dict = {"mode": "quick" if args.quick else "full", "config": cfg,
                     "loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
                     "cpus": os.cpu_count()}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzzplug-bench-") as tmp:
        root = Path(tmp)
        if "exec" in parts:
            results["exec_ratio"] = bench_exec_ratio(root, cfg)
        if "lengths" in parts:
            results["lengths"] = bench_lengths(root, cfg)
        if "ttff" in parts:
            results["ttff"] = bench_ttff(root, cfg)
        if "kills" in parts:
            results["kills"] = bench_kills(cfg)
        if "rss" in parts:
            results["rss"] = bench_rss(root, cfg)
    results["seconds"] = time.monotonic() - started
    results["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    Path(args.output).write_text(json.dumps(results, indent=1, sort_keys=True,
                                            default=lambda x: None) + "\n")
    sys.stdout.write(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

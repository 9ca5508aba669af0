#!/usr/bin/env python3
"""fuzzplug's benchmarks, every figure measured in one run: `make bench` (about 30 minutes on
2 cores) or `bench/run.py --quick` (a smoke run of about 3 minutes); `--only PART` runs
parts, `--render FILE` prints an earlier run's tables. Writes bench/results.json.

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
7. `engines` (not run by default): time to kill each mutant with the Hypothesis engine and
   the exhaustive checker, beside the harness's (the earlier README's engine comparison).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fuzzplug.core.opslang import decode, dictionary, encode  # noqa: E402
from fuzzplug.core.oracle import Verdict  # noqa: E402
from fuzzplug.engines.domain import domain_for  # noqa: E402
from fuzzplug.engines.feedback import COUNTERS, counter_of  # noqa: E402
from fuzzplug.engines.harness import features_of  # noqa: E402
from fuzzplug.farm.files import compile_seeds, farm_options  # noqa: E402
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

CONFIGS = {  # name: (FUZZPLUG_FEEDBACK, FUZZPLUG_MUTATOR)
    "semantic": ("semantic", "ops"),
    "both": ("both", "ops"),
    "bytecode": ("bytecode", "ops"),
    "old": ("bytecode", "bytes"),
}
EXTRA_EXEC = {"semantic+bytes": ("semantic", "bytes"),
              "semantic, no replay": ("semantic", "ops", "0")}
"""Beside the configurations, for exec/s only: semantic feedback with the byte mutator, and
the default with every run evaluated (FUZZPLUG_REPLAY=0: no input run again replays its
first evaluation), whose exec/s are evaluations per second in the harness."""
DEFAULT = "semantic"
BASELINE = "old"
DEEP_MUTANTS = ("cow_oom_leaks_old_page", "zap_loses_dirty_bit", "cow_counter_not_moved")
"""The self-test's deepest mutants, each killed only in a particular scene: three calls
(cow_oom_leaks_old_page; zap_loses_dirty_bit, or two with the mkwrite insert) and two
(cow_counter_not_moved, which a seed scenario reaches)."""
FIX_PAIR = ("v4.14+f2c57d91b0d9", "v4.14+f2c57d91b0d9+cae85cb8add3")
"""The chain's last pair (the two fixes), whose evaluation rate the bench gives beside the
seed pair's."""
QUICK_KILL_MUTANTS = ("zap_forgets_put_page", "no_pte_returns_ebusy", "cow_counter_not_moved")

FULL = dict(seeds=5, exec_seconds=8, exec_reps=3, length_seconds=3, ttff_seconds=30,
            kill_budget=10, deep_budget=20, rss_execs=1_000_000, jobs=2)
QUICK = dict(seeds=1, exec_seconds=2, exec_reps=1, length_seconds=1, ttff_seconds=8,
             kill_budget=3, deep_budget=6, rss_execs=20_000, jobs=2)
PARTS = ("exec", "lengths", "ttff", "kills", "deep", "rss")


def log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def median_or_never(values: list[float | None]) -> float:
    """The median, a miss counting as never (infinity)."""
    return statistics.median([math.inf if v is None else v for v in values])


def fmt(seconds: float | None, digits: int = 1) -> str:
    if seconds is None or math.isinf(seconds):
        return "never"
    return f"{seconds:.{digits}f}"


def parallel(jobs: int, fn, items: list) -> list:
    """`fn` over `items`, `jobs` at a time, results in order."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(fn, items))


def interleaved(configs: list[str], seeds) -> list[tuple[str, int]]:
    """(config, seed) pairs, configurations alternating, so each sees the same load."""
    return [(c, s) for s in seeds for c in configs]


class Workdir:
    """A folder with the seed corpus, the dictionary and a record folder."""

    _lock = threading.Lock()
    _count = itertools.count()

    def __init__(self, root: Path, name: str):
        with self._lock:
            self.path = root / f"{name}-{next(self._count)}"
        self.corpus = self.path / "corpus"
        self.record = self.path / "record"
        for folder in (self.corpus, self.record):
            folder.mkdir(parents=True)
        for sha, data in SEEDS.items():
            (self.corpus / sha).write_bytes(data)
        self.dict = self.path / "insert_pfn.dict"
        self.dict.write_text(dictionary(TARGET.schema))

    def flags(self, seed: int) -> list[str]:
        options = farm_options(TARGET)
        return [f"-seed={seed}", f"-dict={self.dict}", f"-max_len={options.max_len}",
                f"-timeout={options.timeout}", "-print_final_stats=1",
                f"-artifact_prefix={self.path}/", "-rss_limit_mb=4096"]

    def env(self, config: tuple[str, str] | None, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FUZZPLUG_")}
        env["FUZZPLUG_RECORD"] = str(self.record)
        if config is not None:
            env["FUZZPLUG_FEEDBACK"], env["FUZZPLUG_MUTATOR"] = config[:2]
            if len(config) > 2:
                env["FUZZPLUG_REPLAY"] = config[2]
        env.update(extra)
        return env


def run_libfuzzer(script: Path, args: list[str], env: dict, cwd: Path,
                  timeout: float = 3600) -> tuple[str, float]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(script), *args], env=env, cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return proc.stdout.decode("utf-8", "replace"), time.monotonic() - started


# --- 1. exec/s --------------------------------------------------------------------------------

def calibrate(root: Path, script: Path, config, seconds: float) -> int:
    """-runs=N so that a run of `script` lasts about `seconds` (from a short probe)."""
    probe = max(200, int(seconds * 250)) if script != NOOP else int(seconds * 250_000)
    work = Workdir(root, "calibrate")
    _, t1 = run_libfuzzer(script, [str(work.corpus), "-runs=1", *work.flags(1)],
                          work.env(config), work.path)
    work = Workdir(root, "calibrate")
    _, tn = run_libfuzzer(script, [str(work.corpus), f"-runs={probe}", *work.flags(1)],
                          work.env(config), work.path)
    rate = probe / max(tn - t1, 0.05)
    return max(1000, int(rate * seconds))


def bench_exec(root: Path, cfg: dict, configs: list[str]) -> dict:
    """exec/s of every configuration and of the no-op harness; see the module docstring."""
    subjects = {name: (HARNESS, CONFIGS[name]) for name in configs}
    if DEFAULT in configs:
        subjects.update({name: (HARNESS, c) for name, c in EXTRA_EXEC.items()})
    subjects["noop"] = (NOOP, None)
    runs = {name: calibrate(root, script, config, cfg["exec_seconds"])
            for name, (script, config) in subjects.items()}
    log("exec/s: runs per measurement " + ", ".join(f"{k} {v:,}" for k, v in runs.items()))
    rates: dict[str, list[float]] = {name: [] for name in subjects}
    for rep in range(cfg["exec_reps"]):
        for name, (script, config) in subjects.items():  # one at a time: no contention
            walls = {}
            for n in (1, runs[name]):
                work = Workdir(root, f"exec-{name}")
                _, walls[n] = run_libfuzzer(script, [str(work.corpus), f"-runs={n}",
                                                     *work.flags(seed=rep + 1)],
                                            work.env(config), work.path)
            rates[name].append((runs[name] - 1) / max(walls[runs[name]] - walls[1], 1e-6))
            log(f"exec/s {name} rep {rep}: {rates[name][-1]:,.0f}")
    noop = statistics.median(rates["noop"])
    out = {"noop_exec_per_s": noop, "runs": runs, "reps": cfg["exec_reps"], "modes": {}}
    for name, samples in rates.items():
        if name == "noop":
            continue
        med = statistics.median(samples)
        ratios = [s / n for s, n in zip(samples, rates["noop"])]
        out["modes"][name] = {"exec_per_s": med, "min": min(samples), "max": max(samples),
                              "samples": samples, "ratio": med / noop,
                              "ratio_min": min(ratios), "ratio_max": max(ratios)}
    out["uninstrumented_exec_per_s"] = uninstrumented_rate()
    return out


def uninstrumented_rate(reps: int = 3, n: int = 3000) -> dict:
    """Decode and evaluate (and, for semantic feedback, compute the features) in this
    process, no atheris, no libFuzzer: the work itself; with the fast evaluation
    (`TARGET.evaluate`, the default, and `TARGET.features`) and with the readable
    reference (`reference_evaluate`, `features.features`); and both on the last pair of
    the chain (`FIX_PAIR`: the two fixes' models under their rules; `pair ...`). Two mixes
    of `n` inputs, each input evaluated once per round: the seeds and random bytes, and
    `mutated`: inputs the op mutator makes from the seeds, generation after generation
    (the longer sequences libFuzzer runs). Each fast variant has its own
    `FastEvaluation`, started afresh each round (`clear`: no scene or plan kept from an
    earlier round); the variants alternate every 100 inputs so all see the same load; the
    best of `reps` rounds. Timed in this process's CPU time (`time.process_time`), which
    other work on the machine disturbs far less than the wall clock."""
    from fuzzplug.targets.insert_pfn import features as readable
    from fuzzplug.targets.insert_pfn import target as insert_pfn
    from fuzzplug.targets.insert_pfn.fast import FastEvaluation

    rng = random.Random(1)
    seeds = list(SEEDS.values())
    mixes = {"": seeds + [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 120)))
                          for _ in range(n - len(seeds))],
             "mutated ": mutated_inputs(rng, n)}
    features = features_of(TARGET)
    paired = TARGET.with_pair(*FIX_PAIR)
    fast = {name: FastEvaluation(insert_pfn)
            for name in ("evaluate", "evaluate+features", "pair evaluate")}

    def fast_evaluate(name, target):
        evaluation = fast[name]
        return lambda ops: evaluation.evaluate(target.pre_model, target.post_model,
                                               target.rule_names, ops)

    variants = {
        "evaluate": (fast_evaluate("evaluate", TARGET), None),
        "evaluate+features": (fast_evaluate("evaluate+features", TARGET), features),
        "reference": (TARGET.reference_evaluate, None),
        "reference+features": (TARGET.reference_evaluate,
                               lambda ops, o: readable.features(TARGET.schema, ops, o)),
        "pair evaluate": (fast_evaluate("pair evaluate", paired), None),
        "pair reference": (paired.reference_evaluate, None),
    }
    out = {"clock": "process_time", "pair": "..".join(FIX_PAIR)}
    for mix, inputs in mixes.items():
        best = dict.fromkeys(variants, math.inf)
        for _ in range(reps):
            spent = dict.fromkeys(variants, 0.0)
            for evaluation in fast.values():
                evaluation.clear()
            for i in range(0, len(inputs), 100):  # variants alternate every 100 inputs
                chunk = inputs[i:i + 100]
                for name, (evaluate, feats) in variants.items():
                    t0 = time.process_time()
                    for data in chunk:
                        ops = decode(TARGET.schema, data)
                        outcome = evaluate(ops)
                        if feats is not None:
                            set(feats(ops, outcome))
                    spent[name] += time.process_time() - t0
            for name in variants:
                best[name] = min(best[name], spent[name])
        for name in variants:
            out[mix + name] = len(inputs) / best[name]
    return out


def mutated_inputs(rng: random.Random, n: int) -> list[bytes]:
    """`n` inputs as the op mutator makes them from the seeds, generation after generation."""
    from fuzzplug.engines.mutator import OpMutator

    domain = domain_for(TARGET)
    mutator = OpMutator(TARGET.schema, None, domain.calls(), domain.scenes)
    # libFuzzer keeps a few of its inputs in the corpus
    return mutator.generations(list(SEEDS.values()), n, rng, keep=0.05)


# --- 2. exec/s by sequence length ----------------------------------------------------------------

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
        ops = decode(TARGET.schema, path.read_bytes())
        assert len(ops) == length
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < 0.3:
            TARGET.evaluate(ops)
            count += 1
        runs = max(200, int(cfg["length_seconds"] * count / 0.3))  # a run of seconds
        times = {}
        for n in (1, runs):  # the same input every run: evaluated each time, not replayed
            _, times[n] = run_libfuzzer(HARNESS, [f"-runs={n}", str(path)],
                                        work.env(CONFIGS[DEFAULT], FUZZPLUG_REPLAY="0"),
                                        work.path)
        per_exec = (times[runs] - times[1]) / (runs - 1)
        out[str(length)] = {"exec_per_s": 1 / per_exec if per_exec > 0 else None,
                            "bytes": path.stat().st_size, "runs": runs}
        log(f"length {length}: {out[str(length)]['exec_per_s'] or 0:.0f} exec/s")
    return out


# --- 3. time to each signature -------------------------------------------------------------------

def timed_run(root: Path, config: str, seed: int, seconds: int, **extra: str) -> dict:
    """One harness run of `seconds`; the first time each recording appeared, from the
    launch, and the start-up (launch to libFuzzer's INITED line)."""
    work = Workdir(root, f"run-{config}-{seed}")
    cmd = [sys.executable, str(HARNESS), str(work.corpus), f"-max_total_time={seconds}",
           *work.flags(seed)]
    log_path = work.path / "libfuzzer.log"
    first: dict[str, float] = {}
    startup = None
    started = time.monotonic()
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(cmd, env=work.env(CONFIGS[config], **extra), cwd=work.path,
                                stdout=out, stderr=subprocess.STDOUT)
        while True:
            done = proc.poll() is not None
            now = time.monotonic() - started
            if startup is None and b"INITED" in log_path.read_bytes():
                startup = now
            for path in work.record.glob("*.bin"):
                first.setdefault(path.name.split(".")[0], now)
            if done:
                break
            time.sleep(0.1)
    named = {}
    for sig_id, when in first.items():
        for path in work.record.glob(f"{sig_id}.*.bin"):
            named[TARGET.evaluate(decode(TARGET.schema, path.read_bytes())).signature] = when
            break
    text = log_path.read_bytes()[-20000:].decode("utf-8", "replace")
    execs = _EXECS.search(text)
    return {"config": config, "seed": seed, "first": named, "startup": startup or 0.0,
            "execs": int(execs.group(1)) if execs else None, "corpus": str(work.corpus)}


def feature_census(corpus: Path) -> dict:
    """The features the default configuration's corpus reaches, and how many of them share
    a counter with another (collisions of the mapping)."""
    features = features_of(TARGET)
    seen: set = set()
    inputs = [p for p in corpus.iterdir() if p.is_file()]
    for path in inputs:
        ops = decode(TARGET.schema, path.read_bytes())
        seen.update(features(ops, TARGET.evaluate(ops)))
    slots = {counter_of(f) for f in seen}
    return {"inputs": len(inputs), "features": len(seen), "counters_hit": len(slots),
            "sharing": len(seen) - len(slots), "block": COUNTERS}


def bench_ttff(root: Path, cfg: dict, configs: list[str]) -> dict:
    pairs = interleaved(configs, range(1, cfg["seeds"] + 1))
    runs = parallel(cfg["jobs"], lambda p: timed_run(root, p[0], p[1], cfg["ttff_seconds"],
                                                     FUZZPLUG_NO_KNOWN="1"), pairs)
    for r in runs:
        log(f"ttff {r['config']} seed {r['seed']}: {len(r['first'])} signatures, "
            f"{r['execs']} execs")
    known = set(TARGET.known_findings())
    sigs = sorted(set().union(*(r["first"] for r in runs)))
    table = []
    for sig in sigs:
        row = {"signature": sig, "known": sig in known, "modes": {}}
        for config in configs:
            mine = [r for r in runs if r["config"] == config]
            times = [r["first"].get(sig) for r in mine]
            net = [None if t is None else max(t - r["startup"], 0.0)
                   for t, r in zip(times, mine)]
            row["modes"][config] = {"median_s": median_or_never(times),
                                    "median_net_s": median_or_never(net),
                                    "found_in": sum(t is not None for t in times)}
        table.append(row)
    sort_key = DEFAULT if DEFAULT in configs else configs[0]
    table.sort(key=lambda r: (r["modes"][sort_key]["median_s"], r["signature"]))
    out = {"seconds_per_run": cfg["ttff_seconds"], "seeds": cfg["seeds"],
           "signatures": table,
           "per_mode": {c: {"signatures_median": statistics.median(
               [len(r["first"]) for r in runs if r["config"] == c]),
               "startup_median_s": statistics.median(
               [r["startup"] for r in runs if r["config"] == c]),
               "execs_median": statistics.median(
               [r["execs"] or 0 for r in runs if r["config"] == c])} for c in configs}}
    if BASELINE in configs and DEFAULT in configs:
        out["goal"] = speedup(table, DEFAULT, BASELINE)
    if DEFAULT in configs:
        seed1 = next(r for r in runs if r["config"] == DEFAULT)
        out["features"] = feature_census(Path(seed1["corpus"]))
    return out


def speedup(table: list[dict], new: str, old: str) -> dict:
    """For each signature the old configuration finds (finite median), the ratio of the
    medians old/new, from the launch and net of the start-up; the goal is >= 3 for all."""
    rows = []
    for r in table:
        a, b = r["modes"][old], r["modes"][new]
        if math.isinf(a["median_s"]):
            continue
        rows.append({"signature": r["signature"],
                     "ratio": a["median_s"] / b["median_s"] if b["median_s"] else math.inf,
                     "ratio_net": (a["median_net_s"] / b["median_net_s"]
                                   if b["median_net_s"] else math.inf)})
    return {"old_finds": len(rows),
            "at_least_3x": sum(1 for r in rows if r["ratio"] >= 3),
            "at_least_3x_net": sum(1 for r in rows if r["ratio_net"] >= 3),
            "new_finds_not_old": sum(1 for r in table if math.isinf(r["modes"][old]["median_s"])
                                     and not math.isinf(r["modes"][new]["median_s"])),
            "rows": rows}


# --- 4. mutants killed per mode ------------------------------------------------------------------

def bench_kills(cfg: dict, configs: list[str], mutants) -> dict:
    pairs = [(c, m) for m in mutants for c in configs]

    def one(pair):
        config, mutant = pair
        feedback, mutator = CONFIGS[config]
        run = run_mutant(TARGET, mutant, budget=cfg["kill_budget"], seed=1, seeds=SEEDS,
                         feedback=feedback, mutator=mutator)
        killed = run.status in (Status.KILLED, Status.CRASHED)
        return config, mutant, run.seconds if killed else None, run.startup

    results = parallel(cfg["jobs"], one, pairs)
    rows = {}
    for config, mutant, seconds, startup in results:
        row = rows.setdefault(mutant.name, {"mutant": mutant.name, "kind": _kind(mutant),
                                            "modes": {}})
        row["modes"][config] = seconds
    counted = [r for r in rows.values() if r["kind"] != "equivalent"]
    killed = {c: sum(1 for r in counted if r["modes"][c] is not None) for c in configs}
    log("kills: " + ", ".join(f"{c} {killed[c]}/{len(counted)}" for c in configs))
    return {"budget_s": cfg["kill_budget"], "seed": 1, "mutants": list(rows.values()),
            "killed": killed, "counted": len(counted)}


def _kind(mutant) -> str:
    return "equivalent" if mutant.equivalent else "gap" if mutant.gap else "mutant"


# --- 5. the deepest mutants ------------------------------------------------------------------------

def bench_deep(cfg: dict, configs: list[str]) -> dict:
    by_name = {m.name: m for m in MUTANTS}
    triples = [(c, name, s) for s in range(1, cfg["seeds"] + 1) for name in DEEP_MUTANTS
               for c in configs]

    def one(triple):
        config, name, seed = triple
        feedback, mutator = CONFIGS[config]
        run = run_mutant(TARGET, by_name[name], budget=cfg["deep_budget"], seed=seed,
                         seeds=SEEDS, feedback=feedback, mutator=mutator)
        return config, name, seed, run.seconds if run.status is Status.KILLED else None

    results = parallel(cfg["jobs"], one, triples)
    out = {"budget_s": cfg["deep_budget"], "seeds": cfg["seeds"], "mutants": {}}
    for name in DEEP_MUTANTS:
        out["mutants"][name] = {}
        for config in configs:
            times = [t for c, n, _, t in results if c == config and n == name]
            out["mutants"][name][config] = {
                "killed_in": sum(t is not None for t in times), "runs": len(times),
                "median_s": median_or_never(times),
                "times": [None if t is None else round(t, 2) for t in times]}
        log(f"deep {name}: " + ", ".join(
            f"{c} {v['killed_in']}/{v['runs']}" for c, v in out["mutants"][name].items()))
    return out


# --- 6. RSS ----------------------------------------------------------------------------------------

def bench_rss(root: Path, cfg: dict) -> dict:
    work = Workdir(root, "rss")
    rss_log = work.path / "rss.log"
    every = max(cfg["rss_execs"] // 10, 1000)
    out, wall = run_libfuzzer(RSS_HARNESS, [str(work.corpus), f"-runs={cfg['rss_execs']}",
                                            *work.flags(seed=1)],
                              work.env(CONFIGS[DEFAULT], FUZZPLUG_RSS_LOG=str(rss_log),
                                       FUZZPLUG_RSS_EVERY=str(every)), work.path)
    samples = [tuple(map(int, line.split())) for line in rss_log.read_text().splitlines()]
    if not samples:
        raise RuntimeError(f"no RSS samples; libFuzzer said:\n{out[-2000:]}")
    first_mib, last_mib = samples[0][1] / 1024, samples[-1][1] / 1024
    growth = last_mib - first_mib
    execs = _EXECS.search(out)
    return {"executions": int(execs.group(1)) if execs else None, "seconds": wall,
            "config": DEFAULT, "every": every,
            "samples": [{"executions": n, "rss_mib": round(kib / 1024, 1)}
                        for n, kib in samples],
            "first_mib": round(first_mib, 1), "last_mib": round(last_mib, 1),
            "growth_mib": round(growth, 1),
            # a smoke run's few samples are the warm-up (corpus, caches): not judged
            "flat": (growth <= max(5.0, 0.05 * first_mib)
                     if cfg["rss_execs"] >= 500_000 else None)}


# --- 7. other engines --------------------------------------------------------------------------------

def bench_engines(cfg: dict) -> dict:
    budget = cfg["kill_budget"]
    rows = []
    for mutant in MUTANTS:
        hyp = [time_to_kill_hypothesis(TARGET, mutant.name, budget=budget, seed=s)
               for s in range(1, cfg["seeds"] + 1)]
        exh, depth = time_to_kill_exhaustive(TARGET, mutant.name, budget=budget)
        rows.append({"mutant": mutant.name, "kind": _kind(mutant),
                     "hypothesis_s": median_or_never(hyp),
                     "hypothesis_killed_in": sum(t is not None for t in hyp),
                     "exhaustive_s": math.inf if exh is None else exh,
                     "exhaustive_depth": depth})
        log(f"engines {mutant.name}: hypothesis {fmt(rows[-1]['hypothesis_s'])}, "
            f"exhaustive {fmt(rows[-1]['exhaustive_s'])}")
    return {"budget_s": budget, "seeds": cfg["seeds"], "mutants": rows}


# --- the report ------------------------------------------------------------------------------------

def markdown(results: dict) -> str:
    lines = [f"## fuzzplug bench ({results['mode']}, {results['seconds']:.0f} s, load average "
             f"{results['loadavg_start']} at start, {results.get('loadavg_end', '?')} at end)",
             ""]
    ex = results.get("exec")
    if ex:
        lines += [f"exec/s (median of {ex['reps']}, min-max; no-op atheris harness "
                  f"{ex['noop_exec_per_s']:,.0f} exec/s):", "",
                  "| configuration | exec/s | ratio to no-op (goal >= 0.02) |", "|---|---|---|"]
        for name, m in ex["modes"].items():
            lines.append(f"| {name} | {m['exec_per_s']:,.0f} ({m['min']:,.0f}-{m['max']:,.0f}) "
                         f"| {m['ratio']:.4f} ({m['ratio_min']:.4f}-{m['ratio_max']:.4f}) |")
        un = ex["uninstrumented_exec_per_s"]
        lines += ["", f"In-process, no atheris: evaluate {un['evaluate']:,.0f}/s, with the "
                      f"features {un['evaluate+features']:,.0f}/s."]
        if "reference" in un:
            lines += ["", "| in-process evaluations/s | fast (default) | reference | "
                          "fast/reference |", "|---|---|---|---|"]
            for mix, label in (("", "seeds and random inputs"),
                               ("mutated ", "the op mutator's inputs")):
                for what in ("evaluate", "evaluate+features", "pair evaluate"):
                    ref = what.replace("evaluate", "reference")
                    if mix + ref in un:
                        shown = what.replace("pair", un.get("pair", "pair"))
                        lines.append(f"| {shown}, {label} | {un[mix + what]:,.0f} | "
                                     f"{un[mix + ref]:,.0f} | "
                                     f"{un[mix + what] / un[mix + ref]:.2f} |")
    lengths = results.get("lengths")
    if lengths:
        lines += ["", "| calls per input | exec/s (default) |", "|---|---|"]
        for n, row in sorted(lengths.items(), key=lambda item: int(item[0])):
            lines.append(f"| {n} | {row['exec_per_s'] or 0:,.0f} |")
    ttff = results.get("ttff")
    if ttff:
        cs = list(ttff["per_mode"])
        lines += ["", f"Time to each signature, s from launch (net of start-up), median of "
                      f"{ttff['seeds']} seeds of {ttff['seconds_per_run']} s, "
                      "FUZZPLUG_NO_KNOWN=1; found in k of n runs:", "",
                  "| signature | " + " | ".join(cs) + " |", "|---|" + "---|" * len(cs)]
        for r in ttff["signatures"]:
            cells = [f"{fmt(m['median_s'])} ({fmt(m['median_net_s'])}) "
                     f"{m['found_in']}/{ttff['seeds']}" for m in r["modes"].values()]
            lines.append(f"| `{r['signature']}` | " + " | ".join(cells) + " |")
        per = ttff["per_mode"]
        lines += ["", "Per run (median): " + "; ".join(
            f"{c} {per[c]['signatures_median']} signatures, {per[c]['execs_median']:,.0f} "
            f"execs, start-up {per[c]['startup_median_s']:.2f} s" for c in cs)]
        goal = ttff.get("goal")
        if goal:
            lines.append(f"Goal (median time at least 3x shorter than the old harness's, for "
                         f"each of the {goal['old_finds']} signatures it finds): "
                         f"{goal['at_least_3x']} from launch, {goal['at_least_3x_net']} net "
                         f"of start-up; {goal['new_finds_not_old']} signatures found only by "
                         f"the default.")
        feats = ttff.get("features")
        if feats:
            lines.append(f"Features of the default's seed-1 corpus ({feats['inputs']} inputs): "
                         f"{feats['features']} on {feats['counters_hit']} of "
                         f"{feats['block']} counters ({feats['sharing']} share a counter).")
    kills = results.get("kills")
    if kills:
        cs = list(kills["killed"])
        lines += ["", f"Mutants killed at {kills['budget_s']} s, seed {kills['seed']}: " +
                  ", ".join(f"{c} {kills['killed'][c]}/{kills['counted']}" for c in cs)]
    deep = results.get("deep")
    if deep:
        cs = list(next(iter(deep["mutants"].values())))
        lines += ["", f"Deepest mutants: runs that kill within {deep['budget_s']} s "
                      f"(median time to kill), {deep['seeds']} seeds:", "",
                  "| mutant | " + " | ".join(cs) + " |", "|---|" + "---|" * len(cs)]
        for name, per in deep["mutants"].items():
            lines.append(f"| {name} | " + " | ".join(
                f"{v['killed_in']}/{v['runs']} ({fmt(v['median_s'])})" for v in per.values())
                + " |")
    rss = results.get("rss")
    if rss:
        lines += ["", f"RSS over {rss['executions']:,} executions ({rss['config']}, every "
                      f"{rss['every']:,}): {rss['first_mib']} -> {rss['last_mib']} MiB, "
                      f"growth {rss['growth_mib']} MiB ("
                      + {True: "flat", False: "GROWS", None: "warm-up only: not judged"}[
                          rss["flat"]] + ")."]
    engines = results.get("engines")
    if engines:
        lines += ["", "| mutant | hypothesis | exhaustive (depth) |", "|---|---|---|"]
        for r in engines["mutants"]:
            lines.append(f"| {r['mutant']} | {fmt(r['hypothesis_s'])} "
                         f"({r['hypothesis_killed_in']}/{engines['seeds']}) | "
                         f"{fmt(r['exhaustive_s'])} ({r['exhaustive_depth'] or '-'}) |")
    return "\n".join(lines) + "\n"


SEEDS: dict[str, bytes] = {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few minutes")
    parser.add_argument("--only", action="append", choices=PARTS + ("engines",),
                        help="run only these parts (repeatable)")
    parser.add_argument("--configs", help=f"comma-separated, of {', '.join(CONFIGS)}")
    for key, value in FULL.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=int, default=None,
                            help=f"(full: {value}, quick: {QUICK[key]})")
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

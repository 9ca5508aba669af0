"""The bench's parts on speed and memory: 1. `exec` (exec/s of each configuration and of the
no-op harness, and the in-process evaluation rates), 2. `lengths` (exec/s by sequence
length) and 6. `rss` (the harness's memory over a long run); see `bench/run.py`."""

from __future__ import annotations

import math
import random
import statistics
import time
from pathlib import Path

from bench_common import (
    CONFIGS,
    DEFAULT,
    EXTRA_EXEC,
    FIX_PAIR,
    HARNESS,
    NOOP,
    RSS_HARNESS,
    SEEDS,
    TARGET,
    Workdir,
    _EXECS,
    log,
    run_libfuzzer,
)
from fuzzplug.core.opslang import decode, encode
from fuzzplug.core.oracle import Verdict
from fuzzplug.engines.domain import domain_for
from fuzzplug.engines.harness import features_of


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
    from fuzzplug.targets.insert_pfn import reference
    from fuzzplug.targets.insert_pfn.fast import FastEvaluation

    rng = random.Random(1)
    seeds = list(SEEDS.values())
    mixes = {"": seeds + [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 120)))
                          for _ in range(n - len(seeds))],
             "mutated ": mutated_inputs(rng, n)}
    features = features_of(TARGET)
    paired = TARGET.with_pair(*FIX_PAIR)
    fast = {name: FastEvaluation(reference)
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


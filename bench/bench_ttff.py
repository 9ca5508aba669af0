"""The bench's part 3, `ttff`: the time to each signature per configuration, the speed-up over
the old harness, and the features the default configuration reached; see `bench/run.py`."""

from __future__ import annotations

import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_common import (
    BASELINE,
    CONFIGS,
    DEFAULT,
    HARNESS,
    TARGET,
    Workdir,
    _EXECS,
    interleaved,
    log,
    median_or_never,
    parallel,
)
from fuzzplug.core.opslang import decode
from fuzzplug.engines.feedback import COUNTERS, counter_of
from fuzzplug.engines.harness import features_of


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


"""The bench's parts on the self-test's mutants: 4. `kills` (mutants killed per
configuration), 5. `deep` (the deepest mutants) and 7. `engines` (time to kill with the
Hypothesis engine and the exhaustive checker); see `bench/run.py`."""

from __future__ import annotations

import math

from bench_common import (
    CONFIGS,
    DEEP_MUTANTS,
    SEEDS,
    TARGET,
    fmt,
    log,
    median_or_never,
    parallel,
)
from fuzzplug.selftest.runner import (
    Status,
    run_mutant,
    time_to_kill_exhaustive,
    time_to_kill_hypothesis,
)
from fuzzplug.targets.insert_pfn.mutants import MUTANTS


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


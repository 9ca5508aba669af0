"""The bench's report: a run's results (`bench/results.json`) as markdown tables."""

from __future__ import annotations

import races_report
from bench_common import fmt


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
    races = results.get("races")
    if races:
        lines += ["", "Races at speed (`bench/bench_races.py`):", "",
                  races_report.markdown(races).rstrip("\n")]
    return "\n".join(lines) + "\n"


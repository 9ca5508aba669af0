"""What `bench/bench_races.py` reads and writes, apart from running anything: a run's figures
from `fuzzplug fuzz`'s own files (libFuzzer's log, `summary.json`) and the bench's probes (the
inbox's first sightings, the unit-time probe), the causes found over time, the markdown table
(old against new, ratios) and the plot (an SVG written by hand, FuzzBench-style: per
configuration the median number of distinct causes found against time, with the min-max
band over the seeds).

Plain standard library, no fuzzplug import: the test of the parsing and the plot
(`tests/test_bench_races.py`) runs it on a recorded fixture."""

from __future__ import annotations

import json
import math
import re
import statistics
import tomllib
from html import escape
from pathlib import Path

VERSIONS = ("old", "new")
STARTS = ("seeds", "cold")
"""`seeds`: the corpus `fuzz` makes of the target's seed scenarios (an empty --corpus);
`cold`: a corpus holding one trivial input (`load addr=0x100000`)."""
SERIES_PAIR = "v4.13..v4.14"

_STAT = re.compile(r"stat::(\w+):\s*(\d+)")
_SLOWEST = re.compile(r"Slowest unit: (\d+) s:")
_TIMEOUT = re.compile(r"ERROR: libFuzzer: timeout after (\d+) seconds")
_STATUS = re.compile(r"#(\d+)\s+[A-Za-z]+\s.*?exec/s: (\d+)")


# --- reading one run -------------------------------------------------------------------------

def parse_libfuzzer_log(text: str) -> dict:
    """libFuzzer's figures from its output (`fuzz` keeps it as FINDINGS/libfuzzer.log):
    executions, exec/s (`stat::average_exec_per_sec`: executions over the seconds since the
    process started, loading the corpus included), the slowest unit in whole seconds
    (`stat::slowest_unit_time_sec`, which libFuzzer only raises for a unit of at least
    `-report_slow_units` seconds, 10 by default, with a `Slowest unit: N s:` line), peak RSS,
    and a timeout if the run ended at one; without the final stats (a libFuzzer stopped),
    executions and exec/s of its last status line. None where the log does not say."""
    stats = {name: int(value) for name, value in _STAT.findall(text)}
    done = _STATUS.findall(text)  # the last status line, where the final stats are missing
    timeout = _TIMEOUT.search(text)
    return {
        "execs": stats.get("number_of_executed_units",
                           int(done[-1][0]) if done else None),
        "exec_per_s": stats.get("average_exec_per_sec", int(done[-1][1]) if done else None),
        "slowest_unit_s": stats.get("slowest_unit_time_sec"),
        "slow_unit_lines": [int(s) for s in _SLOWEST.findall(text)],
        "peak_rss_mb": stats.get("peak_rss_mb"),
        "timeout_s": int(timeout.group(1)) if timeout else None,
    }


def merge_unit_probes(probes: list[dict]) -> dict | None:
    """The unit-time probe's files of one run (one per harness process) as one: units timed,
    the slowest, how many took over 1 s and over 0.1 s; a unit still running when its
    process ended (`running_s`: stopped by a timeout, or by `fuzz`) counts as one, of at
    least the time the probe saw it run (`unfinished_s`)."""
    if not probes:
        return None
    unfinished = [p.get("running_s", 0) for p in probes if p.get("running_s", 0) > 0]
    return {"units": sum(p["units"] for p in probes) + len(unfinished),
            "max_s": max([p["max_s"] for p in probes] + unfinished),
            "unfinished_s": max(unfinished, default=None),
            "over_1s": sum(p["over_1s"] for p in probes) + len(unfinished),
            "over_100ms": sum(p["over_100ms"] for p in probes),
            "total_s": sum(p["total_s"] for p in probes),
            "fuzzplug": sorted({p.get("fuzzplug") or "?" for p in probes})}


def slowest_unit(run: dict) -> float | None:
    """A run's slowest unit, in seconds: the probe's, or libFuzzer's (whole seconds), or the
    libFuzzer timeout that ended it (the probe never sees a unit libFuzzer killed), the
    largest."""
    lf, probe = run["libfuzzer"], run.get("units") or {}
    values = [probe.get("max_s"), lf.get("slowest_unit_s"), lf.get("timeout_s")]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def read_events(text: str) -> list[dict]:
    """The JSON log lines of `fuzz --log-format json` (its stderr), other lines skipped."""
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and "event" in event:
            events.append(event)
    return events


def candidate_signatures(events: list[dict]) -> dict[str, str]:
    """Candidate file name → the signature its confirmation gave (`candidate_confirmed`
    events of a `fuzz` that confirms the loop's candidates at its end)."""
    return {e["candidate"]: e["signature"] for e in events
            if e["event"] == "candidate_confirmed" and e.get("signature")}


def event_counts(events: list[dict], names=("candidate_confirmed", "candidate_dropped",
                                            "libfuzzer_stopped")) -> dict[str, int]:
    counts = {name: sum(1 for e in events if e["event"] == name) for name in names}
    left = [e.get("candidates", 0) for e in events if e["event"] == "candidates_left"]
    counts["candidates_left"] = sum(left)
    return counts


def findings_with_times(summary: dict, first_seen: dict[str, float], end_s: float,
                        candidates_seen: dict[str, float] | None = None,
                        confirmed: dict[str, str] | None = None) -> list[dict]:
    """Each finding of `summary.json` with its causes (the known causes it matches, or
    `new:<signature>` for a signature the known list does not know) and the time it was
    reached, from the launch of `fuzz`: when its signature id first showed in the run's
    inbox (`first_seen`, by signature id), or, for a signature confirmed from the loop's
    candidates at the end of the run, when the first candidate confirmed to it was written
    (`candidates_seen` by file name, `confirmed`: file name → signature), whichever is
    first; `end_s`, flagged `seen: false`, for one neither showed."""
    by_sig: dict[str, float] = {}
    for name, sig in (confirmed or {}).items():
        if name in (candidates_seen or {}):
            by_sig[sig] = min(by_sig.get(sig, math.inf), candidates_seen[name])
    out = []
    for f in summary.get("findings", []):
        sig_id = f["folder"].rsplit("-", 1)[-1]
        causes = f.get("known_causes") or [f"new:{f['signature']}"]
        times = [t for t in (first_seen.get(sig_id), by_sig.get(f["signature"]))
                 if t is not None]
        seen = bool(times)
        out.append({"signature": f["signature"], "causes": sorted(causes),
                    "t": round(min(times), 2) if seen else round(end_s, 2),
                    "seen": seen, "calls": f.get("calls"), "count": f.get("count")})
    return sorted(out, key=lambda f: (f["t"], f["signature"]))


def cause_times(findings: list[dict]) -> dict[str, float]:
    """Cause → the first time a finding of that cause was reached."""
    first: dict[str, float] = {}
    for f in findings:
        for cause in f["causes"]:
            first[cause] = min(first.get(cause, math.inf), f["t"])
    return first


def two_task_causes(known_toml: Path, pair: str = SERIES_PAIR) -> list[str]:
    """The known causes that only a run of several tasks shows, in `pair`: every op the
    cause shows at is a tasks op (`tasks`, `tasks_load`, `tasks_store`...)."""
    data = tomllib.loads(Path(known_toml).read_text())
    return [c["id"] for c in data.get("cause", [])
            if c.get("ops") and all(op.startswith("tasks") for op in c["ops"])
            and pair in c.get("pairs", [SERIES_PAIR])]


def known_signatures(known_toml: Path, pair: str = SERIES_PAIR) -> dict[str, list[str]]:
    """Signature → causes, as the known list's findings of `pair` name them."""
    try:
        data = tomllib.loads(Path(known_toml).read_text())
    except OSError:
        return {}
    return {f["signature"]: list(f.get("causes", [])) for f in data.get("finding", [])
            if pair in f.get("pairs", [SERIES_PAIR])}


def left_candidate_causes(folder: Path, known: dict[str, list[str]]) -> list[str]:
    """The known causes of the candidates a run left unconfirmed (`FDIR/candidates/`), by
    their provisional signatures (`provisional.*.json`) where the known list names them
    exactly: races the loop reached but the end of the run had no time to confirm."""
    provisional: dict[str, dict] = {}
    for f in sorted(Path(folder).glob("provisional.*.json")):
        try:
            provisional.update(json.loads(f.read_text()))
        except (OSError, ValueError):
            continue
    causes = set()
    for f in Path(folder).glob("candidate-*"):
        entry = provisional.get(f.name[len("candidate-"):].partition("-")[0])
        if isinstance(entry, dict):
            causes.update(known.get(entry.get("signature") or "", []))
    return sorted(causes)


# --- curves ------------------------------------------------------------------------------------

def count_curve(times: list[float], horizon: float) -> list[tuple[float, int]]:
    """The step curve of how many of `times` have passed: (t, n) at 0, at each time, and at
    the horizon."""
    points = [(0.0, 0)]
    for n, t in enumerate(sorted(t for t in times if t <= horizon), start=1):
        points.append((t, n))
    points.append((horizon, points[-1][1]))
    return points


def band(curves: list[list[tuple[float, int]]]) -> list[tuple[float, float, int, int]]:
    """(t, median, min, max) of several step curves, at every time any of them steps."""
    def at(curve, t):
        n = 0
        for when, value in curve:
            if when <= t:
                n = value
        return n
    ts = sorted({t for curve in curves for t, _ in curve})
    out = []
    for t in ts:
        values = [at(c, t) for c in curves]
        out.append((t, statistics.median(values), min(values), max(values)))
    return out


# --- the table ---------------------------------------------------------------------------------

def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _num(value, digits=0) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and math.isinf(value):
        return "never"
    return f"{value:,.{digits}f}"


def _ratio(new, old) -> str:
    if new is None or old is None or old == 0:
        return "n/a"
    return f"{new / old:.2f}x"


def config_runs(results: dict, version: str, start: str, target: str = "dax_fault"):
    return [r for r in results["runs"] if r["version"] == version and r["start"] == start
            and r["target"] == target and not r.get("skipped")]


def config_figures(runs: list[dict], two_task: list[str]) -> dict:
    """The medians of one configuration's runs, and per two-task cause the times by seed."""
    fig = {
        "runs": len(runs),
        "exec_per_s": _median([r["libfuzzer"]["exec_per_s"] for r in runs]),
        "exec_per_s_range": _range([r["libfuzzer"]["exec_per_s"] for r in runs]),
        "slowest_unit_s": max((r["libfuzzer"]["slowest_unit_s"] or 0 for r in runs),
                              default=None),
        "slowest_s": max((slowest_unit(r) or 0 for r in runs), default=None),
        "over_1s": sum((r["units"] or {}).get("over_1s", 0)
                       + (1 if r["libfuzzer"].get("timeout_s") else 0) for r in runs),
        "wall_s": _median([r["wall_s"] for r in runs]),
        "execs_per_wall_s": _median([r["libfuzzer"]["execs"] / r["wall_s"] for r in runs
                                     if r["libfuzzer"]["execs"] is not None]),
        "candidates_written": sum(r.get("candidates_written", 0) for r in runs),
        "candidates_confirmed": sum(r.get("events", {}).get("candidate_confirmed", 0)
                                    for r in runs),
        "candidates_dropped": sum(r.get("events", {}).get("candidate_dropped", 0)
                                  for r in runs),
        "candidates_left": sum(r.get("events", {}).get("candidates_left", 0) for r in runs),

        "causes": _median([len(cause_times(r["findings"])) for r in runs]),
        "timeouts": sum(1 for r in runs if r["libfuzzer"].get("timeout_s")),
        "crashed": sum(1 for r in runs if r.get("crash_files")),
        "stopped_by_fuzz": sum(1 for r in runs if r.get("stopped_by_fuzz")),
        "two_task": {},
    }
    for cause in two_task:
        times = [cause_times(r["findings"]).get(cause) for r in runs]
        fig["two_task"][cause] = {"times": times,
                                  "found": sum(t is not None for t in times),
                                  "left": sum(1 for r, t in zip(runs, times) if t is None
                                              and cause in r.get("left_causes", [])),
                                  "median": statistics.median(
                                      [math.inf if t is None else t for t in times])
                                  if times else None}
    return fig


def _range(values):
    values = [v for v in values if v is not None]
    return (min(values), max(values)) if values else None


def markdown(results: dict) -> str:
    """The tables of a run: per start, old and new side by side with new/old ratios; the time
    to each two-task cause; the reference line of insert_pfn."""
    two_task = results["two_task_causes"]
    lines = [f"`fuzzplug fuzz dax_fault --no-known --seed N --time {results['seconds']}`, "
             f"seeds {', '.join(map(str, results['seeds']))}; old = {results['old']['ref']} "
             f"({results['old']['commit'][:7]}), new = {results['new']['commit'][:7]}"
             f"{' with uncommitted changes' if results['new'].get('dirty') else ''}; "
             f"load average {results['loadavg_start']} at the start, "
             f"{results['loadavg_end']} at the end, {results['cpus']} CPUs.", ""]
    lines += ["| figure (median over the seeds) | old, seeds | new, seeds | new/old "
              "| old, cold | new, cold | new/old |", "|---|---|---|---|---|---|---|"]
    figs = {(v, s): config_figures(config_runs(results, v, s), two_task)
            for v in VERSIONS for s in STARTS}

    def row(label, key, digits=0, ratio=True):
        cells = []
        for s in STARTS:
            old, new = figs["old", s][key], figs["new", s][key]
            cells += [_num(old, digits), _num(new, digits)]
            cells.append(_ratio(new, old) if ratio else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("runs", "runs", ratio=False)
    row("libFuzzer exec/s", "exec_per_s")
    lines.append("| exec/s, min-max | " + " | ".join(
        c for s in STARTS for c in (_span(figs["old", s]["exec_per_s_range"]),
                                    _span(figs["new", s]["exec_per_s_range"]), "")) + " |")
    row("libFuzzer's slowest unit, s (max over runs; 0: none of 10 s or more)",
        "slowest_unit_s", ratio=False)
    row("slowest unit, s (max over runs: the probe's, libFuzzer's or a timeout)",
        "slowest_s", 2, ratio=False)
    row("units over 1 s (all runs; a timeout counts one)", "over_1s", ratio=False)
    row("runs ended by a libFuzzer timeout", "timeouts", ratio=False)
    row("runs with a file in FINDINGS/crashes (a slow unit, a timeout, a crash)", "crashed",
        ratio=False)
    row("wall time of the command, s", "wall_s", 1)
    row("executions per second of the command's wall time", "execs_per_wall_s")
    row("runs whose libFuzzer `fuzz` stopped at its share of --time", "stopped_by_fuzz",
        ratio=False)
    row("candidates written by the loop (all runs)", "candidates_written", ratio=False)
    lines.append("| candidates confirmed / dropped / left unconfirmed at the end (all runs) | "
                 + " | ".join(c for st in STARTS for c in (
                     *(f"{figs[v, st]['candidates_confirmed']} / "
                       f"{figs[v, st]['candidates_dropped']} / "
                       f"{figs[v, st]['candidates_left']}" for v in VERSIONS), "")) + " |")
    row("distinct causes found", "causes", 1)
    goals = []
    for st in STARTS:
        old, new = figs["old", st]["exec_per_s"], figs["new", st]["exec_per_s"]
        if old and new is not None:
            where = "the seeds" if st == "seeds" else "cold"
            goals.append(f"from {where}, new/old exec/s {new / old:.2f} "
                         f"({'met' if new >= 3 * old else 'not met'})")
    over = sum(figs["new", st]["over_1s"] for st in STARTS)
    slowest = max((figs["new", st]["slowest_s"] or 0) for st in STARTS)
    goals.append(f"new's units over 1 s: {over} ({'met' if over == 0 else 'not met'}; "
                 f"slowest {_num(slowest, 2)} s)")
    lines += ["", "Goals (exec/s at least 3x the old's; no unit over 1 s): " + "; ".join(goals)
              + "."]
    lines += ["", "| time to the two-task cause, s from the launch (found in / runs; median, "
              "a miss counting as never) | old, seeds | new, seeds | old, cold | new, cold |",
              "|---|---|---|---|---|"]
    for cause in two_task:
        cells = []
        for s in STARTS:
            for v in VERSIONS:
                f = figs[v, s]
                t = f["two_task"][cause]
                times = ", ".join(_num(x, 1) if x is not None else "-" for x in t["times"])
                left = f", +{t['left']} left unconfirmed" if t.get("left") else ""
                cells.append(f"{t['found']}/{f['runs']}: {_num(t['median'], 1)} ({times})"
                             f"{left}")
        lines.append(f"| `{cause}` | {cells[0]} | {cells[1]} | {cells[2]} | {cells[3]} |")
    ref = [r for r in results["runs"] if r["target"] != "dax_fault" and not r.get("skipped")]
    if ref:
        lines += ["", "| reference: `fuzz insert_pfn --no-known --seed N --time T`, from the "
                  "seeds | exec/s | libFuzzer's slowest unit, s | probe's slowest unit, s | "
                  "wall, s |", "|---|---|---|---|---|"]
        for r in ref:
            probe = r.get("units") or {}
            lines.append(f"| {r['version']}, seed {r['seed']}, T={r['seconds']} | "
                         f"{_num(r['libfuzzer']['exec_per_s'])} | "
                         f"{_num(r['libfuzzer']['slowest_unit_s'])} | "
                         f"{_num(probe.get('max_s'), 3)} | {_num(r['wall_s'], 1)} |")
    skipped = [r for r in results["runs"] if r.get("skipped")]
    if skipped:
        lines += ["", f"Not run (past the deadline): {len(skipped)} runs."]
    return "\n".join(lines) + "\n"


def _span(r) -> str:
    return "n/a" if r is None else f"{r[0]:,}-{r[1]:,}"


# --- the plot ----------------------------------------------------------------------------------

COLOURS = {("old", "seeds"): "#d95f02", ("old", "cold"): "#e6ab02",
           ("new", "seeds"): "#1b9e77", ("new", "cold"): "#7570b3"}
W, H, LEFT, RIGHT, TOP, BOTTOM = 640, 300, 56, 170, 34, 44


def panel_series(results: dict, only: list[str] | None = None) -> dict:
    """(version, start) → the band of distinct causes found against time over the seeds
    (only the causes in `only`, if given)."""
    horizon = plot_horizon(results)
    out = {}
    for v in VERSIONS:
        for s in STARTS:
            runs = config_runs(results, v, s)
            if not runs:
                continue
            curves = []
            for r in runs:
                times = cause_times(r["findings"])
                curves.append(count_curve([t for c, t in times.items()
                                           if only is None or c in only], horizon))
            out[v, s] = band(curves)
    return out


def plot_horizon(results: dict) -> float:
    """The x axis' end: --time, or the last finding if later (a slow unit or the start-up
    can carry the fuzzing past --time from the launch), up to a multiple of 10 s."""
    last = max([results["seconds"]] + [f["t"] for r in results["runs"] if not r.get("skipped")
                                       and r["target"] == "dax_fault" for f in r["findings"]
                                       if f["seen"]])
    return float(math.ceil(last / 10) * 10)


def svg(results: dict) -> str:
    """The plot: two panels (every distinct cause; the two-task causes), one median line and
    min-max band per configuration (old/new x seeds/cold), x in seconds from the launch."""
    horizon = plot_horizon(results)
    panels = [("distinct causes found", panel_series(results)),
              ("two-task causes found", panel_series(results, results["two_task_causes"]))]
    total_h = H * len(panels)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{total_h}" '
           f'viewBox="0 0 {W} {total_h}" font-family="sans-serif" font-size="11">',
           f'<rect width="{W}" height="{total_h}" fill="white"/>']
    for i, (title, series) in enumerate(panels):
        out += _panel(title, series, horizon, i * H, len(results["seeds"]), results["seconds"])
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _panel(title: str, series: dict, horizon: float, y0: float, n_seeds: int,
           budget: float) -> list[str]:
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    ymax = max([1] + [hi for b in series.values() for _, _, _, hi in b])

    def x(t):
        return LEFT + pw * min(t, horizon) / horizon

    def y(n):
        return y0 + TOP + ph * (1 - n / ymax)

    seeds = f"{n_seeds} seed" + ("s" if n_seeds != 1 else "")
    out = [f'<text x="{LEFT}" y="{y0 + 20}" font-size="13">{escape(title)}: median and '
           f'min-max over {seeds}</text>',
           f'<rect x="{LEFT}" y="{y0 + TOP}" width="{pw}" height="{ph}" fill="none" '
           f'stroke="#888"/>',
           f'<line x1="{x(budget):.1f}" x2="{x(budget):.1f}" y1="{y0 + TOP}" '
           f'y2="{y0 + TOP + ph}" stroke="#888" stroke-dasharray="2,2"/>',
           f'<text x="{x(budget) - 3:.1f}" y="{y0 + TOP + 12}" text-anchor="end" '
           f'fill="#666">--time</text>']
    for k in range(6):
        t = horizon * k / 5
        out.append(f'<text x="{x(t):.1f}" y="{y0 + TOP + ph + 16}" text-anchor="middle">'
                   f'{t:g}</text>')
    out.append(f'<text x="{LEFT + pw / 2}" y="{y0 + TOP + ph + 32}" text-anchor="middle">'
               f'seconds from the launch of fuzz</text>')
    step = max(1, math.ceil(ymax / 6))
    for n in range(0, ymax + 1, step):
        out.append(f'<text x="{LEFT - 6}" y="{y(n) + 4:.1f}" text-anchor="end">{n}</text>')
        out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y(n):.1f}" y2="{y(n):.1f}" '
                   f'stroke="#eee"/>')
    order = [(v, s) for s in STARTS for v in VERSIONS if (v, s) in series]
    for j, (v, s) in enumerate(order):
        b = series[v, s]
        colour = COLOURS[v, s]
        upper = _steps([(t, hi) for t, _, _, hi in b], x, y)
        lower = _steps([(t, lo) for t, _, lo, _ in b], x, y)
        out.append(f'<polygon class="band" points="{upper} {_reverse(lower)}" '
                   f'fill="{colour}" fill-opacity="0.18" stroke="none"/>')
        dash = ' stroke-dasharray="5,3"' if s == "cold" else ""
        out.append(f'<polyline class="median" data-config="{v}-{s}" '
                   f'points="{_steps([(t, m) for t, m, _, _ in b], x, y)}" fill="none" '
                   f'stroke="{colour}" stroke-width="2"{dash}/>')
        ly = y0 + TOP + 14 + 18 * j
        out.append(f'<line x1="{W - RIGHT + 12}" x2="{W - RIGHT + 36}" y1="{ly - 4}" '
                   f'y2="{ly - 4}" stroke="{colour}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{W - RIGHT + 42}" y="{ly}">{v}, from {s}</text>')
    return out


def _steps(points: list[tuple[float, float]], x, y) -> str:
    """A step line through `points` (a value holds until the next time)."""
    out, last = [], None
    for t, n in points:
        if last is not None:
            out.append(f"{x(t):.1f},{y(last):.1f}")
        out.append(f"{x(t):.1f},{y(n):.1f}")
        last = n
    return " ".join(out)


def _reverse(points: str) -> str:
    return " ".join(reversed(points.split()))


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text())

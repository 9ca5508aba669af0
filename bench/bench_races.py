#!/usr/bin/env python3
"""Races at speed: `fuzzplug fuzz dax_fault` as a user runs it, the code of a git ref (`old`,
default BASELINE_REF) against this checkout (`new`), in one run; the bench's part `races`
(`bench/run.py --only races`), or this script alone.

Each run is the user's command, `python -m fuzzplug fuzz dax_fault --no-known --seed N
--time T` (with its own --corpus and --findings folders), in a folder of its own:

- `seeds`: the corpus folder empty, so `fuzz` fills it with the version's seed scenarios;
  `cold`: the corpus folder holding one trivial input, `load addr=0x100000` as the version's
  own `fuzzplug encode` writes it;
- `old` runs the files of the ref (`git archive REF`, unpacked in a temporary folder) with
  this venv's interpreter and the folder first on PYTHONPATH (no install, no network); each
  version's run checks which `fuzzplug` it imports before it starts;
- seeds 1..N, configurations interleaved (seed by seed, old and new alternating) and run
  `--jobs` (2) at a time, so both versions see the same load; a run not started by
  `--deadline` is not run (the table says how many).

Measured per run: libFuzzer's own figures from its log (exec/s, executions, the slowest unit,
a timeout), the wall time of the command, each finding's causes (its `summary.json`: the
known causes it matches, or `new:<signature>`) and the time it was reached: when its
signature's input first appears in the run's inbox (`FINDINGS/.inbox-<pid>/<signature
id>.<pid>.bin`, which the harness writes at a signature's first hit), polled every 0.2 s,
from the launch of the command. And the unit-time probe (`bench/unit_probe/`): each unit's
time in the harness, since libFuzzer's slowest unit is in whole seconds and only from 10 s.
Also one run of `fuzz insert_pfn` per version from its seeds, for reference.

Writes the results (JSON), prints the tables (`races_report.markdown`) and writes the plot
(`races_report.svg`); `--render FILE` does the last two for an earlier run's JSON.
"""

from __future__ import annotations

import argparse
import calendar
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import races_report

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "bench" / "unit_probe"
BASELINE_REF = "d6aaf96"
"""The old code by default: main before the race work (schedules, budgets), whose
`fuzz dax_fault` the issue of races at speed measured."""
RESULTS = ROOT / "bench" / "races.json"
PLOT = ROOT / "docs" / "img" / "race-causes.svg"
TRIVIAL = "load addr=0x100000\n"
POLL_S = 0.2
KNOWN = Path("fuzzplug") / "targets" / "dax_fault" / "known.toml"


def log(message: str) -> None:
    sys.stderr.write(f"[bench races {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, text=True,
                          stdout=subprocess.PIPE).stdout.strip()


class Version:
    """The code a configuration runs: its tree, commit, and environment."""

    def __init__(self, name: str, tree: Path, commit: str, ref: str | None, dirty=False):
        self.name, self.tree, self.commit, self.ref, self.dirty = name, tree, commit, ref, dirty
        self.imports: str | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FUZZPLUG_")}
        # the version's tree first, the checkout's too: whatever the venv's install maps
        env["PYTHONPATH"] = os.pathsep.join([str(PROBE), str(self.tree)])
        env.update(extra)
        return env

    def fuzzplug(self, *args: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "fuzzplug", *args], cwd=cwd,
                              env=self.env(**extra), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)

    def check_imports(self, cwd: Path) -> str:
        """The folder `fuzzplug` is imported from, which must be this version's tree."""
        proc = subprocess.run([sys.executable, "-c", "import fuzzplug; print(fuzzplug.__file__)"],
                              cwd=cwd, env=self.env(), stdout=subprocess.PIPE, text=True,
                              check=True)
        found = Path(proc.stdout.strip()).resolve()
        if not found.is_relative_to(self.tree.resolve()):
            raise SystemExit(f"bench races: {self.name} imports {found}, not {self.tree}")
        return str(found)

    def to_json(self) -> dict:
        return {"ref": self.ref, "commit": self.commit, "tree": str(self.tree),
                "dirty": self.dirty, "imports": self.imports}


def prepare(root: Path, old_ref: str) -> dict[str, Version]:
    """The two versions: `old_ref`'s files unpacked under `root`, and this checkout."""
    commit = git("rev-parse", "--verify", f"{old_ref}^{{commit}}")
    tree = root / "old-tree"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit],
                             stdout=subprocess.PIPE, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    versions = {"old": Version("old", tree, commit, old_ref),
                "new": Version("new", ROOT, git("rev-parse", "HEAD"), None, dirty)}
    for v in versions.values():
        v.imports = v.check_imports(root)
        log(f"{v.name}: {v.commit[:10]} imports {v.imports}")
    return versions


def trivial_input(version: Version, root: Path) -> bytes:
    """`load addr=0x100000` in the version's binary form."""
    text = root / f"trivial-{version.name}.ops"
    text.write_text(TRIVIAL)
    out = root / f"trivial-{version.name}.bin"
    proc = version.fuzzplug("encode", "dax_fault", str(text), "-o", str(out), cwd=root)
    if proc.returncode != 0:
        raise SystemExit(f"bench races: {version.name} encode failed: {proc.stderr.strip()}")
    return out.read_bytes()


def run_one(root: Path, version: Version, target: str, start: str, seed: int,
            seconds: int, trivial: bytes | None) -> dict:
    """One `fuzz` run (see the module docstring) and what it measured."""
    known_signatures = races_report.known_signatures(
        version.tree / "fuzzplug" / "targets" / target / "known.toml")
    folder = root / f"{target}-{version.name}-{start}-{seed}"
    corpus, findings, units = folder / "corpus", folder / "findings", folder / "units"
    corpus.mkdir(parents=True)
    if start == "cold":
        (corpus / "trivial").write_bytes(trivial)
    cmd = [sys.executable, "-m", "fuzzplug", "--log-format", "json", "fuzz", target,
           "--no-known", "--seed", str(seed), "--time", str(seconds),
           "--corpus", str(corpus), "--findings", str(findings)]
    first: dict[str, float] = {}
    candidates: dict[str, float] = {}
    inited = None
    log(f"start {target} {version.name} {start} seed {seed}")
    started = time.monotonic()
    with open(folder / "stdout.txt", "wb") as out, open(folder / "stderr.jsonl", "wb") as err:
        proc = subprocess.Popen(cmd, cwd=folder, env=version.env(FUZZPLUG_BENCH_UNITS=str(units)),
                                stdout=out, stderr=err)
        while True:
            done = proc.poll() is not None
            now = time.monotonic() - started
            for path in findings.glob(".inbox-*/*.bin"):
                first.setdefault(path.name.split(".")[0], now)
            for path in findings.glob(".inbox-*/candidates/candidate-*"):
                candidates.setdefault(path.name, now)
            if inited is None:
                try:
                    if b"INITED" in (findings / "libfuzzer.log").read_bytes():
                        inited = now
                except OSError:
                    pass
            if done:
                break
            time.sleep(POLL_S)
    wall = time.monotonic() - started
    try:
        summary = json.loads((findings / "summary.json").read_text())
    except (OSError, ValueError):
        summary = {}
    try:
        lf_text = (findings / "libfuzzer.log").read_text(errors="replace")
    except OSError:
        lf_text = ""
    probes = [json.loads(p.read_text()) for p in sorted(units.glob("units.*.json"))]
    events = races_report.read_events((folder / "stderr.jsonl").read_text(errors="replace"))
    result = {
        "target": target, "version": version.name, "start": start, "seed": seed,
        "seconds": seconds, "exit_status": proc.returncode, "wall_s": round(wall, 2),
        "inited_s": None if inited is None else round(inited, 2),
        "libfuzzer": races_report.parse_libfuzzer_log(lf_text),
        "units": races_report.merge_unit_probes(probes),
        "pair": summary.get("pair"),
        "libfuzzer_exit": summary.get("exit_status"),
        "stopped_by_fuzz": bool(summary.get("libfuzzer_stopped_by_fuzz")),
        "crash_files": len(summary.get("crash_files", [])),
        "left_causes": races_report.left_candidate_causes(findings / "candidates",
                                                          known_signatures),
        "findings": races_report.findings_with_times(
            summary, first, wall, candidates, races_report.candidate_signatures(events)),
        "candidates_written": len(candidates),
        "events": races_report.event_counts(events),
        "summary_line": summary.get("summary_line"),
    }
    lf = result["libfuzzer"]
    log(f"done  {target} {version.name} {start} seed {seed}: {wall:.0f} s, "
        f"{lf['exec_per_s']} exec/s, slowest {lf['slowest_unit_s']} s "
        f"(probe {result['units'] and round(result['units']['max_s'], 2)} s), "
        f"{len(races_report.cause_times(result['findings']))} causes")
    return result


def plan(seeds: list[int], reference: bool) -> list[tuple[str, str, str, int]]:
    """(target, version, start, seed), interleaved: seed by seed, start by start, old then
    new; the insert_pfn reference runs (seed 1) first."""
    runs = [("insert_pfn", v, "seeds", 1) for v in races_report.VERSIONS] if reference else []
    for seed in seeds:
        for start in races_report.STARTS:
            for v in races_report.VERSIONS:
                runs.append(("dax_fault", v, start, seed))
    return runs


def bench_races(root: Path, *, old_ref: str, seeds: list[int], seconds: int, jobs: int,
                reference_seconds: int | None = None, deadline: float | None = None) -> dict:
    """Every run of the plan, `jobs` at a time; the results as `races_report` reads them."""
    versions = prepare(root, old_ref)
    trivial = {name: trivial_input(v, root) for name, v in versions.items()}
    two_task = sorted(set(races_report.two_task_causes(ROOT / KNOWN))
                      | set(races_report.two_task_causes(versions["old"].tree / KNOWN)))
    results = {"seconds": seconds, "seeds": seeds, "jobs": jobs,
               "reference_seconds": reference_seconds, "deadline": deadline,
               "old": versions["old"].to_json(), "new": versions["new"].to_json(),
               "two_task_causes": two_task, "cpus": os.cpu_count(),
               "loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
               "uptime_start": _uptime(),
               "trivial_input": {k: v.hex() for k, v in trivial.items()}}

    def one(item):
        target, v, start, seed = item
        if deadline is not None and time.time() > deadline:
            return {"target": target, "version": v, "start": start, "seed": seed,
                    "skipped": True}
        return run_one(root, versions[v], target, start, seed,
                       seconds if target == "dax_fault" else reference_seconds,
                       trivial[v] if start == "cold" else None)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results["runs"] = list(pool.map(one, plan(seeds, bool(reference_seconds))))
    results["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results["uptime_end"] = _uptime()
    return results


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], stdout=subprocess.PIPE, text=True).stdout.strip()
    except OSError:
        return ""


def write_outputs(results: dict, output: Path, plot: Path | None) -> None:
    output.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    if plot is not None:
        plot.parent.mkdir(parents=True, exist_ok=True)
        plot.write_text(races_report.svg(results))
    sys.stdout.write(races_report.markdown(results))


def _deadline(text: str | None) -> float | None:
    """HH:MM (UTC, today) as a time.time()."""
    if text is None:
        return None
    hours, minutes = (int(x) for x in text.split(":"))
    now = time.gmtime()
    return calendar.timegm((now.tm_year, now.tm_mon, now.tm_mday, hours, minutes, 0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old", default=BASELINE_REF, help=f"the old git ref ({BASELINE_REF})")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 1..N (5)")
    parser.add_argument("--time", type=int, default=60, help="fuzz --time T (60)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (2)")
    parser.add_argument("--deadline", help="HH:MM UTC: start no run after it")
    parser.add_argument("--reference-time", type=int, default=30,
                        help="fuzz --time of the insert_pfn reference runs (30; 0: none)")
    parser.add_argument("--output", default=str(RESULTS), help=f"results JSON ({RESULTS})")
    parser.add_argument("--plot", default=str(PLOT), help=f"SVG plot ({PLOT})")
    parser.add_argument("--keep", metavar="DIR",
                        help="run in DIR (kept: each run's corpus, findings and logs)")
    parser.add_argument("--render", metavar="RESULTS_JSON",
                        help="print the tables and write the plot of an earlier run")
    args = parser.parse_args(argv)
    if args.render:
        results = races_report.load(Path(args.render))
        Path(args.plot).write_text(races_report.svg(results))
        sys.stdout.write(races_report.markdown(results))
        return 0
    options = dict(old_ref=args.old, seeds=list(range(1, args.seeds + 1)), seconds=args.time,
                   jobs=args.jobs, deadline=_deadline(args.deadline),
                   reference_seconds=args.reference_time)
    if args.keep:
        Path(args.keep).mkdir(parents=True)
        results = bench_races(Path(args.keep).resolve(), **options)
    else:
        with tempfile.TemporaryDirectory(prefix="fuzzplug-bench-races-") as tmp:
            results = bench_races(Path(tmp), **options)
    write_outputs(results, Path(args.output), Path(args.plot))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

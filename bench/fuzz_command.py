#!/usr/bin/env python3
"""What `fuzzplug fuzz TARGET` does, measured as the user runs it, for one or two source
trees side by side (the branch and, say, `git archive main` unpacked): the whole command's
wall time, libFuzzer's executions, exec/s and slowest unit (`-print_final_stats`), and the
harness's memory (VmRSS of the command's process tree, sampled every `--every` seconds).

    bench/fuzz_command.py --tree new=. --tree old=/tmp/main-src --time 60 --seed 3 \\
        --corpus seeds --corpus trivial [--target dax_fault] [--every 5]

Each (tree, corpus) runs once, in order, in a fresh folder; `--corpus seeds` starts from
the target's seeds (the default corpus), `trivial` from a corpus of one one-call input
(`load addr=0x101000`). A tree runs with PYTHONPATH=<tree>, so its `fuzzplug` package is
the one imported by `fuzz` and by the harness libFuzzer starts. Prints one JSON object per
run, then a table; say the load (`uptime`) beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_STAT = re.compile(r"stat::(\w+):\s*(\d+)")
TRIVIAL = "load addr=0x101000\n"


def _rss_kib(pid: int) -> int:
    """VmRSS of `pid` and every descendant, in KiB (0 for one gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def _trivial_corpus(tree: Path, folder: Path, target: str) -> None:
    folder.mkdir(parents=True)
    src = folder.parent / "trivial.ops"
    src.write_text(TRIVIAL)
    subprocess.run([sys.executable, "-m", "fuzzplug", "encode", target, str(src), "-o",
                    str(folder / "trivial")], check=True, env=_env(tree),
                   capture_output=True)


def _env(tree: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUZZPLUG_")}
    env["PYTHONPATH"] = str(tree.resolve())
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def run_one(name: str, tree: Path, corpus: str, args) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"fuzzcmd-{name}-{corpus}-"))
    cmd = [sys.executable, "-m", "fuzzplug", "fuzz", args.target, "--time", str(args.time),
           "--findings", str(work / "findings")]
    if args.seed is not None:
        cmd += ["--seed", str(args.seed)]
    if corpus == "trivial":
        _trivial_corpus(tree, work / "corpus", args.target)
        cmd += ["--corpus", str(work / "corpus")]
    else:
        cmd += ["--corpus", str(work / "corpus")]  # empty: the seeds are copied in
    load = os.getloadavg()[0]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=work, env=_env(tree), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    samples = []
    while proc.poll() is None:
        time.sleep(min(args.every, 1.0))
        if not samples or time.monotonic() - started >= args.every * len(samples):
            samples.append((round(time.monotonic() - started), _rss_kib(proc.pid)))
    out = proc.stdout.read()
    wall = time.monotonic() - started
    text = (work / "findings" / "libfuzzer.log").read_text(errors="replace")
    stats = {k: int(v) for k, v in _STAT.findall(text)}
    rss = [kib for _, kib in samples if kib]
    return {"tree": name, "corpus": corpus, "time": args.time, "seed": args.seed,
            "wall_s": round(wall, 1), "execs": stats.get("number_of_executed_units"),
            "exec_per_s": stats.get("average_exec_per_sec"),
            "slowest_unit_s": stats.get("slowest_unit_time_sec"),
            "rss_mib": [round(k / 1024, 1) for k in rss],
            "load_at_start": round(load, 2), "load_at_end": round(os.getloadavg()[0], 2),
            "exit_status": proc.returncode, "last_line": out.strip().splitlines()[-1:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree", action="append", required=True, metavar="NAME=PATH")
    ap.add_argument("--corpus", action="append", choices=("seeds", "trivial"))
    ap.add_argument("--target", default="dax_fault")
    ap.add_argument("--time", type=int, default=60)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--every", type=float, default=5.0)
    args = ap.parse_args()
    rows = []
    for corpus in args.corpus or ["seeds"]:
        for spec in args.tree:
            name, _, path = spec.partition("=")
            row = run_one(name, Path(path), corpus, args)
            print(json.dumps(row), flush=True)
            rows.append(row)
    print(f"{'tree':8} {'corpus':8} {'wall s':>7} {'execs':>7} {'exec/s':>7} "
          f"{'slowest s':>9} {'RSS MiB first/max/last':>24} {'load':>9}")
    for r in rows:
        rss = r["rss_mib"] or [0]
        print(f"{r['tree']:8} {r['corpus']:8} {r['wall_s']:>7} {r['execs']!s:>7} "
              f"{r['exec_per_s']!s:>7} {r['slowest_unit_s']!s:>9} "
              f"{rss[0]:>8}/{max(rss)}/{rss[-1]:<8} {r['load_at_start']}-{r['load_at_end']}")


if __name__ == "__main__":
    main()

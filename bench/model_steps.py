#!/usr/bin/env python3
"""The cost of running the dax_fault models step by step under the scheduler: the code of a
git ref (`old`, default `main`) against this checkout (`new`), at the same time, one process
each (both see the same load), and whether they give the same results.

Two parts, each the process CPU time of one version's process:

- `exhaustive`: `fuzzplug exhaustive dax_fault --tasks 2 --calls accesses --depth D --jobs 1`
  in the process (`--depth`, default 1/1; `--scenes` to take some scenes only); the two
  reports must be identical line for line but for the timing line;
- `budgeted`: the target's `evaluate_budgeted` (the fuzz loop's two-task oracle) on every
  two-task reproducer of `known.toml` and every two-task seed of `corpora/dax_fault`, each
  as written and with its `sched`/`pct` lines stripped, the search cache cleared before
  each, `--passes` times (default 5); the verdicts and signatures must be the same.

`old` runs the ref's files (`git archive REF`, unpacked in a temporary folder) with this
venv's interpreter, the folder first on `sys.path`. Prints one line per part: the two CPU
times, their ratio and whether the results agree (exit 1 when they do not).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(tree: Path, part: str, depth: str, passes: int, scenes: str | None = None) -> dict:
    """Run one part in this process on the code of `tree`; its CPU time and results."""
    sys.path.insert(0, str(tree))
    import contextlib
    import time

    import fuzzplug
    assert Path(fuzzplug.__file__).resolve().is_relative_to(tree.resolve()), fuzzplug.__file__
    if part == "exhaustive":
        from fuzzplug.cli import main
        sys.argv = ["fuzzplug", "exhaustive", "dax_fault", "--tasks", "2", "--calls", "accesses",
                    "--depth", depth, "--jobs", "1", "--no-progress"]
        if scenes:
            sys.argv += ["--scenes", scenes]
        out = io.StringIO()
        t0 = time.process_time()
        with contextlib.redirect_stdout(out):
            main()
        cpu = time.process_time() - t0
        lines = out.getvalue().splitlines()
        return {"cpu": cpu, "results": [line for line in lines if not line.startswith("pairs:")]}
    import tomllib

    from fuzzplug.core.opslang.text import parse_text
    from fuzzplug.targets import load_target
    from fuzzplug.targets.dax_fault import tasks
    target = load_target("dax_fault")
    known = tomllib.loads((tree / "fuzzplug/targets/dax_fault/known.toml").read_text())
    texts = [e["reproducer"] for e in known["cause"] + known["finding"]
             if "task id" in e.get("reproducer", "")]
    texts += [p.read_text() for p in sorted((tree / "corpora/dax_fault").glob("*.ops"))
              if "task id" in p.read_text()]
    inputs = []
    for text in texts:
        inputs.append(parse_text(target.schema, text))
        kept = [line for line in text.splitlines()
                if not line.strip().startswith(("sched", "pct"))]
        inputs.append(parse_text(target.schema, "\n".join(kept)))
    results = []
    t0 = time.process_time()
    for _ in range(passes):
        results = []
        for ops in inputs:
            tasks.SEARCHES.clear()
            o = target.evaluate_budgeted(ops)
            results.append([o.verdict.value, o.finding.signature if o.finding else None])
    cpu = time.process_time() - t0
    return {"cpu": cpu, "results": results, "inputs": len(inputs)}


def run_both(old_tree: Path, part: str, depth: str, passes: int, scenes: str | None) -> dict:
    def one(tree: Path) -> dict:
        proc = subprocess.run([sys.executable, __file__, "--child", str(tree), "--part", part,
                               "--depth", depth, "--passes", str(passes)]
                              + (["--scenes", scenes] if scenes else []),
                              stdout=subprocess.PIPE, check=True, text=True, cwd="/")
        return json.loads(proc.stdout)

    with ThreadPoolExecutor(2) as pool:
        old, new = pool.map(one, [old_tree, ROOT])
    return {"old": old, "new": new}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", default="main", help="the git ref to compare with (default main)")
    ap.add_argument("--depth", default="1/1", help="the exhaustive part's bound (default 1/1)")
    ap.add_argument("--scenes", help="the exhaustive part's scenes (default all)")
    ap.add_argument("--passes", type=int, default=5, help="the budgeted part's passes")
    ap.add_argument("--part", choices=["exhaustive", "budgeted"], action="append")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    parts = args.part or ["exhaustive", "budgeted"]
    if args.child is not None:
        print(json.dumps(child(args.child, parts[0], args.depth, args.passes, args.scenes)))
        return 0
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify",
                             f"{args.old}^{{commit}}"], stdout=subprocess.PIPE, check=True,
                            text=True).stdout.strip()
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], stdout=subprocess.PIPE,
                          check=True, text=True).stdout.strip()
    print(f"old {args.old} ({commit[:10]}) against this checkout ({head[:10]})")
    agree = True
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "old-tree"
        tree.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit],
                                 stdout=subprocess.PIPE, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
        for part in parts:
            r = run_both(tree, part, args.depth, args.passes, args.scenes)
            same = r["old"]["results"] == r["new"]["results"]
            agree &= same
            what = (f"depth {args.depth}, scenes {args.scenes or 'all'}" if part == "exhaustive"
                    else f"{r['new']['inputs']} inputs x {args.passes}")
            print(f"{part} ({what}): old {r['old']['cpu']:.1f} s CPU, new {r['new']['cpu']:.1f} s"
                  f" CPU, new/old {r['new']['cpu'] / r['old']['cpu']:.2f}, "
                  f"results {'identical' if same else 'DIFFER'}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())

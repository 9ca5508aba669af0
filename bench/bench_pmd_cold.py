"""insert_pfn_pmd: the time `fuzzplug fuzz insert_pfn_pmd --no-known --seed N` takes to
reach each divergent signature, from a cold corpus (one trivial input: a read fault at
0x40201000) and from the target's seeds; the figures go to docs/targets/insert_pfn_pmd.md.

    .venv/bin/python bench/bench_pmd_cold.py [--seconds 90] [--seeds 1,2] [--pairs A,D]

Each run is `fuzzplug fuzz` as a user runs it (one libFuzzer job, semantic feedback, the
ops mutator), with the corpus folder prepared beforehand: the trivial input alone, or
empty (then fuzz copies the compiled seeds in). The time of a signature is when its first
recording appeared in the findings folder's inbox, from the launch of `fuzzplug fuzz`
(interpreter start-up included), polled every 0.1 s; a recording is named by the
signature's id and mapped back by evaluating it on the run's pair. Prints one line per
(pair, signature) with the time per start and seed ('-' where the run did not reach it).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fuzzplug.core.opslang import decode, encode, parse_text
from fuzzplug.targets import load_target

ROOT = Path(__file__).resolve().parents[1]
FUZZPLUG = Path(sys.executable).with_name("fuzzplug")
PAIRS = {"A": ("v5.0", "v5.0+v1"), "D": ("v5.0", "v5.0+c6f3c5ee40c1"),
         "E": ("v5.0", "v5.0+c6f3c5ee40c1+fce86ff5802b")}
TRIVIAL = "access addr=0x40201000\n"


def run(pair: tuple[str, str], start: str, seed: int, seconds: int, root: Path) -> dict:
    """One fuzz run; signature → seconds from launch to its first recording."""
    target = load_target("insert_pfn_pmd").with_pair(*pair)
    work = root / f"{pair[1]}-{start}-{seed}"
    corpus, findings = work / "corpus", work / "findings"
    corpus.mkdir(parents=True)
    if start == "cold":
        (corpus / "trivial").write_bytes(encode(target.schema,
                                                parse_text(target.schema, TRIVIAL)))
    cmd = [str(FUZZPLUG), "fuzz", "insert_pfn_pmd", "--pre", pair[0], "--post", pair[1],
           "--no-known", "--seed", str(seed), "--time", str(seconds), "--corpus",
           str(corpus), "--findings", str(findings), "--no-minimize"]
    first: dict[str, float] = {}
    named: dict[str, str] = {}
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while True:
        done = proc.poll() is not None
        now = time.monotonic() - started
        for path in findings.glob(".inbox-*/*.bin"):
            sig_id = path.name.split(".")[0]
            if sig_id not in first:
                first[sig_id] = now
                try:
                    data = path.read_bytes()
                except OSError:  # moved as the run ended
                    continue
                named[sig_id] = target.evaluate(decode(target.schema, data)).signature
        if done:
            break
        time.sleep(0.1)
    out = {named[s]: when for s, when in first.items() if s in named}
    for folder in findings.glob("*/repro.bin"):  # reached, but not seen while it ran
        outcome = target.evaluate(decode(target.schema, folder.read_bytes()))
        out.setdefault(outcome.signature, float("nan"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=90)
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--pairs", default="A,D")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    root = Path(tempfile.mkdtemp(prefix="pmd-cold-"))
    try:
        results: dict[tuple[str, str, int], dict] = {}
        for key in args.pairs.split(","):
            for start in ("cold", "seeds"):
                for seed in seeds:
                    results[(key, start, seed)] = run(PAIRS[key], start, seed, args.seconds,
                                                      root)
        for key in args.pairs.split(","):
            sigs = sorted({s for (k, _, _), r in results.items() if k == key for s in r})
            print(f"pair {PAIRS[key][0]}..{PAIRS[key][1]}")
            for sig in sigs:
                cells = []
                for start in ("cold", "seeds"):
                    times = [results[(key, start, seed)].get(sig) for seed in seeds]
                    cells.append(f"{start}: " + " ".join(
                        "-" if t is None else ("?" if t != t else f"{t:.1f}s") for t in times))
                print(f"  {sig}\n      {'   '.join(cells)}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

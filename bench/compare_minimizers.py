#!/usr/bin/env python3
"""Compare fuzzplug's minimisers with libFuzzer's on the insert_pfn target.

1. Test-case minimisation: `fuzzplug minimize insert_pfn CRASH` against libFuzzer's
   `-minimize_crash=1 -runs=N` (the insert_pfn harness, FUZZPLUG_NO_KNOWN=1), on the same
   crash files, in two sets:
   - *noisy*: the four known divergent scenarios with random noise calls added one at a
     time, each kept only if the signature stays the same, up to --noise-calls calls (big
     inputs of one known bug each);
   - *fuzzer*: the crash files the harness writes when run from -seed=1, 2, ... (each run
     stops at its first divergence; libFuzzer finds them small already).
   For each file: calls and bytes before and after each tool; whether the result still has
   the input's signature; the wall time. Bytes are given as the file has them and, in
   parentheses, canonical (`encode(decode(...))`, the form `fuzzplug minimize` writes):
   libFuzzer's files end mid-op, and the args cut off take their defaults.
2. Corpus minimisation: `fuzzplug cmin` against libFuzzer's `-merge=1` on the same corpus
   (a `fuzzplug fuzz` run of --fuzz-seconds, and --random-inputs random byte strings). Each
   output folder is measured with fuzzplug's semantic coverage: files, branch ids per model
   version, (verdict, signature) classes. The harness raises on a divergence, so under
   -merge=1 every divergent input is a crash, which libFuzzer leaves out of its output.

Prints markdown tables. Run from the repository root:

    .venv/bin/python bench/compare_minimizers.py [--work DIR] [--runs 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fuzzplug.core.opslang import Op, decode, encode, parse_text  # noqa: E402
from fuzzplug.core.oracle import Verdict  # noqa: E402
from fuzzplug.targets import load_target  # noqa: E402
from fuzzplug.triage.cmin import features_record  # noqa: E402  (after the path set-up)

TARGET = load_target("insert_pfn")
SCHEMA = TARGET.schema
HARNESS = ROOT / "harnesses" / "fuzz_insert_pfn.py"
VENV_BIN = Path(sys.executable).parent
SEEDS = {
    "ppc64_set_pte_at": "config arch=ppc64 DEBUG_VM=1\n"
                        "vm_insert_mixed addr=0x100000 pfn=0x80\n"
                        "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n",
    "pfn_mismatch": "vm_insert_mixed addr=0x100000 pfn=0x81\n"
                    "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n",
    "private_no_cow": "vma flags=VM_READ|VM_WRITE|VM_MAYWRITE|VM_MIXEDMAP\n"
                      "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n",
    "no_pte_special": "config HAVE_PTE_SPECIAL=0\n"
                      "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x10 flags=0\n",
}


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("FUZZPLUG_")}
    out["PATH"] = f"{VENV_BIN}{os.pathsep}{out.get('PATH', '')}"  # libFuzzer re-executes
    out["PYTHONPATH"] = str(ROOT)                                # the harness by its argv[0]
    out["FUZZPLUG_NO_KNOWN"] = "1"
    return out


def harness(*args: str, cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(HARNESS), *args], cwd=cwd, env=env(),
                          capture_output=True, text=True, timeout=timeout)


def fuzzplug(*args: str, cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "fuzzplug", *args], cwd=cwd, env=env(),
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise SystemExit(f"fuzzplug {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result


def measure(data: bytes) -> dict:
    ops = decode(SCHEMA, data)
    outcome = TARGET.evaluate(ops)
    return {"calls": sum(1 for op in ops if not SCHEMA.spec(op.name).scene),
            "bytes": len(data), "canonical": len(encode(SCHEMA, ops)),
            "signature": outcome.signature if outcome.verdict is Verdict.DIVERGENT else None}


# --- crash files -----------------------------------------------------------------------------

def noise_call(rng: random.Random) -> Op:
    name = rng.choice(["vm_insert_pfn", "vm_insert_pfn_prot", "vm_insert_mixed",
                       "vm_insert_mixed_mkwrite", "fault", "fault", "zap", "zap",
                       "fail_alloc"])
    args: dict[str, int] = {}
    for arg in SCHEMA.spec(name).args:
        if arg.name == "addr":
            args["addr"] = (0x100000 + rng.randrange(20) * 0x1000
                            + rng.choice([0, 0, 0, 0x10, 0x800]))
        elif arg.name == "pfn":
            args["pfn"] = rng.choice([0x1, 0x10, 0x13, 0x1f, 0x80, 0x84, 0x8f, 0x90, 0x300])
        elif arg.name == "len":
            args["len"] = rng.choice([0x1000, 0x2000, 0x4000])
        elif arg.name == "nth":
            args["nth"] = rng.randrange(0, 4)
        else:
            args[arg.name] = rng.randrange(arg.mask + 1) & arg.mask
    return Op.make(SCHEMA, name, **args)


def noisy_crash(seed_text: str, rng: random.Random, calls: int) -> bytes:
    """The seed with noise calls inserted one at a time, each kept only when the input
    keeps the seed's signature, up to `calls` calls."""
    ops = list(parse_text(SCHEMA, seed_text))
    sig = TARGET.evaluate(tuple(ops)).signature
    first_call = next(i for i, op in enumerate(ops) if not SCHEMA.spec(op.name).scene)
    for _ in range(5000):
        if sum(1 for op in ops if not SCHEMA.spec(op.name).scene) >= calls:
            break
        trial = list(ops)
        trial.insert(rng.randrange(first_call, len(trial) + 1), noise_call(rng))
        if TARGET.evaluate(tuple(trial)).signature == sig:
            ops = trial
    return encode(SCHEMA, tuple(ops))


def make_noisy(folder: Path, n: int, calls: int, seed: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    names = sorted(SEEDS)
    out = []
    for i in range(n):
        data = noisy_crash(SEEDS[names[i % len(names)]], rng, calls)
        path = folder / f"crash-{hashlib.sha1(data).hexdigest()}"
        path.write_bytes(data)
        out.append(path)
    return out


def make_fuzzer_crashes(folder: Path, n: int, seconds: int) -> list[Path]:
    """Crash files from harness runs with -seed=1, 2, ... (one per run, until n)."""
    folder.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for seed in range(1, 4 * n + 1):
        if len(out) == n:
            break
        run_dir = folder / f"seed{seed}"
        run_dir.mkdir(exist_ok=True)
        harness(f"-seed={seed}", f"-max_total_time={seconds}", f"-artifact_prefix={run_dir}/",
                cwd=run_dir)
        out += sorted(run_dir.glob("crash-*"))[: n - len(out)]
    return out


def minimise_both(crash: Path, work: Path, runs: int) -> dict:
    before = measure(crash.read_bytes())
    mine = work / f"{crash.name}.fuzzplug"
    started = time.monotonic()
    fuzzplug("minimize", "insert_pfn", str(crash), "-o", str(mine), cwd=work)
    t_mine = time.monotonic() - started
    theirs = work / f"{crash.name}.libfuzzer"
    started = time.monotonic()
    harness("-minimize_crash=1", f"-runs={runs}", f"-exact_artifact_path={theirs}",
            str(crash), cwd=work)
    t_theirs = time.monotonic() - started
    lib = measure(theirs.read_bytes()) if theirs.exists() else None
    return {"file": crash.name, "before": before, "fuzzplug": measure(mine.read_bytes()),
            "libfuzzer": lib, "t_fuzzplug": t_mine, "t_libfuzzer": t_theirs}


def minimise_table(title: str, rows: list[dict]) -> str:
    def kept(r: dict | None, sig) -> str:
        return "—" if r is None else ("yes" if r["signature"] == sig else "**no**")

    lines = [f"#### {title}", "",
             "| crash file | before: calls / bytes (canonical) | fuzzplug minimize: calls / bytes "
             "| same signature | time | libFuzzer -minimize_crash: calls / bytes "
             "(canonical) | same signature | time |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        b, m, lib = row["before"], row["fuzzplug"], row["libfuzzer"]
        lib_text = "no output" if lib is None else \
            f"{lib['calls']} / {lib['bytes']} ({lib['canonical']})"
        lines.append(f"| `{row['file'][:14]}` | {b['calls']} / {b['bytes']} ({b['canonical']}) | "
                     f"{m['calls']} / {m['bytes']} | {kept(m, b['signature'])} | "
                     f"{row['t_fuzzplug']:.1f} s | {lib_text} | "
                     f"{kept(lib, b['signature'])} | {row['t_libfuzzer']:.1f} s |")

    def med(get, fmt: str = "g") -> str:
        values = [get(r) for r in rows if get(r) is not None]
        return format(statistics.median(values), fmt) if values else "—"

    libs = [r for r in rows if r["libfuzzer"]]
    lines.append(
        f"| **median** | {med(lambda r: r['before']['calls'])} / "
        f"{med(lambda r: r['before']['bytes'])} ({med(lambda r: r['before']['canonical'])}) | "
        f"{med(lambda r: r['fuzzplug']['calls'])} / "
        f"{med(lambda r: r['fuzzplug']['bytes'])} | "
        f"{sum(r['fuzzplug']['signature'] == r['before']['signature'] for r in rows)}"
        f"/{len(rows)} | {med(lambda r: r['t_fuzzplug'], '.1f')} s | "
        f"{med(lambda r: r['libfuzzer'] and r['libfuzzer']['calls'])} / "
        f"{med(lambda r: r['libfuzzer'] and r['libfuzzer']['bytes'])} "
        f"({med(lambda r: r['libfuzzer'] and r['libfuzzer']['canonical'])}) | "
        f"{sum(r['libfuzzer']['signature'] == r['before']['signature'] for r in libs)}"
        f"/{len(rows)} | {med(lambda r: r['t_libfuzzer'], '.1f')} s |")
    return "\n".join(lines) + "\n"


# --- corpora ---------------------------------------------------------------------------------

def corpus_features(folder: Path) -> dict:
    branches: dict[str, set[str]] = {}
    classes = set()
    files = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
    for path in files:
        data = path.read_bytes()
        if not data:
            continue
        record = features_record(TARGET.evaluate(decode(SCHEMA, data)))
        for version, ids in record["branches"].items():
            branches.setdefault(version, set()).update(ids)
        classes.add((record["verdict"], record["signature"]))
    return {"files": len(files), "branches": {v: len(ids) for v, ids in sorted(branches.items())},
            "classes": len(classes)}


def make_random_corpus(folder: Path, n: int, seed: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for _ in range(n):
        data = bytes([1]) + bytes(rng.randrange(256) for _ in range(rng.randrange(2, 80)))
        (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
    return folder


def make_fuzz_corpus(work: Path, seconds: int) -> Path:
    corpus = work / "fuzz-corpus"
    fuzzplug("fuzz", "insert_pfn", "--time", str(seconds), "--seed", "1", "--corpus",
             str(corpus), "--findings", str(work / "fuzz-findings"), "--no-minimize",
             cwd=work, timeout=seconds + 600)
    return corpus


def cmin_both(name: str, corpus: Path, work: Path) -> dict:
    mine, theirs = work / f"{name}.cmin", work / f"{name}.merge"
    started = time.monotonic()
    fuzzplug("cmin", "insert_pfn", str(corpus), "-o", str(mine), cwd=work)
    t_mine = time.monotonic() - started
    theirs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    crashes = work / f"{name}.merge-crashes"
    crashes.mkdir(exist_ok=True)
    result = harness("-merge=1", f"-artifact_prefix={crashes}/", str(theirs), str(corpus),
                     cwd=work)
    t_theirs = time.monotonic() - started
    if result.returncode != 0:
        print(f"warning: libFuzzer -merge=1 exited {result.returncode}", file=sys.stderr)
    return {"corpus": name, "input": corpus_features(corpus), "fuzzplug": corpus_features(mine),
            "libfuzzer": corpus_features(theirs), "t_fuzzplug": t_mine,
            "t_libfuzzer": t_theirs}


def cmin_table(rows: list[dict]) -> str:
    versions = sorted({v for r in rows for k in ("input", "fuzzplug", "libfuzzer")
                       for v in r[k]["branches"]})
    head = " | ".join(f"branch ids {v}" for v in versions)
    lines = [f"| corpus | tool | files | {head} | (verdict, signature) classes | time |",
             "|---|---|---|" + "---|" * len(versions) + "---|---|"]
    for r in rows:
        for tool, label, t in (("input", "input corpus", None),
                               ("fuzzplug", "fuzzplug cmin", r["t_fuzzplug"]),
                               ("libfuzzer", "libFuzzer -merge=1", r["t_libfuzzer"])):
            f = r[tool]
            cells = " | ".join(str(f["branches"].get(v, 0)) for v in versions)
            lines.append(f"| {r['corpus']} | {label} | {f['files']} | {cells} | "
                         f"{f['classes']} | {'' if t is None else f'{t:.1f} s'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", help="scratch folder (default: a new temporary folder)")
    parser.add_argument("--runs", type=int, default=2000, help="libFuzzer -runs for "
                                                               "-minimize_crash (default 2000)")
    parser.add_argument("--files", type=int, default=10, help="crash files per set")
    parser.add_argument("--noise-calls", type=int, default=40,
                        help="calls in each noisy crash file (default 40; max_ops is 48)")
    parser.add_argument("--fuzz-seconds", type=int, default=60,
                        help="length of the fuzz run that makes the cmin corpus")
    parser.add_argument("--random-inputs", type=int, default=300,
                        help="size of the random cmin corpus")
    parser.add_argument("--seed", type=int, default=1, help="seed of the noise and the "
                                                            "random corpus")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="fuzzplug-bench-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"work folder: {work}", file=sys.stderr)

    noisy = make_noisy(work / "noisy", args.files, args.noise_calls, args.seed)
    found = make_fuzzer_crashes(work / "fuzzer", args.files, seconds=60)
    results = {"noisy": [minimise_both(p, work / "noisy", args.runs) for p in noisy],
               "fuzzer": [minimise_both(p, p.parent, args.runs) for p in found]}
    corpora = [cmin_both("fuzz-run", make_fuzz_corpus(work, args.fuzz_seconds), work),
               cmin_both("random", make_random_corpus(work / "random-corpus",
                                                      args.random_inputs, args.seed), work)]
    (work / "results.json").write_text(json.dumps({"minimize": results, "cmin": corpora},
                                                  indent=1, default=str))
    print(f"### Test-case minimisation (libFuzzer -runs={args.runs})\n")
    print(minimise_table(f"{len(noisy)} noisy crash files (known bugs + noise calls)",
                         results["noisy"]))
    print(minimise_table(f"{len(found)} crash files from harness runs -seed=1..",
                         results["fuzzer"]))
    print("### Corpus minimisation\n")
    print(cmin_table(corpora))


if __name__ == "__main__":
    main()

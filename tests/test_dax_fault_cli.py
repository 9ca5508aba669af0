"""Every verb of the CLI on the dax_fault target, at small budgets; and its harness as a
subprocess over its seeds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzplug.cli import main

ROOT = Path(__file__).parents[1]
CORPUS = ROOT / "corpora" / "dax_fault"
LIVELOCK = CORPUS / "divergent_no_pte_special_store_after_hole_read_livelocks.ops"
INTENDED = CORPUS / "intended_store_after_a_hole_read_replaces_the_zero_page.ops"
HARNESS = ROOT / "harnesses" / "fuzz_dax_fault.py"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUZZPLUG_")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def _fuzzplug(*args, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fuzzplug", *args], capture_output=True,
                          text=True, cwd=cwd, env=_env(), timeout=timeout)


def test_targets_lists_dax_fault(capsys):
    """`fuzzplug targets` has a line for dax_fault."""
    assert main(["targets"]) == 0
    assert any(line.split()[0] == "dax_fault" for line in capsys.readouterr().out.splitlines())


def test_encode_then_decode_gives_back_a_scenario(tmp_path, capsys):
    """Text → binary → text is lossless for a scenario (comments aside)."""
    out = tmp_path / "x.bin"
    assert main(["encode", "dax_fault", str(LIVELOCK), "-o", str(out)]) == 0
    assert main(["decode", "dax_fault", str(out)]) == 0
    body = [line for line in LIVELOCK.read_text().splitlines()
            if line and not line.startswith("#")]
    assert capsys.readouterr().out.splitlines() == body


def test_replay_shows_the_verdict_the_signature_and_both_sides(capsys):
    """The human form names the verdict and signature and shows v4.13 beside v4.14."""
    assert main(["replay", "dax_fault", str(LIVELOCK), str(INTENDED)]) == 0
    out = capsys.readouterr().out
    assert "divergent  store/ret:ok->livelock" in out and ": intended" in out
    assert "<== first difference" in out and "v4.14: livelock (8 faults)" in out


def test_replay_of_a_second_hole_read_with_one_ram_page_reuses_the_freed_page(tmp_path):
    """`fuzzplug replay` as a subprocess: with one page of RAM, v4.13's second
    hole read gets the page write(2) freed (ok, not OOM) and every op is compared; the
    failed hole read of the other scenario is compared past."""
    reuse = CORPUS / "intended_a_freed_hole_page_is_reused.ops"
    fail = CORPUS / "intended_no_page_cache_allocation_to_fail.ops"
    proc = _fuzzplug("replay", "--check", "dax_fault", str(reuse), str(fail), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"{reuse}: intended" in out and f"{fail}: intended" in out
    blocks = out.split("== ")
    reused = next(b for b in blocks if b.startswith(str(reuse)))
    assert "#2 load addr=0x103000\n   v4.13: ok 0x0 (1 fault)" in reused
    assert "#3 load addr=0x101000\n   v4.13: ok 0x40" in reused
    failed = next(b for b in blocks if b.startswith(str(fail)))
    assert "v4.13: OOM (1 fault)" in failed and "#4 load addr=0x101000" in failed
    assert "v4.13: ok 0x66 (0 faults)" in failed


def test_seeds_dict_and_options_describe_the_target(tmp_path, capsys):
    """`seeds` writes one binary per scenario, `dict` one entry per op, `options` the
    target's max_len and timeout."""
    assert main(["seeds", "dax_fault", "-o", str(tmp_path / "seeds")]) == 0
    assert len(list((tmp_path / "seeds").iterdir())) == len(list(CORPUS.glob("*.ops")))
    assert main(["dict", "dax_fault"]) == 0
    assert "op_fail_alloc=" in capsys.readouterr().out
    assert main(["options", "dax_fault"]) == 0
    out = capsys.readouterr().out
    assert "max_len = 256" in out and "timeout = 20" in out


def test_minimize_shortens_a_divergent_input_keeping_its_signature(tmp_path, capsys):
    """A padded livelock scenario minimises to its two calls and keeps its signature."""
    src = tmp_path / "padded.ops"
    src.write_text("config HAVE_PTE_SPECIAL=0\nload addr=0x100000\nfsync\n"
                   "load addr=0x101000\nload addr=0x103000\nstore addr=0x101000 val=0x66\n")
    assert main(["minimize", "dax_fault", str(src), "-o", str(tmp_path / "min")]) == 0
    text = (tmp_path / "min.ops").read_text()
    calls = [line for line in text.splitlines() if line and not line.startswith(("#", "config"))]
    assert calls == ["load addr=0x101000", "store addr=0x101000"]
    assert "# signature: store/ret:ok->livelock" in text


def test_export_writes_a_pytest_regression_test_that_passes(tmp_path):
    """`export --pytest` of a divergent scenario gives a test module that passes."""
    out = tmp_path / "test_regression.py"
    assert main(["export", "dax_fault", str(LIVELOCK), "--pytest", "-o", str(out)]) == 0
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(out)], capture_output=True, text=True, cwd=tmp_path,
                          env=_env(), timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_coverage_reports_the_dax_branch_ids_the_seeds_reach(capsys):
    """`coverage --json` over the seeds: both versions, the DAX models' ids among them."""
    assert main(["coverage", "dax_fault", str(CORPUS), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    reached = {b["branch"] for b in report["branches"] if b["status"] != "unreached"}
    assert "dax_load_hole:zero_page" in reached and "dax_pfn_mkwrite:dirty" in reached


def test_exhaustive_at_depth_one_finds_only_known_divergences(capsys):
    """Every single call of the small domain in every scene: the one divergence is the
    known radix SOFT_DIRTY one (a first store to a block)."""
    assert main(["exhaustive", "dax_fault", "--depth", "1", "--jobs", "1",
                 "--no-progress", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["proven"] and report["sequences"] == 90
    assert [(s["scene"], s["known"]) for s in report["signatures"]] == [
        ("ppc64 radix shared", True)]


def test_cmin_keeps_a_covering_subset_of_the_seeds(tmp_path, capsys):
    """`cmin` keeps some, at most all, of the compiled seeds (`triage` is tested on a fuzz
    run's findings below)."""
    assert main(["seeds", "dax_fault", "-o", str(tmp_path / "seeds")]) == 0
    assert main(["cmin", "dax_fault", str(tmp_path / "seeds"), "-o", str(tmp_path / "min")]) == 0
    kept = [p for p in (tmp_path / "min").iterdir() if not p.name.startswith(".")]
    assert 0 < len(kept) <= len(list((tmp_path / "seeds").iterdir()))
    capsys.readouterr()


@pytest.mark.slow
def test_fuzz_runs_and_writes_a_summary(tmp_path):
    """`fuzzplug fuzz dax_fault --time 10 --no-known` finds the known divergences of the
    seeds and writes a folder per signature; `triage` reads the folder back."""
    findings = tmp_path / "findings"
    proc = _fuzzplug("fuzz", "dax_fault", "--time", "10", "--no-known", "--seed", "3",
                     "--findings", str(findings), "--corpus", str(tmp_path / "corpus"),
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((findings / "summary.json").read_text())
    assert summary["findings"]
    assert 1 <= summary["fuzz_s"] and summary["fuzz_s"] + summary["end_s"] <= 10  # in --time
    assert set(summary["candidates"]) == {"confirmed", "dropped", "left", "folder"}
    # The candidates left are triage's to confirm (tests/test_fuzz_finish.py): minutes of
    # search here, so this triage reads the findings only.
    shutil.rmtree(findings / "candidates", ignore_errors=True)
    proc = _fuzzplug("triage", str(findings), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert records and all(r["target"] == "dax_fault" for r in records)


@pytest.mark.slow
def test_selftest_kills_two_mutants_through_the_harness(capsys):
    """`selftest dax_fault` on two mutants: both killed."""
    assert main(["selftest", "dax_fault", "--mutant", "mkwrite_fault_forgets_dirty_tag",
                 "--mutant", "fault_keeps_entry_locked", "--budget", "5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {m["status"] for m in report["mutants"]} == {"killed"}


@pytest.mark.slow
def test_hypothesis_runs_on_the_small_domain(tmp_path, capsys):
    """`hypothesis dax_fault --time 5` runs and writes its report."""
    assert main(["hypothesis", "dax_fault", "--time", "5", "--max-examples", "20",
                 "--findings", str(tmp_path / "h")]) == 0


@pytest.mark.slow
def test_the_harness_runs_over_its_seeds_as_a_subprocess(tmp_path):
    """harnesses/fuzz_dax_fault.py -runs=300 over the compiled seeds: exit 0 (the divergent
    seeds are known findings, suppressed), every seed loaded."""
    seeds = tmp_path / "seeds"
    assert main(["seeds", "dax_fault", "-o", str(seeds)]) == 0
    proc = subprocess.run([sys.executable, str(HARNESS), "-runs=300", "-seed=1",
                           f"-artifact_prefix={tmp_path}/", str(seeds)], capture_output=True,
                          text=True, cwd=tmp_path, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Done 300 runs" in proc.stderr


@pytest.mark.parametrize("args", [["--tasks", "2", "--depth", "x"],
                                  ["--tasks", "2", "--depth", "1/2/3"],
                                  ["--tasks", "2", "--depth", "0"],
                                  ["--tasks", "2", "--calls", "faults"],
                                  ["--tasks", "2", "--scenes", "9"],
                                  ["--tasks", "2", "--scenes", "a,b"],
                                  ["--calls", "syscalls"],
                                  ["--depth", "1/1"]])
def test_exhaustive_says_in_one_line_what_is_wrong_with_a_bound(args, capsys):
    """A bound it cannot read (a depth, a call set, a scene) is one line on stderr and
    status 2, before any work."""
    status = main(["exhaustive", "dax_fault", "--no-progress", *args])
    err = capsys.readouterr().err
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("bound, description, pairs, signatures", [
    (["--depth", "2/1", "--calls", "syscalls/syscalls", "--scenes", "0,2"],
     "task 0: 1..2 calls from syscalls", "pairs: 300", 0),  # (5 + 25) x 5 programs, 2 scenes
    (["--depth", "1", "--calls", "accesses", "--scenes", "1,2,3"],
     "each a program of 1..1 calls from accesses", "pairs: 18", 3),  # 6 pairs, 3 scenes
], ids=["syscalls", "accesses"])
def test_the_interleavings_report_is_the_same_in_one_process_or_two(bound, description, pairs,
                                                                    signatures, capsys):
    """`exhaustive --tasks 2` checks each pair into a report of its own, the processes
    taking the pairs longest first, and merges the reports in the list's order: one process
    or two give the same report (pairs, runs, signatures, their counts and reproducers),
    only the time differs."""
    outs = []
    for jobs in ("1", "2"):
        status = main(["exhaustive", "dax_fault", "--tasks", "2", *bound, "--jobs", jobs,
                       "--no-progress"])
        assert status == 0
        out = capsys.readouterr().out
        outs.append([line for line in out.splitlines() if not line.startswith("pairs:")]
                    + [line.split(";")[0] + line.split(";")[1] for line in out.splitlines()
                       if line.startswith("pairs:")])
    assert outs[0] == outs[1]
    assert any(line.startswith("proved:") for line in outs[0])
    assert description in outs[0][0]
    assert pairs in outs[0][-1]
    assert sum("[known:" in line for line in outs[0]) == signatures

"""The user's door: `fuzzplug targets`, `encode`/`decode`, `replay` and `fuzz`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzplug.cli import main

ROOT = Path(__file__).parents[1]
PPC64 = ROOT / "corpora" / "insert_pfn" / "divergent_ppc64_set_pte_at_on_present_pte.ops"
INTENDED = ROOT / "corpora" / "insert_pfn" / "intended_mkwrite_into_none_pte.ops"


def _fuzzplug(*args, cwd=None, timeout=300):
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.pop("FUZZPLUG_NO_KNOWN", None)
    env.pop("FUZZPLUG_RECORD", None)
    return subprocess.run([sys.executable, "-m", "fuzzplug", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, env=env, timeout=timeout)


def test_targets_lists_insert_pfn_name_first(capsys):
    """`fuzzplug targets` prints one target per line, its name first."""
    assert main(["targets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[0] == "insert_pfn" for line in lines)


def test_encode_then_decode_gives_back_the_scenario_ops(tmp_path, capsys):
    """Text → binary → text is lossless for a scenario (comments aside)."""
    out = tmp_path / "x.bin"
    assert main(["encode", "insert_pfn", str(PPC64), "-o", str(out)]) == 0
    assert main(["decode", "insert_pfn", str(out)]) == 0
    text = capsys.readouterr().out
    body = [line for line in PPC64.read_text().splitlines() if line and not line.startswith("#")]
    assert text.splitlines() == body


def test_replay_prints_the_verdict_signature_and_both_sides(capsys):
    """The human form names the verdict and signature and shows v4.13 beside v4.14."""
    assert main(["replay", "insert_pfn", str(PPC64)]) == 0
    out = capsys.readouterr().out
    assert "divergent  vm_insert_mixed_mkwrite/bad_hpte:__hash_page_4K" in out
    assert "<== first difference" in out
    assert "v4.13:" in out and "v4.14:" in out


def test_replay_json_gives_one_object_per_input_with_the_documented_keys(capsys):
    """`--json`: one line per input with exactly the documented keys."""
    assert main(["replay", "insert_pfn", str(PPC64), str(INTENDED), "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    records = [json.loads(line) for line in lines]
    for record in records:
        assert set(record) == {"input", "verdict", "signature", "pair", "known",
                               "mismatches", "normalised", "ops", "pre", "post"}
        for side in ("pre", "post"):
            assert {"events", "ret", "state"} <= set(record[side])
            assert all({"kind", "function"} <= set(e) for e in record[side]["events"])
    assert [r["verdict"] for r in records] == ["divergent", "intended"]


STORE_ON_STALE_HPTE = ("config arch=ppc64\n"
                       "vm_insert_mixed addr=0x100000 pfn=0x80\n"
                       "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n"
                       "fault addr=0x100000 flags=FAULT_FLAG_WRITE\n")


def test_replay_judges_a_store_that_faults_forever_on_a_stale_hpte_divergent(tmp_path):
    """Issue 21's example, through the installed CLI: on cae85cb8add3's adjacent pair the pre
    side's store never completes (livelock on the stale HPTE), the post side's does."""
    scenario = tmp_path / "store_on_stale_hpte.ops"
    scenario.write_text(STORE_ON_STALE_HPTE)
    r = _fuzzplug("replay", "insert_pfn", str(scenario), "--pre", "v4.14+f2c57d91b0d9",
                  "--post", "v4.14+f2c57d91b0d9+cae85cb8add3", "--json")
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout)
    assert record["verdict"] == "divergent"
    assert record["signature"] == ("fault/ret:livelock->0+bad_hpte:hash_page:"
                                   "user_access_faults_forever_on_a_stale_HPTE/da39a3ee")
    assert (record["pre"]["ret"][-1], record["post"]["ret"][-1]) == ("livelock", "0")
    assert record["known"]["causes"] == ["ppc64_hash_stale_hpte_seen_later"]


def test_replay_is_deterministic(capsys):
    """The same input twice gives the same verdict, signature and traces."""
    main(["replay", "insert_pfn", str(PPC64), str(PPC64), "--json"])
    first, second = capsys.readouterr().out.splitlines()
    a, b = json.loads(first), json.loads(second)
    a.pop("input"), b.pop("input")
    assert a == b


@pytest.mark.slow
def test_fuzz_runs_for_the_time_and_writes_findings_and_a_summary(tmp_path):
    """`fuzz --no-known --fail-on-new` records every finding as known, sums it up and exits 0."""
    seeds_before = {p.name: p.read_bytes() for p in (ROOT / "corpora" / "insert_pfn").iterdir()}
    findings, corpus = tmp_path / "findings", tmp_path / "corpus"
    proc = _fuzzplug("fuzz", "insert_pfn", "--time", "15", "--no-known", "--seed", "5",
                     "--fail-on-new", "--findings", str(findings), "--corpus", str(corpus),
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((findings / "summary.json").read_text())
    assert summary["findings"], "a 15 s run with suppression off finds the known divergences"
    for finding in summary["findings"]:
        folder = findings / finding["folder"]
        record = json.loads((folder / "record.json").read_text())
        assert record["signature"] == finding["signature"]
        assert record["verdict"] == "divergent"
        assert {"ops", "pre", "post"} <= set(record)
        assert record["known"] is True and record["known_causes"], record["signature"]
        assert (folder / "repro.bin").stat().st_size > 0
        assert "# signature: " in (folder / "repro.ops").read_text()
    assert summary["new"] == 0
    assert len(summary["known_hits"]) == len(summary["findings"])
    assert all(not h["suppressed"] and h["label"] for h in summary["known_hits"])
    assert proc.stdout.splitlines()[-1] == summary["summary_line"]
    assert re.fullmatch(rf"0 new; {len(summary['findings'])} known signatures hit, "
                        r"from \d+ causes?: .*",
                        summary["summary_line"])
    assert len(list(corpus.iterdir())) > len(list((ROOT / "corpora" / "insert_pfn").glob("*.ops")))
    assert "unique divergent signature" in proc.stdout
    assert {p.name: p.read_bytes() for p in (ROOT / "corpora" / "insert_pfn").iterdir()} == seeds_before


@pytest.mark.slow
def test_fuzz_counts_the_known_signatures_it_suppresses_by_label_and_fix(tmp_path):
    """A suppressing run counts the known hits and ends with the line naming the ppc64 fix."""
    findings = tmp_path / "findings"
    proc = _fuzzplug("fuzz", "insert_pfn", "--time", "8", "--seed", "2", "--fail-on-new",
                     "--findings", str(findings), "--corpus", str(tmp_path / "corpus"),
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((findings / "summary.json").read_text())
    assert summary["findings"] == [] and summary["new"] == 0
    hits = {h["signature"]: h for h in summary["known_hits"]}
    assert all(h["suppressed"] and h["count"] > 0 for h in hits.values())
    ppc64 = [h for h in hits.values() if h["causes"] == ["ppc64_set_pte_at_on_present_pte"]]
    assert ppc64 and ppc64[0]["label"] == "real bug" and ppc64[0]["fixes"] == ["cae85cb8add3"]
    last = proc.stdout.splitlines()[-1]
    assert last == summary["summary_line"]
    assert re.match(rf"0 new; {len(hits)} known signatures hit, from \d+ causes?: real bug: "
                    r"\d+ causes?, \d+ signatures? \(needs cae85cb8add3\)", last), last
    assert "known_divergence_suppressed" in (findings / "libfuzzer.log").read_text()


@pytest.mark.slow
def test_fuzz_with_two_jobs_uses_libfuzzer_fork_and_gathers_one_summary(tmp_path):
    """`--jobs 2` runs libFuzzer's -fork=2 and still writes one summary of all findings."""
    findings = tmp_path / "findings"
    proc = _fuzzplug("fuzz", "insert_pfn", "--time", "15", "--jobs", "2", "--no-known",
                     "--findings", str(findings), "--corpus", str(tmp_path / "c"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((findings / "summary.json").read_text())
    assert summary["jobs"] == 2
    assert summary["feedback"] == "semantic" and summary["mutator"] == "ops", "the defaults"
    assert summary["findings"], "the workers (FUZZPLUG_* inherited) recorded divergences"
    assert "-fork=2" in (findings / "libfuzzer.log").read_text()


@pytest.mark.slow
def test_fuzz_takes_the_feedback_and_mutator_modes(tmp_path):
    """`--feedback bytecode --mutator bytes` runs the previous harness and says so."""
    findings = tmp_path / "findings"
    proc = _fuzzplug("fuzz", "insert_pfn", "--time", "5", "--no-known", "--feedback",
                     "bytecode", "--mutator", "bytes", "--findings", str(findings),
                     "--corpus", str(tmp_path / "c"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((findings / "summary.json").read_text())
    assert (summary["feedback"], summary["mutator"]) == ("bytecode", "bytes")
    log = (findings / "libfuzzer.log").read_text()
    assert "INFO: fuzzplug feedback: bytecode" in log and "INFO: fuzzplug mutator: bytes" in log
    assert "Instrumenting fuzzplug.kernel.v4_14" in log


def test_fuzz_refuses_a_corpus_inside_the_checked_in_seeds(tmp_path, capsys):
    """Growing the checked-in seed folder is refused with a one-line error."""
    code = main(["fuzz", "insert_pfn", "--time", "1", "--corpus",
                 str(ROOT / "corpora" / "insert_pfn"), "--findings", str(tmp_path / "f")])
    assert code == 2
    assert "checked-in seed folder" in capsys.readouterr().err

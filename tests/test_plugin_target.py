"""Tests that a third-party target plugs in: tests/example_target (`fuzzplug-toy`) installed
as a separate distribution, found through its `fuzzplug.targets` entry point only, and
driven through the CLI verbs and the generic harness.

The package is installed offline (`pip install --no-deps --no-build-isolation --no-index
--target DIR`) from a copy, so the source tree stays clean; every command then runs in a
subprocess with PYTHONPATH=DIR, where importlib.metadata finds the entry point.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tests" / "example_target"
SCENARIOS = EXAMPLE / "fuzzplug_toy" / "seeds"
FUZZPLUG = Path(sys.executable).with_name("fuzzplug")  # the console script of this venv
RESULT_KEYS = {"input", "verdict", "signature", "ops", "pre", "post"}
TOY_SIGNATURE = "dec/ret:-1->0/"  # v1 fails a dec below zero, v2 wraps: the one divergence
LONG = "inc n=5\nreset\ninc n=3\ndec n=2\ninc n=1\ndec n=9\ninc n=4\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The example package installed into a folder of its own."""
    top = tmp_path_factory.mktemp("toy")
    source = top / "src"
    shutil.copytree(EXAMPLE, source,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-build-isolation", "--no-index", "--target", str(top / "site"),
         str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (
        "installing tests/example_target offline failed; it builds with this venv's "
        "setuptools, which needs the `wheel` package below setuptools 70.1 (setup.cfg, "
        f"extras 'test'):\n{result.stderr[-3000:]}")
    return top / "site"


def run(site: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FUZZPLUG_")}
    environ["PYTHONPATH"] = str(site)
    return subprocess.run(list(args), cwd=cwd, env={**environ, **env}, capture_output=True,
                          text=True, timeout=300)


def fuzzplug(site: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return run(site, str(FUZZPLUG), *args, cwd=cwd, **env)


def replay(site: Path, *files: Path, cwd: Path) -> list[dict]:
    result = fuzzplug(site, "replay", "toy", *map(str, files), "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_fuzzplug_targets_lists_the_plugin(site, tmp_path):
    """`fuzzplug targets` lists `toy` with its description, beside the built-in target."""
    result = fuzzplug(site, "targets", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert "toy" in names and "insert_pfn" in names
    assert "toy\ttoy counter" in result.stdout


def test_replay_gives_the_plugins_verdicts_as_json(site, tmp_path):
    """`replay --json` on the scenarios: one object per input; the divergent one names the
    `dec` signature, the other is the same on both sides."""
    files = sorted(SCENARIOS.glob("*.ops"))
    records = replay(site, *files, cwd=tmp_path)
    assert [r["input"] for r in records] == [str(f) for f in files]
    by_name = {Path(r["input"]).stem: r for r in records}
    for record in records:
        assert RESULT_KEYS <= set(record)
    assert by_name["dec_below_zero"]["verdict"] == "divergent"
    assert by_name["dec_below_zero"]["signature"].startswith(TOY_SIGNATURE)
    assert by_name["dec_below_zero"]["pre"]["state"] == {"value": 0}
    assert by_name["dec_below_zero"]["post"]["state"] == {"value": 255}
    assert by_name["up_and_down"]["verdict"] == "same"
    assert by_name["up_and_down"]["signature"] is None


def test_the_plugins_seeds_compile_from_its_installed_package(site, tmp_path):
    """`seeds toy -o DIR` reads the scenarios the package ships; they replay as binary
    inputs with the verdicts of their text form."""
    result = fuzzplug(site, "seeds", "toy", "-o", str(tmp_path / "seeds"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    seeds = sorted((tmp_path / "seeds").iterdir())
    assert len(seeds) == 2
    verdicts = sorted(r["verdict"] for r in replay(site, *seeds, cwd=tmp_path))
    assert verdicts == ["divergent", "same"]


def test_fuzz_finds_the_plugins_divergence_and_fails_on_it_as_new(site, tmp_path):
    """`fuzz toy --fail-on-new` finds the toy's divergence, new to it, and exits 1."""
    findings = tmp_path / "findings"
    result = fuzzplug(site, "fuzz", "toy", "--time", "5", "--findings", str(findings),
                      "--fail-on-new", cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    summary = json.loads((findings / "summary.json").read_text())
    assert summary["target"] == "toy"
    signatures = [f["signature"] for f in summary["findings"]]
    assert signatures and all(s.startswith(TOY_SIGNATURE) for s in signatures)
    assert result.stdout.splitlines()[-1] == f"{len(signatures)} new; 0 known signatures hit"


def test_minimize_shrinks_a_plugin_input_to_its_one_call(site, tmp_path):
    """`minimize toy FILE -o OUT` writes OUT (binary) and OUT.ops: the single `dec` that
    still diverges with the same signature."""
    (tmp_path / "long.ops").write_text(LONG)
    out = tmp_path / "min"
    result = fuzzplug(site, "minimize", "toy", str(tmp_path / "long.ops"), "-o", str(out),
                      cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    before, binary, text = replay(site, tmp_path / "long.ops", out, out.with_name("min.ops"),
                                  cwd=tmp_path)
    assert binary["signature"] == text["signature"] == before["signature"]
    assert before["signature"].startswith(TOY_SIGNATURE)
    assert binary["ops"] == text["ops"] == "dec\n"


def test_the_generic_harness_runs_the_plugin(site, tmp_path):
    """`python -m fuzzplug.engines.harness --target=toy -runs=200` with FUZZPLUG_RECORD: 200 runs,
    exit 0, and the divergence it met recorded as an input that replays as divergent."""
    record = tmp_path / "record"
    result = run(site, sys.executable, "-m", "fuzzplug.engines.harness", "--target=toy",
                 "-runs=200",
                 f"-artifact_prefix={tmp_path}/", cwd=tmp_path, FUZZPLUG_RECORD=str(record))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done 200 runs" in result.stderr
    recorded = sorted(record.glob("*.bin"))
    assert recorded
    for entry in replay(site, *recorded, cwd=tmp_path):
        assert entry["signature"].startswith(TOY_SIGNATURE)


def test_the_generic_harness_crashes_on_the_plugins_divergence(site, tmp_path):
    """Without FUZZPLUG_RECORD the divergent seed crashes the harness, from the frame named
    after the signature family."""
    seed = tmp_path / "seed"
    result = fuzzplug(site, "encode", "toy", str(SCENARIOS / "dec_below_zero.ops"), "-o",
                      str(seed), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = run(site, sys.executable, "-m", "fuzzplug.engines.harness", "--target=toy",
                 f"-artifact_prefix={tmp_path}/", str(seed), cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Divergence" in output and "divergent__dec__ret" in output, output[-3000:]


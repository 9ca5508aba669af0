"""Tests that fuzzplug installs as users and farms install it (`pip install .`, a wheel) and
works from anywhere: every module, the known findings and the seed scenarios are in the
install, and the CLI, the harness and the OSS-Fuzz build run from it outside the checkout
(the `installed` fixture, tests/conftest.py)."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest
from setuptools import find_packages

from fuzzplug.core.opslang import parse_header
from fuzzplug.farm.files import compile_seeds
from fuzzplug.targets import BUILTIN, load_target

ROOT = Path(__file__).resolve().parents[1]
SETUP = configparser.ConfigParser()
SETUP.read(ROOT / "setup.cfg")
PYINSTALLER = "6.10.0"
"""The PyInstaller OSS-Fuzz's base-builder-python pins (as of 2026)."""


def _listed(section: str, key: str) -> list[str]:
    return [line.strip() for line in SETUP[section][key].splitlines() if line.strip()]


# --- the package list (fast) ------------------------------------------------------------------

def test_setup_cfg_lists_every_package_there_is():
    """The explicit package list is what find_packages() finds under fuzzplug, plus the
    seed scenarios' package fuzzplug.corpora: a new package cannot be forgotten."""
    found = find_packages(where=str(ROOT), include=["fuzzplug*"])
    assert sorted(_listed("options", "packages")) == sorted([*found, "fuzzplug.corpora"])


def test_the_seed_scenarios_and_known_findings_are_package_data():
    """fuzzplug.corpora maps to corpora/ and carries every target's *.ops; the targets'
    TOML files are package data too."""
    mapping = [line.replace(" ", "") for line in _listed("options", "package_dir")]
    assert mapping == ["fuzzplug.corpora=corpora"]
    data = SETUP["options.package_data"]
    assert data["fuzzplug.corpora"].strip() == "*/*.ops"
    assert data["fuzzplug.targets"].strip() == "*/*.toml"
    for name in BUILTIN:
        assert sorted((ROOT / "corpora" / name).glob("*.ops")), name


def test_the_data_files_are_package_data_alone_so_setuptools_warns_of_no_ignored_package():
    """include_package_data is off: with it, setuptools 69 and later take corpora/<target>/
    for packages absent from `packages` and print "Package would be ignored" at every
    install; package_data alone carries the same files (every shipped non-Python file under
    fuzzplug/ and corpora/ matches a package_data glob)."""
    assert SETUP["options"]["include_package_data"].strip() == "False"
    shipped = [p.relative_to(ROOT) for p in [*ROOT.glob("corpora/*/*"),
                                             *ROOT.glob("fuzzplug/targets/*/*")]
               if p.is_file() and p.suffix not in (".py", ".pyc")]
    assert shipped
    assert all(p.suffix in (".ops", ".toml") for p in shipped), shipped


def test_the_test_extras_pin_the_pyinstaller_of_oss_fuzz():
    """setup.cfg pins PyInstaller to OSS-Fuzz's version, and that is the one installed."""
    import PyInstaller

    assert f"pyinstaller=={PYINSTALLER}" in _listed("options.extras_require", "test")
    assert PyInstaller.__version__ == PYINSTALLER


# --- the regular install (slow) ---------------------------------------------------------------

slow = pytest.mark.slow


@slow
def test_the_wheel_is_what_the_fresh_venv_imports(installed):
    """`import fuzzplug` in the fresh venv, from outside the checkout, is the wheel's copy;
    the wheel holds the known findings and the seed scenarios."""
    result = installed.run(installed.python, "-c",
                           "import fuzzplug.cli, fuzzplug.kernel; print(fuzzplug.__file__)")
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(installed.venv)
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    assert "fuzzplug/kernel/__init__.py" in names
    for target in BUILTIN:
        assert f"fuzzplug/targets/{target}/known.toml" in names
        seeds = {f"fuzzplug/corpora/{target}/{p.name}"
                 for p in (ROOT / "corpora" / target).glob("*.ops")}
        assert seeds and seeds <= names, target


@slow
def test_fuzzplug_targets_runs_from_the_install(installed):
    """`fuzzplug targets` lists the built-in targets, name first."""
    result = installed.run(installed.fuzzplug, "targets")
    assert result.returncode == 0, result.stderr
    names = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert set(BUILTIN) <= set(names)


@slow
def test_replay_of_the_installed_seeds_gives_their_expected_verdicts(installed):
    """`fuzzplug replay insert_pfn SEED... --json` over the seed scenarios the install
    carries: each verdict is the one its `# expect:` header states."""
    result = installed.run(installed.python, "-c",
                           "from fuzzplug.targets import corpus_dir; "
                           "print(corpus_dir('insert_pfn'))")
    folder = Path(result.stdout.strip())
    assert folder.is_relative_to(installed.venv), result.stderr
    files = sorted(folder.glob("*.ops"))
    assert [p.name for p in files] == sorted(
        p.name for p in (ROOT / "corpora" / "insert_pfn").glob("*.ops"))
    result = installed.run(installed.fuzzplug, "replay", "insert_pfn", *files, "--json")
    assert result.returncode == 0, result.stderr
    verdicts = [json.loads(line)["verdict"] for line in result.stdout.splitlines()]
    assert verdicts == [parse_header(p.read_text())["expect"] for p in files]


@slow
def test_seeds_from_the_install_are_the_checkouts(installed, seeds):
    """`fuzzplug seeds insert_pfn -o DIR` from the install writes the same seeds, byte for
    byte, as the checkout compiles."""
    folder = seeds["fuzz_insert_pfn"]
    written = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert written and written == compile_seeds(load_target("insert_pfn"))


@slow
def test_the_installed_harness_runs_three_hundred_inputs(installed):
    """`python -m fuzzplug.engines.harness --target=insert_pfn -runs=300` with
    FUZZPLUG_RECORD: exit 0 after 300 runs."""
    record = installed.home / "record"
    result = installed.run(installed.python, "-m", "fuzzplug.engines.harness",
                           "--target=insert_pfn", "-runs=300", "-seed=1",
                           f"-artifact_prefix={installed.home}/", FUZZPLUG_RECORD=str(record))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done 300 runs" in result.stderr


@slow
def test_the_packed_harness_is_built_from_the_regular_install(packed):
    """The archive carries what only the install has beside the modules, the seed
    scenarios (fuzzplug.corpora), with the known findings, and no fuzzplug metadata."""
    from PyInstaller.archive.readers import CArchiveReader

    for fuzzer, binary in packed.items():
        target = fuzzer.removeprefix("fuzz_")
        names = list(CArchiveReader(str(binary)).toc)
        assert f"fuzzplug/targets/{target}/known.toml" in names
        assert any(n.startswith(f"fuzzplug/corpora/{target}/") for n in names)
        assert not [n for n in names if n.startswith("fuzzplug-")]


def _fake_builder(tmp_path: Path, checkout: Path, python: Path, env: dict) -> tuple[Path, Path]:
    """$SRC/fuzzplug is `checkout`; pip3 and compile_python_fuzzer only log, python3 is
    `python`. Returns ($OUT, the log)."""
    src, out, stubs = tmp_path / "src", tmp_path / "out", tmp_path / "bin"
    for folder in (src, out, stubs):
        folder.mkdir(parents=True)
    (src / "fuzzplug").symlink_to(checkout)
    log = tmp_path / "calls.log"
    for name, body in {"pip3": f'echo "pip3 $*" >> "{log}"',
                       "compile_python_fuzzer": f'echo "compile_python_fuzzer $*" >> "{log}"',
                       "python3": f'exec "{python}" "$@"'}.items():
        (stubs / name).write_text(f"#!/bin/sh\n{body}\n")
        (stubs / name).chmod(0o755)
    env = {**env, "SRC": str(src), "OUT": str(out),
           "PATH": f"{stubs}{os.pathsep}{env['PATH']}"}
    result = subprocess.run(["bash", "-eu", str(checkout / "oss-fuzz" / "build.sh")],
                            cwd=src, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return out, log


@slow
def test_build_sh_needs_no_checkout_for_the_seeds(installed, tmp_path):
    """oss-fuzz/build.sh in a fake builder whose python3 is the regular install and whose
    checkout has no corpora/: the seed corpus zip is every seed all the same."""
    checkout = tmp_path / "checkout"
    (checkout / "oss-fuzz").mkdir(parents=True)
    (checkout / "oss-fuzz" / "build.sh").write_text(
        (ROOT / "oss-fuzz" / "build.sh").read_text())
    (checkout / "harnesses").mkdir()
    for harness in ROOT.glob("harnesses/fuzz_*.py"):
        (checkout / "harnesses" / harness.name).write_text(harness.read_text())
    out, _ = _fake_builder(tmp_path / "builder", checkout, installed.python, installed.env())
    with zipfile.ZipFile(out / "fuzz_insert_pfn_seed_corpus.zip") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    assert members == compile_seeds(load_target("insert_pfn"))
    assert (out / "fuzz_insert_pfn.dict").read_text()
    assert "max_len = 512" in (out / "fuzz_insert_pfn.options").read_text()


@slow
def test_known_add_and_the_users_known_file_work_from_the_install(installed, tmp_path):
    """From the install: `known add` writes a user's known file outside the package,
    `replay --known` and FUZZPLUG_KNOWN read it, and the harness refuses a missing one with
    one line and exit 2."""
    scenario = tmp_path / "combination.ops"
    scenario.write_text("config HAVE_PTE_SPECIAL=0 arch=ppc64 DEBUG_VM=1\nfault addr=0x100000\n"
                        "zap addr=0x100000\nfault addr=0x100000\n"
                        "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
    farm = tmp_path / "farm.toml"
    result = installed.run(installed.fuzzplug, "known", "add", "insert_pfn", scenario,
                           "--to", farm)
    assert result.returncode == 0, result.stderr
    for extra, env in ((["--known", str(farm)], {}), ([], {"FUZZPLUG_KNOWN": str(farm)})):
        result = installed.run(installed.fuzzplug, "replay", "insert_pfn", scenario, "--json",
                               *extra, **env)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["known"]["by"] == "signature"
    result = installed.run(installed.python, "-m", "fuzzplug.engines.harness",
                           "--target=insert_pfn", "-runs=10",
                           FUZZPLUG_KNOWN=str(tmp_path / "missing.toml"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"fuzzplug.engines.harness: error: {tmp_path / 'missing.toml'}: no such known file")

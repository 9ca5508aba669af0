"""Tests of fuzzplug.triage.export and the `export` verb: the exported file is a pytest module that
passes as exported and fails when the recorded verdict or signature no longer holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fuzzplug.cli import main
from fuzzplug.core.opslang import encode, parse_text
from fuzzplug.core.oracle import signature_id
from fuzzplug.targets import load_target

pytestmark = pytest.mark.slow  # each test runs pytest in a subprocess

TARGET = load_target("insert_pfn")
PFN_MISMATCH = ("vm_insert_mixed addr=0x100000 pfn=0x81\n"
                "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
SAME = "vm_insert_pfn addr=0x100000 pfn=0x80\n"


def _signature(text: str) -> str:
    return TARGET.evaluate(parse_text(TARGET.schema, text)).signature


def run_pytest(path: Path) -> subprocess.CompletedProcess:
    """pytest on one file, from its own folder, with warnings as errors and no cache."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error",
         "--rootdir", str(path.parent), str(path)],
        cwd=path.parent, capture_output=True, text=True, timeout=300)


def test_an_exported_divergence_passes_under_pytest(tmp_path, monkeypatch, capsys):
    """./test_regression_<sigid>.py is written and its one test passes under pytest."""
    src = tmp_path / "bug.bin"
    src.write_bytes(encode(TARGET.schema, parse_text(TARGET.schema, PFN_MISMATCH)))
    out_dir = tmp_path / "exported"
    out_dir.mkdir()
    monkeypatch.chdir(out_dir)
    assert main(["export", "insert_pfn", str(src), "--pytest"]) == 0
    sig = TARGET.evaluate(parse_text(TARGET.schema, PFN_MISMATCH)).signature
    path = out_dir / f"test_regression_{signature_id(sig)}.py"
    assert f"wrote {path}" in capsys.readouterr().out
    source = path.read_text()
    assert PFN_MISMATCH in source and repr(sig) in source
    result = run_pytest(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_an_exported_test_fails_when_the_signature_changes(tmp_path):
    """The same file with another expected signature fails: the test can fail."""
    src = tmp_path / "bug.ops"
    src.write_text(PFN_MISMATCH)
    path = tmp_path / "test_exported.py"
    assert main(["export", "insert_pfn", str(src), "--pytest", "-o", str(path)]) == 0
    source = path.read_text()
    tampered = tmp_path / "test_tampered.py"
    tampered.write_text(source.replace("EXPECTED_SIGNATURE = 'vm_insert",
                                       "EXPECTED_SIGNATURE = 'changed/vm_insert"))
    assert tampered.read_text() != source
    result = run_pytest(tampered)
    assert result.returncode == 1 and "1 failed" in result.stdout


def test_an_input_that_is_not_divergent_exports_its_verdict(tmp_path):
    """A `same` input exports (into an -o folder) a passing test asserting `same`."""
    src = tmp_path / "same.ops"
    src.write_text(SAME)
    folder = tmp_path / "out"
    folder.mkdir()
    assert main(["export", "insert_pfn", str(src), "--pytest", "-o", str(folder)]) == 0
    [path] = folder.glob("test_regression_*.py")
    source = path.read_text()
    assert "EXPECTED_VERDICT = 'same'" in source and "EXPECTED_SIGNATURE = None" in source
    result = run_pytest(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_output_folder_that_does_not_exist_is_created_when_named_with_a_slash(tmp_path):
    """`-o new/dir/` creates the folders and writes the test inside them."""
    src = tmp_path / "mismatch.ops"
    src.write_text(PFN_MISMATCH)
    folder = tmp_path / "new" / "dir"
    assert main(["export", "insert_pfn", str(src), "--pytest", "-o", f"{folder}/"]) == 0
    assert folder.is_dir()
    [path] = folder.glob("test_regression_*.py")
    assert path.name == f"test_regression_{signature_id(_signature(PFN_MISMATCH))}.py"


def test_an_output_that_is_neither_a_folder_nor_a_py_file_is_refused(tmp_path, capsys):
    """`-o new` (no slash, no .py, nothing there) is refused and writes nothing."""
    src = tmp_path / "mismatch.ops"
    src.write_text(PFN_MISMATCH)
    assert main(["export", "insert_pfn", str(src), "--pytest", "-o",
                 str(tmp_path / "new")]) == 2
    assert "not a folder, and not a .py file" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mismatch.ops"]

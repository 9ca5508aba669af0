"""`fuzzplug export`: --pytest is the default, the input's pair (or --pre/--post) is the one
the test asserts on, and an existing test of another input is never replaced."""

from __future__ import annotations

import runpy
from pathlib import Path

from fuzzplug.cli import main

ROOT = Path(__file__).parents[1]
F2C = ROOT / "corpora" / "insert_pfn" / "intended_f2c_zero_pfn_mismatch_is_silent.ops"
PFN_MISMATCH = ("vm_insert_mixed addr=0x100000 pfn=0x81\n"
                "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
PFN_MISMATCH_TOO = ("vm_insert_mixed addr=0x100000 pfn=0x82\n"
                    "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")


def _run_exported(path: Path) -> dict:
    """Import the exported module and run its test function (it raises if it fails)."""
    module = runpy.run_path(str(path))
    tests = [f for name, f in module.items() if name.startswith("test_")]
    assert len(tests) == 1
    tests[0]()
    return module


def test_export_without_pytest_writes_the_pytest_module(tmp_path, capsys):
    """`--pytest` is optional: the one format is the default."""
    out = tmp_path / "test_x.py"
    src = tmp_path / "bug.ops"
    src.write_text(PFN_MISMATCH)
    assert main(["export", "insert_pfn", str(src), "-o", str(out)]) == 0
    assert _run_exported(out)["EXPECTED_VERDICT"] == "divergent"


def test_export_asserts_the_verdict_on_the_pair_the_scenario_names(tmp_path, capsys):
    """A scenario whose `# pair:` names the first fix's pair exports its verdict there
    (intended), as replay gives it, and the test runs on that pair."""
    out = tmp_path / "test_f2c.py"
    assert main(["export", "insert_pfn", str(F2C), "-o", str(out)]) == 0
    assert "intended on v4.14..v4.14+f2c57d91b0d9" in capsys.readouterr().out
    module = _run_exported(out)
    assert module["PAIR"] == "v4.14..v4.14+f2c57d91b0d9"
    assert module["EXPECTED_VERDICT"] == "intended"


def test_export_takes_pre_and_post(tmp_path, capsys):
    """--pre/--post choose the pair over the file's: on v4.13..v4.14 the same scenario is
    divergent."""
    out = tmp_path / "test_default_pair.py"
    assert main(["export", "insert_pfn", str(F2C), "--pre", "v4.13", "--post", "v4.14",
                 "-o", str(out)]) == 0
    module = _run_exported(out)
    assert (module["PAIR"], module["EXPECTED_VERDICT"]) == ("v4.13..v4.14", "divergent")


def test_a_second_input_with_the_same_signature_does_not_replace_the_first(tmp_path,
                                                                           monkeypatch,
                                                                           capsys):
    """Two inputs with one signature get one default name: the second export is refused
    with exit 2 and the first file is left as it was; exporting the first again is fine."""
    monkeypatch.chdir(tmp_path)
    first, second = tmp_path / "a.ops", tmp_path / "b.ops"
    first.write_text(PFN_MISMATCH)
    second.write_text(PFN_MISMATCH_TOO)
    assert main(["export", "insert_pfn", str(first)]) == 0
    [written] = tmp_path.glob("test_regression_*.py")
    before = written.read_text()
    capsys.readouterr()
    assert main(["export", "insert_pfn", str(second)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fuzzplug: error: {written}: exists and tests another reproducer")
    assert written.read_text() == before
    assert main(["export", "insert_pfn", str(first)]) == 0

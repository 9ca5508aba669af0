"""A folder or file of another target is named as such, never blamed on options nobody
gave; a report of nothing is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzzplug.cli import main
from fuzzplug.core.findings import FindingEntry, write_entry
from fuzzplug.core.opslang import encode, parse_text
from fuzzplug.targets import load_target

ROOT = Path(__file__).parents[1]
PPC64 = ROOT / "corpora" / "insert_pfn" / "divergent_ppc64_set_pte_at_on_present_pte.ops"


@pytest.fixture(name="insert_pfn_findings")
def _insert_pfn_findings(tmp_path) -> Path:
    """A findings folder of insert_pfn holding one finding (found on its default pair)."""
    target = load_target("insert_pfn")
    ops = parse_text(target.schema, PPC64.read_text())
    outcome = target.evaluate(ops)
    fdir = tmp_path / "findings"
    write_entry(target, fdir, FindingEntry(outcome.signature, 1,
                                           encode(target.schema, ops), outcome))
    return fdir


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("fuzzplug: error: ") and err.count("\n") == 1, err
    return err


def test_report_on_another_targets_folder_names_that_target(insert_pfn_findings, capsys):
    """`report dax_fault <insert_pfn findings>`: exit 2, the folder is insert_pfn's; no word
    of --pre/--post."""
    assert main(["report", "dax_fault", str(insert_pfn_findings)]) == 2
    err = _error(capsys)
    assert "insert_pfn's" in err and "--pre" not in err


def test_replay_of_another_targets_finding_names_that_target(insert_pfn_findings, capsys):
    """`replay dax_fault <an insert_pfn repro.bin>`: exit 2, it is a finding of insert_pfn."""
    repro = next(insert_pfn_findings.glob("*/repro.bin"))
    assert main(["replay", "dax_fault", str(repro)]) == 2
    err = _error(capsys)
    assert "a finding of target insert_pfn, not dax_fault" in err and "--pre" not in err


def test_replay_of_a_scenario_naming_a_pair_the_target_lacks_says_so(tmp_path, capsys):
    """A scenario whose `# pair:` the target does not have is named, not the options."""
    scenario = tmp_path / "other.ops"
    scenario.write_text("# pair: v4.13..v9.9\nfault addr=0x100000\n")
    assert main(["replay", "insert_pfn", str(scenario)]) == 2
    err = _error(capsys)
    assert f"{scenario}: names the pair v4.13..v9.9" in err and "--pre" not in err
    assert "no version 'v9.9'" in err


def test_report_on_a_folder_without_findings_is_refused(tmp_path, capsys):
    """An empty folder is not a report of 0 signatures: exit 2."""
    assert main(["report", "insert_pfn", str(tmp_path)]) == 2
    assert "no divergent signature of insert_pfn recorded there" in _error(capsys)


def test_report_on_its_own_targets_folder_still_reports(insert_pfn_findings, capsys):
    """The right target's folder gives its report (exit 0)."""
    assert main(["report", "insert_pfn", str(insert_pfn_findings)]) == 0
    assert "1 divergent signature" in capsys.readouterr().out

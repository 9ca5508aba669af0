"""`fuzzplug exhaustive dax_fault --tasks 2` with `--json` and `--findings`: the report as
JSON and the signatures as findings folders, as the one-task checker gives them.

The bound, the cheapest with signatures (about a second in one process): task 0 one memory
access, task 1 one system call, in scene 0 (x86-64 shared). Its three signatures are the
v4.13 hole page that survives a racing write(2), all known by cause."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fuzzplug.cli import main
from fuzzplug.core.opslang import decode, parse_text
from fuzzplug.targets.dax_fault import interleavings
from fuzzplug.targets.dax_fault.schema import SCHEMA
from fuzzplug.targets.dax_fault.target import TARGET

BOUND = ["--depth", "1", "--calls", "accesses/syscalls", "--scenes", "0"]
CHECK = ["exhaustive", "dax_fault", "--tasks", "2", *BOUND, "--jobs", "1", "--no-progress"]


@pytest.fixture(scope="module")
def report() -> interleavings.Report:
    """The checker's own report on the bound, to hold the command's output against."""
    bound = interleavings.parse_bound("1", "accesses/syscalls", "0")
    return interleavings.run(TARGET, bound, progress=False, jobs=1)


def _check(capsys, *args) -> tuple[int, str, str]:
    status = main([*CHECK, *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_interleavings_checker_prints_its_report_as_json_with_each_signatures_known_status(
        report, capsys):
    """`--json`: the bound (described and as numbers), one entry per pair checked, what is
    proven in the words the text report uses, and each signature (sorted) with the status
    that `new_signatures` (the exit status) gives it and the reproducer that has it."""
    status, out, _ = _check(capsys, "--json")
    doc = json.loads(out)
    assert status == 0
    assert (doc["target"], doc["engine"], doc["tasks"]) == ("dax_fault", "exhaustive", 2)
    assert doc["bound"] == {"description": report.bound.describe(),
                            "sets": ["accesses", "syscalls"], "depths": [1, 1],
                            "scenes": [0]}
    assert doc["scenes"] == ["0 x86_64 shared"]
    assert doc["pairs"] == len(interleavings.pairs(report.bound)) == report.pairs == 15
    assert doc["runs"] == report.runs and doc["abandoned"] == report.abandoned
    assert doc["proven"] is True and doc["unproven"] == []
    assert doc["statement"].startswith("proved:")
    assert doc["statement"] in interleavings.render(TARGET, report).splitlines()
    sigs = [s["signature"] for s in doc["signatures"]]
    assert sigs == sorted(report.hits) and len(sigs) == 3
    new = interleavings.new_signatures(TARGET, report)
    for s in doc["signatures"]:
        hit = report.hits[s["signature"]]
        assert s["known"] is (s["signature"] not in new) is True
        assert s["status"] == "known: cause v4_13_hole_page_survives_racing_write"
        assert s["known_causes"] == ["v4_13_hole_page_survives_racing_write"]
        assert (s["side"], s["count"], s["scene"]) == (hit.side, hit.count, hit.scene)
        assert parse_text(SCHEMA, s["reproducer"]) == hit.reproducer


def test_a_signature_the_known_list_lacks_is_new_in_the_json_and_the_exit_status_is_one(
        report, monkeypatch, capsys):
    """Without the known list's causes, a signature matched only by cause is NEW in the
    JSON, as `new_signatures` says, and the command exits 1, as the text mode does."""
    monkeypatch.setattr(type(TARGET), "known_causes", lambda self: {}, raising=False)
    new = interleavings.new_signatures(TARGET, report)
    assert new
    status, out, _ = _check(capsys, "--json")
    assert status == 1
    for s in json.loads(out)["signatures"]:
        assert s["known"] is (s["signature"] not in new)
        if not s["known"]:
            assert s["status"] == "NEW: not in the known list" and s["known_causes"] is None
    assert _check(capsys)[0] == 1


def test_the_interleavings_checker_writes_a_findings_folder_per_signature_that_replays_to_it(
        tmp_path, capsys):
    """`--findings FDIR`: a folder per signature whose input decodes to the reproducer the
    report shows and replays (`fuzzplug replay`, `fuzzplug triage`) to its signature, and
    summary.json with the engine, the tasks and the report (the JSON without its
    signatures)."""
    fdir = tmp_path / "findings"
    status, out, _ = _check(capsys, "--json", "--findings", str(fdir))
    assert status == 0
    doc = json.loads(out)
    summary = json.loads((fdir / "summary.json").read_text())
    assert (summary["target"], summary["engine"], summary["tasks"]) == (
        "dax_fault", "exhaustive", 2)
    assert summary["report"] == {k: v for k, v in doc.items() if k != "signatures"}
    assert [f["signature"] for f in summary["findings"]] == [
        s["signature"] for s in doc["signatures"]]
    folders = sorted(p.name for p in fdir.iterdir() if p.is_dir())
    assert folders == sorted(f["folder"] for f in summary["findings"])
    for sig, finding in zip(doc["signatures"], summary["findings"]):
        folder = fdir / finding["folder"]
        assert decode(SCHEMA, (folder / "repro.bin").read_bytes()) == parse_text(
            SCHEMA, sig["reproducer"])
        record = json.loads((folder / "record.json").read_text())
        assert (record["signature"], record["known"]) == (sig["signature"], sig["known"])
        assert main(["replay", "dax_fault", str(folder), "--json"]) == 0
        replayed = json.loads(capsys.readouterr().out)
        assert (replayed["verdict"], replayed["signature"]) == ("divergent", sig["signature"])
    assert main(["triage", str(fdir), "--json"]) == 0
    triaged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(r["signature"] for r in triaged) == sorted(s["signature"]
                                                            for s in doc["signatures"])
    assert all(r["reproduces"] and r["target"] == "dax_fault" for r in triaged)


def test_with_findings_the_text_report_is_still_printed(report, tmp_path, capsys):
    """`--findings` without `--json` prints the text report, as the one-task command does,
    and writes the same folders."""
    status, out, _ = _check(capsys, "--findings", str(tmp_path / "f"))
    assert status == 0
    assert out.startswith(f"dax_fault: {report.bound.describe()}\n")
    assert report.statement() in out.splitlines()
    assert len([p for p in (tmp_path / "f").iterdir() if p.is_dir()]) == len(report.hits)


def _in_the_way(tmp_path: Path) -> Path:
    (tmp_path / "file").write_text("")
    return tmp_path / "file"


def _below_a_file(tmp_path: Path) -> Path:
    return _in_the_way(tmp_path) / "sub" / "out"


@pytest.mark.parametrize("where", [_in_the_way, _below_a_file],
                         ids=["a-file-in-the-way", "below-a-file"])
def test_a_findings_folder_that_cannot_be_made_is_one_line_and_status_two_before_the_run(
        where, tmp_path, capsys):
    """A bad `--findings` folder: the project's one-line error, status 2, no traceback and
    no report (it is checked before the run)."""
    status, out, err = _check(capsys, "--findings", str(where(tmp_path)))
    assert status == 2 and out == ""
    assert err.startswith("fuzzplug: error: ") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err

"""Tests of fuzzplug.triage.triage and the `triage` verb: reproducers of one bug are grouped,
different bugs are kept apart, and a reproducer that does not reproduce is flagged."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fuzzplug.cli import main
from fuzzplug.core.findings import FindingEntry, write_entry
from fuzzplug.core.opslang import encode, parse_text
from fuzzplug.errors import InputError
from fuzzplug.targets import load_target
from fuzzplug.triage.triage import find_reproducers, render, triage

TARGET = load_target("insert_pfn")
SCHEMA = TARGET.schema

PPC64 = ("config arch=ppc64_radix DEBUG_VM=1\nvm_insert_mixed addr=0x100000 pfn=0x80\n"
         "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
PPC64_NOISY = ("config arch=ppc64_radix DEBUG_VM=1\nzap addr=0x108000\nfault addr=0x10c000\n"
               "vm_insert_mixed addr=0x100000 pfn=0x80\n"
               "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
PPC64_MOVED = PPC64.replace("0x100000", "0x101000")
PFN_MISMATCH = ("vm_insert_mixed addr=0x100000 pfn=0x81\n"
                "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
SAME = "vm_insert_pfn addr=0x100000 pfn=0x80\n"


def binary(text: str) -> bytes:
    return encode(SCHEMA, parse_text(SCHEMA, text))


def signature(text: str) -> str:
    return TARGET.evaluate(parse_text(SCHEMA, text)).signature


@pytest.fixture
def crashes(tmp_path) -> Path:
    folder = tmp_path / "crashes"
    folder.mkdir()
    for name, text, mtime in (("crash-ppc64", PPC64, 1_700_000_300),
                              ("crash-ppc64-noisy", PPC64_NOISY, 1_700_000_100),
                              ("timeout-ppc64-moved", PPC64_MOVED, 1_700_000_200),
                              ("oom-pfn", PFN_MISMATCH, 1_700_000_000)):
        path = folder / name
        path.write_bytes(binary(text))
        os.utime(path, (mtime, mtime))
    (folder / "not-a-crash-file").write_bytes(binary(PPC64))
    return folder


def test_the_three_reproducers_of_one_bug_share_a_signature():
    """Precondition: the noisy and the moved variants are the same bug as the plain one."""
    assert signature(PPC64) == signature(PPC64_NOISY) == signature(PPC64_MOVED)
    assert signature(PFN_MISMATCH) not in (None, signature(PPC64))


def test_reproducers_of_one_bug_are_grouped_and_different_bugs_kept_apart(crashes):
    """Three ppc64 files in one group, the pfn mismatch in another; other names ignored."""
    groups = triage([str(crashes)], "insert_pfn")
    assert [(g.signature, len(g.members)) for g in groups] == [
        (signature(PPC64), 3), (signature(PFN_MISMATCH), 1)]
    assert all(m.reproduces for g in groups for m in g.members)


def test_a_group_reports_its_shortest_reproducer_and_first_and_last_seen(crashes):
    """Shortest: the plain seed; first/last seen: oldest/newest mtime in UTC ISO 8601."""
    group = triage([str(crashes)], "insert_pfn")[0].to_json()
    assert group["shortest"] == {"path": str(crashes / "crash-ppc64"), "calls": 2,
                                 "bytes": len(binary(PPC64))}
    assert group["first_seen"] == "2023-11-14T22:15:00+00:00"
    assert group["last_seen"] == "2023-11-14T22:18:20+00:00"
    assert group["hits"] == group["n_files"] == 3 and group["reproduces"] is True


def test_a_crash_file_that_is_not_divergent_is_flagged(crashes):
    """A crash file whose re-run is `same` is its own group, flagged as not reproducing."""
    (crashes / "crash-stale").write_bytes(binary(SAME))
    groups = {g.signature: g for g in triage([str(crashes)], "insert_pfn")}
    stale = groups["<same>"].to_json()
    assert stale["reproduces"] is False
    assert "does not reproduce" in stale["problems"][0]
    assert "not reproducing:" in render(list(groups.values()))


def test_a_findings_folder_is_read_with_its_recorded_target_and_checked(tmp_path):
    """repro.bin is found; a record.json that no longer matches the re-run is flagged."""
    fdir = tmp_path / "findings"
    for text in (PPC64, PFN_MISMATCH):
        write_entry(TARGET, fdir, FindingEntry(signature(text), 1, binary(text)))
    folder = next(p.parent for p in fdir.glob("*/record.json")
                  if json.loads(p.read_text())["signature"] == signature(PFN_MISMATCH))
    record = json.loads((folder / "record.json").read_text())
    record["signature"] = "vm_insert_mixed_mkwrite/warn:gone/00000000"
    (folder / "record.json").write_text(json.dumps(record))
    reps = find_reproducers([str(fdir)], default_target="no-such-target")
    assert {r.target for r in reps} == {"insert_pfn"} and len(reps) == 2
    groups = {g.signature: g.to_json() for g in triage([str(fdir)])}
    assert groups[signature(PPC64)]["reproduces"] is True
    assert groups[signature(PFN_MISMATCH)]["reproduces"] is False
    assert "differs from record.json" in groups[signature(PFN_MISMATCH)]["problems"][0]


def test_a_broken_record_json_is_a_one_line_error(tmp_path):
    """record.json that is not JSON: InputError naming it."""
    folder = tmp_path / "findings" / "x"
    folder.mkdir(parents=True)
    (folder / "repro.bin").write_bytes(binary(PPC64))
    (folder / "record.json").write_text("{not json")
    with pytest.raises(InputError, match="record.json: not a JSON findings record"):
        triage([str(tmp_path / "findings")])


def test_the_verb_prints_a_short_block_per_signature(crashes, capsys):
    """`triage DIR`: per signature (most hits first) the signature, then its hits, files,
    target and one seen time when first and last agree, then the shortest path; every line
    short enough to read (the path is no longer last on a 550-column row)."""
    assert main(["triage", str(crashes), "--target", "insert_pfn"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "2 signatures in 4 files"
    blocks = [lines[i:i + 3] for i, line in enumerate(lines) if line.startswith("vm_")]
    assert [b[0].split()[0] for b in blocks] == [signature(PPC64), signature(PFN_MISMATCH)]
    assert blocks[0][1].startswith("  3 hits, 3 files, reproduces; insert_pfn; ")
    assert blocks[1][1].startswith("  1 hit, 1 file, reproduces; insert_pfn; seen ")
    assert blocks[0][2].startswith(f"  shortest: {crashes / 'crash-ppc64'} (")
    assert all(len(line) < 200 for b in blocks for line in b[1:])


def test_the_hits_column_adds_up_the_records_counts(tmp_path, capsys):
    """A findings folder's row counts its record's hits, and names the known cause."""
    fdir = tmp_path / "findings"
    write_entry(TARGET, fdir, FindingEntry(signature(PPC64), 1234, binary(PPC64)))
    assert main(["triage", str(fdir), "--json"]) == 0
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (record["hits"], record["n_files"]) == (1234, 1)
    assert record["known_causes"] == ["ppc64_set_pte_at_on_present_pte"]
    assert main(["triage", str(fdir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].endswith("[known: cause ppc64_set_pte_at_on_present_pte]")
    assert lines[3].startswith("  1,234 hits, 1 file, ")


def test_the_verb_in_json_gives_one_object_per_signature(crashes, capsys):
    """`triage DIR --json`: one JSON object per line, one line per signature."""
    assert main(["triage", str(crashes), "--json", "--target", "insert_pfn"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["signature"] for r in records] == [signature(PPC64), signature(PFN_MISMATCH)]
    assert [(r["hits"], r["n_files"]) for r in records] == [(3, 3), (1, 1)]
    assert sorted(Path(f).name for f in records[0]["files"]) == [
        "crash-ppc64", "crash-ppc64-noisy", "timeout-ppc64-moved"]


def test_the_files_rerun_in_two_processes_give_the_report_of_one(crashes, capsys):
    """`--jobs 2` re-runs the files in two worker processes: the same JSON, byte for byte,
    as in one (the text report too); `--jobs 0` is a one-line error."""
    outputs = {}
    for jobs in ("1", "2"):
        for form in ((), ("--json",)):
            assert main(["triage", str(crashes), "--target", "insert_pfn", "--jobs", jobs,
                         *form]) == 0
            outputs[jobs, form] = capsys.readouterr().out
    assert outputs["1", ()] == outputs["2", ()]
    assert outputs["1", ("--json",)] == outputs["2", ("--json",)]
    assert len(outputs["2", ("--json",)].splitlines()) == 2
    assert main(["triage", str(crashes), "--target", "insert_pfn", "--jobs", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--jobs must be positive" in err and len(err.splitlines()) == 1


def test_a_folder_without_reproducers_says_so(tmp_path, capsys):
    """An empty folder: exit 0 and a sentence, not an empty table."""
    assert main(["triage", str(tmp_path)]) == 0
    assert "no crash files" in capsys.readouterr().out


def test_a_crash_file_without_a_target_is_a_one_line_error(crashes, capsys):
    """`triage DIR` over libFuzzer crash files and no --target: exit 2, one line naming the
    first crash file and the way out, nothing run."""
    assert main(["triage", str(crashes)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("fuzzplug: error: ")
    assert "crash-ppc64" in lines[0] and "--target" in lines[0]


def test_a_repro_bin_without_its_record_needs_a_target_too(tmp_path):
    """A findings folder that lost its record.json names no target: InputError without
    --target, grouped as usual with it."""
    folder = tmp_path / "findings" / "x"
    folder.mkdir(parents=True)
    (folder / "repro.bin").write_bytes(binary(PPC64))
    with pytest.raises(InputError, match="repro.bin without record.json"):
        triage([str(tmp_path / "findings")])
    groups = triage([str(tmp_path / "findings")], "insert_pfn")
    assert [g.signature for g in groups] == [signature(PPC64)]


def test_findings_folders_need_no_target(tmp_path):
    """Findings folders whose record.json names the target triage without --target."""
    fdir = tmp_path / "findings"
    write_entry(TARGET, fdir, FindingEntry(signature(PPC64), 1, binary(PPC64)))
    groups = triage([str(fdir)])
    assert [(g.target, g.signature) for g in groups] == [("insert_pfn", signature(PPC64))]


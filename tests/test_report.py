"""`fuzzplug report` (fuzzplug.triage.report): findings by root cause, new ones first, with
status, upstream fixes, configurations, counts and the shortest reproducer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fuzzplug.cli import main
from fuzzplug.core.findings import FindingEntry, write_entry, write_summary
from fuzzplug.core.known import KnownList
from fuzzplug.core.opslang import encode, format_text, parse_text
from fuzzplug.targets import load_target

TARGET = load_target("insert_pfn")
PPC64 = ("config arch=ppc64_radix DEBUG_VM=1\nvm_insert_mixed addr=0x100000 pfn=0x80\n"
         "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
PPC64_LONG = ("config arch=ppc64_radix DEBUG_VM=1\nzap addr=0x108000\nfault addr=0x100000\n"
              "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
MISMATCH = "vm_insert_mixed addr=0x100000 pfn=0x81\nvm_insert_mixed_mkwrite pfn=0x80\n"
READ_ONLY = ("vma flags=VM_READ|VM_SHARED|VM_MAYREAD|VM_MIXEDMAP\n"
             "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")


def _entry(text: str, count: int) -> FindingEntry:
    ops = parse_text(TARGET.schema, text)
    sig = TARGET.evaluate(ops).signature
    return FindingEntry(sig, count, encode(TARGET.schema, ops),
                        match=KnownList.of(TARGET).match(sig, ops))


@pytest.fixture
def findings(tmp_path) -> Path:
    """A findings folder as a `--no-known` run leaves it, plus a summary.json whose run
    suppressed one more known signature (counted, no reproducer)."""
    fdir = tmp_path / "findings"
    for text, count in ((PPC64, 40), (MISMATCH, 300), (READ_ONLY, 7)):
        write_entry(TARGET, fdir, _entry(text, count))
    other = tmp_path / "findings2"
    write_entry(TARGET, other, _entry(PPC64_LONG, 2))
    write_summary(other, {"target": "insert_pfn", "known_hits": [
        {"signature": "vm_insert_mixed_mkwrite/state:page/6e467071", "count": 11,
         "causes": ["devmap_without_pte_special"], "by": "signature", "suppressed": True}]})
    return tmp_path


def _report(*args: str, capsys) -> str:
    assert main(["report", "insert_pfn", *args]) == 0
    return capsys.readouterr().out


def test_the_report_groups_signatures_by_cause_with_fixes_and_reproducers(findings, capsys):
    """Text form: fixes up front, a section per cause with hits, configurations and reproducer."""
    out = _report(str(findings / "findings"), str(findings / "findings2"), capsys=capsys)
    assert ("upstream fixes to take along: cae85cb8add3 (real bug: "
            "ppc64_set_pte_at_on_present_pte), f2c57d91b0d9 (relaxed upstream: "
            "pfn_mismatch_warn)") in out
    heads = [line for line in out.splitlines() if line.startswith("== ")]
    assert [h.split(":")[0] for h in heads] == [
        "== real bug", "== relaxed upstream", "== benign", "== config-only"]
    ppc64 = out.split(heads[0])[1].split(heads[1])[0]
    assert "upstream fixes: cae85cb8add3" in ppc64
    assert "signatures: 1, hits: 42" in ppc64
    assert "configurations: config arch=ppc64_radix DEBUG_VM=1" in ppc64
    assert "shortest reproducer (2 calls, " in ppc64
    assert "    vm_insert_mixed addr=0x100000 pfn=0x80\n" in ppc64
    config_only = out.split(heads[3])[1]
    assert "(11 hits, suppressed: no reproducer kept)" in config_only
    assert "4 divergent signatures, 360 hits: 0 new, 4 known (4 root causes)" in out


def test_new_signatures_come_first_marked_new(findings, capsys, monkeypatch):
    """With a cause taken off the known list, its signature is NEW and leads the report."""
    known = {s: r for s, r in TARGET.known_findings().items() if "no_vm_write" not in r["causes"]}
    causes = {k: c for k, c in TARGET.known_causes().items() if k != "no_vm_write"}
    monkeypatch.setattr(TARGET, "known_findings", lambda: known)
    monkeypatch.setattr(TARGET, "known_causes", lambda: causes)
    out = _report(str(findings / "findings"), capsys=capsys)
    heads = [line for line in out.splitlines() if line.startswith("== ")]
    assert heads[0] == f"== NEW: {_entry(READ_ONLY, 1).signature}"
    assert "SIGSEGV" in heads[0]
    assert "1 new, 2 known" in out
    record = json.loads(_report(str(findings / "findings"), "--format", "json",
                                capsys=capsys))
    assert [s["signature"] for s in record["new"]] == [heads[0].removeprefix("== NEW: ")]
    assert record["new"][0]["reproducer"]["text"] == format_text(
        TARGET.schema, parse_text(TARGET.schema, READ_ONLY))


def test_the_markdown_and_json_forms_say_the_same(findings, capsys):
    """`--format md` and `--format json` give the same causes, fixes and counts."""
    md = _report(str(findings / "findings"), "--format", "md", capsys=capsys)
    assert "### real bug: ppc64: set_pte_at() over a present PTE" in md
    assert "```\nconfig arch=ppc64_radix DEBUG_VM=1\n" in md
    record = json.loads(_report(str(findings / "findings"), "--format", "json",
                                capsys=capsys))
    assert [c["id"] for c in record["causes"]] == [
        "ppc64_set_pte_at_on_present_pte", "pfn_mismatch_warn", "no_vm_write"]
    assert record["fixes"] == [
        {"commit": "cae85cb8add3", "cause": "ppc64_set_pte_at_on_present_pte",
         "label": "real bug", "companion": None},
        {"commit": "f2c57d91b0d9", "cause": "pfn_mismatch_warn", "label": "relaxed upstream",
         "companion": None}]
    assert record["totals"] == {"signatures": 3, "hits": 347, "new": 0, "known": 3,
                                "causes": 3}


def test_the_report_is_deterministic_and_written_atomically(findings, capsys):
    """Two runs give the same bytes; `-o` writes exactly that, leaving no temporary file."""
    args = (str(findings / "findings"), str(findings / "findings2"))
    first, second = _report(*args, capsys=capsys), _report(*args, capsys=capsys)
    assert first == second
    out = findings / "out" / "report.txt"
    assert main(["report", "insert_pfn", *args, "-o", str(out)]) == 0
    assert out.read_text() == first
    assert [p.name for p in out.parent.iterdir()] == ["report.txt"]


def test_a_missing_folder_is_a_one_line_error(tmp_path, capsys):
    """A findings folder that does not exist: exit 2, one line."""
    assert main(["report", "insert_pfn", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such directory" in err


RADIX = "config arch=ppc64_radix\nvm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n"
NO_SPECIAL = "config HAVE_PTE_SPECIAL=0\nvm_insert_mixed_mkwrite addr=0x100000 pfn=0x1 flags=0\n"


def test_a_companion_fix_is_worded_as_backport_words_it(tmp_path, capsys):
    """66b2ca086210, outside the chain, is the companion fix of cae85cb8add3 in `report`'s
    header, in the words `backport` prints (`Companion.note()`), in every format."""
    from fuzzplug.triage.backport import run_backport

    write_entry(TARGET, tmp_path / "f", _entry(RADIX, 5))
    companion = TARGET.advice().companion("66b2ca086210")
    out = _report(str(tmp_path / "f"), capsys=capsys)
    assert (f"66b2ca086210 ({companion.note()}; pre-existing bug: "
            "radix_soft_dirty_lost_by_v4_13)") in out
    assert "fixed upstream apart" not in out
    md = _report(str(tmp_path / "f"), "--format", "md", capsys=capsys)
    assert f"`66b2ca086210` ({companion.note()};" in md
    record = json.loads(_report(str(tmp_path / "f"), "--format", "json", capsys=capsys))
    [fix] = [f for f in record["fixes"] if f["commit"] == "66b2ca086210"]
    assert fix["companion"]["with"] == ["cae85cb8add3"]
    answer = run_backport(TARGET, depth=0).answer()
    assert companion.describe() in answer and companion.note() in answer


def test_a_cause_section_says_where_it_is_reached_per_architecture(tmp_path, capsys):
    """The latent insert_page() cause: its reach per architecture, in text and JSON."""
    write_entry(TARGET, tmp_path / "f", _entry(NO_SPECIAL, 2))
    out = _report(str(tmp_path / "f"), capsys=capsys)
    section = out.split("== latent:")[1]
    assert "reach:\n" in section and "\n  - ARM, MIPS, SPARC: not reached" in section
    record = json.loads(_report(str(tmp_path / "f"), "--format", "json", capsys=capsys))
    [cause] = [c for c in record["causes"] if c["id"] == "insert_page_ignores_mkwrite"]
    assert any(where.startswith("every other MMU architecture") and what.startswith("reached")
               for where, what in cause["reach"])

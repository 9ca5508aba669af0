"""Every scenario fuzzplug prints parses back, through the text loader and its scene check,
to the very ops it printed: the fuzz table, `report`, `replay --json`, `minimize`, the
exhaustive checker's reproducers."""

from __future__ import annotations

import json
import re

from fuzzplug.cli import main
from fuzzplug.core.findings import FindingEntry, table
from fuzzplug.core.opslang import Op, encode, format_text, parse_text
from fuzzplug.targets import check_scene, load_target

TARGET = load_target("insert_pfn")
SCHEMA = TARGET.schema


def _refused_scene() -> bytes:
    """A divergent binary input (ppc64's stale HPTE) whose scene the text form refuses
    (`vma` end below start): the binary form normalises it."""
    ops = (Op.make(SCHEMA, "config", arch="ppc64"),
           Op.make(SCHEMA, "vma", start=0x100000, end=0),
           Op.make(SCHEMA, "vm_insert_pfn", addr=0x100000, pfn=0),
           Op.make(SCHEMA, "vm_insert_mixed_mkwrite", addr=0x100000, pfn=0))
    return encode(SCHEMA, ops)


def _parses_back(text: str) -> tuple[Op, ...]:
    """The printed scenario read as a person pasting it would: the text loader, then the
    scene check, which must find nothing to refuse."""
    ops = parse_text(SCHEMA, text)
    normal, issues = check_scene(TARGET, ops)
    assert issues == [], issues
    assert normal == ops
    return ops


def test_the_fuzz_table_prints_the_normalised_scene_not_the_raw_bytes():
    """The table's reproducer is what repro.ops holds: `vma ... end=0x101000`, never the
    raw `end=0x0` the text loader would refuse."""
    data = _refused_scene()
    out = table(TARGET, [FindingEntry("vm_insert_mixed_mkwrite/x/0", 3, data)])
    body = "\n".join(line[4:] for line in out.splitlines() if line.startswith("    "))
    assert "end=0x0" not in body
    assert _parses_back(body) == check_scene(TARGET, parse_ops(data))[0]


def parse_ops(data: bytes) -> tuple[Op, ...]:
    from fuzzplug.core.opslang import decode

    return decode(SCHEMA, data)


def test_report_prints_a_crash_files_reproducer_that_parses_back(tmp_path, capsys):
    """`fuzzplug report` on a libFuzzer crash file with a scene the text form refuses
    prints the normalised reproducer; pasted into a file it loads and replays the same."""
    crashes = tmp_path / "crashes"
    crashes.mkdir()
    (crashes / "crash-1").write_bytes(_refused_scene())
    assert main(["report", "insert_pfn", str(crashes), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    texts = [s["reproducer"]["text"] for s in report["new"]]
    texts += [c["shortest"]["text"] for c in report["causes"] if c["shortest"]]
    assert texts
    for text in texts:
        assert "end=0x0" not in text
        _parses_back(text)
    pasted = tmp_path / "pasted.ops"
    pasted.write_text(texts[0])
    assert main(["replay", "insert_pfn", str(pasted), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ops"] == texts[0]


def test_replay_json_of_a_binary_input_gives_ops_that_parse_back(tmp_path, capsys):
    """`replay --json`'s `ops` of a binary input with a refused scene is its normalised
    scenario."""
    raw = tmp_path / "raw.bin"
    raw.write_bytes(_refused_scene())
    assert main(["replay", "insert_pfn", str(raw), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["normalised"]
    _parses_back(record["ops"])


def test_minimize_prints_a_scenario_that_parses_back(tmp_path, capsys):
    """`minimize`'s printed scenario (and OUT.ops) load as they are."""
    raw = tmp_path / "raw.bin"
    raw.write_bytes(_refused_scene())
    assert main(["minimize", "insert_pfn", str(raw), "-o", str(tmp_path / "m")]) == 0
    printed = "".join(line + "\n" for line in capsys.readouterr().out.splitlines()
                      if not line.startswith("#"))
    assert _parses_back(printed) == parse_text(SCHEMA, (tmp_path / "m.ops").read_text())


def test_exhaustive_reproducers_parse_back_and_begin_with_no_bare_scene_line(capsys):
    """The exhaustive checker's reproducers load as they are, and a scene line that only
    repeats its defaults (a bare `config`) is left out."""
    assert main(["exhaustive", "insert_pfn", "--depth", "1", "--no-progress", "--json",
                 "--jobs", "1"]) in (0, 1)
    report = json.loads(capsys.readouterr().out)
    texts = [h["reproducer"] for h in report["signatures"]]
    assert texts
    for text in texts:
        assert not re.match(r"(config|vma|memmap)\n", text)
        _parses_back(text)
    assert format_text(SCHEMA, parse_text(SCHEMA, texts[0])) == texts[0]

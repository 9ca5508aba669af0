"""Inputs (fuzzplug.io): the form is decided by content, a findings folder stands for its
repro.bin, and a target's scene checks apply to text and normalise binary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fuzzplug.cli import main
from fuzzplug.core.findings import FindingEntry, write_entry
from fuzzplug.core.opslang import encode, parse_text
from fuzzplug.farm.files import compile_seeds
from fuzzplug.io import BINARY, NEITHER, TEXT, input_form
from fuzzplug.targets import load_target

TARGET = load_target("insert_pfn")
SCHEMA = TARGET.schema
PPC64 = ("config arch=ppc64 DEBUG_VM=1\nvm_insert_mixed addr=0x100000 pfn=0x80\n"
         "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")


def _replay_json(*paths: Path, capsys) -> list[dict]:
    assert main(["replay", "insert_pfn", *map(str, paths), "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize(("data", "form"), [
    (PPC64.encode(), TEXT),
    (b"# name: x\n\n  fault addr=0x100000  # a read\n", TEXT),
    (b"fault", TEXT),  # an op with its defaults, no newline
    (b"fault\nfaulty addr=1\n", TEXT),  # a scenario with a line that is not an op: the
    # loader names it
    (b"no_such_op a=1\n", TEXT),  # a mistyped op name: word key=value lines
    (b"no_such_op a=1", TEXT),
    (b"# pair: v4.13..v4.14\nno_such_op\n", TEXT),  # begins with a `#` line
    (b'{\n "signature": "x"\n}\n', NEITHER),  # a findings record
    (b"\x01\x06\x80\x01\x00\x80\x01", BINARY),  # fuzzplug's binary form
    (b"\n\n", BINARY),  # libFuzzer inputs: any bytes, printable ones too
    (b"-\n", BINARY),
    (b" :", BINARY),
    (b"{}", BINARY),
    (b"# only a comment\n", TEXT),  # a scenario without ops: the loader refuses it
    (b"#-", BINARY),
    (b"Hello, this is prose.\n", BINARY),
    (bytes(range(128, 256)), BINARY),  # not UTF-8
    (b"fault\x00", TEXT),  # a scenario line with a stray control byte: the loader names it
    (b"vm_insert_mixed addr=0x1\x07 pfn=0x80\n", TEXT),
    (b"\x01no_such_op a=1\n", BINARY),  # fuzzplug's version byte first
    (b"a", BINARY),  # one word that is no op: libFuzzer's as much as anyone's
    (b"a b\n", BINARY),  # words without key=value
    (b"x=1\n", BINARY),
])
def test_the_form_of_an_input_is_decided_by_its_bytes(data, form):
    """Text, binary or neither, by the bytes alone (see fuzzplug.io.input_form)."""
    assert input_form(SCHEMA, data) == form


def test_no_seed_compiles_to_bytes_that_look_like_text():
    """Every seed's binary form is read back as binary (it starts with the version byte)."""
    for name, data in compile_seeds(TARGET).items():
        assert input_form(SCHEMA, data) == BINARY, name


def test_a_scenario_saved_as_txt_is_read_as_text_and_binary_named_ops_as_binary(
        tmp_path, capsys):
    """A scenario in x.txt is text and bytes in y.ops binary: both replay alike."""
    (tmp_path / "x.txt").write_text(PPC64)
    (tmp_path / "y.ops").write_bytes(encode(SCHEMA, parse_text(SCHEMA, PPC64)))
    text, binary = _replay_json(tmp_path / "x.txt", tmp_path / "y.ops", capsys=capsys)
    assert text["signature"] == binary["signature"] is not None
    assert text["ops"] == binary["ops"]


def test_text_that_is_not_a_scenario_is_a_one_line_error_naming_the_line(tmp_path, capsys):
    """A scenario with a line that is not an op, or a JSON record: exit 2, one clear line."""
    path = tmp_path / "notes.bin"
    path.write_text("fault addr=0x100000\nsome notes about a crash\n")
    assert main(["replay", "insert_pfn", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}:2: unknown op 'some'" in err
    record = tmp_path / "record.json"
    record.write_text('{\n "signature": "x"\n}\n')
    assert main(["replay", "insert_pfn", str(record)]) == 2
    assert f"{record}: a JSON document, not an input" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "message"), [
    ("no_such_op a=1\n", ":1: unknown op 'no_such_op'; expected one of: config, vma"),
    ("fault addr=0x100000\nvm_insert_mixd addr=0x100000 pfn=0x80\n",
     ":2: unknown op 'vm_insert_mixd'; expected one of:"),
    ("vm_insert_mixed addr=0x100000\x07 pfn=0x80\n", ":1: control character \\x07 in a scenario"),
    ("# name: x\nfault addr=0x100000\x00\n", ":2: control character \\x00 in a scenario"),
])
def test_a_scenario_with_a_typo_or_a_control_byte_is_a_file_line_error(
        tmp_path, capsys, text, message):
    """A mistyped op name or a stray control byte in a scenario: exit 2, one line naming the
    file and line, never a verdict on bytes nobody wrote."""
    path = tmp_path / "typo.ops"
    path.write_bytes(text.encode())
    for verb in ("replay", "decode", "minimize"):
        assert main([verb, "insert_pfn", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{path}{message}" in err, (verb, err)


def test_dax_fault_scenarios_with_a_typo_are_refused_too(tmp_path, capsys):
    """The rule is the schema's, not one target's: dax_fault names the unknown op too."""
    path = tmp_path / "typo.ops"
    path.write_text("stor addr=0x100000 token=1\n")
    assert main(["replay", "dax_fault", str(path)]) == 2
    assert f"{path}:1: unknown op 'stor'" in capsys.readouterr().err


def test_form_settles_what_the_content_leaves_open(tmp_path, capsys):
    """`--form binary` runs scenario-shaped bytes as a binary input (as the harness would);
    `--form text` reads a one-word file as a scenario, which then names its unknown op."""
    shaped = tmp_path / "crash-1"
    shaped.write_bytes(b"no_such_op a=1\n")
    assert main(["replay", "insert_pfn", str(shaped), "--form", "binary", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["verdict"] in {"same", "intended", "divergent"}
    assert record["normalised"] or record["ops"]
    word = tmp_path / "crash-2"
    word.write_bytes(b"a")
    assert main(["replay", "insert_pfn", str(word), "--json"]) == 0  # binary by content
    capsys.readouterr()
    assert main(["replay", "insert_pfn", str(word), "--form", "text"]) == 2
    assert f"{word}:1: unknown op 'a'" in capsys.readouterr().err


def test_every_corpus_scenario_and_every_seed_keeps_its_form():
    """The shipped scenarios are text and their compiled seeds binary, for every target."""
    from fuzzplug.targets import corpus_dir, target_names
    for name in target_names():
        target = load_target(name)
        scenarios = sorted(corpus_dir(name).glob("*.ops")) if corpus_dir(name) else []
        assert scenarios, name
        for path in scenarios:
            assert input_form(target.schema, path.read_bytes()) == TEXT, path
        for seed, data in compile_seeds(target).items():
            assert input_form(target.schema, data) == BINARY, (name, seed)


def test_a_findings_folder_stands_for_its_repro_bin(tmp_path, capsys):
    """replay, minimize and export take a findings folder; another folder is refused."""
    ops = parse_text(SCHEMA, PPC64)
    sig = TARGET.evaluate(ops).signature
    folder = write_entry(TARGET, tmp_path / "findings", FindingEntry(sig, 3, encode(SCHEMA, ops)))
    (record,) = _replay_json(folder, capsys=capsys)
    assert record["signature"] == sig
    assert main(["minimize", "insert_pfn", str(folder), "-o", str(tmp_path / "min")]) == 0
    assert f"# signature: {sig}" in (tmp_path / "min.ops").read_text()
    out = tmp_path / "tests" / "test_ppc64.py"
    assert main(["export", "insert_pfn", str(folder), "--pytest", "-o", str(out)]) == 0
    assert repr(sig) in out.read_text()
    capsys.readouterr()
    assert main(["replay", "insert_pfn", str(tmp_path)]) == 2
    assert "a findings folder (one holding repro.bin)" in capsys.readouterr().err


def test_minimize_names_its_output_after_a_findings_folder(tmp_path, monkeypatch, capsys):
    """Without -o, minimising `<folder>/` writes ./<folder>.min, not ./repro.bin.min."""
    ops = parse_text(SCHEMA, PPC64)
    sig = TARGET.evaluate(ops).signature
    folder = write_entry(TARGET, tmp_path / "findings", FindingEntry(sig, 1, encode(SCHEMA, ops)))
    monkeypatch.chdir(tmp_path)
    assert main(["minimize", "insert_pfn", str(folder)]) == 0
    assert (tmp_path / f"{folder.name}.min").is_file()
    assert (tmp_path / f"{folder.name}.min.ops").is_file()

"""Bad input for every verb, through the real command line (a subprocess each).

Every case must end the same way: exit status 2, exactly one line on stderr starting with
`fuzzplug: error: `, no traceback, nothing on stdout, and the whole scratch folder — inputs,
the working directory, the output location — exactly as it was (same files, same bytes).

The cases:

=====================  ==========================================================================
missing                the input path does not exist
directory              a folder where a file is expected (for folder verbs: a file where a
                       folder is expected)
empty-text             a 0-byte `.ops` scenario
empty-binary           a 0-byte binary input
syntax-error           a `.ops` scenario with a bad value on line 2: the message names
                       `file:2:` and what was expected
garbage-text           a `.ops` scenario of plain prose before an op line (text, but not a
                       scenario): `file:1:`, unknown op, the expected ops
bad-scene              a scenario whose VMA ends where it starts, on line 2: `file:2:` and
                       the contradiction
garbage-record         (triage) a findings folder whose record.json is not JSON
unwritable-output      the output goes below a regular file (`<file>/sub/out`): mkdir fails
                       with ENOTDIR even for root, where a chmod 0o500 folder would not stop
                       a write
=====================  ==========================================================================

Folder verbs (cmin, coverage, triage) get the bad file inside a folder beside a good input.
Combinations that do not apply are left out of the matrix: a verb without an output has no
unwritable-output case; `triage` reads binary crash files, so no text cases; `fuzz` takes a
corpus folder that it creates when missing and whose files are libFuzzer inputs, where
every byte string is valid (the decoder is total), so only its folders can be bad.

Bytes that are not a scenario (random bytes, prose without an op line, whatever the file's
name) are no case: the form is decided by content, and every byte string is a valid binary
input.

Every verb passes every case: KNOWN_FAILURES is empty and stays so (an entry there would
mark its case `xfail(strict=True)` until fixed).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzplug.core.opslang import encode, parse_text
from fuzzplug.targets import load_target

pytestmark = pytest.mark.slow  # one subprocess per case

SCHEMA = load_target("insert_pfn").schema
DIVERGENT = ("vm_insert_mixed addr=0x100000 pfn=0x81\n"
             "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
SYNTAX_ERROR = "vm_insert_pfn addr=0x100000 pfn=0x80\nvm_insert_pfn addr=0x100000 pfn=zz\n"
GARBAGE_TEXT = ("Hello, this is not a scenario.\nIt is prose.\n"
                "vm_insert_pfn addr=0x100000 pfn=0x80\n")
BAD_SCENE = ("config arch=arm64\nvma start=0x100000 end=0x100000\n"
             "vm_insert_pfn addr=0x100000 pfn=0x80\n")

FILE_CASES = ("missing", "directory", "empty-text", "empty-binary", "syntax-error",
              "garbage-text", "bad-scene")
DIR_CASES = ("missing", "directory", "empty-text", "empty-binary", "syntax-error",
             "garbage-text", "bad-scene")
MATRIX = (
    [("replay", c) for c in FILE_CASES]
    + [(v, c) for v in ("encode", "decode", "minimize", "export")
       for c in FILE_CASES + ("unwritable-output",)]
    + [("cmin", c) for c in DIR_CASES + ("unwritable-output",)]
    + [("coverage", c) for c in DIR_CASES]
    + [("triage", c) for c in ("missing", "directory", "empty-binary", "garbage-record")]
    + [("fuzz", c) for c in ("directory", "unwritable-output")]
)

KNOWN_FAILURES: dict[tuple[str, str], str] = {}


def snapshot(root: Path) -> dict[str, str]:
    """Every path below root: a folder as `dir`, a file as the sha1 of its bytes."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = "dir" if path.is_dir() else hashlib.sha1(path.read_bytes()).hexdigest()
    return out


def _bad_file(folder: Path, case: str, binary_name: str = "input") -> Path:
    """The bad input of `case`, created in `folder` (or not, for `missing`)."""
    if case == "missing":
        return folder / "missing.ops"
    if case == "directory":
        path = folder / "a-folder"
        path.mkdir()
        return path
    if case == "empty-text":
        path = folder / "empty.ops"
        path.write_bytes(b"")
    elif case == "empty-binary":
        path = folder / binary_name
        path.write_bytes(b"")
    elif case == "bad-scene":
        path = folder / "bad-scene.ops"
        path.write_text(BAD_SCENE)
    elif case == "syntax-error":
        path = folder / "syntax.ops"
        path.write_text(SYNTAX_ERROR)
    elif case == "garbage-text":
        path = folder / "prose.ops"
        path.write_text(GARBAGE_TEXT)
    else:
        raise AssertionError(case)
    return path


def build(tmp: Path, verb: str, case: str) -> tuple[list[str], Path | None]:
    """The argv for (verb, case), with its files made under tmp; and the bad file."""
    inputs = tmp / "in"
    inputs.mkdir()
    (tmp / "cwd").mkdir()
    regular = tmp / "regular-file"
    regular.write_text("not a folder\n")
    unwritable = regular / "sub" / "out"
    good_text = inputs / "good.ops"
    good_text.write_text(DIVERGENT)
    good_binary = inputs / "good.bin"
    good_binary.write_bytes(encode(SCHEMA, parse_text(SCHEMA, DIVERGENT)))
    out = tmp / "out"

    if verb == "fuzz":
        if case == "directory":
            return ["fuzz", "insert_pfn", "--time", "1", "--corpus", str(regular),
                    "--findings", str(out)], None
        return ["fuzz", "insert_pfn", "--time", "1", "--corpus", str(tmp / "corpus"),
                "--findings", str(unwritable)], None

    if verb in ("cmin", "coverage", "triage"):
        if case == "missing":
            folder, bad = tmp / "no-such-folder", None
        elif case == "directory":
            folder, bad = regular, None
        elif case == "unwritable-output":
            folder, bad = inputs, None
        elif case == "garbage-record":
            found = inputs / "findings" / "vm_insert_mixed_mkwrite-0123456789ab"
            found.mkdir(parents=True)
            (found / "repro.bin").write_bytes(good_binary.read_bytes())
            bad = found / "record.json"
            bad.write_text("{this is not json")
            folder = inputs
        else:
            folder = inputs
            bad = _bad_file(inputs, case, "crash-empty" if verb == "triage" else "input")
        if verb == "triage":
            (inputs / "crash-good").write_bytes(good_binary.read_bytes())
            return ["triage", str(folder)], bad
        if verb == "coverage":
            return ["coverage", "insert_pfn", str(folder)], bad
        target_out = unwritable if case == "unwritable-output" else out
        return ["cmin", "insert_pfn", str(folder), "-o", str(target_out)], bad

    if case == "unwritable-output":
        source = good_binary if verb == "decode" else good_text
        if verb == "export":  # a test file: its name ends in .py
            return [verb, "insert_pfn", str(source), "-o", f"{unwritable}.py", "--pytest"], None
        return [verb, "insert_pfn", str(source), "-o", str(unwritable)], None
    bad = _bad_file(inputs, case)
    argv = [verb, "insert_pfn", str(bad)]
    if verb == "export":
        argv.append("--pytest")
    if verb in ("encode", "decode"):
        argv += ["-o", str(out)]
    return argv, bad  # minimize and export write into cwd by default


def _params():
    for verb, case in MATRIX:
        marks = ()
        if (verb, case) in KNOWN_FAILURES:
            marks = (pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[verb, case]),)
        yield pytest.param(verb, case, id=f"{verb}-{case}", marks=marks)


@pytest.mark.parametrize(("verb", "case"), list(_params()))
def test_bad_input_is_one_error_line_with_status_2_and_touches_nothing(tmp_path, verb, case):
    """Status 2, one `fuzzplug: error:` line, no traceback, no output, nothing changed."""
    argv, bad = build(tmp_path, verb, case)
    before = snapshot(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUZZPLUG_")}
    result = subprocess.run([sys.executable, "-m", "fuzzplug", *argv], cwd=tmp_path / "cwd",
                            env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.startswith("fuzzplug: error: "), result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), result.stderr
    assert result.stdout == ""
    assert snapshot(tmp_path) == before
    if case == "syntax-error":
        assert f"{bad}:2: " in result.stderr and "expected" in result.stderr
    if case == "garbage-text":
        assert f"{bad}:1: " in result.stderr and "unknown op" in result.stderr
        assert "expected one of" in result.stderr
    if case == "bad-scene":
        assert f"{bad}:2: vma start=0x100000 is not below end=0x100000" in result.stderr
    if case == "unwritable-output":
        assert "Not a directory" in result.stderr or "not a directory" in result.stderr
    if bad is not None and case not in ("missing", "directory"):
        assert str(bad) in result.stderr

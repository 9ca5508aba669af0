"""dax_fault's `task` and `sched` lines: out-of-range values and a `task` line that changes
nothing are file:line errors in text; the binary form runs them normalised, and says so in
text that parses back."""

from __future__ import annotations

import json

import pytest

from fuzzplug.cli import main
from fuzzplug.core.opslang import Op, decode, encode, format_text, parse_text
from fuzzplug.targets import check_scene, load_target

TARGET = load_target("dax_fault")
SCHEMA = TARGET.schema
RACE = ("load addr=0x101000\nstore addr=0x101000 val=0x66\n{task}\n"
        "write page=1 pages=1 val=0x40\n{sched}\n")


@pytest.mark.parametrize("task, sched, line, words", [
    ("task id=7", "sched task=0 steps=13", 3, "task id=7 is out of range"),
    ("task id=1", "sched task=5 steps=13", 5, "sched task=5 is out of range"),
    ("task id=1", "sched task=1 steps=65", 5, "sched steps=65 is out of range"),
    ("task id=0", "sched task=0 steps=13", 3, "the calls here are already task 0's"),
])
def test_a_task_line_out_of_range_is_a_file_line_error(tmp_path, capsys, task, sched, line,
                                                       words):
    """`task id=7`, `sched task=5`, `sched steps=65` and a `task id=0` that leaves every
    call in task 0 are refused at their line, exit 2."""
    path = tmp_path / "race.ops"
    path.write_text(RACE.format(task=task, sched=sched))
    assert main(["replay", "dax_fault", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fuzzplug: error: {path}:{line}: ") and words in err
    assert err.count("\n") == 1


def test_the_defaults_of_bare_task_lines_are_written_out():
    """A bare `task` is `task id=1`, a bare `sched` is `sched task=0 steps=1`, and the text
    form writes them in full."""
    ops = parse_text(SCHEMA, "load\ntask\nstore\nsched\n")
    assert ops[1] == Op.make(SCHEMA, "task", id=1)
    assert ops[3] == Op.make(SCHEMA, "sched", task=0, steps=1)
    assert "task id=1\n" in format_text(SCHEMA, ops)
    assert "sched task=0 steps=1\n" in format_text(SCHEMA, ops)


def test_the_binary_form_normalises_task_lines_to_what_it_runs(tmp_path, capsys):
    """Binary `task id=7`, `sched task=5 steps=200` run as `task id=1`,
    `sched task=2 steps=64`: the same verdict and signature, said in `normalised`, and the
    text replay prints parses back with no issue."""
    raw = parse_text(SCHEMA, RACE.format(task="task id=1", sched="sched task=0 steps=13"))
    odd = tuple(Op.make(SCHEMA, "task", id=7) if op.name == "task" else op for op in raw)
    odd += (Op.make(SCHEMA, "sched", task=5, steps=200),)
    path = tmp_path / "race.bin"
    path.write_bytes(encode(SCHEMA, odd))
    assert main(["replay", "dax_fault", str(path), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert len(record["normalised"]) == 2
    printed = parse_text(SCHEMA, record["ops"])
    assert check_scene(TARGET, printed) == (printed, [])
    assert "task id=1" in record["ops"] and "sched task=2 steps=64" in record["ops"]
    same = TARGET.evaluate(decode(SCHEMA, encode(SCHEMA, odd)))
    assert (record["verdict"], record["signature"]) == (same.verdict.value, same.signature)


def test_a_task_line_that_changes_nothing_becomes_a_no_op_run():
    """Binary `task id=0` among task 0's calls is normalised to `sched task=0 steps=0`, and
    the input keeps its verdict."""
    ops = parse_text(SCHEMA, "load addr=0x101000\nsched task=0 steps=0\nstore addr=0x101000\n")
    with_task = (ops[0], Op.make(SCHEMA, "task", id=0), ops[2])
    normal, issues = check_scene(TARGET, with_task)
    assert normal == ops and len(issues) == 1
    assert TARGET.evaluate(with_task).verdict == TARGET.evaluate(normal).verdict

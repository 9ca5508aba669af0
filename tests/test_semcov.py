"""Tests of fuzzplug.core.semcov and the `coverage` verb: per branch id, the number of inputs
reaching it in each model; unreached ids first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fuzzplug.cli import main
from fuzzplug.core.opslang import encode, parse_text
from fuzzplug.core.semcov import branch_hits, coverage, input_files, load_input, load_inputs
from fuzzplug.errors import InputError
from fuzzplug.targets import load_target

TARGET = load_target("insert_pfn")
SCHEMA = TARGET.schema
ORDER = {"unreached": 0, "partial": 1, "reached": 2, "undeclared": 3}
INPUTS = {
    "ppc64.ops": "config arch=ppc64 DEBUG_VM=1\nvm_insert_mixed addr=0x100000 pfn=0x80\n"
                 "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n",
    "fault.ops": "fault addr=0x100000 flags=FAULT_FLAG_WRITE\n",
    "insert.ops": "vm_insert_pfn addr=0x100000 pfn=0x80\nzap addr=0x100000\n",
}


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    for name, text in INPUTS.items():
        (folder / name).write_text(text)
    (folder / "sub" / "ppc64.bin").write_bytes(
        encode(SCHEMA, parse_text(SCHEMA, INPUTS["ppc64.ops"])))
    (folder / ".hidden").write_bytes(b"\x01\x05")
    return folder


def test_input_files_are_found_recursively_and_hidden_ones_skipped(corpus):
    """Four inputs: three at the top, one in a subfolder; `.hidden` is not one."""
    names = sorted(p.name for p in input_files([str(corpus)]))
    assert names == ["fault.ops", "insert.ops", "ppc64.bin", "ppc64.ops"]


def test_counts_are_the_number_of_inputs_reaching_each_branch(corpus):
    """Each count is the number of inputs whose run took that branch in that model."""
    inputs = load_inputs(SCHEMA, input_files([str(corpus)]))
    report = coverage(TARGET, inputs)
    hits = [branch_hits(TARGET.evaluate(item.ops)) for item in inputs]
    for row in report.rows():
        for version, n in row["inputs"].items():
            assert n == sum(1 for h in hits if row["branch"] in h.get(version, ()))


def test_unreached_ids_come_first(corpus):
    """Rows go unreached, partial, reached, undeclared; each declared id appears once."""
    report = coverage(TARGET, load_inputs(SCHEMA, input_files([str(corpus)])))
    rows = report.rows()
    ranks = [ORDER[r["status"]] for r in rows]
    assert ranks == sorted(ranks) and ranks[0] == 0
    declared = set().union(*TARGET.branch_ids().values())
    assert declared <= {r["branch"] for r in rows}
    assert len(rows) == len({r["branch"] for r in rows})
    for row in rows:
        if row["status"] == "unreached":
            assert all(row["inputs"][v] == 0 for v in row["declared_in"])


def test_totals_match_the_rows(corpus):
    """Per version, `reached` is the number of declared ids with a nonzero count."""
    report = coverage(TARGET, load_inputs(SCHEMA, input_files([str(corpus)])))
    totals = report.totals()
    assert totals["inputs"] == 4
    for version, ids in TARGET.branch_ids().items():
        reached = {r["branch"] for r in report.rows() if r["inputs"][version] > 0}
        assert totals["versions"][version]["reached"] == len(reached & ids)
        assert totals["versions"][version]["declared"] == len(ids)


def test_the_verb_lists_unreached_ids_first(corpus, capsys):
    """`coverage insert_pfn DIR`: the first row under the header is an unreached id."""
    assert main(["coverage", "insert_pfn", str(corpus)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["STATUS", "BRANCH"]
    assert lines[1].startswith("unreached ")
    statuses = [line.split()[0] for line in lines[1:] if line and line.split()[0] in ORDER]
    assert [ORDER[s] for s in statuses] == sorted(ORDER[s] for s in statuses)
    assert any(line.startswith("inputs: 4") for line in lines)


def test_the_verb_in_json_is_a_single_object(corpus, capsys):
    """`coverage --json`: one JSON object with branches (unreached first) and totals."""
    assert main(["coverage", "insert_pfn", str(corpus), "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    record = json.loads(out)
    assert record["target"] == "insert_pfn" and record["inputs"] == 4
    assert record["branches"][0]["status"] == "unreached"
    assert set(record["totals"]["versions"]) == set(TARGET.branch_ids())


@pytest.mark.parametrize("text", ["", "# a header only\n\n"])
def test_a_scenario_without_ops_is_refused(tmp_path, text):
    """An empty .ops, or one with comments only, is an InputError, not an empty input."""
    path = tmp_path / "empty.ops"
    path.write_text(text)
    with pytest.raises(InputError, match="empty.ops"):
        load_input(SCHEMA, path)


def test_a_missing_folder_and_a_file_given_as_a_folder_are_refused(tmp_path):
    """input_files wants folders: a missing path or a regular file is an InputError."""
    (tmp_path / "file").write_bytes(b"\x01")
    with pytest.raises(InputError, match="no such directory"):
        input_files([str(tmp_path / "missing")])
    with pytest.raises(InputError, match="not a directory"):
        input_files([str(tmp_path / "file")])

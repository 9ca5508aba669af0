"""`fuzzplug backport`: the table of divergence classes per version of the chain, what each
fix removes and introduces, and the answer; deterministic, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fuzzplug.cli import main
from fuzzplug.errors import InputError
from fuzzplug.targets.insert_pfn import TARGET
from fuzzplug.triage.backport import GONE, PRESENT, UNTRIAGED, run_backport

V14 = "v4.14"
F2C = "v4.14+f2c57d91b0d9"
BOTH = "v4.14+f2c57d91b0d9+cae85cb8add3"


@pytest.fixture(scope="module")
def report():
    """The known reproducers plus an exhaustive search to depth 1: a small budget."""
    return run_backport(TARGET, depth=1, jobs=1)


def _state(report, cause: str) -> dict[str, str]:
    [cls] = [c for c in report.classes if c.id == cause]
    return {v: report.state(cls, v) for v in report.columns}


def test_the_columns_are_the_versions_after_the_first_compared_with_it(report):
    """v4.13 is the base; one column each for v4.14 and the two fixed versions."""
    assert report.base == "v4.13"
    assert report.columns == (V14, F2C, BOTH)
    assert report.commits[F2C].startswith("f2c57d91b0d9")


def test_the_ppc64_store_over_a_present_pte_is_present_for_v4_14_and_gone_with_both_fixes(
        report):
    """The ppc64 finding (set_pte_at over a present entry): there with the patch and with
    f2c57d91b0d9 alone, gone with cae85cb8add3."""
    assert _state(report, "ppc64_set_pte_at_on_present_pte") == {
        V14: PRESENT, F2C: PRESENT, BOTH: GONE}


def test_the_zero_page_mismatch_warning_is_present_for_v4_14_and_gone_with_the_first_fix(
        report):
    """The WARN on a zero-page mismatch (DAX's hole-to-block race) goes with f2c57d91b0d9."""
    assert _state(report, "zero_pfn_mismatch_warn") == {V14: PRESENT, F2C: GONE, BOTH: GONE}


def test_every_class_that_remains_with_both_fixes_is_triaged(report):
    """No untriaged signature in any column: every remaining class has a cause."""
    assert [c.title for c in report.classes if c.status == UNTRIAGED] == []


def test_the_answer_takes_both_fixes_and_names_what_is_gone(report):
    """The paragraph says to take both, in order, and names the ppc64 and zero-page classes
    among those gone."""
    answer = report.answer()
    assert answer.startswith("Take f2c57d91b0d9 and cae85cb8add3")
    gone = answer.split("these are gone:")[1].split(".")[0]
    assert "ppc64_set_pte_at_on_present_pte" in gone and "zero_pfn_mismatch_warn" in gone


def test_per_fix_the_report_lists_what_it_removes_and_introduces(report):
    """f2c57d91b0d9 removes the zero-page WARN, cae85cb8add3 the ppc64 store; neither
    introduces a class."""
    fixes = {f["commit"].split()[0]: f for f in report.fixes()}
    assert "zero_pfn_mismatch_warn" in [c.id for c in fixes["f2c57d91b0d9"]["removes"]]
    assert "ppc64_set_pte_at_on_present_pte" in [c.id for c in
                                                 fixes["cae85cb8add3"]["removes"]]
    assert all(not f["introduces"] for f in fixes.values())


def test_the_verb_writes_json_atomically_and_the_same_bytes_twice(tmp_path, capsys):
    """`backport --format json -o FILE` (known reproducers only): the file, and a second run
    gives exactly the same bytes."""
    out = tmp_path / "out" / "backport.json"
    args = ["backport", "insert_pfn", "--depth", "0", "--format", "json", "-o", str(out)]
    assert main(args) == 0
    first = out.read_bytes()
    assert main(args) == 0
    assert out.read_bytes() == first
    assert capsys.readouterr().out == ""
    record = json.loads(first)
    assert record["versions"] == [V14, F2C, BOTH]
    assert {"classes", "fixes", "answer", "commits", "explored"} <= set(record)
    assert [p.name for p in out.parent.iterdir()] == ["backport.json"]  # no temporary left


@pytest.mark.parametrize("fmt,start", [("md", "# The backport question: insert_pfn"),
                                       ("text", "backport: insert_pfn")])
def test_the_verb_prints_markdown_and_text(capsys, fmt, start):
    """--format md is a review-ready document with the table; text the same for a terminal."""
    assert main(["backport", "insert_pfn", "--depth", "0", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert out.startswith(start)
    assert "ppc64_set_pte_at_on_present_pte" in out
    if fmt == "md":
        assert f"| class | label | `{V14}` | `{F2C}` | `{BOTH}` |" in out


def test_a_target_without_versions_has_no_backport_question():
    """run_backport on a target that is not Versioned: InputError."""

    class OnePair:
        name = "one"

    with pytest.raises(InputError):
        run_backport(OnePair(), depth=0)


def test_an_output_that_cannot_be_written_is_a_one_line_error(tmp_path, capsys):
    """-o into a path under a regular file: exit 2, one line."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["backport", "insert_pfn", "--depth", "0", "-o",
                 str(Path(blocker) / "out.md")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_report_is_the_same_twice_exhaustive_search_included(report):
    """Deterministic: a second run (known reproducers and depth 1) gives the same JSON."""
    again = run_backport(TARGET, depth=1, jobs=2)
    assert again.to_json() == report.to_json()

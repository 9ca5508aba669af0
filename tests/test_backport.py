"""`fuzzplug backport`: the table of divergence classes per version of the chain, what each
fix removes and introduces, and the answer; deterministic, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fuzzplug.cli import main
from fuzzplug.errors import InputError
from fuzzplug.targets.insert_pfn import TARGET
from fuzzplug.core.advice import Advice, FixChange
from fuzzplug.triage.backport import CHANGED, GONE, PRESENT, UNTRIAGED, run_backport

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
    introduces a class against v4.13."""
    fixes = {f["commit"].split()[0]: f for f in report.fixes()}
    assert "zero_pfn_mismatch_warn" in [c.id for c in fixes["f2c57d91b0d9"]["removes"]]
    assert "ppc64_set_pte_at_on_present_pte" in [c.id for c in
                                                 fixes["cae85cb8add3"]["removes"]]
    assert all(not f["introduces"] for f in fixes.values())


def test_per_fix_the_report_lists_its_intended_changes_each_shown_by_its_reproducer(report):
    """Beside what it removes, each fix lists what its rules allow against the version
    before it: f2c57d91b0d9 the silent zero-page mismatch, cae85cb8add3 the -EBUSY return,
    the hash bits kept and, on radix, soft-dirty dropped; every one shown on its pair."""
    fixes = {f["commit"].split()[0]: [e.change.id for e in f["changes"]]
             for f in report.fixes()}
    assert fixes == {"f2c57d91b0d9": ["f2c_zero_pfn_mismatch_silent"],
                     "cae85cb8add3": ["cae_reuse_returns_ebusy", "cae_hash_reuse_keeps_hpte",
                                      "cae_radix_reuse_drops_soft_dirty"]}
    assert all(e.shown for e in report.changes)
    [radix] = [e for e in report.changes if e.change.id == "cae_radix_reuse_drops_soft_dirty"]
    assert (radix.before, radix.version, radix.verdict) == (F2C, BOTH, "intended")
    assert "reuse_stores_with_ptep_set_access_flags" in radix.rules
    assert radix.reverted == {"radix_soft_dirty_lost_by_v4_13": True}
    assert [report.change_state(radix, v) for v in report.columns] == ["-", "-", CHANGED]


def test_the_answer_names_cae85cb8add3_s_radix_soft_dirty_drop_and_its_companion_fix(report):
    """The radix change is beyond cae85cb8add3's stated intent: the answer names it, and
    66b2ca086210 as the companion fix (never 'fixed upstream apart')."""
    answer = report.answer()
    beyond = answer.split("Beyond its stated intent, cae85cb8add3's rules also allow")[1]
    assert beyond.split(".")[0].startswith(", on ppc64 radix: the reuse of a present entry "
                                           "loses _PAGE_SOFT_DIRTY again")
    assert "cae_radix_reuse_drops_soft_dirty" in beyond.split("Companion fixes")[0]
    companions = answer.split("Companion fixes (outside the chain): ")[1]
    assert companions.startswith('66b2ca086210 ("powerpc/64s/radix: Fix soft dirty tracking"')
    assert "companion fix of cae85cb8add3" in companions.split(". With")[0]
    assert "radix_soft_dirty_lost_by_v4_13 (companion fix: 66b2ca086210)" in answer
    assert "fixed upstream apart" not in answer
    assert "cae_reuse_returns_ebusy" not in answer  # by design: in the per-fix list only


def test_the_answer_names_the_risk_no_fix_removes_per_architecture(report):
    """insert_page_ignores_mkwrite (latent, no fix upstream) is a risk: not reached on the
    modelled architectures, reached on the MMU architectures without pte_special."""
    [risk] = report.risks()
    assert risk.id == "insert_page_ignores_mkwrite"
    risks = report.answer().split("Risks no upstream fix removes, per architecture: ")[1]
    risks = risks.split("\n\n")[0]
    assert risks.startswith("insert_page_ignores_mkwrite (latent) — x86-64, arm64, ppc64")
    assert "ARM, MIPS, SPARC: not reached" in risks
    assert "every other MMU architecture of v4.14" in risks and ": reached where" in risks


def test_the_answer_says_what_its_claims_cover_and_which_target_shows_the_races(report):
    """The claims hold for one task; races (f2c57d91b0d9's real trigger) are out of scope,
    and the dax_fault target's two-task search is named as what shows them."""
    scope = report.answer().split("\n\n")[-1]
    assert scope.startswith("The claims (proven, gone, remains) hold for one task")
    races = scope.split("Out of scope: races among tasks")[1].split("Out of scope:")[0]
    assert "generic/344" in races and "fuzzplug exhaustive dax_fault --tasks 2" in races


def test_a_change_its_reproducer_does_not_show_is_flagged(monkeypatch):
    """A listed change whose rule its reproducer does not apply: `NOT shown`, in the table
    and beside the change, never a silent `changed`."""
    wrong = FixChange("wrong", "cae85cb8add3", "zero_pfn_mismatch_is_silent", "a claim",
                      reproducer="fault addr=0x100000\nvm_insert_mixed_mkwrite pfn=0x80")
    monkeypatch.setattr(type(TARGET), "advice", lambda self: Advice(changes=(wrong,)))
    report = run_backport(TARGET, depth=0)
    [e] = report.changes
    assert not e.shown and report.change_state(e, BOTH) == "NOT shown"
    assert "NOT shown by its reproducer" in e.describe()


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
    assert {"classes", "fixes", "answer", "commits", "explored", "changes", "companions",
            "risks", "scope"} <= set(record)
    [radix] = [c for c in record["changes"] if c["id"] == "cae_radix_reuse_drops_soft_dirty"]
    assert radix["shown"] and radix["fixes"] == ["66b2ca086210"]
    assert record["companions"][0].startswith("66b2ca086210 ")
    assert [r["id"] for r in record["risks"]] == ["insert_page_ignores_mkwrite"]
    assert record["scope"]["out_of_scope"][0]["what"] == "races among tasks"
    assert [p.name for p in out.parent.iterdir()] == ["backport.json"]  # no temporary left


@pytest.mark.parametrize("fmt,start", [("md", "# The backport question: insert_pfn"),
                                       ("text", "backport: insert_pfn")])
def test_the_verb_prints_markdown_and_text(capsys, fmt, start):
    """--format md is a review-ready document with the table; text the same for a terminal;
    both with the table of the fixes' intended changes (radix soft-dirty among them)."""
    assert main(["backport", "insert_pfn", "--depth", "0", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert out.startswith(start)
    assert "ppc64_set_pte_at_on_present_pte" in out
    assert "cae_radix_reuse_drops_soft_dirty" in out and "take 66b2ca086210 along" in out
    if fmt == "md":
        assert f"| class | label | `{V14}` | `{F2C}` | `{BOTH}` |" in out
        assert "| pre-existing bug | ppc64 radix | - | - | changed |" in out
    else:
        assert "cae_radix_reuse_drops_soft_dirty  pre-existing bug  -      -" in out


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
    """Deterministic: a second run (known reproducers and depth 1), in two worker processes
    where the first had one (the reproducers and the exhaustive search shared out among
    them), gives the same JSON."""
    again = run_backport(TARGET, depth=1, jobs=2)
    assert again.to_json() == report.to_json()

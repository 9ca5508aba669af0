"""dax_fault's chain of versions (v4.13, v4.14, then each fix of the series' patch 1): the
DAX model of a fixed version is dax_v4_14's code on that version's mm model, the rules of a
pair are its commits', the known list is by pair, and through the CLI the race and the
ppc64 causes go with their fixes and `fuzzplug backport dax_fault` names both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fuzzplug.cli import main
from fuzzplug.core.opslang import parse_header
from fuzzplug.io import load_ops
from fuzzplug.explore.daxbind import on_mm_model
from fuzzplug.kernel import dax_v4_14, v4_14, v4_14_f2c57d91b0d9
from fuzzplug.targets import load_target, select_pair
from fuzzplug.targets.dax_fault.schema import SCHEMA

ROOT = Path(__file__).parents[1]
CORPUS = ROOT / "corpora" / "dax_fault"
RACE = CORPUS / "divergent_write_fault_races_write_over_zero_page.ops"
TARGET = load_target("dax_fault")
V13, V14 = "v4.13", "v4.14"
F2C, BOTH = "v4.14+f2c57d91b0d9", "v4.14+f2c57d91b0d9+cae85cb8add3"


def test_a_fixed_versions_dax_model_is_v4_14s_code_faulting_through_the_fixed_mm_model():
    """on_mm_model rebinds the mm model and every mm function dax_v4_14 imported; the DAX
    functions stay v4.14's (same source file), and the same module comes back each time."""
    fixed = on_mm_model(dax_v4_14, v4_14_f2c57d91b0d9)
    assert fixed is on_mm_model(dax_v4_14, v4_14_f2c57d91b0d9)
    assert fixed.mm_model is v4_14_f2c57d91b0d9 and fixed.VERSION == F2C
    assert fixed.vm_insert_mixed_mkwrite is v4_14_f2c57d91b0d9.vm_insert_mixed_mkwrite
    assert fixed.REBOUND == ("vm_insert_mixed", "vm_insert_mixed_mkwrite",
                             "zap_page_range_single")
    assert fixed.__file__ == dax_v4_14.__file__
    assert dax_v4_14.mm_model is v4_14 and dax_v4_14.VERSION == V14  # the original is untouched
    assert on_mm_model(dax_v4_14, v4_14) is dax_v4_14


def test_versions_lists_the_four_versions_of_the_chain(capsys):
    """`fuzzplug versions dax_fault`: v4.13 and v4.14 (the defaults), then the two fixes."""
    assert main(["versions", "dax_fault"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert names == [V13, V14, F2C, BOTH]


def test_each_pair_judges_with_the_rules_of_the_commits_between_its_versions():
    """The series' rules only on a pair that spans v4.13 → v4.14; each fix's on a pair that
    spans it."""
    def names(pre, post):
        return {r.name for r in TARGET.with_pair(pre, post).rules}

    assert "hole_read_zero_page" in names(V13, V14)
    assert "zero_pfn_mismatch_is_silent" not in names(V13, V14)
    assert names(V14, F2C) == {"zero_pfn_mismatch_is_silent"}
    assert names(F2C, BOTH) == {"reuse_stores_with_ptep_set_access_flags",
                                "reuse_returns_ebusy"}
    assert {"hole_read_zero_page", "zero_pfn_mismatch_is_silent",
            "reuse_stores_with_ptep_set_access_flags"} <= names(V13, BOTH)


def test_a_hole_read_on_a_pair_without_the_series_is_the_same_not_intended():
    """Both sides map the zero page: no series rule is claimed on v4.14..v4.14+f2c57d91b0d9."""
    ops = load_ops(SCHEMA, CORPUS / "intended_hole_read_maps_the_zero_page.ops")
    assert TARGET.evaluate(ops).verdict.value == "intended"
    assert TARGET.with_pair(V14, F2C).evaluate(ops).verdict.value == "same"


def _also_expect(path: Path) -> list[tuple[str, str]]:
    header = parse_header(path.read_text())
    items = [item.split() for item in header.get("also_expect", "").split(";") if item.strip()]
    return [(pair, verdict) for pair, verdict in items]


ALSO = sorted(p for p in CORPUS.glob("*.ops") if _also_expect(p))


def test_the_race_and_the_ppc64_seeds_say_what_the_fixes_make_of_them():
    """The generic/344 race seed and both ppc64 seeds give verdicts on other pairs."""
    assert {p.name for p in ALSO} >= {RACE.name, "divergent_ppc64_hash_stale_hpte.ops",
                                      "divergent_ppc64_set_pte_at_on_present_pte.ops"}


@pytest.mark.parametrize("path", ALSO, ids=lambda p: p.stem)
def test_every_seed_gets_the_verdicts_it_expects_on_other_pairs(path):
    """`# also_expect: PAIR VERDICT; ...`: the verdict of the seed's ops on each pair."""
    ops = load_ops(SCHEMA, path)
    for pair, verdict in _also_expect(path):
        assert select_pair(TARGET, pair=pair).evaluate(ops).verdict.value == verdict, pair


def test_replay_of_the_race_seed_is_divergent_on_v4_14_and_the_same_with_f2c57d91b0d9(capsys):
    """`replay --pre v4.13 --post v4.14+f2c57d91b0d9`: the generic/344 WARN is gone (same);
    on the series' pair the seed is its known cause."""
    assert main(["replay", "dax_fault", str(RACE), "--json"]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["verdict"] == "divergent"
    assert first["signature"] == "tasks_store/warn:insert_pfn:pte_pfn_pte_pfn_t_to_pfn_pfn/da39a3ee"
    assert main(["replay", "dax_fault", str(RACE), "--pre", V13, "--post", F2C,
                 "--json"]) == 0
    fixed = json.loads(capsys.readouterr().out.splitlines()[0])
    assert fixed["verdict"] == "same" and fixed["signature"] is None


def test_the_known_list_is_by_pair():
    """The race is known on the series' pair only; the stale HPTE seen later on the
    cae85cb8add3 pairs only; a cause without `pairs` is the series'."""
    race = "tasks_store/warn:insert_pfn:pte_pfn_pte_pfn_t_to_pfn_pfn/da39a3ee"
    later = "load/bad_hpte:hash_page:user_access_through_a_stale_HPTE/da39a3ee"
    assert race in TARGET.known_findings() and later not in TARGET.known_findings()
    assert race not in TARGET.with_pair(V13, F2C).known_findings()
    assert later in TARGET.with_pair(F2C, BOTH).known_findings()
    assert "write_fault_races_write_over_zero_page" not in TARGET.with_pair(V13, F2C).known_causes()
    assert "ppc64_hash_stale_hpte" in TARGET.with_pair(V13, F2C).known_causes()
    assert "ppc64_hash_stale_hpte" not in TARGET.with_pair(V13, BOTH).known_causes()


def test_backport_answers_take_both_fixes_and_names_what_each_removes(capsys):
    """`fuzzplug backport dax_fault --depth 1 --format json`: f2c57d91b0d9 removes the
    generic/344 race, cae85cb8add3 the two ppc64 causes, and the answer takes both."""
    assert main(["backport", "dax_fault", "--depth", "1", "--jobs", "1",
                 "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["versions"] == [V14, F2C, BOTH]
    removes = {f["commit"].split()[0]: set(f["removes"]) for f in report["fixes"]}
    assert removes["f2c57d91b0d9"] == {"write_fault_races_write_over_zero_page"}
    assert removes["cae85cb8add3"] == {"ppc64_hash_stale_hpte",
                                       "ppc64_set_pte_at_on_present_pte"}
    assert report["answer"].startswith("Take f2c57d91b0d9 and cae85cb8add3")
    assert all(c["status"] != "untriaged" for c in report["classes"])


def test_a_mutant_is_only_offered_for_the_series_pair():
    """The mutants edit dax_v4_14.py on its own mm model; a fixed version has none."""
    assert TARGET.mutants() and TARGET.with_pair(F2C, BOTH).mutants() == ()

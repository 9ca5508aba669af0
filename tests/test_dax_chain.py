"""dax_fault's chain of versions (v4.13, v4.14, then each fix of the series' patch 1): the
DAX model of a fixed version is dax_v4_14's code on that version's mm model, the rules of a
pair are its commits', the known list is by pair, and through the CLI the race and the
ppc64 causes go with their fixes and `fuzzplug backport dax_fault` names both."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from fuzzplug.cli import main
from fuzzplug.core.known import KnownList
from fuzzplug.core.opslang import parse_header, parse_text
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
    """on_mm_model rebinds dax_v4_14's mm model and mm functions, once, leaving the original."""
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
    """`fuzzplug versions dax_fault`: v4.13, v4.14, then the two fixes, oldest first."""
    assert main(["versions", "dax_fault"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert names == [V13, V14, F2C, BOTH]


def test_each_pair_judges_with_the_rules_of_the_commits_between_its_versions():
    """The series' rules only on a pair spanning v4.13 -> v4.14; a fix's on a pair spanning it."""
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
    """A hole read is intended on v4.13..v4.14 but same on v4.14..v4.14+f2c57d91b0d9."""
    ops = load_ops(SCHEMA, CORPUS / "intended_hole_read_maps_the_zero_page.ops")
    assert TARGET.evaluate(ops).verdict.value == "intended"
    assert TARGET.with_pair(V14, F2C).evaluate(ops).verdict.value == "same"


def _also_expect(path: Path) -> list[tuple[str, str]]:
    header = parse_header(path.read_text())
    items = [item.split() for item in header.get("also_expect", "").split(";") if item.strip()]
    return [(pair, verdict) for pair, verdict in items]


ALSO = sorted(p for p in CORPUS.glob("*.ops") if _also_expect(p))


def test_the_race_and_the_ppc64_seeds_say_what_the_fixes_make_of_them():
    """The generic/344 race seed and both ppc64 seeds carry `# also_expect:` verdicts."""
    assert {p.name for p in ALSO} >= {RACE.name, "divergent_ppc64_hash_stale_hpte.ops",
                                      "divergent_ppc64_set_pte_at_on_present_pte.ops"}


@pytest.mark.parametrize("path", ALSO, ids=lambda p: p.stem)
def test_every_seed_gets_the_verdicts_it_expects_on_other_pairs(path):
    """Each `# also_expect: PAIR VERDICT` of a seed holds on that pair."""
    ops = load_ops(SCHEMA, path)
    for pair, verdict in _also_expect(path):
        assert select_pair(TARGET, pair=pair).evaluate(ops).verdict.value == verdict, pair


def test_replay_of_the_race_seed_is_divergent_on_v4_14_and_the_same_with_f2c57d91b0d9(capsys):
    """`replay` of the race seed: divergent on v4.13..v4.14, same on v4.13..v4.14+f2c57d91b0d9."""
    assert main(["replay", "dax_fault", str(RACE), "--json"]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["verdict"] == "divergent"
    assert first["signature"] == "tasks_store/warn:insert_pfn:pte_pfn_pte_pfn_t_to_pfn_pfn/da39a3ee"
    assert main(["replay", "dax_fault", str(RACE), "--pre", V13, "--post", F2C,
                 "--json"]) == 0
    fixed = json.loads(capsys.readouterr().out.splitlines()[0])
    assert fixed["verdict"] == "same" and fixed["signature"] is None


def test_the_known_list_is_by_pair():
    """The race is known on the series' pair only, the seen-later HPTE on the cae85cb8add3 pairs."""
    race = "tasks_store/warn:insert_pfn:pte_pfn_pte_pfn_t_to_pfn_pfn/da39a3ee"
    later = "load/bad_hpte:hash_page:user_access_through_a_stale_HPTE/da39a3ee"
    assert race in TARGET.known_findings() and later not in TARGET.known_findings()
    assert race not in TARGET.with_pair(V13, F2C).known_findings()
    assert later in TARGET.with_pair(F2C, BOTH).known_findings()
    assert "write_fault_races_write_over_zero_page" not in TARGET.with_pair(V13, F2C).known_causes()
    assert "ppc64_hash_stale_hpte" in TARGET.with_pair(V13, F2C).known_causes()
    assert "ppc64_hash_stale_hpte" not in TARGET.with_pair(V13, BOTH).known_causes()


def test_backport_answers_take_both_fixes_and_names_what_each_removes(capsys):
    """`backport dax_fault --depth 1`: f2c removes the race, cae the ppc64 causes; take both
    (in one process: the reproducers' searches it makes are those the tests of the known
    list below then read from the target's cache)."""
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
    """The mutants of dax_v4_14.py are offered on the series' pair, none on a fix pair."""
    assert TARGET.mutants() and TARGET.with_pair(F2C, BOTH).mutants() == ()


_KNOWN = tomllib.loads((ROOT / "fuzzplug" / "targets" / "dax_fault" / "known.toml").read_text())


@pytest.mark.parametrize("cause", [c for c in _KNOWN["cause"] if c.get("reproducer")],
                         ids=lambda c: c["id"])
def test_a_causes_own_reproducer_shows_that_cause_on_each_of_its_pairs(cause):
    """A cause's reproducer diverges, on each pair it lists, as that cause alone explains."""
    for pair in cause.get("pairs", [f"{V13}..{V14}"]):
        target = select_pair(TARGET, pair=pair)
        ops = parse_text(SCHEMA, cause["reproducer"])
        outcome = target.evaluate(ops)
        alone = KnownList(SCHEMA, {}, {cause["id"]: target.known_causes()[cause["id"]]})
        assert alone.match(outcome.signature, ops) is not None, pair


@pytest.mark.parametrize("finding", [f for f in _KNOWN["finding"] if f.get("reproducer")],
                         ids=lambda f: f["signature"][-48:])
def test_a_listed_findings_reproducer_gives_its_signature_on_each_of_its_pairs(finding):
    """A [[finding]]'s reproducer diverges with exactly the listed signature, which the
    known list recognises as exactly the listed causes, on every pair the finding lists
    (the series' pair when it lists none)."""
    for pair in finding.get("pairs", [f"{V13}..{V14}"]):
        target = select_pair(TARGET, pair=pair)
        ops = parse_text(SCHEMA, finding["reproducer"])
        outcome = target.evaluate(ops)
        assert outcome.signature == finding["signature"], pair
        known = KnownList(SCHEMA, target.known_findings(), target.known_causes())
        assert set(known.match(outcome.signature, ops).causes) == set(finding["causes"]), pair


def test_every_pair_the_known_list_names_is_a_pair_of_the_chain():
    """Each `pairs` entry of known.toml is PRE..POST of two chain versions, the older first."""
    versions = TARGET.versions()
    for entry in _KNOWN["cause"] + _KNOWN["finding"]:
        for pair in entry.get("pairs", []):
            pre, post = pair.split("..")
            assert versions.index(pre) < versions.index(post), pair


def test_each_pair_of_the_chain_has_a_consistent_known_list():
    """For every pair of the chain, the known list's findings name causes the pair knows."""
    versions = TARGET.versions()
    for i, pre in enumerate(versions):
        for post in versions[i + 1:]:
            KnownList.of(TARGET.with_pair(pre, post))


STALE = "config arch=ppc64\nload addr=0x100000\nstore addr=0x100000 val=0x66\n"
RADIX = "config arch=ppc64_radix\nload addr=0x100000\nstore addr=0x100000 val=0x66\n"


def test_the_reused_entry_is_carried_while_it_stays_and_compared_once_it_is_used():
    """cae pair, radix: the reuse and a second store are intended (the soft-dirty bit the
    two stores leave differently is carried); writeback, which reads it, is not."""
    pair = TARGET.with_pair(F2C, BOTH)
    assert pair.evaluate(parse_text(SCHEMA, RADIX)).verdict.value == "intended"
    outcome = pair.evaluate(parse_text(SCHEMA, RADIX + "store addr=0x100000 val=0x67\n"))
    assert outcome.verdict.value == "intended"
    later = pair.evaluate(parse_text(SCHEMA, RADIX + "fsync\n"))
    assert later.signature == "fsync/state:pte.SOFT_DIRTY/da39a3ee"
    assert later.signature in pair.known_findings()


def test_on_ppc64_hash_the_pre_sides_store_faults_forever_on_the_hpte_it_stranded():
    """cae pair, hash MMU: the pre side's set_pte_at() strands the HPTE the load hashed in and
    its re-executed store faults on it forever; cae85cb8add3's store completes."""
    outcome = TARGET.with_pair(F2C, BOTH).evaluate(parse_text(SCHEMA, STALE))
    assert outcome.signature == ("store/ret:livelock->ok+bad_hpte:hash_page:"
                                 "user_access_faults_forever_on_a_stale_HPTE/7845e859")


def test_exhaustive_takes_a_pair_of_the_chain(capsys):
    """`exhaustive --pre v4.14 --post v4.14+f2c57d91b0d9 --depth 1` names the pair, finds none."""
    assert main(["exhaustive", "dax_fault", "--pre", V14, "--post", F2C, "--depth", "1",
                 "--jobs", "1", "--no-progress", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pair"] == f"{V14}..{F2C}" and report["signatures"] == []


def test_the_series_backport_answer_states_scope_changes_companions_and_risks(capsys):
    """`backport dax_fault --format json`: each fix's own changes shown on its pair, the
    radix soft-dirty change with 66b2ca086210 as companion, the latent no-pte_special risk
    with its reach per architecture, and the scope of the claims with what is out of it."""
    assert main(["backport", "dax_fault", "--depth", "1", "--jobs", "1", "--format",
                 "json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    changes = {c["id"]: c for c in answer["changes"]}
    assert changes["f2c_race_warn_silent"]["shown"] is True
    assert changes["f2c_race_warn_silent"]["verdict"] == "intended"
    radix = changes["cae_radix_reuse_drops_soft_dirty"]
    assert radix["shown"] is True and radix["fixes"] == ["66b2ca086210"]
    assert any(c.startswith("66b2ca086210") for c in answer["companions"])
    risks = {r["id"]: r for r in answer["risks"]}
    assert "zero_page_not_unmapped_without_pte_special" in risks
    assert "races other than the known reproducers'" in json.dumps(answer["scope"])
    assert "take 66b2ca086210 along" in answer["answer"]

"""The triaged known findings: well formed, analysed, and covering the divergent seeds."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fuzzplug.core.known import KnownList
from fuzzplug.core.opslang import parse_header, parse_text
from fuzzplug.core.oracle import Verdict
from fuzzplug.io import load_ops
from fuzzplug.targets import parse_pair, select_pair
from fuzzplug.targets.insert_pfn import TARGET

KNOWN = Path(__file__).parents[1] / "fuzzplug" / "targets" / "insert_pfn" / "known.toml"
STATUSES = {"real-bug", "by-design-relaxed-upstream", "latent", "benign-unreachable",
            "benign-driver-bug", "benign-consequence", "config-only", "pre-existing-bug"}


def test_every_known_finding_names_causes_that_exist_and_are_analysed():
    """Each [[finding]] points at [[cause]] entries with a status and a real analysis."""
    data = tomllib.loads(KNOWN.read_text())
    causes = {c["id"]: c for c in data["cause"]}
    for cause in causes.values():
        assert cause["status"] in STATUSES
        assert len(cause["analysis"]) > 200
    for finding in data["finding"]:
        assert finding["causes"] and set(finding["causes"]) <= set(causes)
        # a pair that spans the seed diverges at the only call the patch changed
        if all(pair.startswith("v4.13..") for pair in finding.get("pairs", ["v4.13..v4.14"])):
            assert finding["signature"].startswith("vm_insert_mixed_mkwrite/")


def test_no_signature_is_listed_twice():
    """One entry per signature."""
    data = tomllib.loads(KNOWN.read_text())
    signatures = [f["signature"] for f in data["finding"]]
    assert len(signatures) == len(set(signatures))


def test_every_divergent_seed_scenario_is_a_known_finding():
    """The divergent scenarios' signatures are triaged (so `make fuzz` reports only news)."""
    known = TARGET.known_findings()
    for path in sorted((Path(__file__).parents[1] / "corpora" / "insert_pfn").glob("*.ops")):
        if parse_header(path.read_text())["expect"] != "divergent":
            continue
        signature = TARGET.evaluate(load_ops(TARGET.schema, path)).signature
        assert signature in known, path.name
        assert known[signature]["cause_records"]


def test_every_known_signature_names_the_only_op_the_patch_changed():
    """Every triaged divergence is at vm_insert_mixed_mkwrite: the untouched calls never
    diverged (the model property tests check that for all states)."""
    assert all(sig.split("/")[0] == "vm_insert_mixed_mkwrite" for sig in TARGET.known_findings())


# --- the findings of issue #9's machine state, triaged -----------------------------------------

def _outcome(text: str):
    return TARGET.evaluate(parse_text(TARGET.schema, text))


def _causes(signature: str) -> dict[str, str]:
    """The triaged causes of a known signature, by id, with their status."""
    return {c["id"]: c["status"] for c in TARGET.known_findings()[signature]["cause_records"]}


def test_ppc64_hash_without_debug_vm_a_read_fault_then_mkwrite_is_divergent_on_the_hash_table():
    """The issue's scenario: `config arch=ppc64 DEBUG_VM=0`, a read `fault`, then
    vm_insert_mixed_mkwrite at the same address is divergent with no warning at all: the
    stranded HPTE and the second HPTE are bad_hpte events and the hash tables differ;
    triaged as the real bug upstream fixed in cae85cb8add3."""
    outcome = _outcome("config arch=ppc64 DEBUG_VM=0\nfault addr=0x100000\n"
                       "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
    assert outcome.verdict is Verdict.DIVERGENT
    diffs = set(outcome.finding.diffs)
    assert {"bad_hpte:set_pte_at:stale_HPTE_linux_PTE_dropped_H_PAGE_HASHPTE",
            "bad_hpte:__hash_page_4K:two_HPTEs_translate_one_address", "hpte.presence"} <= diffs
    assert not any(d.startswith("warn:") for d in diffs)
    assert _causes(outcome.signature) == {"ppc64_hash_stale_hpte": "real-bug"}
    cause = TARGET.known_findings()[outcome.signature]["cause_records"][0]
    assert "cae85cb8add3" in cause["analysis"]


@pytest.mark.parametrize("first", ["fault addr=0x100000", "vm_insert_mixed addr=0x100000 pfn=0x80"])
def test_ppc64_radix_loses_soft_dirty_in_v4_13_and_is_triaged_as_v4_13s_bug(first):
    """Radix: after a read fault or a plain insert, v4.13's write fault
    (radix__ptep_set_access_flags) drops SOFT_DIRTY that v4.14's set_pte_at() keeps — the
    only difference; triaged as a pre-existing v4.13 bug (66b2ca086210)."""
    outcome = _outcome(f"config arch=ppc64_radix\n{first}\n"
                       "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
    assert outcome.verdict is Verdict.DIVERGENT
    assert outcome.finding.diffs == ["pte.SOFT_DIRTY"]
    assert _causes(outcome.signature)["radix_soft_dirty_lost_by_v4_13"] == "pre-existing-bug"
    pre, post = (side.state["ptes"]["0x100000"]["flags"].split("|")
                 for side in (outcome.pre, outcome.post))
    assert "SOFT_DIRTY" not in pre and "SOFT_DIRTY" in post


@pytest.mark.parametrize("arch", ["x86_64", "ppc64", "ppc64_radix"])
def test_a_store_the_entry_already_permits_sets_no_soft_dirty_in_v4_13_and_is_benign(arch):
    """A VMA without write-notify maps writable: v4.13's store is the MMU's (hardware dirty
    bit, no SOFT_DIRTY), v4.14's mkwrite insert sets SOFT_DIRTY; triaged benign-unreachable
    (DAX's entries are write-protected until a fault dirties them)."""
    outcome = _outcome(f"config arch={arch}\nvma vm_ops=0\n"
                       "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
    assert outcome.verdict is Verdict.DIVERGENT
    assert outcome.finding.diffs == ["pte.SOFT_DIRTY"]
    assert _causes(outcome.signature)["mmu_sets_no_soft_dirty"] == "benign-unreachable"
    assert not any(b.startswith("do_user_fault:") for b in outcome.pre.branches[-1])


def test_arm64_has_no_soft_dirty_bit_so_a_store_the_entry_permits_is_intended():
    """The same scene on arm64: the hardware's DBM store and the mkwrite insert agree."""
    outcome = _outcome("config arch=arm64\nvma vm_ops=0\n"
                       "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
    assert outcome.verdict is Verdict.INTENDED


# --- the chain of versions: the known list by pair ----------------------------------------------

_DATA = tomllib.loads(KNOWN.read_text())
_SEED = "v4.13..v4.14"


def _pairs(entry: dict) -> list[str]:
    return entry.get("pairs", [_SEED])


@pytest.mark.parametrize("finding", _DATA["finding"], ids=lambda f: f["signature"][-40:])
def test_every_known_finding_has_a_reproducer_giving_its_signature_on_each_of_its_pairs(finding):
    """The `reproducer` (text form) diverges with exactly the listed signature on every pair
    the finding is listed for."""
    assert finding.get("reproducer", "").strip()
    for pair in _pairs(finding):
        target = select_pair(TARGET, pair=pair)
        outcome = target.evaluate(parse_text(target.schema, finding["reproducer"]))
        assert outcome.signature == finding["signature"], pair


def test_every_pair_named_in_the_known_list_is_a_pair_of_the_chain():
    """`pairs` of causes and findings name two versions of the chain, the older first."""
    for entry in _DATA["cause"] + _DATA["finding"]:
        for pair in _pairs(entry):
            pre, post = parse_pair(pair)
            assert TARGET.versions().index(pre) < TARGET.versions().index(post)


@pytest.mark.parametrize("cause", [c for c in _DATA["cause"] if c.get("reproducer")],
                         ids=lambda c: c["id"])
def test_a_causes_own_reproducer_shows_that_cause_on_its_pairs(cause):
    """A cause's `reproducer` diverges, on each pair the cause lists, in a way that cause
    alone explains (its op, observables and predicate)."""
    for pair in _pairs(cause):
        target = select_pair(TARGET, pair=pair)
        ops = parse_text(target.schema, cause["reproducer"])
        outcome = target.evaluate(ops)
        alone = KnownList(target.schema, {}, {cause["id"]: target.known_causes()[cause["id"]]})
        assert alone.match(outcome.signature, ops) is not None, pair


def test_each_pair_of_the_chain_has_a_consistent_known_list():
    """For every pair, the findings name causes the pair knows (KnownList checks)."""
    versions = TARGET.versions()
    for i, pre in enumerate(versions):
        for post in versions[i + 1:]:
            KnownList.of(TARGET.with_pair(pre, post))

"""The known list (fuzzplug.core.known): exact signatures, matching by cause, labels, fixes
and the summary line."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzzplug.core.advice import Companion, advice_from_toml
from fuzzplug.core.known import (
    Cause,
    KnownHit,
    KnownList,
    KnownMatch,
    Status,
    causes_from_toml,
    parse_signature,
    summary_line,
)
from fuzzplug.core.opslang import parse_header, parse_text
from fuzzplug.errors import TargetError
from fuzzplug.io import load_ops
from fuzzplug.targets import KnownCauses, load_target

TARGET = load_target("insert_pfn")
KNOWN = KnownList.of(TARGET)
SEEDS = Path(__file__).parents[1] / "corpora" / "insert_pfn"
# Two known causes in one op: no pte_special with devmap (config-only: v4.13's write fault
# BUGs in get_page() after the unmap dropped a reference never taken) and ppc64's
# set_pte_at() warning (real bug), on the reuse path. Its signature is not listed.
COMBINATION = """config HAVE_PTE_SPECIAL=0 arch=ppc64 DEBUG_VM=1
fault addr=0x100000
zap addr=0x100000
fault addr=0x100000
vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80
"""
PPC64_WARN = "warn:set_pte_at:pte_present_ptep_pte_protnone_ptep"
PPC64_HASH_TWO = "bad_hpte:__hash_page_4K:two_HPTEs_translate_one_address"
PPC64_HASH_STALE = "bad_hpte:set_pte_at:stale_HPTE_linux_PTE_dropped_H_PAGE_HASHPTE"


def _ops(text: str):
    return parse_text(TARGET.schema, text)


def test_a_signature_splits_into_op_observables_and_path_hash():
    """Observables are joined by `+`; a state-only one keeps its kinds together."""
    assert parse_signature("op/ret:0->-16+warn:f:c/abcd1234") == (
        "op", ("ret:0->-16", "warn:f:c"), "abcd1234")
    assert parse_signature("op/state:counter+page+pte/ed533c83") == (
        "op", ("state:counter+page+pte",), "ed533c83")
    assert parse_signature("op/promise:pte.DIRTY+promise:pte.RW/x") == (
        "op", ("promise:pte.DIRTY", "promise:pte.RW"), "x")


def test_insert_pfn_gives_its_causes_labels_and_upstream_fixes():
    """Every cause has a label and observables; the real bug and the relaxed WARN name fixes."""
    assert isinstance(TARGET, KnownCauses)
    causes = TARGET.known_causes()
    ppc64, mismatch = causes["ppc64_set_pte_at_on_present_pte"], causes["pfn_mismatch_warn"]
    assert (ppc64.label, ppc64.fixes) == (Status.REAL_BUG, ("cae85cb8add3",))
    assert (mismatch.label, mismatch.fixes) == (Status.RELAXED_UPSTREAM, ("f2c57d91b0d9",))
    for cause in causes.values():
        assert cause.label is not Status.UNCLASSIFIED, cause.id
        assert cause.observables and cause.ops == ("vm_insert_mixed_mkwrite",), cause.id
        assert all(len(fix) == 12 for fix in cause.fixes), cause.id


def test_every_listed_signature_is_made_of_its_causes_observables():
    """The causes' declared observables explain every listed signature."""
    for sig, record in KNOWN.findings.items():
        _, observables, _ = parse_signature(sig)
        declared = set().union(*(KNOWN.causes[c].observables for c in record["causes"]))
        assert set(observables) <= declared, sig


def test_every_divergent_seed_is_known_by_signature_and_by_cause():
    """Each divergent seed is listed, and its causes alone would recognise it too."""
    for path in sorted(SEEDS.glob("*.ops")):
        if parse_header(path.read_text())["expect"] != "divergent":
            continue
        ops = load_ops(TARGET.schema, path)
        sig = TARGET.evaluate(ops).signature
        assert KNOWN.match(sig, ops).exact, path.name
        assert KNOWN._match_causes(sig, ops) is not None, path.name


def test_a_combination_of_known_causes_is_known_by_cause():
    """The reachable ppc64 hash + devmap combination, listed nowhere, is known by its three
    causes (the warning, the stranded HPTE, the devmap refcount)."""
    ops = _ops(COMBINATION)
    sig = TARGET.evaluate(ops).signature
    assert sig not in KNOWN.findings
    assert parse_signature(sig)[1] == ("ret:BUG->VM_FAULT_NOPAGE", PPC64_HASH_TWO,
                                       PPC64_HASH_STALE, "bug:get_page:page_ref_count_page_0",
                                       PPC64_WARN)
    match = KNOWN.match(sig, ops)
    assert match == KnownMatch(("ppc64_set_pte_at_on_present_pte", "ppc64_hash_stale_hpte",
                                "devmap_without_pte_special"), exact=False)
    assert match.describe() == ("known: causes ppc64_set_pte_at_on_present_pte + "
                                "ppc64_hash_stale_hpte + devmap_without_pte_special")
    assert KNOWN.label(match) is Status.REAL_BUG


def test_a_new_observable_beside_a_known_one_stays_new():
    """One observable no cause declares makes the whole divergence new."""
    ops = _ops("config arch=ppc64 DEBUG_VM=1\n")
    assert KNOWN.match(f"vm_insert_mixed_mkwrite/{PPC64_WARN}/ed533c83", ops) is not None
    assert KNOWN.match(f"vm_insert_mixed_mkwrite/{PPC64_WARN}+promise:pte.pfn/ed533c83",
                       ops) is None
    assert KNOWN.match("vm_insert_mixed_mkwrite/state:counter+pte/ed533c83", ops) is None


def test_a_cause_applies_only_where_its_predicate_and_op_hold():
    """A cause's observables count only at its op and where its `when` holds for the input."""
    sig = f"vm_insert_mixed_mkwrite/{PPC64_WARN}/0000abcd"
    assert KNOWN.match(sig, _ops("config arch=ppc64 DEBUG_VM=1\n")) is not None
    assert KNOWN.match(sig, _ops("config arch=ppc64_radix DEBUG_VM=1\n")) is not None
    assert KNOWN.match(sig, _ops("config arch=ppc64\n")) is None  # DEBUG_VM=0: no VM_WARN_ON
    assert KNOWN.match(sig, ()) is None  # default scene: x86-64, DEBUG_VM=0
    assert KNOWN.match(sig, None) is None
    assert KNOWN.match(f"fault/{PPC64_WARN}/0000abcd",
                       _ops("config arch=ppc64 DEBUG_VM=1\n")) is None
    oom = "vm_insert_mixed_mkwrite/signal:mm_fault_error:OOM/0000abcd"
    assert KNOWN.match(oom, _ops("fail_alloc nth=1\n")) is not None
    assert KNOWN.match(oom, _ops("zap\n")) is None


def test_a_malformed_predicate_is_a_target_error():
    """A `when` that is not an op line of the schema is refused when the list is built."""
    with pytest.raises(TargetError, match="when 'config arch=sparc'"):
        KnownList(TARGET.schema, {}, {"x": Cause("x", when=("config arch=sparc",))})


def test_the_advice_tables_are_read_into_scope_companions_and_changes():
    """`[scope]`, `[[companion]]` and `[[change]]` become an `Advice`; a companion's one
    wording names the fixes it goes with and where it matters."""
    advice = advice_from_toml({
        "scope": {"covers": "one task", "out_of_scope": [
            {"what": "races", "why": "one task", "shown_by": "another target"}]},
        "companion": [{"commit": "abc", "subject": "s", "with": ["def"], "where": "on x"}],
        "change": [{"id": "c", "commit": "def", "rule": "r", "title": "t",
                    "label": "pre-existing bug", "fixes": ["abc"]}]})
    assert advice.scope == "one task"
    assert advice.out_of_scope[0].describe() == "races (one task): another target"
    assert advice.companion("abc") == Companion("abc", "s", "", ("def",), "on x")
    assert advice.companion("abc").describe() == 'abc ("s"): companion fix of def, where on x'
    assert advice.changes[0].label is Status.PRE_EXISTING and advice.changes[0].fixes == ("abc",)


@pytest.mark.parametrize("data", [{"change": [{"id": "c", "commit": "d", "rule": "r"}]},
                                  {"change": [{"id": "c", "commit": "d", "rule": "r",
                                               "title": "t", "label": "severe"}]},
                                  {"companion": [{"subject": "no commit"}]}])
def test_a_malformed_advice_table_is_a_target_error(data):
    """A change without a title or with an unknown label, a companion without a commit."""
    with pytest.raises(TargetError, match="malformed backport advice"):
        advice_from_toml(data)


def test_a_cause_reach_is_read_in_order_and_a_malformed_one_refused():
    """`reach`, a table of where → what, keeps its order; a list instead is a TargetError."""
    [cause] = causes_from_toml({"cause": [{"id": "x", "reach": {"b": "1", "a": "2"}}]}).values()
    assert cause.reach == (("b", "1"), ("a", "2"))
    with pytest.raises(TargetError, match="malformed"):
        causes_from_toml({"cause": [{"id": "x", "reach": ["b"]}]})


def test_the_summary_line_counts_signatures_by_their_most_severe_label():
    """Each known signature counts once, under its most severe label, with that label's fixes."""
    ppc64 = KnownMatch(("ppc64_set_pte_at_on_present_pte",), True)
    combo = KnownMatch(("pfn_mismatch_warn", "no_vm_write"), True)
    benign = KnownMatch(("no_vm_write",), True)
    hits = [KnownHit("a", 5, ppc64), KnownHit("b", 2, combo), KnownHit("c", 1, benign)]
    assert summary_line(0, hits, KNOWN) == (
        "0 new; 3 known signatures hit, from 3 causes: real bug: 1 cause, 1 signature (needs "
        "cae85cb8add3); relaxed upstream: 1 cause, 1 signature (f2c57d91b0d9); benign: "
        "1 cause, 1 signature")
    hidden = [KnownHit("d", 1, KnownMatch(("ppc64_set_pte_at_on_present_pte",
                                           "pfn_mismatch_warn"), False))]
    assert summary_line(2, hidden, KNOWN) == (
        "2 new; 1 known signature hit, from 2 causes: real bug: 1 cause, 1 signature (needs "
        "cae85cb8add3); relaxed upstream: 1 cause, in combinations only (f2c57d91b0d9)")
    assert summary_line(1, [], KnownList(TARGET.schema, {})) == "1 new; 0 known signatures hit"


def test_the_summary_line_tells_causes_from_signatures():
    """Ten signatures of one cause read as one cause in ten signatures, not as ten bugs."""
    ppc64 = KnownMatch(("ppc64_set_pte_at_on_present_pte",), False)
    hits = [KnownHit(f"s{i}", 1, ppc64) for i in range(10)]
    assert summary_line(0, hits, KNOWN) == (
        "0 new; 10 known signatures hit, from 1 cause: real bug: 1 cause, 10 signatures "
        "(needs cae85cb8add3)")

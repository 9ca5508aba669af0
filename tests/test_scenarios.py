"""The checked-in scenarios describe themselves; each header's verdict is what the oracle says.

A header names the scenario, states its intent and the verdict expected (`expect`, and
`signature` when it pins one), on the pair of model versions `pair` names (`PRE..POST`,
default the seed's v4.13..v4.14). `also_expect` gives the verdicts of the same ops on other
pairs (`PAIR VERDICT; PAIR VERDICT...`): how a fix changes what the patch did.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzzplug.core.opslang import decode, encode, parse_header
from fuzzplug.core.oracle import Verdict
from fuzzplug.io import load_ops
from fuzzplug.targets import parse_pair, select_pair
from fuzzplug.targets.insert_pfn.chain import CHAIN
from fuzzplug.targets.insert_pfn.rules import FIX_RULES, INTENDED_RULES, rules_between
from fuzzplug.targets.insert_pfn.target import TARGET

SCENARIOS = sorted((Path(__file__).parents[1] / "corpora" / "insert_pfn").glob("*.ops"))
SEED, BOTH_FIXES = CHAIN[0].name, CHAIN[-1].name
VERDICTS = {v.value for v in Verdict} - {Verdict.CANDIDATE.value}  # the loop's only


def _header(path: Path) -> dict[str, str]:
    return parse_header(path.read_text())


def _target(pair: str | None):
    return select_pair(TARGET, pair=pair)


def _also(header: dict[str, str]) -> list[tuple[str, str]]:
    """`also_expect` as (pair, verdict) items."""
    items = [item.split() for item in header.get("also_expect", "").split(";") if item.strip()]
    assert all(len(item) == 2 for item in items), header.get("also_expect")
    return [(pair, verdict) for pair, verdict in items]


def _outcome(path: Path, pair: str | None = None):
    target = _target(pair if pair is not None else _header(path).get("pair"))
    return target.evaluate(load_ops(target.schema, path))


def test_the_insert_pfn_corpus_has_scenarios_of_every_verdict():
    """Seeds exist for same, intended and divergent behaviour."""
    verdicts = {_header(p).get("expect") for p in SCENARIOS}
    assert verdicts == VERDICTS


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_header_names_it_states_its_intent_and_its_expected_verdict(path):
    """A scenario's header has name (its file stem), intent and a valid expected verdict;
    its pair and its other pairs, if any, are pairs of the chain."""
    header = _header(path)
    assert header.get("name") == path.stem
    assert len(header.get("intent", "")) > 20
    assert header.get("expect") in VERDICTS
    for pair in [header.get("pair")] + [pair for pair, _ in _also(header)]:
        if pair is not None:
            pre, post = parse_pair(pair)
            assert rules_between(pre, post) is not None  # both versions, pre before post
    assert all(verdict in VERDICTS for _, verdict in _also(header))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_gets_the_verdict_its_header_expects(path):
    """The oracle's verdict (and signature, when the header pins one) match the header, on
    the header's pair and on each of its other pairs."""
    header = _header(path)
    outcome = _outcome(path)
    assert outcome.verdict.value == header["expect"], outcome.signature
    if "signature" in header:
        assert outcome.signature == header["signature"]
    for pair, verdict in _also(header):
        assert _outcome(path, pair).verdict.value == verdict, pair


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_survives_the_binary_round_trip_with_the_same_verdict(path):
    """Compiled to the fuzzer's binary form and back, a scenario keeps its ops and verdict."""
    target = _target(_header(path).get("pair"))
    ops = load_ops(target.schema, path)
    again = decode(target.schema, encode(target.schema, ops))
    assert again == ops
    assert target.evaluate(again).verdict == target.evaluate(ops).verdict


def test_every_intended_rule_is_pinned_by_a_scenario_that_applies_it():
    """Each rule of the intended deltas, the seed's and the fixes', is exercised by an
    `intended` seed scenario."""
    applied = set()
    for path in SCENARIOS:
        outcome = _outcome(path)
        if outcome.verdict is Verdict.INTENDED:
            applied.update(outcome.rules_applied)
            if "mkwrite_is_insert_then_write_fault" in outcome.rules_applied:
                # mkwrite_promise and ebusy_is_success are checked on every mkwrite op the
                # equivalence rule compares; an intended verdict means both held.
                applied.update({"ebusy_is_success", "mkwrite_promise"})
    assert {rule.name for rule in INTENDED_RULES + FIX_RULES} <= applied


@pytest.mark.parametrize("fix", [v for v in CHAIN[2:]], ids=lambda v: v.commit)
def test_each_fix_has_a_scenario_the_patch_diverges_on_and_the_fixed_backport_does_not(fix):
    """Per fix, a scenario whose verdict is divergent on v4.13..v4.14 and intended or same
    on v4.13..(both fixes), and the fix's own rules applied on a pair ending at the fix."""
    turned, own = [], []
    for path in SCENARIOS:
        header = _header(path)
        verdicts = dict(_also(header))
        verdicts[header.get("pair") or f"{SEED}..{CHAIN[1].name}"] = header["expect"]
        if verdicts.get(f"{SEED}..{CHAIN[1].name}") == "divergent" and \
                verdicts.get(f"{SEED}..{BOTH_FIXES}") in ("intended", "same"):
            turned.append(path.stem)
        pair = header.get("pair")
        if pair and pair.endswith(f"..{fix.name}") and header["expect"] == "intended":
            names = {rule.name for rule in FIX_RULES if rule.commit == fix.commit}
            if names & set(_outcome(path).rules_applied):
                own.append(path.stem)
    assert own, f"no scenario shows what {fix.commit} itself changes"
    relevant = {"f2c57d91b0d9": "zero_pfn", "cae85cb8add3": "ppc64"}[fix.commit]
    assert any(relevant in name for name in turned), turned

"""The checked-in scenarios describe themselves; each header's verdict is what the oracle says."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzzplug.core.opslang import decode, encode, parse_header
from fuzzplug.core.oracle import Verdict
from fuzzplug.io import load_ops
from fuzzplug.targets.insert_pfn.target import INTENDED_RULES, TARGET

SCENARIOS = sorted((Path(__file__).parents[1] / "corpora" / "insert_pfn").glob("*.ops"))


def _header(path: Path) -> dict[str, str]:
    return parse_header(path.read_text())


def test_the_insert_pfn_corpus_has_scenarios_of_every_verdict():
    """Seeds exist for same, intended and divergent behaviour."""
    verdicts = {_header(p).get("expect") for p in SCENARIOS}
    assert verdicts == {v.value for v in Verdict}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_header_names_it_states_its_intent_and_its_expected_verdict(path):
    """A scenario's header has name (its file stem), intent and a valid expected verdict."""
    header = _header(path)
    assert header.get("name") == path.stem
    assert len(header.get("intent", "")) > 20
    assert header.get("expect") in {v.value for v in Verdict}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_gets_the_verdict_its_header_expects(path):
    """The oracle's verdict (and signature, when the header pins one) match the header."""
    header = _header(path)
    outcome = TARGET.evaluate(load_ops(TARGET.schema, path))
    assert outcome.verdict.value == header["expect"], outcome.signature
    if "signature" in header:
        assert outcome.signature == header["signature"]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_survives_the_binary_round_trip_with_the_same_verdict(path):
    """Compiled to the fuzzer's binary form and back, a scenario keeps its ops and verdict."""
    ops = load_ops(TARGET.schema, path)
    again = decode(TARGET.schema, encode(TARGET.schema, ops))
    assert again == ops
    assert TARGET.evaluate(again).verdict == TARGET.evaluate(ops).verdict


def test_every_intended_rule_is_pinned_by_a_scenario_that_applies_it():
    """Each rule of the intended delta is exercised by an `intended` seed scenario."""
    applied = set()
    for path in SCENARIOS:
        outcome = TARGET.evaluate(load_ops(TARGET.schema, path))
        if outcome.verdict is Verdict.INTENDED:
            applied.update(outcome.rules_applied)
            # mkwrite_promise and ebusy_is_success are checked on every mkwrite op the
            # equivalence rule compares; an intended verdict means both held.
            applied.update({"ebusy_is_success", "mkwrite_promise"})
    assert {rule.name for rule in INTENDED_RULES} <= applied

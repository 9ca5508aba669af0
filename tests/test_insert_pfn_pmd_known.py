"""insert_pfn_pmd's known list: every cause analysed, every finding's reproducer gives its
signature on each of its pairs and is known there, every divergent seed is known, and each
fix's intended change is intended on the fix's own pair."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fuzzplug.core.known import KnownList, Status
from fuzzplug.core.opslang import parse_header, parse_text
from fuzzplug.core.oracle import Verdict
from fuzzplug.io import load_ops
from fuzzplug.targets import load_target, parse_pair

ROOT = Path(__file__).parents[1]
KNOWN = ROOT / "fuzzplug" / "targets" / "insert_pfn_pmd" / "known.toml"
DATA = tomllib.loads(KNOWN.read_text())
TARGET = load_target("insert_pfn_pmd")
STATUSES = {"real-bug", "pre-existing-bug", "benign-consequence"}


def _on(pair: str):
    pre, post = pair.split("..")
    return TARGET.with_pair(pre, post)


def test_every_cause_has_a_status_a_label_and_a_real_analysis():
    """Each [[cause]] has one of this list's statuses, a known label, and an analysis."""
    assert len(DATA["cause"]) >= 5
    for cause in DATA["cause"]:
        assert cause["status"] in STATUSES, cause["id"]
        Status(cause["label"])
        assert len(cause["analysis"]) > 300, cause["id"]
        if cause["label"] in ("real bug", "pre-existing bug"):
            assert cause["fixes"], cause["id"]


def test_every_finding_names_existing_causes_and_pairs_of_the_chain():
    """Each [[finding]] points at causes that exist, on pairs `fuzzplug versions` lists."""
    causes = {c["id"] for c in DATA["cause"]}
    versions = TARGET.versions()
    signatures = [f["signature"] for f in DATA["finding"]]
    assert len(signatures) == len(set(signatures))
    for finding in DATA["finding"]:
        assert finding["causes"] and set(finding["causes"]) <= causes
        for pair in finding["pairs"]:
            pre, post = pair.split("..")
            assert versions.index(pre) < versions.index(post)


@pytest.mark.parametrize("finding", DATA["finding"], ids=lambda f: f["signature"][:60])
def test_each_finding_reproducer_gives_its_signature_on_each_of_its_pairs(finding):
    """The reproducer, run on each listed pair, diverges with exactly the listed signature,
    which that pair's known list recognises with the listed causes."""
    ops = parse_text(TARGET.schema, finding["reproducer"])
    for pair in finding["pairs"]:
        target = _on(pair)
        outcome = target.evaluate(ops)
        assert outcome.verdict is Verdict.DIVERGENT, pair
        assert outcome.signature == finding["signature"], pair
        match = KnownList.of(target).match(outcome.signature, ops)
        assert match is not None and set(match.causes) == set(finding["causes"]), pair


def test_every_divergent_seed_is_known_on_its_pair():
    """A seed that expects a divergence is recognised by its pair's known list."""
    seeds = sorted((ROOT / "corpora" / "insert_pfn_pmd").glob("*.ops"))
    divergent = 0
    for path in seeds:
        header = parse_header(path.read_text())
        if header.get("expect") != "divergent":
            continue
        divergent += 1
        pre, post = parse_pair(header["pair"]) if "pair" in header else TARGET.pair
        target = TARGET.with_pair(pre, post)
        ops = load_ops(target.schema, path, target=target)
        outcome = target.evaluate(ops)
        assert KnownList.of(target).match(outcome.signature, ops) is not None, path.name
    assert divergent >= 2


@pytest.mark.parametrize("change", DATA["change"], ids=lambda c: c["id"])
def test_each_fix_change_is_intended_on_the_fix_pair_by_its_rule(change):
    """A [[change]]'s reproducer is `intended` on (the version before the fix, the fix),
    through the change's rule."""
    versions = TARGET.versions()
    post = next(v for v in versions if (TARGET.commit_of(v) or "").split()[:1] == [change["commit"]])
    pre = versions[versions.index(post) - 1]
    outcome = TARGET.with_pair(pre, post).evaluate(
        parse_text(TARGET.schema, change["reproducer"]))
    assert outcome.verdict is Verdict.INTENDED, (pre, post, outcome.signature)
    assert change["rule"] in outcome.rules_applied

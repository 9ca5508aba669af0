"""Semantic coverage: the cases and the corpus reach every branch id each model of the chain
declares (v4.13, v4.14 and v4.14 with each fix)."""

from __future__ import annotations

from pathlib import Path

import model_cases as mc
from fuzzplug.core.opslang import parse_header, parse_text
from fuzzplug.targets import select_pair
from fuzzplug.targets.insert_pfn import TARGET
from fuzzplug.targets.insert_pfn.chain import CHAIN

MODELS = tuple(version.model for version in CHAIN)
DECLARED = {}
for _pre, _post in zip(TARGET.versions(), TARGET.versions()[1:]):
    DECLARED.update(TARGET.with_pair(_pre, _post).branch_ids())
CORPUS = sorted((Path(__file__).resolve().parents[1] / "corpora" / "insert_pfn").glob("*.ops"))


def reached_branch_ids() -> dict[str, set[str]]:
    """Every branch id taken, per model version, by the cases (on the versions each case
    runs on) and by every corpus scenario (on the pair its header names, by default v4.13
    against v4.14)."""
    reached: dict[str, set[str]] = {m.VERSION: set() for m in MODELS}
    for case in mc.CASES:
        for model in MODELS:
            if case.runs_on(model.VERSION):
                reached[model.VERSION].update(case(model).branches)
    for path in CORPUS:
        text = path.read_text()
        target = select_pair(TARGET, pair=parse_header(text).get("pair"))
        outcome = target.evaluate(parse_text(target.schema, text, path=str(path)))
        for side in (outcome.pre, outcome.post):
            for op_branches in side.branches:
                reached[side.version].update(op_branches)
    return reached


def test_the_cases_and_the_corpus_reach_every_branch_id_each_model_declares():
    """Unreached ids are listed per model version."""
    reached = reached_branch_ids()
    unreached = {m.VERSION: sorted(DECLARED[m.VERSION] - reached[m.VERSION]) for m in MODELS}
    assert all(not ids for ids in unreached.values()), "unreached branch ids: " + "; ".join(
        f"{version}: {', '.join(ids)}" for version, ids in unreached.items() if ids)


def test_every_reached_branch_id_is_one_the_model_declares():
    """A branch id recorded at run time but missing from the declared set would escape the
    coverage check (an id built at run time, or recorded by a helper the scan does not read)."""
    reached = reached_branch_ids()
    extra = {m.VERSION: sorted(reached[m.VERSION] - DECLARED[m.VERSION]) for m in MODELS}
    assert all(not ids for ids in extra.values()), f"undeclared branch ids: {extra}"


def test_every_case_runs_on_every_version_whose_entry_points_it_calls():
    """A case marked for both versions runs on both; v4.14-only cases are the mkwrite ones."""
    for case in mc.CASES:
        if case.versions != mc.BOTH:
            assert case.versions == ("v4.14",)
            assert "mkwrite" in case.name
    assert len({case.name for case in mc.CASES}) == len(mc.CASES)

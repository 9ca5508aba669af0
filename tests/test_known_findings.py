"""The triaged known findings: well formed, analysed, and covering the divergent seeds."""

from __future__ import annotations

import tomllib
from pathlib import Path

from fuzzplug.core.opslang import parse_header
from fuzzplug.io import load_ops
from fuzzplug.targets.insert_pfn import TARGET

KNOWN = Path(__file__).parents[1] / "fuzzplug" / "targets" / "insert_pfn" / "known.toml"
STATUSES = {"real-bug", "by-design-relaxed-upstream", "latent", "benign-unreachable",
            "benign-driver-bug", "benign-consequence", "config-only"}


def test_every_known_finding_names_causes_that_exist_and_are_analysed():
    """Each [[finding]] points at [[cause]] entries with a status and a real analysis."""
    data = tomllib.loads(KNOWN.read_text())
    causes = {c["id"]: c for c in data["cause"]}
    for cause in causes.values():
        assert cause["status"] in STATUSES
        assert len(cause["analysis"]) > 200
    for finding in data["finding"]:
        assert finding["causes"] and set(finding["causes"]) <= set(causes)
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

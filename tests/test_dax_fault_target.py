"""The dax_fault target: its op language and scene normalisation, its scenarios, its
rules, durability through the oracle, determinism, its known findings and its mutants."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzzplug.core.known import KnownList
from fuzzplug.core.opslang import decode, encode, format_text, parse_header, parse_text
from fuzzplug.core.oracle import Verdict
from fuzzplug.errors import OpsSyntaxError
from fuzzplug.io import load_ops
from fuzzplug.selftest.mutants import apply_mutant, mutate_source
from fuzzplug.selftest.runner import kill_signature
from fuzzplug.targets import load_target
from fuzzplug.targets.dax_fault import TARGET
from fuzzplug.targets.dax_fault.mutants import MUTANTS
from fuzzplug.targets.dax_fault.rules import APPLICABLE_RULES, INTENDED_RULES
from fuzzplug.targets.dax_fault.schema import SCHEMA, Scene

ROOT = Path(__file__).parents[1]
CORPUS = ROOT / "corpora" / "dax_fault"
SCENARIOS = sorted(CORPUS.glob("*.ops"))
KNOWN = ROOT / "fuzzplug" / "targets" / "dax_fault" / "known.toml"
STATUSES = {"real-bug", "latent", "benign-fixed-upstream", "benign-consequence", "config-only",
            "pre-existing-bug"}


def _ops(text: str):
    return parse_text(SCHEMA, text)


def _header(path: Path) -> dict[str, str]:
    return parse_header(path.read_text())


# --- the op language and the scene ----------------------------------------------------------

def test_dax_fault_is_a_listed_target_with_its_capabilities():
    """`load_target("dax_fault")` is this target; it has a domain, mutants, farm options."""
    from fuzzplug.targets import FarmTuned, Mutable, SmallDomain, Target

    target = load_target("dax_fault")
    assert target is TARGET
    for protocol in (Target, SmallDomain, Mutable, FarmTuned):
        assert isinstance(target, protocol), protocol.__name__


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(max_size=200))
def test_every_byte_string_decodes_to_a_scene_that_boots_and_runs(data):
    """The binary form is total and the normalised scene always runs on both models."""
    ops = decode(SCHEMA, data)
    outcome = TARGET.evaluate(ops)
    assert outcome.verdict in set(Verdict)
    assert decode(SCHEMA, encode(SCHEMA, ops)) == ops


def test_a_text_error_names_the_file_and_the_line(tmp_path):
    """A bad scenario line is reported as file:line with what was expected."""
    path = tmp_path / "bad.ops"
    path.write_text("load addr=0x100000\nstore adr=0x100000\n")
    with pytest.raises(OpsSyntaxError) as info:
        load_ops(SCHEMA, path)
    assert f"{path}:2" in str(info.value) and "addr" in str(info.value)


def test_devmap_without_pte_special_is_normalised_away():
    """`HAVE_PTE_SPECIAL=0 DEVMAP=1` boots as DEVMAP=0 (no real kernel has devmap without
    pte_special); the other three combinations are kept."""
    def config(text):
        return Scene.from_ops(_ops(f"config {text}\n")).dax.config

    assert config("HAVE_PTE_SPECIAL=0 DEVMAP=1").DEVMAP is False
    assert config("HAVE_PTE_SPECIAL=1 DEVMAP=1").DEVMAP is True
    assert config("HAVE_PTE_SPECIAL=1 DEVMAP=0").DEVMAP is False


def test_overlapping_vmas_are_dropped_and_starts_page_aligned():
    """A later mapping that overlaps an earlier one is dropped; starts are page-aligned;
    pages=0 is no mapping."""
    scene = Scene.from_ops(_ops("vma start=0x100800 pages=4\nvma2 start=0x102000 pages=4\n"
                                "vma3 start=0x200000 pages=2\n")).dax
    assert [(v.start, v.pages) for v in scene.vmas] == [(0x100000, 4), (0x200000, 2)]
    assert Scene.from_ops(_ops("vma pages=0\n")).dax.vmas == ()


def test_a_wild_memmap_is_made_bootable():
    """Overlapping RAM and device ranges, a device of one pfn and a zero pfn inside RAM are
    normalised: disjoint ranges, two device pfns at least, the zero pfn outside both."""
    mm = Scene.from_ops(_ops("memmap ram=0x110-0x11f device=0x118-0x118 zero=0x112\n")).dax.memmap
    assert mm.ram == (0x110, 0x11F) and mm.device[0] > 0x11F and mm.device[1] > mm.device[0]
    assert not mm.ram[0] <= mm.zero <= mm.ram[1]
    assert not mm.device[0] <= mm.zero <= mm.device[1]


def test_the_memmap_lies_above_the_first_mib():
    """Pfns in the first MiB move up by 0x100 (x86's PAT counts memory there as not RAM, and
    no kernel's zero page or pmem lives there); higher ones stay."""
    mm = Scene.from_ops(_ops("memmap ram=0x10-0x1f device=0x280-0x28f zero=0x1\n")).dax.memmap
    assert (mm.ram, mm.device, mm.zero) == ((0x110, 0x11F), (0x280, 0x28F), 0x101)


# --- the scenarios ------------------------------------------------------------------------------

def test_the_corpus_has_scenarios_of_every_verdict():
    """Seeds exist for same, intended and divergent behaviour."""
    assert {_header(p).get("expect") for p in SCENARIOS} == \
        {v.value for v in Verdict} - {Verdict.CANDIDATE.value}  # a budgeted evaluation's only


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_names_itself_and_gets_the_verdict_its_header_expects(path):
    """Header: name (the file stem), intent, expected verdict (and signature); the oracle
    agrees, also after the binary round trip."""
    header = _header(path)
    assert header.get("name") == path.stem and len(header.get("intent", "")) > 20
    ops = load_ops(SCHEMA, path)
    outcome = TARGET.evaluate(ops)
    assert outcome.verdict.value == header["expect"], outcome.signature
    if "signature" in header:
        assert outcome.signature == header["signature"]
    again = decode(SCHEMA, encode(SCHEMA, ops))
    assert again == ops and TARGET.evaluate(again).signature == outcome.signature


def test_every_rule_that_allows_a_difference_is_pinned_by_an_intended_scenario():
    """Each applicable rule is applied by some `intended` scenario."""
    applied = set()
    for path in SCENARIOS:
        outcome = TARGET.evaluate(load_ops(SCHEMA, path))
        if outcome.verdict is Verdict.INTENDED:
            applied.update(outcome.rules_applied)
    assert {rule.name for rule in APPLICABLE_RULES} == applied


def test_every_rule_cites_the_series():
    """Each rule says what it allows and quotes the commit message or code it rests on."""
    for rule in INTENDED_RULES:
        assert len(rule.allows) > 80 and '"' in rule.source, rule.name


# --- durability and determinism -------------------------------------------------------------------

@pytest.mark.parametrize("first", ["", "load addr=0x100000\n"], ids=["store", "load_store"])
def test_a_store_then_fsync_is_durable_in_both_versions(first):
    """A store to a block, then fsync: the block's media holds the stored token in v4.13 and
    in v4.14, and the cache line is gone."""
    ops = _ops(first + "store addr=0x100000 val=0x66\nfsync\n")
    outcome = TARGET.evaluate(ops)
    assert outcome.verdict is not Verdict.DIVERGENT
    for side in (outcome.pre, outcome.post):
        state = side.state
        assert state["file"]["pages"][0] == {"block": 1, "visible": 0x66, "durable": 0x66}
        assert state["memory"]["cache"] == {}


def test_a_store_without_fsync_is_visible_but_not_durable_in_both():
    """Before fsync the store is in the CPU cache only, on both sides alike."""
    outcome = TARGET.evaluate(_ops("store addr=0x100000 val=0x66\n"))
    for side in (outcome.pre, outcome.post):
        assert side.state["file"]["pages"][0] == {"block": 1, "visible": 0x66, "durable": 11}


def test_the_same_input_gets_the_same_outcome_twice():
    """Deterministic: verdict, signature and both records are equal on a second run."""
    for path in SCENARIOS:
        ops = load_ops(SCHEMA, path)
        a, b = TARGET.evaluate(ops).to_json(), TARGET.evaluate(ops).to_json()
        assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True), path.name


def test_the_same_input_gets_the_same_outcome_in_another_process():
    """`fuzzplug replay dax_fault --json` in a fresh interpreter gives the records this
    process gives (no dependence on hash seeds or import order)."""
    paths = [str(p) for p in SCENARIOS]
    env = dict(os.environ, PYTHONHASHSEED="123")
    proc = subprocess.run([sys.executable, "-m", "fuzzplug", "replay", "dax_fault", *paths,
                           "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for line, path in zip(proc.stdout.splitlines(), paths):
        record = json.loads(line)
        outcome = TARGET.evaluate(load_ops(SCHEMA, path))
        assert record["verdict"] == outcome.verdict.value
        assert record["signature"] == outcome.signature
        assert record["pre"] == json.loads(json.dumps(outcome.pre.to_json()))
        assert record["post"] == json.loads(json.dumps(outcome.post.to_json()))


def test_the_trace_tells_each_ops_story(monkeypatch):
    """The side-by-side trace shows each op's return with its faults and what it changed
    (at the width it takes when the output is not a terminal; pytest-xdist's workers set
    COLUMNS to 80)."""
    from fuzzplug.triage.trace import DEFAULT_COLUMNS, side_by_side

    monkeypatch.setenv("COLUMNS", str(DEFAULT_COLUMNS))
    ops = _ops("load addr=0x101000\nstore addr=0x101000 val=0x66\n")
    text = side_by_side(TARGET, ops, TARGET.evaluate(ops))
    assert "v4.13: ok 0x0 (1 fault)" in text and "v4.14: ok (1 fault)" in text
    assert "v4.13: ok (2 faults)" in text
    flat = " ".join(text.split())
    assert "state entry 1: page pfn 0x110" in flat and "state entry 1: zero" in flat
    assert "state file page 1: block 3" in flat and "visible 0x66" in flat


# --- known findings ----------------------------------------------------------------------------

def test_every_known_finding_names_analysed_causes():
    """Each [[finding]] points at [[cause]] entries with a status and a real analysis; no
    signature is listed twice."""
    data = tomllib.loads(KNOWN.read_text())
    causes = {c["id"]: c for c in data["cause"]}
    for cause in causes.values():
        assert cause["status"] in STATUSES, cause["id"]
        assert len(cause["analysis"]) > 200, cause["id"]
    signatures = [f["signature"] for f in data["finding"]]
    assert len(signatures) == len(set(signatures))
    for finding in data["finding"]:
        assert finding["causes"] and set(finding["causes"]) <= set(causes)


def test_every_divergent_seed_scenario_is_a_known_finding():
    """The divergent scenarios' signatures are triaged, listed by signature."""
    known = TARGET.known_findings()
    for path in SCENARIOS:
        if _header(path)["expect"] == "divergent":
            assert TARGET.evaluate(load_ops(SCHEMA, path)).signature in known, path.name


def test_every_listed_signature_is_also_recognised_by_its_causes():
    """Each cause declares what it is made of: every listed signature's observables are
    covered by its causes (so a new combination of them is recognised too), and a
    divergence with an observable no cause declares stays new."""
    known = KnownList(SCHEMA, TARGET.known_findings(), TARGET.known_causes())
    by_cause = KnownList(SCHEMA, {}, TARGET.known_causes())
    for path in SCENARIOS:
        ops = load_ops(SCHEMA, path)
        outcome = TARGET.evaluate(ops)
        if outcome.verdict is Verdict.DIVERGENT:
            match = by_cause.match(outcome.signature, ops)
            assert match is not None, path.name
            assert set(match.causes) <= set(known.match(outcome.signature, ops).causes) | set(
                TARGET.known_causes()), path.name
    assert by_cause.match("store/ret:ok->SIGBUS+warn:nowhere:new/00000000",
                          _ops("config HAVE_PTE_SPECIAL=0\nstore\n")) is None


# --- mutants ------------------------------------------------------------------------------------

def test_there_are_ten_mutants_with_unique_names_that_apply_once():
    """Ten or more mutants of dax_v4_14, each named once, each edit applying exactly once."""
    import inspect

    from fuzzplug.kernel import dax_v4_14

    source = inspect.getsource(dax_v4_14)
    names = [m.name for m in MUTANTS]
    assert len(names) >= 10 and len(set(names)) == len(names)
    for mutant in MUTANTS:
        assert mutant.bug and mutant.witness and not mutant.equivalent
        assert mutate_source(source, mutant) != source


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_every_mutant_is_killed_by_its_witness_even_with_the_known_list(mutant):
    """The witness diverges on the mutant with a signature the stock models do not give
    there and that the known list does not recognise (by signature or by cause)."""
    mutated = apply_mutant(TARGET, mutant.name)
    data = encode(SCHEMA, _ops(mutant.witness))
    assert kill_signature(TARGET, mutated, KnownList.of(TARGET), data) is not None


def test_the_formatted_scenarios_parse_back():
    """format_text → parse_text is the identity on every scenario's ops."""
    for path in SCENARIOS:
        ops = load_ops(SCHEMA, path)
        assert parse_text(SCHEMA, format_text(SCHEMA, ops)) == ops

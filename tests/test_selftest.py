"""Mutation analysis: the mutants, the kill criterion, and the selftest through the harness."""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys

import pytest

from fuzzplug.cli import main
from fuzzplug.core.known import KnownList
from fuzzplug.core.opslang import encode, parse_text
from fuzzplug.core.oracle import Verdict
from fuzzplug.engines.domain import domain_for
from fuzzplug.engines.exhaustive import run_exhaustive
from fuzzplug.errors import InputError
from fuzzplug.kernel import v4_14
from fuzzplug.selftest.mutants import (
    apply_mutant,
    get_mutant,
    mutate_source,
)
from fuzzplug.selftest.runner import Status, kill_signature, run_selftest
from fuzzplug.targets.insert_pfn import TARGET
from fuzzplug.targets.insert_pfn.mutants import MUTANTS

SOURCE = inspect.getsource(v4_14)
KILLABLE = [m for m in MUTANTS if not m.equivalent]
KNOWN = KnownList.of(TARGET)


def _data(text: str) -> bytes:
    return encode(TARGET.schema, parse_text(TARGET.schema, text))


def test_there_are_at_least_twenty_mutants_with_unique_names():
    """The catalogue has 20 or more mutants, each named once, each with a stated bug."""
    names = [m.name for m in MUTANTS]
    assert len(names) >= 20 and len(set(names)) == len(names)
    assert all(m.bug for m in MUTANTS)


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_every_mutant_applies_to_the_current_model_exactly_once(mutant):
    """Each text a mutant replaces occurs exactly once in v4_14.py, and the result differs."""
    assert mutate_source(SOURCE, mutant) != SOURCE


@pytest.mark.parametrize("mutant", KILLABLE, ids=lambda m: m.name)
def test_every_killable_mutant_is_killed_by_its_witness(mutant):
    """The witness diverges on the mutant with a signature that the unmutated model does not
    produce on it (the known list, which grows with triage, is the selftest's business)."""
    mutated = apply_mutant(TARGET, mutant.name)
    assert kill_signature(TARGET, mutated, set(), _data(mutant.witness)) is not None


def test_every_mutant_with_a_witness_is_killed_by_it_even_with_the_known_list():
    """Every mutant has a witness or an equivalence argument, and no oracle gap is left:
    each witness kills its mutant with the known findings suppressed, as in the harness."""
    for m in MUTANTS:
        assert bool(m.witness) != bool(m.equivalent), m.name
        assert not m.gap, m.name
        if m.witness:
            mutated = apply_mutant(TARGET, m.name)
            assert kill_signature(TARGET, mutated, KNOWN, _data(m.witness)) is not None, m.name


def test_apply_mutant_changes_only_the_post_model():
    """The copy keeps the target's name, schema and pre-model; the original is untouched."""
    mutated = apply_mutant(TARGET, "drop_pte_mkdirty")
    assert mutated is not TARGET and TARGET.post_model is v4_14
    assert mutated.pre_model is TARGET.pre_model and mutated.schema is TARGET.schema
    assert mutated.post_model.__name__ == "fuzzplug.mutants.insert_pfn.drop_pte_mkdirty"
    assert sys.modules[mutated.post_model.__name__] is mutated.post_model
    assert "maybe_mkwrite(entry, vma)" in inspect.getsource(mutated.post_model)


def test_the_models_own_divergence_does_not_kill_a_mutant():
    """An input on which the unmutated model already diverges with the mutant's signature
    is not a kill: the ppc64 warning is the model's, whatever the mutant."""
    text = ("config arch=ppc64 DEBUG_VM=1\nvm_insert_mixed addr=0x100000 pfn=0x80\n"
            "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
    mutated = apply_mutant(TARGET, "zap_forgets_put_page")
    assert TARGET.evaluate(parse_text(TARGET.schema, text)).verdict is Verdict.DIVERGENT
    assert kill_signature(TARGET, mutated, set(), _data(text)) is None


def test_an_unknown_mutant_is_refused():
    """A misspelt mutant name is an InputError listing the known ones."""
    with pytest.raises(InputError, match="drop_pte_mkyoung"):
        get_mutant("insert_pfn", "drop_pte_mkyung")


def test_the_cli_lists_the_mutants(capsys):
    """`fuzzplug selftest insert_pfn --list` prints each mutant with its kind."""
    assert main(["selftest", "insert_pfn", "--list"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == len(MUTANTS)
    assert "reuse_returns_ebusy\tequivalent" in out


@pytest.mark.slow
@pytest.mark.parametrize("mutant", [m for m in MUTANTS if m.equivalent],
                         ids=lambda m: m.name)
def test_equivalent_mutants_survive_the_exhaustive_checker_at_depth_two(mutant):
    """No sequence of two calls kills a mutant declared equivalent (on the scenes with
    DEBUG_VM and devmap on every architecture and VMA, and without pte_special on x86)."""
    mutated = apply_mutant(TARGET, mutant.name)

    def kills(ops, finding) -> bool:
        return kill_signature(TARGET, mutated, KNOWN, encode(TARGET.schema, ops)) is not None

    domain = domain_for(TARGET)
    sample = [i for i, name in enumerate(domain.scene_names)
              if "devmap=1" in name and "debug_vm=1" in name or "special=0" in name
              and "x86_64 debug_vm=0" in name]
    domain = dataclasses.replace(domain, scenes=tuple(domain.scenes[i] for i in sample),
                                 scene_names=tuple(domain.scene_names[i] for i in sample))
    report = run_exhaustive(mutated, 2, jobs=1, progress=False, judge=kills,
                            stop_on_first=True, domain=domain)
    assert report.hits == {} and not report.stopped


@pytest.mark.slow
def test_selftest_kills_three_mutants_through_the_harness():
    """Three mutants through the atheris harness as subprocesses: all killed, each with a
    signature the unmutated model does not give on the killing input."""
    names = ["drop_pte_mkdirty", "efault_off_by_one", "zap_forgets_put_page"]
    report = run_selftest(TARGET, budget=10, seed=1, names=names, jobs=1)
    assert [r.status for r in report.runs] == [Status.KILLED] * 3
    assert report.kill_rate == 1.0
    for run in report.runs:
        assert run.seconds < 10 + 5
        ops = parse_text(TARGET.schema, run.reproducer)
        assert apply_mutant(TARGET, run.mutant).evaluate(ops).signature == run.signature
        assert TARGET.evaluate(ops).signature != run.signature


@pytest.mark.slow
def test_the_cli_reports_a_survivor_and_the_kill_rate_as_json(capsys):
    """A declared-equivalent mutant survives its budget and is left out of the rate."""
    assert main(["selftest", "insert_pfn", "--mutant", "reuse_returns_ebusy",
                 "--mutant", "no_pte_returns_ebusy", "--budget", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    status = {m["mutant"]: m["status"] for m in report["mutants"]}
    assert status == {"reuse_returns_ebusy": "equivalent", "no_pte_returns_ebusy": "killed"}
    assert report["counted"] == 1 and report["kill_rate"] == 1.0
    assert (report["feedback"], report["mutator"]) == ("semantic", "ops"), "the defaults"


@pytest.mark.slow
def test_a_survivors_log_line_gives_its_elapsed_seconds(capsys):
    """`mutant_finished` logs the mutant's run time, a number, for a survivor too (never
    `elapsed_s=None`)."""
    assert main(["--log-format", "json", "selftest", "insert_pfn", "--mutant",
                 "reuse_returns_ebusy", "--budget", "2", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines()
              if line.startswith("{")]
    [finished] = [e for e in events if e.get("event") == "mutant_finished"]
    assert isinstance(finished["elapsed_s"], float) and finished["elapsed_s"] >= 2


@pytest.mark.slow
def test_selftest_kills_through_the_harness_in_bytecode_and_both_modes():
    """The self-test runs in every feedback mode (the mutant instrumented when the models
    are)."""
    for mode in ("bytecode", "both"):
        report = run_selftest(TARGET, budget=10, seed=1, names=["zap_forgets_put_page"],
                              feedback=mode, mutator="bytes")
        assert [r.status for r in report.runs] == [Status.KILLED], mode
        assert report.feedback == mode

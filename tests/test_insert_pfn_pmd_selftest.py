"""insert_pfn_pmd's mutants: each applies once to the default pair's post model, each
killable one is killed by its witness with the known list suppressed, and `fuzzplug
selftest` runs them through the CLI."""

from __future__ import annotations

import inspect

import pytest

from fuzzplug.cli import main
from fuzzplug.core.known import KnownList
from fuzzplug.core.opslang import encode, parse_text
from fuzzplug.kernel import v5_0_c6f3c5ee40c1
from fuzzplug.selftest.mutants import apply_mutant, mutate_source
from fuzzplug.selftest.runner import kill_signature
from fuzzplug.targets import load_target
from fuzzplug.targets.insert_pfn_pmd.mutants import MUTANTS

TARGET = load_target("insert_pfn_pmd")
SOURCE = inspect.getsource(v5_0_c6f3c5ee40c1)
KNOWN = KnownList.of(TARGET)


def _data(text: str) -> bytes:
    return encode(TARGET.schema, parse_text(TARGET.schema, text))


def test_the_mutants_are_named_once_each_and_say_what_bug_they_stand_for():
    """At least twenty mutants, distinct names, each with its bug."""
    names = [m.name for m in MUTANTS]
    assert len(names) >= 20 and len(set(names)) == len(names)
    assert all(m.bug for m in MUTANTS)
    assert TARGET.mutants() == MUTANTS


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_every_mutant_applies_to_the_fixed_model_exactly_once(mutant):
    """Each text a mutant replaces occurs once in v5_0_c6f3c5ee40c1.py, and the result
    differs."""
    assert mutate_source(SOURCE, mutant) != SOURCE


def test_every_mutant_has_a_witness_or_an_equivalence_argument():
    """A witness, or why the oracle cannot tell the mutant apart; never both."""
    for m in MUTANTS:
        assert bool(m.witness) != bool(m.equivalent), m.name


@pytest.mark.parametrize("mutant", [m for m in MUTANTS if m.witness],
                         ids=lambda m: m.name)
def test_each_witness_kills_its_mutant_with_the_known_list(mutant):
    """The witness diverges on the mutant with a signature the unmutated model does not give
    and the known list does not recognise."""
    killed = kill_signature(TARGET, apply_mutant(TARGET, mutant.name), KNOWN,
                            _data(mutant.witness))
    assert killed is not None


def test_selftest_of_one_mutant_through_the_cli_kills_it(capsys):
    """`fuzzplug selftest insert_pfn_pmd --mutant M --budget 5` reports it killed."""
    assert main(["selftest", "insert_pfn_pmd", "--mutant", "deposit_not_counted",
                 "--budget", "5"]) == 0
    out = capsys.readouterr().out
    assert "deposit_not_counted" in out and "killed" in out
    assert "kill rate: 1/1" in out


@pytest.mark.slow
def test_the_selftest_kills_at_least_95_percent_of_the_mutants_at_10_seconds(capsys):
    """`fuzzplug selftest insert_pfn_pmd --budget 10 --fail-under 95` passes (about a
    minute: 26 mutants, each killed in about a second or running its 10 s)."""
    assert main(["selftest", "insert_pfn_pmd", "--budget", "10", "--fail-under", "95"]) == 0
    assert "kill rate: " in capsys.readouterr().out

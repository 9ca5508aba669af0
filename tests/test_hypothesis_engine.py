"""The Hypothesis engine: the differential state machine and the `fuzzplug hypothesis` loop."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    INITIALIZE_RULE_MARKER,
    RULE_MARKER,
    run_state_machine_as_test,
)

from fuzzplug.cli import main
from fuzzplug.core.opslang import ArgKind, ArgSpec, OpSpec, Schema, parse_text
from fuzzplug.core.oracle import Finding, OpRun, Outcome, SideRecord, Verdict
from fuzzplug.engines.domain import domain_for, schema_domain
from fuzzplug.engines.hypothesis_engine import (
    DivergenceFound,
    divergence_class,
    hypothesis_settings,
    machine_for,
    run_hypothesis,
    run_machine,
    write_report,
)
from fuzzplug.targets.insert_pfn import TARGET
from fuzzplug.triage.minimize import minimize_ops

SMALL = hypothesis_settings(max_examples=40, derandomize=True)


@pytest.fixture(scope="module")
def unsuppressed_run() -> list[DivergenceFound]:
    return run_machine(machine_for(TARGET, suppressed=set()), SMALL)


def test_the_state_machine_finds_a_known_divergence_when_suppression_is_off(unsuppressed_run):
    """With nothing suppressed, a small derandomized run fails on a triaged finding."""
    found = {exc.outcome.signature for exc in unsuppressed_run}
    assert found & set(TARGET.known_findings())


def test_each_failure_reproduces_through_evaluate_with_its_signature(unsuppressed_run):
    """The shrunk sequence Hypothesis reports gives the same signature when re-evaluated."""
    assert unsuppressed_run
    for exc in unsuppressed_run:
        outcome = TARGET.evaluate(exc.ops)
        assert outcome.verdict is Verdict.DIVERGENT
        assert outcome.signature == exc.outcome.signature == type(exc).signature


def test_a_derandomized_run_is_deterministic(unsuppressed_run):
    """The same settings give the same signatures and the same shrunk sequences."""
    again = run_machine(machine_for(TARGET, suppressed=set()), SMALL)
    assert [(e.outcome.signature, e.ops) for e in again] == \
           [(e.outcome.signature, e.ops) for e in unsuppressed_run]


def test_suppressed_signatures_do_not_fail_the_machine(unsuppressed_run):
    """Suppressing what the first run found, the same run does not report those again."""
    first = {exc.outcome.signature for exc in unsuppressed_run}
    again = run_machine(machine_for(TARGET, suppressed=set(first)), SMALL)
    assert not first & {exc.outcome.signature for exc in again}


def test_the_machine_has_one_rule_per_call_op_of_the_domain():
    """Every call op of the domain is a rule; the scene is picked by an initialize rule."""
    machine = machine_for(TARGET)
    members = {name: getattr(machine, name) for name in dir(machine)}
    rules = {n for n, f in members.items() if hasattr(f, RULE_MARKER)}
    initializers = {n for n, f in members.items() if hasattr(f, INITIALIZE_RULE_MARKER)}
    assert rules == set(domain_for(TARGET).values)
    assert initializers == {"pick_scene"}


def test_each_signature_fails_with_its_own_exception_class():
    """Distinct signatures get distinct classes (Hypothesis keys failures by type)."""
    a, b = divergence_class("op/a/1"), divergence_class("op/b/1")
    assert a is not b and a is divergence_class("op/a/1")
    assert issubclass(a, DivergenceFound) and a.signature == "op/a/1"


def test_a_judge_that_accepts_nothing_lets_the_machine_pass():
    """The invariant fails only on divergences the judge counts."""
    seen = []

    def judge(ops, outcome):
        seen.append(outcome.signature)
        return False

    machine = machine_for(TARGET, suppressed=set(), judge=judge)
    assert run_machine(machine, hypothesis_settings(max_examples=60, derandomize=True)) == []
    assert seen  # divergences were there, and judged


def test_the_machine_runs_under_run_state_machine_as_test():
    """The machine is an ordinary RuleBasedStateMachine: Hypothesis's runner accepts it."""
    machine = machine_for(TARGET, judge=lambda ops, outcome: False)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=5, derandomize=True, database=None, deadline=None,
        suppress_health_check=list(HealthCheck)))


def test_a_timed_campaign_collects_distinct_signatures_and_writes_them_like_fuzz(
        tmp_path: Path):
    """Several seeded runs in two seconds; findings folders and summary.json as fuzz's."""
    result = run_hypothesis(TARGET, seconds=2, no_known=True, max_examples=30)
    assert result.runs >= 1 and result.found
    assert set(result.hits) == set(result.found)
    entries = write_report(TARGET, result, tmp_path, no_known=True, base_seed=0)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["engine"] == "hypothesis"
    assert {f["signature"] for f in summary["findings"]} == set(result.found)
    for entry in entries:
        assert (tmp_path / entry.folder_name() / "repro.ops").is_file()


def test_the_cli_prints_the_findings_table(tmp_path: Path, capsys):
    """`fuzzplug hypothesis` prints fuzz's table and its known/new summary line."""
    assert main(["hypothesis", "insert_pfn", "--time", "1", "--no-known",
                 "--max-examples", "20", "--findings", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "unique divergent signature" in out
    assert re.search(r"^1 Hypothesis run in |^\d+ Hypothesis runs in ", out, re.M)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["summary_line"] in out.splitlines()
    assert re.fullmatch(r"0 new; \d+ known signatures? hit, from \d+ causes?: [a-z -]+: "
                        r"(\d+ causes?, \d+ signatures?|\d+ causes?, in combinations only)"
                        r"( \(.*?\))?(; .*)?", summary["summary_line"]), summary["summary_line"]


def test_the_clis_findings_are_minimised_like_fuzzs(tmp_path: Path, capsys):
    """Every record.json of a `hypothesis` run has minimized_from and a minimal reproducer."""
    assert main(["hypothesis", "insert_pfn", "--time", "1", "--no-known",
                 "--max-examples", "20", "--findings", str(tmp_path)]) == 0
    capsys.readouterr()
    records = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("*/record.json"))]
    assert records
    for record in records:
        assert set(record["minimized_from"]) == {"bytes", "calls"}
        assert record["bytes"] <= record["minimized_from"]["bytes"]
        assert record["calls"] <= record["minimized_from"]["calls"]
        assert record["known"] is True
        ops = parse_text(TARGET.schema, record["ops"])
        assert minimize_ops(TARGET, ops, record["signature"]) == ops


def test_a_non_positive_time_is_refused(capsys):
    """--time 0 is an error with exit status 2."""
    assert main(["hypothesis", "insert_pfn", "--time", "0"]) == 2
    assert "--time must be positive" in capsys.readouterr().err


# --- any target --------------------------------------------------------------------------------

TOY_SCHEMA = Schema(name="toy", version=1, max_ops=16, ops=(
    OpSpec("mode", 0, scene=True, args=(
        ArgSpec("kind", ArgKind.CHOICE, 0, names=("lax", "strict")),)),
    OpSpec("push", 1, args=(ArgSpec("value", ArgKind.INT, 2),)),
))


class ToyTarget:
    """Two stacks; the post side pushes 3 for a 1 right after a 2. No declared domain."""

    name = "toy"
    description = "a stack with a bug after a 2"
    schema = TOY_SCHEMA

    def evaluate(self, ops):
        pre, post = SideRecord("pre"), SideRecord("post")
        last = None
        for index, op in enumerate(op for op in ops if op.name == "push"):
            value = op["value"]
            pre.add(index, OpRun(ret=str(value)))
            post.add(index, OpRun(ret=str(3 if last == 2 and value == 1 else value)))
            if last == 2 and value == 1:
                finding = Finding(index, "push", ["ret"], "push/after_two", "push__ret")
                return Outcome(Verdict.DIVERGENT, finding, pre, post)
            last = value
        return Outcome(Verdict.SAME, None, pre, post)

    def branch_ids(self):
        return {}

    def known_findings(self):
        return {}

    def seeds_dir(self):
        return None


def test_the_machine_works_for_any_target_from_its_schema():
    """A target with no declared domain: the schema's values find and shrink its bug."""
    toy = ToyTarget()
    assert schema_domain(TOY_SCHEMA).values["push"] == (("value", (2, 0, 1)),)
    failures = run_machine(machine_for(toy), SMALL)
    assert [e.outcome.signature for e in failures] == ["push/after_two"]
    assert [op["value"] for op in failures[0].ops if op.name == "push"] == [2, 1]

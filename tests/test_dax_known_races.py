"""Four two-task signatures of the fuzz loop, triaged (docs/races.md, "Races found and their
triage"): two were outcomes v4.13 has, which its search cut at 4,000 runs did not reach and a
run with one preemption does (the oracle's `tasks.one_preemption`); the third combines two
known causes; the fourth is a known cause's serial order, seen in the final state only."""

from __future__ import annotations

import pytest

from fuzzplug.core.known import KnownList
from fuzzplug.core.opslang import parse_text
from fuzzplug.core.oracle import Verdict
from fuzzplug.runtime.sched import FollowSchedule
from fuzzplug.targets.dax_fault import TARGET, tasks
from fuzzplug.targets.dax_fault.outcome import compare
from fuzzplug.targets.dax_fault.schema import SCHEMA, Scene

# v4.14's outcome under this schedule: task 1's write(2) over pages 0-1, fsync, a store to
# page 0 and write(2) of page 0, and task 0's two stores landing after that write(2)'s copy
# (page 0 reads 0x55, holds 0x40 on the media). Found by fuzzing as tasks/state:file.
FLUSH_ORDER = """store addr=0x101000
store addr=0x100000
pct prio=t1_t0_t2 depth=3 at1=64 at2=22
task id=1
write pages=2
fsync
store addr=0x100000
write
"""
# Without pte_special: v4.14's outcome has page 1's block allocated before truncate frees
# page 2's (block 3, not 2) and task 0's load reading the new block before task 1's store
# lands. Found by fuzzing as tasks/state:entry+file+map.
BLOCK_ORDER = """config HAVE_PTE_SPECIAL=0
vma2 start=0x108000 pages=4
truncate
load addr=0x101000
task id=1
pct prio=t1_t2_t0 depth=2 at1=16
store addr=0x100000 val=0x15
store addr=0x101000 val=0x66
"""
# ppc64 DEBUG_VM, one page of RAM: the set_pte_at() WARN of the store after msync (v4.14)
# and the OOM of the second hole read (v4.13) in one run.
WARN_AND_OOM = """config arch=ppc64 DEBUG_VM=1
memmap ram=0x0-0x0 device=0x0-0x0
store addr=0x100000
msync addr=0x100000
store addr=0x100000
load addr=0x101000
load addr=0x102000
task id=1
truncate
"""
WARN = ("warn", "set_pte_at", "pte_present(*ptep) && !pte_protnone(*ptep)")
# Without pte_special: task 0 reads the hole, writes zeroes over it with write(2) and reads
# it again; task 1 writes page 0. v4.14's write(2) leaves the zero page mapped, so the
# second load takes no fault and leaves no entry. Found by fuzzing from cold as
# tasks/state:entry+map+mapping.
ZERO_PAGE_SERIAL = """config HAVE_PTE_SPECIAL=0
load addr=0x101000
write page=1 val=0x0
load addr=0x101000
task id=1
write
"""
ZERO_PAGE_CAUSE = "zero_page_not_unmapped_without_pte_special"


def _input(text: str):
    ops = parse_text(SCHEMA, text)
    calls = [op for op in ops if not SCHEMA.spec(op.name).scene]
    return ops, Scene.from_ops(ops).dax, tasks.split(calls)


def _post_outcome(text: str):
    """v4.14's outcome under the input's own schedule (the finding's), with the programs."""
    ops, scene, program = _input(text)
    run = tasks.run_version(TARGET.post_model, scene, program, tasks.chooser(program))
    return scene, program, run.outcome


def _same(pre_outcome, post_outcome) -> bool:
    return compare(pre_outcome, post_outcome, TARGET.rule_names).same


@pytest.mark.parametrize("text,runs", [(FLUSH_ORDER, [(0, 0), (1, 1 << 30)]),
                                       (BLOCK_ORDER, [(1, 17), (0, 1 << 30)])],
                         ids=["flush_order", "block_order"])
def test_v4_13_has_the_fuzzers_outcome_under_a_schedule_of_one_preemption(text, runs):
    """The two false findings: v4.13 produces v4.14's outcome exactly (returns, events, the
    final state) under task 1's program whole first (FLUSH_ORDER), or task 1 stopped after
    its second store's first fault, task 0 whole, then task 1 (BLOCK_ORDER); and the
    oracle's one-preemption runs of v4.13 include it."""
    scene, program, outcome = _post_outcome(text)
    run = tasks.run_version(TARGET.pre_model, scene, program, FollowSchedule(runs))
    assert _same(run.outcome, outcome)
    assert any(_same(o, outcome) for o in tasks.one_preemption(TARGET.pre_model, scene, program))


def test_the_runs_with_one_preemption_are_outcomes_of_the_complete_search():
    """On programs whose searches complete, every one-preemption run's outcome is among the
    search's outcomes (they are runs of the version, nothing more), on both versions; the
    runs stop at their budget and are the same on every call."""
    _, scene, program = _input(WARN_AND_OOM)
    for model in (TARGET.pre_model, TARGET.post_model):
        found = tasks.search(model, scene, program, max_runs=tasks.CONFIRM_RUNS)
        assert found.complete
        bounded = list(tasks.one_preemption(model, scene, program))
        assert bounded and set(bounded) <= set(found.outcomes)
        assert list(tasks.one_preemption(model, scene, program)) == bounded
        assert len(list(tasks.one_preemption(model, scene, program, 3))) == 3


@pytest.mark.slow
@pytest.mark.parametrize("text", [FLUSH_ORDER, BLOCK_ORDER], ids=["flush_order", "block_order"])
def test_an_outcome_the_cut_search_misses_is_met_by_one_preemption_before_it_is_a_finding(
        text, monkeypatch):
    """v4.13's search of these programs is cut even at 4,000 runs and lacks v4.14's outcome
    (so the oracle called it divergent, tasks/state:file and tasks/state:entry+file+map);
    with the one-preemption runs the input is the same (the stateful search, which comes
    after them, left out)."""
    ops, scene, program = _input(text)
    _, _, outcome = _post_outcome(text)
    tasks.SEARCHES.clear()
    monkeypatch.setattr(tasks, "PREEMPTION_RUNS", 0)
    monkeypatch.setattr(tasks, "PROOF_RUNS", 0)
    assert TARGET.evaluate(ops).verdict is Verdict.DIVERGENT
    cut = tasks.SEARCHES.search(TARGET.pre_model, scene, program, tasks.CONFIRM_RUNS)
    assert not cut.complete and not any(_same(o, outcome) for o in cut.outcomes)
    monkeypatch.undo()
    assert TARGET.evaluate(ops).verdict is Verdict.SAME
    tasks.SEARCHES.clear()


@pytest.mark.slow
def test_an_outcome_the_cut_search_misses_is_met_by_the_stateful_search_before_it_is_a_finding(
        monkeypatch):
    """The last confirmation: without the one-preemption runs, v4.13's stateful search
    (`tasks.PROOFS`, `PROOF_RUNS`) of BLOCK_ORDER completes and has v4.14's outcome, so the
    input is the same; without it too, it is divergent."""
    ops, scene, program = _input(BLOCK_ORDER)
    _, _, outcome = _post_outcome(BLOCK_ORDER)
    monkeypatch.setattr(tasks, "PREEMPTION_RUNS", 0)
    monkeypatch.setattr(tasks, "SEARCHES", tasks.SearchCache())
    monkeypatch.setattr(tasks, "PROOFS", tasks.SearchCache(stateful=True))
    assert TARGET.evaluate(ops).verdict is Verdict.SAME
    proof = tasks.PROOFS.search(TARGET.pre_model, scene, program, tasks.PROOF_RUNS)
    assert tasks.PROOFS.hits == 1 and proof.complete and proof.cache is None
    assert any(_same(o, outcome) for o in proof.outcomes)
    cut = tasks.SEARCHES.search(TARGET.pre_model, scene, program, tasks.CONFIRM_RUNS)
    assert not cut.complete and not any(_same(o, outcome) for o in cut.outcomes)
    monkeypatch.setattr(tasks, "PROOF_RUNS", 0)
    monkeypatch.setattr(tasks, "PROOFS", tasks.SearchCache(stateful=True))
    assert TARGET.evaluate(ops).verdict is Verdict.DIVERGENT
    assert len(tasks.PROOFS) == 0


def test_the_msync_warn_and_the_ram_oom_combine_and_are_known_by_their_causes():
    """Every v4.14 outcome of WARN_AND_OOM has the second store's set_pte_at() WARN and no
    v4.13 outcome has it (complete searches); v4.13's second hole read is OOM where
    v4.14's reads zeroes; the divergence is known by the two causes alone, without its
    [[finding]]."""
    ops, scene, program = _input(WARN_AND_OOM)
    pre = tasks.search(TARGET.pre_model, scene, program, max_runs=tasks.CONFIRM_RUNS)
    post = tasks.search(TARGET.post_model, scene, program, max_runs=tasks.CONFIRM_RUNS)
    assert pre.complete and post.complete
    assert all(WARN in o.calls[0][2].observed for o in post.outcomes)
    assert not any(WARN in o.calls[0][2].observed for o in pre.outcomes)
    assert {o.calls[0][4].user.split()[0] for o in pre.outcomes} == {"OOM", "SIGBUS"}
    assert {o.calls[0][4].user.split()[0] for o in post.outcomes} == {"ok", "SIGBUS"}
    outcome = TARGET.evaluate(ops)
    assert outcome.verdict is Verdict.DIVERGENT
    by_cause = KnownList(SCHEMA, {}, TARGET.known_causes())
    assert set(by_cause.match(outcome.signature, ops).causes) == {
        "v4_13_hole_pages_use_up_ram_among_tasks", "ppc64_set_pte_at_on_present_pte"}


def test_the_zero_page_left_mapped_under_a_write_of_zeroes_is_known_by_its_finding():
    """The final-state-only form of zero_page_not_unmapped_without_pte_special among tasks:
    divergent as tasks/state:entry+map+mapping, which the cause's `state:map` and
    `state:entry` do not name (a state-only signature matches only a cause declaring its
    kinds exactly), so the known list recognises it by its [[finding]], as that cause."""
    ops, _, _ = _input(ZERO_PAGE_SERIAL)
    outcome = TARGET.evaluate(ops)
    assert outcome.verdict is Verdict.DIVERGENT
    assert outcome.signature == "tasks/state:entry+map+mapping/da39a3ee"
    assert KnownList(SCHEMA, {}, TARGET.known_causes()).match(outcome.signature, ops) is None
    match = KnownList.of(TARGET).match(outcome.signature, ops)
    assert match is not None and match.exact and match.causes == (ZERO_PAGE_CAUSE,)


def test_the_zero_page_finding_is_one_outcome_per_version_and_needs_no_second_task():
    """Both searches complete with one outcome (task 1's write(2) of page 0 commutes with
    task 0): v4.14's second load takes no fault and its PTE still maps the zero page with
    no entry left for page 1, where v4.13's faults and maps the block under a block entry.
    Task 0's program alone is the cause's one-task write/state:map; with data other than
    zeroes the second load differs by its value, known by the cause."""
    _, scene, program = _input(ZERO_PAGE_SERIAL)
    runs = {}
    for side, model in (("pre", TARGET.pre_model), ("post", TARGET.post_model)):
        found = tasks.search(model, scene, program, max_runs=tasks.CONFIRM_RUNS)
        assert found.complete and len(found.outcomes) == 1
        runs[side] = next(iter(found.outcomes))
    pre, post = (dict(runs[side].view) for side in ("pre", "post"))
    assert [c.faults for c in runs["pre"].calls[0]] == [1, None, 1]
    assert [c.faults for c in runs["post"].calls[0]] == [1, None, 0]
    assert post["pte.0x101000"][0] == "hole" and "entry.1" not in post
    assert pre["pte.0x101000"][0] != "hole" and dict(pre["entry.1"])["kind"] == "block"
    known = KnownList.of(TARGET)
    alone = parse_text(SCHEMA, ZERO_PAGE_SERIAL.split("task id=1")[0])
    one_task = TARGET.evaluate(alone)
    assert one_task.signature == "write/state:map/6a9b884e"
    assert known.match(one_task.signature, alone).causes == (ZERO_PAGE_CAUSE,)
    data = parse_text(SCHEMA, ZERO_PAGE_SERIAL.replace("val=0x0", "val=0x40"))
    with_data = TARGET.evaluate(data)
    assert with_data.signature == "tasks_load/load:value/da39a3ee"
    assert known.match(with_data.signature, data).causes == (ZERO_PAGE_CAUSE,)


STALE_ZERO_PAGE_FORMS = {
    "tasks/state:file+map/da39a3ee": """config HAVE_PTE_SPECIAL=0
write page=3
load addr=0x101000
task id=1
pct prio=t1_t0_t2 depth=1
load addr=0x101000
write page=1
""",
    "tasks_load/ret:SIGSEGV->ok+signal:__do_page_fault:SIGSEGV/da39a3ee": """config HAVE_PTE_SPECIAL=0
load addr=0x101000
write page=1
load addr=0x101000
task id=1
munmap addr=0x100000 len=0x1001
""",
}


@pytest.mark.parametrize("sig", sorted(STALE_ZERO_PAGE_FORMS))
def test_a_load_through_the_zero_page_write_left_mapped_is_known_as_that_cause(sig):
    """Two forms among tasks of the zero page v4.14's write(2) leaves mapped without
    pte_special (found by `make fuzz`): divergent with their signatures, a load of the hole
    after write(2) taking no fault on v4.14 under the input's schedule where v4.13's faults,
    and recognised by
    their [[finding]]s as zero_page_not_unmapped_without_pte_special, which the cause's
    own observables do not name."""
    ops, _, _ = _input(STALE_ZERO_PAGE_FORMS[sig])
    outcome = TARGET.evaluate(ops)
    assert (outcome.verdict, outcome.signature) == (Verdict.DIVERGENT, sig)
    calls = [op for op in ops if not SCHEMA.spec(op.name).scene]
    stale = [i for i, op in enumerate(calls) if op.name == "load"
             and outcome.post.rets[i].endswith("(0 faults)")
             and outcome.pre.rets[i].endswith("(1 fault)")]
    assert stale, "no load of v4.14 went through the zero page without a fault"
    assert KnownList(SCHEMA, {}, TARGET.known_causes()).match(sig, ops) is None
    match = KnownList.of(TARGET).match(sig, ops)
    assert match is not None and match.exact and match.causes == (ZERO_PAGE_CAUSE,)

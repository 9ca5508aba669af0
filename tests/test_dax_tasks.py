"""dax_fault with several tasks (issue #13): the input's programs and schedule, the lock
rules, the oracle's outcome comparison, determinism, the deadlock detector, the
partial-order reduction against the unreduced search, and the harness on two-task inputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzplug.core.opslang import Op, encode, parse_text
from fuzzplug.core.oracle import Verdict
from fuzzplug.kernel import dpor
from fuzzplug.kernel import daxfile, fs
from fuzzplug.kernel.sched import FollowSchedule, Scheduler, switch_point
from fuzzplug.targets.dax_fault import interleavings, tasks
from fuzzplug.targets.dax_fault.schema import SCHEMA, Scene
from fuzzplug.targets.dax_fault.target import TARGET

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "harnesses" / "fuzz_dax_fault.py"
RACE = (ROOT / "corpora" / "dax_fault"
        / "divergent_write_fault_races_write_over_zero_page.ops").read_text()
RACE_SIGNATURE = "tasks_store/warn:insert_pfn:pte_pfn_pte_pfn_t_to_pfn_pfn/56fa0003"
DEFAULT_SCENE = Scene.from_ops(()).dax


def _ops(text: str) -> tuple[Op, ...]:
    return parse_text(SCHEMA, text)


def _split(text: str) -> tasks.Tasks:
    return tasks.split([op for op in _ops(text) if not SCHEMA.spec(op.name).scene])


def test_calls_before_any_task_line_are_task_zero_and_sched_lines_are_the_schedule():
    """`task id=` switches the task the next calls belong to; `sched` runs are renumbered
    with the tasks and those of tasks without calls dropped."""
    t = _split("load addr=0x100000\ntask id=2\nfsync\nsched task=2 steps=3\n"
               "sched task=1 steps=1\nsched task=0 steps=0\ntask id=5\nfsync\n")
    assert [[op.name for _, op in p] for p in t.programs] == [["load"], ["fsync", "fsync"]]
    assert t.runs == ((1, 3),)
    assert t.concurrent


def test_an_input_with_one_task_keeps_its_verdict_and_signature_whatever_its_sched_lines():
    """Backwards compatible: explicit `task`/`sched` lines in a one-task input change
    nothing (the seeds' one-task scenarios are replayed by test_scenarios)."""
    base = ("config HAVE_PTE_SPECIAL=0\nload addr=0x101000\nstore addr=0x101000 val=0x66\n")
    marked = ("config HAVE_PTE_SPECIAL=0\ntask id=1\nsched task=0 steps=2\n"
              "load addr=0x101000\nsched task=1 steps=9\nstore addr=0x101000 val=0x66\n")
    a, b = TARGET.evaluate(_ops(base)), TARGET.evaluate(_ops(marked))
    assert (a.verdict, a.signature) == (b.verdict, b.signature)
    assert a.verdict is Verdict.DIVERGENT
    assert not _split(marked).concurrent


def test_fail_alloc_is_not_run_with_several_tasks():
    """An allocation's number depends on the interleaving: dropped from the programs."""
    t = _split("fail_alloc nth=1\nload addr=0x101000\ntask id=1\nfsync\n")
    assert [[op.name for _, op in p] for p in t.programs] == [["load"], ["fsync"]]


def test_the_write_fault_race_over_the_zero_page_is_found_and_is_v4_14_only():
    """The generic/344 race: under the seed's schedule v4.14 WARNs in insert_pfn() and no
    interleaving of v4.13 does (the oracle's search), the story names both CPUs."""
    outcome = TARGET.evaluate(_ops(RACE))
    assert outcome.verdict is Verdict.DIVERGENT
    assert outcome.signature == RACE_SIGNATURE
    story = TARGET.story(_ops(RACE))
    assert "CPU0:" in story and "CPU1:" in story and "[WARN insert_pfn]" in story
    t = _split(RACE)
    pre = tasks.search(TARGET.pre_model, DEFAULT_SCENE, t)
    assert pre.complete
    assert not any(w[0] == "warn" for o in pre.outcomes for calls in o.calls for c in calls
                   for w in c.observed)


def test_the_same_input_gives_the_same_verdict_signature_and_story_every_time():
    """Determinism: the same programs and schedule, the same everything."""
    ops = _ops(RACE)
    first = TARGET.evaluate(ops)
    for _ in range(3):
        again = TARGET.evaluate(ops)
        assert (again.verdict, again.signature, again.pre.rets, again.post.rets) == (
            first.verdict, first.signature, first.pre.rets, first.post.rets)
    assert TARGET.story(ops) == TARGET.story(ops)


def test_two_writes_never_interleave_inside_i_rwsem():
    """Lock rules: every interleaving of two write(2)s (unreduced) keeps one write's
    section under i_rwsem whole: the other task takes no step inside it but its call's
    start."""
    t = _split("write page=0 pages=1 val=0x40\ntask id=1\nwrite page=1 pages=1 val=0x50\n")
    n = 0
    for run in dpor.explore(lambda ch: tasks.run_version(TARGET.post_model, DEFAULT_SCENE,
                                                         t, ch), reduce=False):
        n += 1
        holder = None
        for e in run.trace:
            if e.label == "down_write(i_rwsem)":
                assert holder is None, "two tasks in i_rwsem"
                holder = e.tid
            elif holder is not None:
                # the other task may only start its call (up to where it waits for the lock)
                assert e.tid == holder or e.label == "write", \
                    f"task {e.tid} ran {e.label} inside task {holder}'s write"
                if e.tid == holder and e.label == "write:iomap_end":
                    holder = None
    assert n >= 2


def test_a_task_waiting_for_a_held_lock_is_not_offered_to_the_chooser():
    """While task 0 holds i_rwsem (a write in progress), task 1 waiting to take it is
    never among the tasks that may run."""
    t = _split("write page=0 pages=1 val=0x40\ntask id=1\ntruncate pages=1\n")
    run = tasks.run_version(TARGET.post_model, DEFAULT_SCENE, t,
                            FollowSchedule([(0, 3), (1, 5), (0, 50)]))
    labels = [(e.tid, e.label) for e in run.trace]
    took = labels.index((0, "down_write(i_rwsem)"))
    released = labels.index((0, "write:iomap_end"))
    assert labels[took + 2] == (1, "truncate")  # task 1 starts its call, then waits
    for e in run.trace[took + 3:released + 1]:
        assert e.tid == 0 and e.enabled == (0,), (e.tid, e.label, e.enabled)
    assert (1, "down_write(i_rwsem)") in labels[released:]
    assert [c.user for c in run.outcome.calls[1]] == ["0"]


def test_a_schedule_independent_scenario_has_one_verdict_under_every_schedule():
    """A load of a block against fsync: every schedule v4.14 can take (each run's own
    schedule, replayed through the oracle) gives the same verdict."""
    text = "load addr=0x100000\ntask id=1\nfsync\n"
    t = _split(text)
    s = tasks.search(TARGET.post_model, DEFAULT_SCENE, t, reduce=False)
    verdicts = {TARGET.evaluate(_ops(text) + tuple(interleavings.schedule_ops(runs))).verdict
                for runs in s.outcomes.values()}
    verdicts.add(TARGET.evaluate(_ops(text)).verdict)
    assert len(verdicts) == 1


def test_the_deadlock_detector_reports_two_tasks_taking_two_locks_in_opposite_orders():
    """A constructed ABBA deadlock: every task waits; the scheduler says for what."""
    m = daxfile.boot(TARGET.post_model, DEFAULT_SCENE)
    a, b = fs.rw_semaphore("A"), fs.rw_semaphore("B")
    sched = Scheduler(m.k, m.sb, FollowSchedule([(0, 2), (1, 2)]))
    m.k.sched = sched

    def body(first, second):
        def run(task):
            fs.down_write(m.sb, first)
            switch_point(m.k, "between")
            fs.down_write(m.sb, second)
        return run

    for first, second in ((a, b), (b, a)):
        ts = fs.task_struct()
        m.tasks.append(ts)
        sched.spawn(ts, body(first, second))
    try:
        sched.run()
    finally:
        m.k.sched = None
    assert sorted(sched.deadlock) == [(0, "down_write(B)"), (1, "down_write(A)")]


def test_a_deadlock_is_a_finding():
    """A run where every task waits is divergent whatever the other side does."""
    c = tasks.Comparison(["deadlock:post"], [], None)
    f = tasks.finding_of(c, (3, "fsync"))
    assert f.signature.startswith("tasks/deadlock:post")


def test_the_reduction_gives_the_outcomes_and_signatures_of_the_unreduced_search():
    """On a small bound (x86-64 shared; a load or store of the hole or a store of the block
    against fsync or a punch; write(2) and a punch of the hole against truncate), the
    partial-order reduction finds the same outcome sets of both versions as running every
    interleaving, hence the same signatures, with fewer runs."""
    c = interleavings.CALLS
    pairs = [((c[0],), (c[7],)), ((c[1],), (c[7],)), ((c[2],), (c[7],)), ((c[0],), (c[5],)),
             ((c[3], c[5]), (c[6],)), ((c[5],), (c[6],))]
    reduced = interleavings.Report(None, ["x86_64 shared"])
    full = interleavings.Report(None, ["x86_64 shared"])
    for a, b in pairs:
        interleavings.check_pair(TARGET, (), a, b, reduce=True, report=reduced, keep_sets=True)
        interleavings.check_pair(TARGET, (), a, b, reduce=False, report=full, keep_sets=True)
    assert reduced.outcome_sets == full.outcome_sets
    assert set(reduced.hits) == set(full.hits)
    assert reduced.runs["pre"] + reduced.runs["post"] < full.runs["pre"] + full.runs["post"]


def test_a_lock_release_does_not_hide_the_other_order_of_two_lock_holders():
    """The case that showed the last-race-only rule unsound here: write(2) and a punch of
    the hole serialise on i_rwsem; both orders must be run (two outcomes: the block stays
    or is punched)."""
    t = _split("write page=1 pages=1 val=0x40\ntask id=1\npunch_hole page=1 pages=1\n")
    for model in (TARGET.pre_model, TARGET.post_model):
        s = tasks.search(model, DEFAULT_SCENE, t)
        assert len({dict(o.view).get("file.block.1") for o in s.outcomes}) == 2


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUZZPLUG_")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


@pytest.mark.slow
def test_the_harness_runs_two_task_inputs_as_a_subprocess(tmp_path):
    """harnesses/fuzz_dax_fault.py: the race input crashes with suppression off (its
    family's frame named), an intended two-task input runs clean."""
    crash = tmp_path / "race.bin"
    crash.write_bytes(encode(SCHEMA, _ops(RACE)))
    env = _env()
    env["FUZZPLUG_NO_KNOWN"] = "1"
    proc = subprocess.run([sys.executable, str(HARNESS), str(crash)], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode != 0
    assert "tasks_store__warn" in proc.stdout + proc.stderr
    ok = tmp_path / "ok.bin"
    ok.write_bytes(encode(SCHEMA, _ops("store addr=0x100000 val=0x66\ntask id=1\n"
                                       "write page=0 pages=1 val=0x40\n")))
    proc = subprocess.run([sys.executable, str(HARNESS), str(ok)], capture_output=True,
                          text=True, cwd=tmp_path, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_the_checker_names_the_race_it_finds_known_and_an_unlisted_one_new(monkeypatch):
    """The interleavings checker's report marks each signature with its known-list status:
    the generic/344 race (a load then a store of the hole against write(2) over it) is
    known; with that entry taken out of the list it is NEW, and `new_signatures` (the
    command's exit status) says so."""
    c = interleavings.CALLS
    bound = interleavings.parse_bound("2/1", "accesses/syscalls", "0")
    report = interleavings.Report(bound, ["x86_64 shared"])
    interleavings.check_pair(TARGET, (), (c[0], c[1]), (c[3],), reduce=True, report=report,
                             scene_name="x86_64 shared")
    assert RACE_SIGNATURE in report.hits
    assert report.hits[RACE_SIGNATURE].side == "post"
    text = interleavings.render(TARGET, report)
    line = next(x for x in text.splitlines() if RACE_SIGNATURE in x)
    assert "known: cause write_fault_races_write_over_zero_page" in line
    assert RACE_SIGNATURE not in interleavings.new_signatures(TARGET, report)
    listed = TARGET.known_findings()
    monkeypatch.setattr(type(TARGET), "known_findings",
                        lambda self: {s: r for s, r in listed.items() if s != RACE_SIGNATURE})
    monkeypatch.setattr(type(TARGET), "known_causes", lambda self: {}, raising=False)
    assert RACE_SIGNATURE in interleavings.new_signatures(TARGET, report)
    assert "NEW: not in the known list" in interleavings.render(TARGET, report)

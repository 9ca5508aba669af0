"""dax_fault's PCT schedules (`pct` lines) and interleaving features: every byte string is a
schedule that round-trips through text, a depth-d line has d - 1 change points, the
mutations move one point by one step or swap two priorities, the race's features hold the
communication that makes it, and neither changes a verdict."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzzplug.cli import main
from fuzzplug.core.opslang import Op, decode, encode, format_text, parse_text
from fuzzplug.engines import feedback
from fuzzplug.engines.harness import Harness
from fuzzplug.engines.mutator import OpMutator, setup_kwargs
from fuzzplug.runtime.pct import Pct
from fuzzplug.runtime.sched import StepEvent
from fuzzplug.targets import ScheduleMutable, check_scene, load_target
from fuzzplug.targets.dax_fault import pct, tasks
from fuzzplug.targets.dax_fault.features import communications
from fuzzplug.targets.dax_fault.schema import MAX_PCT_DEPTH, MAX_PCT_STEP, PRIORITIES, Scene
from tests.test_feedback import FakeAtheris

TARGET = load_target("dax_fault")
SCHEMA = TARGET.schema
PROGRAMS = ("load addr=0x101000\nstore addr=0x101000 val=0x66\ntask id=1\n"
            "write page=1 pages=1 val=0x40\n")
SCHED_RACE = PROGRAMS + "sched task=0 steps=13\nsched task=1 steps=4\nsched task=0 steps=30\n"
PCT_RACE = PROGRAMS + "pct prio=t0_t1_t2 depth=3 at1=17 at2=13\n"
RACE_SIGNATURE = "tasks_store/warn:insert_pfn:pte_pfn_pte_pfn_t_to_pfn_pfn/da39a3ee"
OLD_RACE_BYTES = bytes.fromhex("010681020007810200660f010801014010000d10010410001e")
"""The seed `divergent_write_fault_races_write_over_zero_page` as the binary form had it
before the `pct` op (id 17) was added: encoded at commit d6aaf96."""


def _ops(text: str) -> tuple[Op, ...]:
    return parse_text(SCHEMA, text)


def _calls(ops) -> list[Op]:
    return [op for op in ops if not SCHEMA.spec(op.name).scene]


# --- the encoding --------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=60))
def test_every_byte_string_is_a_schedule_that_round_trips_through_text(data):
    """Any bytes (here after a `pct` op byte): the normalised ops encode and decode to
    themselves, their text parses back to them with no issue, and they split into the same
    programs, runs and PCT schedule as the raw decoding runs."""
    raw = decode(SCHEMA, bytes((1,)) + PROGRAM_BYTES + bytes((17,)) + data)
    normal, _ = check_scene(TARGET, raw)
    assert decode(SCHEMA, encode(SCHEMA, normal)) == normal
    text = format_text(SCHEMA, normal)
    assert _ops(text) == normal and check_scene(TARGET, normal)[1] == []
    assert tasks.split(_calls(normal)) == tasks.split(_calls(raw))


PROGRAM_BYTES = encode(SCHEMA, _ops(PROGRAMS))[1:]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=40))
def test_random_bytes_decode_into_pct_schedules_with_d_minus_1_change_points(data):
    """A `pct` op decoded from any bytes is a PCT schedule: an order of the three tasks'
    priorities, a depth d in 1..MAX_PCT_DEPTH and d - 1 change points in 1..MAX_PCT_STEP."""
    ops = decode(SCHEMA, bytes((1, 17)) + data)
    line = pct.line_of(ops[0])
    assert ops[0].name == "pct" and line.order in PRIORITIES
    assert 1 <= line.depth <= MAX_PCT_DEPTH and len(line.points) == line.depth - 1
    assert all(1 <= k <= MAX_PCT_STEP for k in line.points)


def test_a_pct_line_is_written_and_read_back_exactly():
    """The text form says every schedule the binary form can: prio and depth always
    written, change points whenever they are not 1."""
    op = Op.make(SCHEMA, "pct", prio=3, depth=3, at1=17, at2=13, at3=5)
    text = format_text(SCHEMA, (op,))
    assert text == "pct prio=t1_t2_t0 depth=3 at1=17 at2=13 at3=5\n"
    assert _ops(text) == (op,)
    assert format_text(SCHEMA, _ops("pct\n")) == "pct prio=t0_t1_t2 depth=1\n"


@pytest.mark.parametrize("line, words", [
    ("pct depth=5", "pct depth=5 is out of range"),
    ("pct depth=2 at1=0", "pct at1=0 is out of range"),
    ("pct depth=3 at1=3 at2=65", "pct at2=65 is out of range"),
])
def test_a_pct_line_out_of_range_is_a_file_line_error(tmp_path, capsys, line, words):
    """A depth outside 1..4 or a change point it uses outside 1..64 is refused at its line."""
    path = tmp_path / "race.ops"
    path.write_text(PROGRAMS + line + "\n")
    assert main(["replay", "dax_fault", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fuzzplug: error: {path}:5: ") and words in err


def test_a_second_pct_line_is_refused_in_text_and_a_no_op_in_binary(tmp_path, capsys):
    """One schedule an input: a second `pct` line is a file:line error; in binary it is
    the no-op `sched task=0 steps=0` and the first line's schedule runs."""
    text = PCT_RACE + "pct prio=t1_t0_t2 depth=2 at1=4\n"
    path = tmp_path / "race.ops"
    path.write_text(text)
    assert main(["replay", "dax_fault", str(path)]) == 2
    assert f"{path}:6: a second pct line" in capsys.readouterr().err
    raw = tuple(Op(op.name, op.args) for op in _ops(PCT_RACE)) + \
        (Op.make(SCHEMA, "pct", prio=2, depth=2, at1=4),)
    normal, issues = check_scene(TARGET, raw)
    assert normal[-1] == Op.make(SCHEMA, "sched", task=0, steps=0) and len(issues) == 1
    assert tasks.split(_calls(raw)).pct == tasks.split(_calls(_ops(PCT_RACE))).pct


def test_an_input_encoded_before_the_pct_op_decodes_and_judges_as_it_did():
    """Stored binary inputs keep their meaning: the race seed's bytes from before the `pct`
    op decode to the seed's ops, with the seed's verdict and signature (op ids are
    append-only; a canonical encoding never used an op byte above 16)."""
    seed = _ops(SCHED_RACE)
    assert decode(SCHEMA, OLD_RACE_BYTES) == seed
    assert encode(SCHEMA, seed) == OLD_RACE_BYTES
    assert TARGET.evaluate(decode(SCHEMA, OLD_RACE_BYTES)).signature == RACE_SIGNATURE


# --- the schedule ---------------------------------------------------------------------------------

def _event(tid: int) -> StepEvent:
    return StepEvent(tid, "step", (0, 1), 0)


def test_pct_runs_the_highest_priority_task_and_drops_it_at_a_change_point():
    """Order (0, 1), one point at step 3: task 0 takes steps 1-3, then task 1 runs; with a
    second point at step 5 (priority 2, above task 0's 1) task 1 keeps running."""
    for points, expected in (((3,), [0, 0, 0, 1, 1, 1, 1]), ((5, 3), [0, 0, 0, 1, 1, 0, 0]),
                             ((3, 5), [0, 0, 0, 1, 1, 1, 1])):
        chooser, taken = Pct((0, 1), points), []
        for _ in range(7):
            tid = chooser.choose(None, [0, 1])
            taken.append(tid)
            chooser.observe(_event(tid))
        assert taken == expected, points


def test_the_race_is_a_pct_line_and_runs_the_seeds_interleaving():
    """The generic/344 race as `pct prio=t0_t1_t2 depth=3 at1=17 at2=13` has the seed's
    signature: task 0 to its 13th step, task 1's write(2) to the 17th, then task 0."""
    outcome = TARGET.evaluate(_ops(PCT_RACE))
    assert outcome.signature == RACE_SIGNATURE
    scene = Scene.from_ops(_ops(PCT_RACE)).dax
    t = tasks.split(_calls(_ops(PCT_RACE)))
    run = tasks.run_version(TARGET.post_model, scene, t, tasks.chooser(t))
    assert [e.tid for e in run.trace[:18]] == [0] * 13 + [1] * 4 + [0]
    assert run.trace[16].label == "invalidate:entries"


def test_sched_runs_come_first_and_the_pct_line_decides_the_steps_they_leave():
    """`sched task=0 steps=13` then a PCT line whose point at step 17 drops task 1 below
    task 0 (started lower by the order t0_t1): the same interleaving as the race's line."""
    text = PROGRAMS + "sched task=0 steps=13\npct prio=t1_t0_t2 depth=2 at1=17\n"
    t = tasks.split(_calls(_ops(text)))
    scene = Scene.from_ops(_ops(text)).dax
    run = tasks.run_version(TARGET.post_model, scene, t, tasks.chooser(t))
    assert [e.tid for e in run.trace[:18]] == [0] * 13 + [1] * 4 + [0]


# --- the mutations --------------------------------------------------------------------------------

def test_a_change_point_mutation_moves_one_point_by_one_step():
    """`move_point` moves exactly one point by exactly one step; the schedule mutation
    makes such moves (and swaps of two priorities) of the race's line."""
    line = pct.line_of(_ops(PCT_RACE)[-1])
    assert pct.move_point(line, 1, -1) == pct.PctLine((0, 1, 2), (17, 12))
    assert pct.move_point(line, 0, 1) == pct.PctLine((0, 1, 2), (18, 13))
    assert pct.swap_priorities(line, 0) == pct.PctLine((1, 0, 2), (17, 13))
    moved = swapped = 0
    calls = _calls(_ops(PCT_RACE))
    for seed in range(200):
        out = pct.mutate_schedule(calls, random.Random(seed))
        assert out[:-1] == calls[:-1]
        new = pct.line_of(out[-1])
        if new.order == line.order and len(new.points) == 2:
            steps = [abs(a - b) for a, b in zip(new.points, line.points)]
            moved += sorted(steps) == [0, 1]
        swapped += new.order == (1, 0, 2) and new.points == line.points
    assert moved >= 50 and swapped >= 10


def test_schedule_mutations_make_a_second_task_then_add_a_pct_line():
    """One task of two calls: a `task id=1` line between them; two tasks without a
    `pct` line: one is added; no calls: nothing to change."""
    one = _calls(_ops("load addr=0x101000\nstore addr=0x101000 val=0x66\n"))
    out = pct.mutate_schedule(one, random.Random(1))
    assert [op.name for op in out] == ["load", "task", "store"]
    two = pct.mutate_schedule(out, random.Random(2))
    assert [op.name for op in two if op.name == "pct"] == ["pct"]
    assert pct.mutate_schedule([], random.Random(3)) is None


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.binary(max_size=80), st.integers(0, 2**32 - 1))
def test_the_op_mutator_with_the_schedule_hook_gives_canonical_deterministic_output(data, seed):
    """The dax_fault mutator (with `mutate_schedule`): no exception, canonical output
    within max_size, the same output for the same input and seed."""
    mutator = OpMutator(SCHEMA, None, schedule=TARGET.mutate_schedule)
    out = mutator.mutate(data, 256, seed)
    assert len(out) <= 256 and encode(SCHEMA, decode(SCHEMA, out)) == out
    assert mutator.mutate(data, 256, seed) == out


def test_the_schedule_hook_is_given_to_targets_that_have_it_only():
    """dax_fault is ScheduleMutable and its mutator calls the hook; insert_pfn is not."""
    assert isinstance(TARGET, ScheduleMutable)
    assert not isinstance(load_target("insert_pfn"), ScheduleMutable)

    class FakeAtheris:
        @staticmethod
        def Mutate(data, max_size):
            return data

    hooks = setup_kwargs(FakeAtheris, TARGET, "ops")
    assert hooks["custom_mutator"].__self__.schedule == TARGET.mutate_schedule
    assert hooks["custom_crossover"].__self__.cross == TARGET.cross_tasks


def test_the_crossover_of_tasks_puts_a_program_of_each_input_side_by_side_under_a_schedule():
    """Two one-task inputs, a load and a store of the hole and a write(2) of its page: the
    crossover of tasks gives the race's two programs as tasks 0 and 1 (in either order of
    the inputs, each program is one of its input's), with the first input's pct line."""
    race_task = _ops("load addr=0x101000\nstore addr=0x101000\n")
    writer = _ops("write page=1 pages=1\npct prio=t1_t0_t2 depth=2 at1=3\n")
    rng = random.Random(7)
    crossed = TARGET.cross_tasks(list(race_task), list(writer), rng)
    t = tasks.split(crossed)
    assert [[op for _, op in prog] for prog in t.programs] == [list(race_task),
                                                               list(writer[:1])]
    assert t.pct == ((1, 0), (3,))
    assert TARGET.cross_tasks([], list(writer), rng) is None


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.binary(max_size=80), st.binary(max_size=80), st.integers(0, 2**32 - 1))
def test_the_crossover_with_tasks_gives_canonical_deterministic_output(a, b, seed):
    """The dax_fault crossover (with `cross_tasks`): no exception, canonical output within
    max_size, the same output for the same inputs and seed."""
    mutator = OpMutator(SCHEMA, None, cross=TARGET.cross_tasks)
    out = mutator.crossover(a, b, 256, seed)
    assert len(out) <= 256 and encode(SCHEMA, decode(SCHEMA, out)) == out
    assert mutator.crossover(a, b, 256, seed) == out


# --- the interleaving features --------------------------------------------------------------------

RACE_PAIRS = {("comm", 1, "invalidate:entries", "dax_fault:grab_entry", "entry", "r"),
              ("comm", 1, "write:iomap_begin", "get_locked_pte: ptl:#", "block", "r")}
"""What makes the race: task 0's fault looks the entry up after task 1's write(2) dropped
the zero entry, and inserts the block write(2) allocated (before write(2) unmaps)."""


def _features(text: str) -> set:
    ops = _ops(text)
    return set(TARGET.features(ops, TARGET.evaluate(ops)))


def test_the_features_of_the_race_hold_the_communication_that_makes_it():
    """The race's features (sched runs or its pct line) have write(2)'s dropped entry read
    by the fault's lookup and its block read by the fault's insert; the serial order (task
    0's calls, then task 1's) has neither."""
    assert RACE_PAIRS <= _features(SCHED_RACE)
    assert RACE_PAIRS <= _features(PCT_RACE)
    serial = _features(PROGRAMS)
    assert not RACE_PAIRS & serial
    assert any(f[0] == "comm" for f in serial)  # task 0's writes read by write(2)


def test_communications_are_accesses_to_a_cell_another_task_wrote_last():
    """Only another task's write counts, and only the last one: a task reading its own
    write, or a cell overwritten by the reader's own task since, is no communication."""
    def event(tid, label, cells):
        e = StepEvent(tid, label, (0, 1), 0)
        for kind, key, mode in cells:
            e.fp.touch(kind, key, mode)
        return e

    trace = [event(0, "a 0x1", [("pte", 1, "w")]), event(0, "b", [("pte", 1, "r")]),
             event(1, "c", [("pte", 1, "r"), ("entry", 2, "w")]),
             event(0, "d", [("entry", 2, "w")]), event(0, "e", [("entry", 2, "r")]),
             event(1, "f", [("entry", "*", "r")])]
    assert communications(trace) == {("a #", "c", "pte", "r"), ("c", "d", "entry", "w"),
                                     ("d", "f", "entry", "r")}


def test_one_task_inputs_have_no_communication_features():
    """A one-task input's features are the generic ones only."""
    assert not any(f[0] == "comm" for f in _features("load addr=0x101000\nstore "
                                                      "addr=0x101000 val=0x66\n"))


@pytest.mark.parametrize("text", [SCHED_RACE, PCT_RACE,
                                  PROGRAMS + "pct prio=t0_t1_t2 depth=2 at1=13\n"])
def test_verdicts_are_the_same_with_and_without_features_and_in_either_encoding(text,
                                                                              monkeypatch):
    """The harness with semantic counters (the features computed) and without gives the
    same verdict and signature; the race's sched runs and its pct line give one signature."""
    monkeypatch.setenv("FUZZPLUG_RECORD", "")
    ops = _ops(text)
    data = encode(SCHEMA, ops)
    plain = TARGET.evaluate(decode(SCHEMA, data))
    with_features = Harness(TARGET, feedback.SemanticCounters(FakeAtheris()), seen=False)
    outcome = with_features.target.evaluate(with_features.decoded.decode(data))
    counters = with_features.counters.counters(with_features.features(ops, outcome))
    assert counters
    assert (outcome.verdict, outcome.signature) == (plain.verdict, plain.signature)
    if "at1=17" in text or "steps=13" in text:
        assert plain.signature == RACE_SIGNATURE


def test_change_points_are_drawn_within_the_steps_the_calls_take():
    """Three calls: a horizon of 30 steps; no change point is drawn beyond it, and the
    horizon is at most MAX_PCT_STEP however many calls there are."""
    calls = _calls(_ops(PROGRAMS))
    assert pct.horizon(calls) == 3 * pct.STEPS_PER_CALL
    assert pct.horizon(calls * 20) == MAX_PCT_STEP
    rng = random.Random(5)
    points = [p for _ in range(500) for p in pct.random_line(rng, pct.horizon(calls)).points]
    assert max(points) <= pct.horizon(calls) and min(points) >= 1
    assert max(p for _ in range(500) for p in pct.random_line(rng).points) > 40


def test_the_horizon_makes_the_race_more_likely_per_draw_than_the_whole_range():
    """The generic/344 race's programs, 400 draws each way from the same seed: drawn within
    the horizon, the race's signature comes up more often than drawn in 1..MAX_PCT_STEP."""
    calls = list(_calls(_ops(PROGRAMS)))

    def hits(steps: int) -> int:
        rng = random.Random(11)
        return sum(TARGET.evaluate_budgeted(tuple(
            calls + [pct.op_of(pct.random_line(rng, steps))])).signature == RACE_SIGNATURE
            for _ in range(400))

    assert hits(pct.horizon(calls)) > hits(MAX_PCT_STEP)

"""The end of a `fuzz` run inside its `--time` (`fuzzplug.engines.finish`): candidates
confirmed or dropped, minimisation stopped at the deadline, with progress; the run's
warnings and progress events. Timed by fake clocks, never by the wall."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from fuzzplug.core.findings import (
    CANDIDATES_MARKER,
    FindingEntry,
    Inbox,
    read_inbox,
    record_json,
)
from fuzzplug.core.known import KnownList
from fuzzplug.core.opslang import decode, encode, parse_text
from fuzzplug.core.oracle import Verdict
from fuzzplug.engines.finish import (
    END_MAX_S,
    Deadline,
    _order,
    confirm_candidates,
    confirm_one,
    finish_entry,
    keep_left,
    time_split,
)
from fuzzplug.engines.confirmer import Confirmer
from fuzzplug.engines.fuzz import (
    FuzzResult,
    _early_confirmation,
    print_table,
    progress_fields,
    warnings,
)
from fuzzplug.engines.harness import Harness, candidate_name
from fuzzplug.targets import load_target
from fuzzplug.targets.dax_fault import tasks
from fuzzplug.triage.minimize import MinimizeStats, minimize_ops
from fuzzplug.triage.triage import render, triage

ROOT = Path(__file__).resolve().parents[1]
RACE = (ROOT / "corpora" / "dax_fault" /
        "divergent_write_fault_races_write_over_zero_page.ops").read_text()
RACE_SIGNATURE = "tasks_store/warn:insert_pfn:pte_pfn_pte_pfn_t_to_pfn_pfn/da39a3ee"
SAME = (ROOT / "corpora" / "dax_fault" / "same_store_then_fsync_is_durable.ops").read_text()
RACE_WITH_JUNK = ("load addr=0x101000\nstore addr=0x101000 val=0x66\nload addr=0x100000\n"
                  "fsync\ntask id=1\nwrite page=1 pages=1 val=0x40\nfsync\n"
                  "sched task=0 steps=13\nsched task=1 steps=4\nsched task=0 steps=30\n")
"""The race seed with calls its shrinking drops (a load of the block, two fsyncs)."""
INSERT_PFN_DIVERGENT = ("config arch=ppc64_radix DEBUG_VM=1\n"
                        "vm_insert_mixed addr=0x100000 pfn=0x80\n"
                        "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")


class FakeClock:
    """A clock that moves `step` seconds each time it is read."""

    def __init__(self, step: float = 0.0, start: float = 1000.0):
        self.now, self.step = start, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture(scope="module")
def dax():
    """dax_fault, its search cache shared by this module's tests (a warm cache gives the
    verdicts a cold one does) and emptied after them."""
    target = load_target("dax_fault")
    yield target
    tasks.SEARCHES.clear()


def _candidates(folder: Path, target, *texts: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for text in texts:
        data = encode(target.schema, parse_text(target.schema, text))
        path = folder / candidate_name(data, "000000000000")
        path.write_bytes(data)
        paths.append(path)
    return paths


@pytest.mark.parametrize("seconds", [1, 2, 5, 30, 60, 600, 3600])
def test_the_time_is_split_between_libfuzzer_and_the_end_and_adds_up(seconds):
    """libFuzzer's share and the end phase's add up to `--time`; libFuzzer gets a second
    at least, the end phase at most END_MAX_S."""
    fuzz, end = time_split(seconds)
    assert fuzz + end == seconds and fuzz >= 1 and 0 <= end <= END_MAX_S


def test_a_confirmed_candidate_counts_as_its_signature_and_a_dropped_one_is_counted(
        dax, tmp_path):
    """The race seed as a candidate is confirmed with its full signature; an input the full
    evaluation calls same is dropped."""
    paths = _candidates(tmp_path / "c", dax, RACE, SAME)
    with capture_logs() as logs:
        result = confirm_candidates(dax, paths, Deadline(float("inf")), KnownList.of(dax),
                                    suppressing=False)
    assert (result.confirmed, result.dropped, result.left) == (1, 1, [])
    assert result.counts == {RACE_SIGNATURE: 1}
    assert [e["event"] for e in logs if e["event"].startswith("candidate_")] == \
        ["candidate_dropped", "candidate_confirmed"]


def test_the_end_phase_confirms_the_quick_candidates_before_a_slow_one_takes_its_share(
        dax, monkeypatch, tmp_path):
    """A slow candidate ordered first is cut by the first pass, the quick one after it is
    confirmed, and the slow one gets its share in the second pass (where the time runs
    out: it is left)."""
    from fuzzplug.engines import finish

    slow, quick = _candidates(tmp_path / "c", dax, SAME, RACE)
    calls = []

    def fake_confirm(target, data, should_stop=None, shrunk=None):
        name = "slow" if data == slow.read_bytes() else "quick"
        calls.append(name)
        while name == "slow":  # until the alarm of its share
            time.sleep(0.01)
        return finish.Confirmed(Verdict.DIVERGENT, RACE_SIGNATURE, data)

    monkeypatch.setattr(finish, "confirm_one", fake_confirm)
    monkeypatch.setattr(finish, "shrink_one",  # no time of its own: the slices are the fake's
                        lambda target, data, *a: finish.Shrunk(None, (), 0, False))
    monkeypatch.setattr(finish, "FIRST_PASS_S", 0.2)
    monkeypatch.setattr(finish, "_order", lambda paths, *a: [(slow, slow.read_bytes()),
                                                             (quick, quick.read_bytes())])
    result = confirm_candidates(dax, [slow, quick], Deadline(time.monotonic() + 1.5),
                                KnownList.of(dax), suppressing=False)
    assert calls == ["slow", "quick", "slow"]
    assert (result.confirmed, result.left) == (1, [slow])


def test_a_candidate_is_shrunk_before_it_is_confirmed_and_its_input_shows_the_signature(dax):
    """The race seed as a candidate: shrunk under the budget, then confirmed in full; the
    input kept is no longer than the seed and its full evaluation gives the signature;
    the same candidate gives the same result twice."""
    data = encode(dax.schema, parse_text(dax.schema, RACE))
    found = confirm_one(dax, data)
    assert found.verdict is Verdict.DIVERGENT and found.signature == RACE_SIGNATURE
    assert found.shrunk and found.data != data and len(found.data) <= len(data)
    again = dax.evaluate(decode(dax.schema, found.data))
    assert (again.verdict, again.signature) == (Verdict.DIVERGENT, RACE_SIGNATURE)
    assert confirm_one(dax, data) == found


def test_a_candidate_whose_shrunk_form_is_not_divergent_is_confirmed_whole(dax, monkeypatch):
    """When the shrunk input's full evaluation does not diverge, the candidate itself is
    evaluated in full and kept as it is."""
    import fuzzplug.triage.minimize as minimize

    same = tuple(parse_text(dax.schema, SAME))
    monkeypatch.setattr(minimize, "minimize_ops", lambda *a, **k: same)
    data = encode(dax.schema, parse_text(dax.schema, RACE))
    found = confirm_one(dax, data)
    assert (found.verdict, found.signature, found.data, found.shrunk) == \
        (Verdict.DIVERGENT, RACE_SIGNATURE, data, False)


def test_candidates_of_signatures_tried_least_come_first_and_known_last_only_when_suppressing(
        tmp_path):
    """The order: a round robin over provisional signatures, those already tried elsewhere
    (the confirmer's) after the others; a signature the known list matched comes after the
    others only when the run suppresses the known ones."""
    folder = tmp_path / "c"
    folder.mkdir()
    for name, data in (("candidate-aaaa-1", b"\x01"), ("candidate-aaaa-2", b"\x02\x02"),
                       ("candidate-bbbb-1", b"\x03\x03\x03"),
                       ("candidate-cccc-1", b"\x04\x04")):
        (folder / name).write_bytes(data)
    (folder / "provisional.1.json").write_text('{"aaaa": {"known": true}}')
    paths = sorted(folder.glob("candidate-*"))

    def names(order):
        return [p.name for p, _ in order]

    assert names(_order(paths, suppressing=False)) == [
        "candidate-aaaa-1", "candidate-cccc-1", "candidate-bbbb-1", "candidate-aaaa-2"]
    assert names(_order(paths, suppressing=True)) == [
        "candidate-cccc-1", "candidate-bbbb-1", "candidate-aaaa-1", "candidate-aaaa-2"]
    assert names(_order(paths, suppressing=False, tried={"cccc": 1, "aaaa": 1})) == [
        "candidate-bbbb-1", "candidate-aaaa-1", "candidate-cccc-1", "candidate-aaaa-2"]


def test_the_confirmer_settles_candidates_while_it_runs_and_records_what_it_confirms(
        dax, tmp_path):
    """The confirmer's child process confirms the race seed and drops a same input written
    into the inbox's candidates while it runs: the race is recorded into the inbox as the
    harness records a divergence (an input that shows its signature), and the run counts
    one confirmed and one dropped."""
    inbox = tmp_path / "inbox"
    folder = inbox / "candidates"
    paths = _candidates(folder, dax, RACE, SAME)
    confirmer = Confirmer(dax, folder, tmp_path / "confirmed", suppressing=False)
    confirmer.start()
    try:
        deadline = time.monotonic() + 120
        while len(confirmer.results()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        confirmer.stop()
    assert sorted(confirmer.results()) == sorted(p.name for p in paths)
    result, cut, tried = _early_confirmation(confirmer.results())
    assert (result.confirmed, result.dropped, cut) == (1, 1, set())
    assert sum(tried.values()) == 2
    recorded = read_inbox(inbox)
    assert dict(recorded.counts) == {RACE_SIGNATURE: 1}
    (data,) = recorded.shortest().values()
    full = dax.evaluate(decode(dax.schema, data))
    assert full.signature == RACE_SIGNATURE
    (confirmed,) = [r for r in confirmer.results().values() if r["verdict"] == "divergent"]
    assert bytes.fromhex(confirmed["data"]) == data
    assert confirmed["outcome"] == json.loads(json.dumps(full.to_json()))


def test_the_confirmer_takes_new_signatures_first_then_the_short_slice_first(tmp_path):
    """Of the candidates waiting: a new provisional signature's at its short slice, then a
    new one's waiting for its long slice, then one of a signature the child has settled
    already, short slice first again; the end phase's order within each."""
    from fuzzplug.engines.confirmer import next_candidate

    folder = tmp_path / "c"
    folder.mkdir()
    for name, data in (("candidate-aaaa-1", b"\x01"), ("candidate-aaaa-2", b"\x02\x02"),
                       ("candidate-bbbb-1", b"\x03"), ("candidate-cccc-1", b"\x04\x04"),
                       ("candidate-cccc-2", b"\x05\x05\x05")):
        (folder / name).write_bytes(data)
    paths = sorted(folder.glob("candidate-*"))
    level = {"candidate-bbbb-1": 1, "candidate-aaaa-2": 1}
    settled = {"aaaa": 1}
    order = []
    while paths:
        path, data, at = next_candidate(paths, level, settled, [{}, {}], False)
        assert data == path.read_bytes()
        order.append((path.name, at))
        paths.remove(path)
    assert order == [("candidate-cccc-1", 0), ("candidate-cccc-2", 0),
                     ("candidate-bbbb-1", 1), ("candidate-aaaa-1", 0),
                     ("candidate-aaaa-2", 1)]
    assert next_candidate([], level, settled, [{}, {}], False) is None


def test_a_candidate_cut_after_its_shrinking_starts_its_next_slice_at_the_full_evaluation(
        dax, monkeypatch):
    """The race seed as a candidate: a slice whose full evaluation is cut (here the
    alarm, struck at the first full evaluation) keeps the shrinking in the memo, and the
    next slice evaluates the shrunk input in full without shrinking again, and confirms
    it as a fresh confirmation does. Once shrunk to its fixpoint, nothing is shrunk
    again."""
    from fuzzplug.engines import finish
    import fuzzplug.triage.minimize as minimize

    data = encode(dax.schema, parse_text(dax.schema, RACE))
    fresh = confirm_one(dax, data)
    assert fresh.shrunk and fresh.signature == RACE_SIGNATURE
    real_minimize, real_evaluate = minimize.minimize_ops, type(dax).evaluate
    shrinkings = []

    def counting(*args, **kwargs):
        shrinkings.append(len(args[1]))
        return real_minimize(*args, **kwargs)

    def alarm(self, ops):
        raise finish.TimeUp

    memo = {}
    monkeypatch.setattr(minimize, "minimize_ops", counting)
    with monkeypatch.context() as m:
        m.setattr(type(dax), "evaluate", alarm)
        with pytest.raises(finish.TimeUp):
            finish.confirm_within(dax, data, Deadline(time.monotonic() + 60), memo)
    assert len(shrinkings) == 1 and not memo[data].stopped
    assert memo[data].ops == tuple(decode(dax.schema, fresh.data))
    found = finish.confirm_within(dax, data, Deadline(time.monotonic() + 60), memo)
    assert len(shrinkings) == 1
    assert found == fresh


def test_a_shrinking_stopped_by_its_slice_goes_on_in_the_next_one(dax):
    """A shrinking stopped by its slice (here after a few evaluations) keeps its best so
    far and is marked stopped; the next slice's shrinking starts from that best, not from
    the candidate, and ends at the shrunk input a whole shrinking gives, within the same
    budget of evaluations in all."""
    from fuzzplug.engines import finish

    data = encode(dax.schema, parse_text(dax.schema, RACE_WITH_JUNK))
    whole = finish.shrink_one(dax, data)
    looks = iter(range(10**6))
    first = finish.shrink_one(dax, data, lambda: next(looks) >= 8)
    assert first.stopped and 0 < first.evaluations < whole.evaluations
    assert first.ops != tuple(decode(dax.schema, data)) and first.ops != whole.ops
    again = finish.shrink_one(dax, data, None, first)
    assert not again.stopped and again.ops == whole.ops
    assert again.evaluations < first.evaluations + whole.evaluations
    assert again.evaluations <= finish.SHRINK_EVALUATIONS


def test_a_candidate_confirmed_in_many_short_slices_is_confirmed_as_in_one(
        dax, monkeypatch):
    """The race seed with junk calls (budgets of 40 and 240 runs, so that v4.13's search is
    cut), confirmed in slices of 40 looks at the clock (a clock that ticks once a look:
    the same slices on every machine) until one ends it: its shrinking goes on from slice
    to slice (the memo), its search pauses and goes on (the cache), and it is confirmed
    with the signature a confirmation in one go gives, by an input that shows it."""
    from fuzzplug.engines import finish

    monkeypatch.setattr(tasks, "SEARCH_RUNS", 40)
    monkeypatch.setattr(tasks, "CONFIRM_RUNS", 240)
    monkeypatch.setattr(tasks, "SEARCHES", tasks.SearchCache())
    data = encode(dax.schema, parse_text(dax.schema, RACE_WITH_JUNK))
    fresh = confirm_one(dax, data)
    assert (fresh.verdict, fresh.signature) == (Verdict.DIVERGENT, RACE_SIGNATURE)
    tasks.SEARCHES.clear()
    ticks = [0.0]

    def clock() -> float:
        ticks[0] += 1
        return ticks[0]

    memo: dict = {}
    slices = 0
    while True:
        slices += 1
        assert slices < 500, "no slice goes on where the last one stopped"
        try:
            found = finish.confirm_within(dax, data, Deadline(clock() + 40, clock), memo)
            break
        except finish.TimeUp:
            assert data in memo
    assert slices > 5
    assert (found.verdict, found.signature) == (fresh.verdict, fresh.signature)
    again = dax.evaluate(decode(dax.schema, found.data))
    assert (again.verdict, again.signature) == (Verdict.DIVERGENT, RACE_SIGNATURE)


def test_a_winding_down_confirmer_goes_on_with_what_it_has_begun_and_takes_nothing_new(
        dax, monkeypatch, tmp_path):
    """Told to wind down while it confirms one of two candidates (held at its start until
    then), the child names that one as its own, confirms it, records it into the inbox
    as ever, and exits by itself without taking the other, which is left to `fuzz`."""
    from fuzzplug.engines import finish

    held = tmp_path / "held"
    go = tmp_path / "go"
    real = finish.confirm_within

    def holding(target, data, share, memo):
        held.write_bytes(data)
        while not go.exists():
            time.sleep(0.01)
        return real(target, data, share, memo)

    monkeypatch.setattr(finish, "confirm_within", holding)  # the forked child sees it
    inbox = tmp_path / "inbox"
    folder = inbox / "candidates"
    paths = _candidates(folder, dax, RACE, SAME)
    confirmer = Confirmer(dax, folder, tmp_path / "confirmed", suppressing=False)
    confirmer.start()
    child = confirmer.process
    try:
        deadline = time.monotonic() + 60
        while not held.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        begun = confirmer.wind_down()
        go.touch()
        confirmer.stop(until=time.monotonic() + 120)
    finally:
        confirmer.stop()
    assert child.exitcode == 0  # it exited: not terminated
    (first,) = [p for p in paths if p.read_bytes() == held.read_bytes()]
    assert begun == {first.name}
    assert list(confirmer.results()) == [first.name]
    recorded = read_inbox(inbox).counts
    if dax.evaluate(decode(dax.schema, first.read_bytes())).signature == RACE_SIGNATURE:
        assert dict(recorded) == {RACE_SIGNATURE: 1}
    else:
        assert dict(recorded) == {}


@pytest.mark.parametrize("slices, verdict", [((1e-6,), "cut"), ((1e-6, 60.0), "divergent")])
def test_a_candidate_the_short_slice_cuts_is_confirmed_in_the_long_one(
        dax, monkeypatch, tmp_path, slices, verdict):
    """A short slice too short for anything cuts the race's candidate (alone, it is left
    cut); with a long slice after it, the candidate waits and is confirmed there."""
    from fuzzplug.engines import confirmer as confirmers

    monkeypatch.setattr(confirmers, "SLICES", slices)  # the forked child sees it
    inbox = tmp_path / "inbox"
    folder = inbox / "candidates"
    paths = _candidates(folder, dax, RACE)
    confirmer = Confirmer(dax, folder, tmp_path / "confirmed", suppressing=False)
    confirmer.start()
    try:
        deadline = time.monotonic() + 120
        while not confirmer.results() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        confirmer.stop()
    assert [r["verdict"] for r in confirmer.results().values()] == [verdict]
    assert sorted(confirmer.results()) == [p.name for p in paths]
    assert dict(read_inbox(inbox).counts) == ({RACE_SIGNATURE: 1} if verdict == "divergent"
                                              else {})


def test_a_finding_the_confirmer_evaluated_is_not_re_run_and_its_record_is_that_evaluation(
        dax, monkeypatch, tmp_path):
    """A finding whose input the confirmer evaluated in full (`evaluated`) is not evaluated
    again once the time is up: its record.json holds the confirmer's evaluation."""
    data = encode(dax.schema, parse_text(dax.schema, RACE))
    evaluated = dax.evaluate(decode(dax.schema, data)).to_json()

    def no_evaluation(*args, **kwargs):
        raise AssertionError("evaluated again")

    monkeypatch.setattr(type(dax), "evaluate", no_evaluation)
    monkeypatch.setattr(type(dax), "evaluate_budgeted", no_evaluation)
    entry = FindingEntry(RACE_SIGNATURE, 1, data, evaluated=evaluated)
    clock = FakeClock()
    finish_entry(dax, entry, Deadline(clock() - 1, clock), minimize=True, clock=clock)
    assert entry.outcome is None and any("not minimised" in n for n in entry.notes)
    record = record_json(dax, entry)
    assert (record["verdict"], record["pre"], record["post"], record["finding"]) == \
        (evaluated["verdict"], evaluated["pre"], evaluated["post"], evaluated["finding"])


def test_the_hits_recorded_since_an_inbox_was_read_are_the_difference_of_its_counts(
        tmp_path):
    """What `fuzz` counts of the confirmer's late results: the hits an inbox gained since an
    earlier reading, by signature, and nothing for a signature that gained none."""
    from fuzzplug.engines.harness import Recorder

    recorder = Recorder(str(tmp_path))
    recorder.record(b"\x01\x02", "store/a/1")
    recorder.record(b"\x01", "store/a/1")
    recorder.record(b"\x03", "load/b/2")
    recorder.flush()
    earlier = read_inbox(tmp_path)
    recorder.record(b"\x04\x05", "store/a/1")
    recorder.record(b"\x06", "write/c/3")
    recorder.flush()
    later = read_inbox(tmp_path)
    assert later.hits_since(earlier) == {"store/a/1": 1, "write/c/3": 1}
    assert earlier.hits_since(later) == {}
    assert later.hits_since(later) == {}

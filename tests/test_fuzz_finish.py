"""The end of a `fuzz` run inside its `--time` (`fuzzplug.engines.finish`): candidates
confirmed or dropped, minimisation stopped at the deadline, with progress; the run's
warnings and progress events. Timed by fake clocks, never by the wall."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from fuzzplug.core.findings import CANDIDATES_MARKER, FindingEntry, Inbox
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


def test_the_confirmer_settles_candidates_while_it_runs_and_the_run_counts_them(dax, tmp_path):
    """The confirmer's child process confirms the race seed and drops a same input written
    into its folder while it runs; its results count as the end phase counts its own."""
    folder = tmp_path / "inbox" / "candidates"
    paths = _candidates(folder, dax, RACE, SAME)
    confirmer = Confirmer(dax, folder, tmp_path / "confirmed", suppressing=False)
    confirmer.start()
    try:
        deadline = time.monotonic() + 120
        while len(confirmer.results()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        confirmer.stop()
    results = confirmer.results()
    assert sorted(results) == sorted(p.name for p in paths)
    result, cut, tried = _early_confirmation(dax, confirmer, KnownList.of(dax), False)
    assert (result.confirmed, result.dropped, cut) == (1, 1, set())
    assert result.counts == {RACE_SIGNATURE: 1} and sum(tried.values()) == 2
    shown = dax.evaluate(decode(dax.schema, result.shortest[RACE_SIGNATURE]))
    assert shown.signature == RACE_SIGNATURE


def test_a_confirmed_candidate_of_a_known_cause_is_suppressed_when_suppressing(dax, tmp_path):
    """Suppressing the known list, the race seed's confirmation is a known hit, not a
    finding."""
    paths = _candidates(tmp_path / "c", dax, RACE)
    result = confirm_candidates(dax, paths, Deadline(float("inf")), KnownList.of(dax),
                                suppressing=True)
    assert result.counts == {} and list(result.suppressed) == [RACE_SIGNATURE]


def test_no_candidate_is_confirmed_after_the_deadline_and_they_are_kept_for_triage(
        dax, tmp_path):
    """With the time up, every candidate is left, copied to FDIR/candidates/ with the
    marker naming the target; triage of that folder then confirms and drops them."""
    paths = _candidates(tmp_path / "inbox" / "candidates", dax, RACE, SAME)
    clock = FakeClock()
    result = confirm_candidates(dax, paths, Deadline(clock() - 1, clock), KnownList.of(dax),
                                suppressing=False)
    assert result.confirmed == result.dropped == 0 and len(result.left) == 2
    folder = keep_left(dax, tmp_path / "findings", result.left)
    assert (folder / CANDIDATES_MARKER).is_file()
    groups = triage([str(folder)])
    by_sig = {g.signature: g for g in groups}
    assert set(by_sig) == {RACE_SIGNATURE, "<dropped candidates: same>"}
    assert by_sig[RACE_SIGNATURE].members[0].reproduces
    text = render(groups)
    assert "1 candidate confirmed" in text and "no finding" in text


def test_a_finding_is_not_minimised_once_the_time_is_up():
    """At the deadline the finding is re-run (it still reproduces) but not minimised, and
    says so."""
    target = load_target("insert_pfn")
    ops = parse_text(target.schema, INSERT_PFN_DIVERGENT)
    sig = target.evaluate(ops).signature
    entry = FindingEntry(sig, 1, encode(target.schema, ops))
    clock = FakeClock()
    finish_entry(target, entry, Deadline(clock() - 1, clock), minimize=True, clock=clock)
    assert entry.outcome.verdict is Verdict.DIVERGENT
    assert entry.data == encode(target.schema, ops)
    assert any("not minimised" in note for note in entry.notes)


def test_minimisation_stops_at_the_deadline_with_a_reproducer_and_progress_events():
    """A clock that moves three seconds a reading: minimisation logs its progress (no None
    field) and stops when the deadline passes, with an input that still has the signature."""
    target = load_target("insert_pfn")
    extra = "vm_insert_pfn addr=0x200000 pfn=0x90\n" * 3
    text = "config arch=ppc64_radix DEBUG_VM=1\n" + extra + INSERT_PFN_DIVERGENT.split("\n", 1)[1]
    ops = parse_text(target.schema, text)
    sig = target.evaluate(ops).signature
    clock = FakeClock(step=3.0)
    deadline = Deadline(clock() + 30, clock)
    stats = MinimizeStats()
    with capture_logs() as logs:
        small = minimize_ops(target, ops, sig, stats=stats, should_stop=deadline.passed,
                             clock=clock)
    assert stats.stopped
    outcome = target.evaluate(small)
    assert (outcome.verdict, outcome.signature) == (Verdict.DIVERGENT, sig)
    progress = [e for e in logs if e["event"] == "minimize_progress"]
    assert progress and all(v is not None for e in progress for v in e.values())


def test_progress_fields_have_no_none_before_or_after_libfuzzers_first_status_line(
        tmp_path):
    """While libFuzzer reads the corpus the counts are 0 and the phase says so."""
    inbox = Inbox(tmp_path)
    early = progress_fields({}, inbox)
    late = progress_fields({"execs": 10, "cov": 3, "ft": 4, "corp": 2, "exec_per_s": 5},
                           inbox)
    assert None not in early.values() and None not in late.values()
    assert (early["phase"], late["phase"]) == ("reading_corpus", "fuzzing")
    assert late["exec_per_s"] == 5


def test_a_libfuzzer_timeout_exit_is_said_beside_the_table(tmp_path, capsys):
    """libFuzzer exiting 70 (an input over -timeout) after `0 new`: a warning says what
    happened and where the input is."""
    target = load_target("insert_pfn")
    known = KnownList.of(target)
    result = FuzzResult([], [], {}, known, exit_status=70, crash_files=["timeout-abc"],
                        crashes_dir=tmp_path)
    print_table(target, result)
    out = capsys.readouterr().out
    assert "0 new" in out
    assert "exit status 70" in out and "timeout" in out and "timeout-abc" in out
    assert warnings(target, FuzzResult([], [], {}, known)) == []


def test_the_harness_writes_a_candidate_and_never_raises_it(dax, tmp_path, monkeypatch):
    """The race seed in the loop, known list off: no Divergence, a candidate file in
    FUZZPLUG_CANDIDATES (once, however often it runs)."""
    monkeypatch.setenv("FUZZPLUG_NO_KNOWN", "1")
    monkeypatch.delenv("FUZZPLUG_RECORD", raising=False)
    monkeypatch.setenv("FUZZPLUG_CANDIDATES", str(tmp_path))
    harness = Harness(dax)
    data = encode(dax.schema, parse_text(dax.schema, RACE))
    with capture_logs() as logs:
        harness.test_one_input(data)
        harness.test_one_input(data)
    files = sorted(tmp_path.glob("candidate-*"))
    assert [f.read_bytes() for f in files] == [data]
    assert [e["provisional_signature"] for e in logs
            if e["event"] == "candidate_recorded"] == [RACE_SIGNATURE]


def test_an_evaluation_under_way_at_the_deadline_is_stopped():
    """On the real clock the deadline's alarm ends a block still running then (here a
    wait standing in for a long search); the time already up raises at once."""
    import time

    from fuzzplug.engines.finish import TimeUp, within

    with pytest.raises(TimeUp):
        with within(Deadline(time.monotonic() + 0.05)):
            for _ in range(500):
                time.sleep(0.01)
    with pytest.raises(TimeUp):
        with within(Deadline(time.monotonic() - 1)):
            pass


def test_triage_of_a_corpus_confirms_the_candidates_among_its_inputs(dax, tmp_path):
    """`triage --candidates`: of a corpus holding the race seed and an input the budget
    settles, the race seed is confirmed (its signature's row) and the other left out."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in (("race", RACE), ("same", SAME)):
        (corpus / name).write_bytes(encode(dax.schema, parse_text(dax.schema, text)))
    groups = triage([str(corpus)], "dax_fault", corpus=True)
    assert [(g.signature, [m.path.name for m in g.members]) for g in groups] == [
        (RACE_SIGNATURE, ["race"])]
    assert groups[0].members[0].kind == "candidate" and groups[0].members[0].reproduces


def test_an_orphaned_inboxs_candidates_are_adopted_with_their_provisional_names(tmp_path):
    """The next run adopts a killed run's candidates (and their provisional.<pid>.json)
    into its own inbox's candidates/, which `read_inbox` then lists."""
    from fuzzplug.core.findings import adopt_inbox, read_inbox

    orphan, inbox = tmp_path / ".inbox-999999", tmp_path / ".inbox-1"
    (orphan / "candidates").mkdir(parents=True)
    inbox.mkdir()
    (orphan / "candidates" / "candidate-abc-def").write_bytes(b"\x01")
    (orphan / "candidates" / "provisional.7.json").write_text("{}")
    assert adopt_inbox(orphan, inbox) == 2
    assert not orphan.exists()
    assert [p.name for p in read_inbox(inbox).candidates] == ["candidate-abc-def"]
    assert (inbox / "candidates" / "provisional.7.json").is_file()

"""Semantic feedback: the feature-to-counter mapping, the modes, the fallback, and the path
from a new branch id to a new libFuzzer feature."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from fuzzplug.core.features import outcome_features
from fuzzplug.core.opslang import encode, parse_text
from fuzzplug.engines import feedback
from fuzzplug.engines.harness import Harness, features_of
from fuzzplug.errors import InputError
from fuzzplug.farm.files import compile_seeds
from fuzzplug.targets import Featured
from fuzzplug.targets.insert_pfn import TARGET

ROOT = Path(__file__).parents[1]
HARNESS = ROOT / "harnesses" / "fuzz_insert_pfn.py"
READ = "fault addr=0x100000\n"
NO_NOTIFY = ("config HAVE_PTE_SPECIAL=0\n"
             "vma flags=VM_READ|VM_WRITE|VM_SHARED|VM_MAYREAD|VM_MAYWRITE|VM_MIXEDMAP "
             "vm_ops=0\n")
DEEP = NO_NOTIFY + READ + "fault addr=0x100000 flags=FAULT_FLAG_WRITE\nzap addr=0x100000\n"


class FakeAtheris:
    """atheris as the harness sees it once Fuzz() began: counters and their hits."""

    def __init__(self, reserved_before: int = 0):
        self.next = reserved_before
        self.hits: dict[int, int] = {}

    def _reserve_counter(self) -> int:
        self.next += 1
        return self.next - 1

    def _trace_branch(self, index: int) -> None:
        self.hits[index] = self.hits.get(index, 0) + 1


def _ops(text: str):
    return parse_text(TARGET.schema, text)


def _features(text: str) -> set:
    ops = _ops(text)
    return set(TARGET.features(ops, TARGET.evaluate(ops)))


def test_the_mapping_is_stable_and_within_the_block():
    """A feature's counter is the same in every process (no per-process string hash) and
    lies in the block; ints map to themselves modulo the block."""
    feature = ("succ", 1, "fault", "do_user_fault:handle_mm_fault")
    code = ("from fuzzplug.engines.feedback import counter_of; "
            f"print(counter_of({feature!r}))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=dict(os.environ, PYTHONHASHSEED=str(seed))).stdout.strip()
            for seed in (1, 2, 3)}
    assert outs == {str(feedback.counter_of(feature))}
    assert 0 <= feedback.counter_of(feature) < feedback.COUNTERS
    assert feedback.counter_of(feedback.COUNTERS + 5) == 5


def test_counters_are_reserved_at_first_use_as_one_block_after_other_counters():
    """The block starts where earlier reservations (instrumentation) ended, and each
    distinct feature of a run hits its counter once."""
    fake = FakeAtheris(reserved_before=100)
    counters = feedback.SemanticCounters(fake, size=64)
    assert fake.next == 100, "nothing is reserved before the first run"
    counters.hit(["a", "b", "a", ("c", 1)])
    assert fake.next == 164 and counters.base == 100
    assert set(fake.hits) <= set(range(100, 164))
    assert sum(fake.hits.values()) == 3


def test_a_new_branch_id_hits_a_counter_no_earlier_run_hit():
    """The harness's feedback path: a run that reaches a new branch id (and a new state)
    hits counters an earlier, shallower run did not."""
    fake = FakeAtheris()
    harness = Harness(TARGET, feedback.SemanticCounters(fake))
    harness.test_one_input(encode(TARGET.schema, _ops(NO_NOTIFY + READ)))
    before = set(fake.hits)
    harness.test_one_input(encode(TARGET.schema, _ops(DEEP)))
    assert set(fake.hits) - before
    new = _features(DEEP) - _features(NO_NOTIFY + READ)
    assert ("succ", 1, "zap_pte_range:present:page",
            "zap_pte_range:present:page:file_dirty") in new


def test_insert_pfn_features_include_the_generic_ones_and_state_classes():
    """insert_pfn is Featured: branch successions, returns, verdict, and the classes of
    the final entries, the hooks' entries and the touched pages."""
    assert isinstance(TARGET, Featured)
    ops = _ops(DEEP)
    outcome = TARGET.evaluate(ops)
    calls = [op for op in ops if not TARGET.schema.spec(op.name).scene]
    got = set(TARGET.features(ops, outcome))
    assert set(outcome_features(calls, outcome)) <= got
    kinds = {f[0] for f in got}
    assert {"succ", "ret", "verdict", "hook", "page", "counters"} <= kinds


def test_a_dirty_entry_and_a_clean_one_are_different_states():
    """The state classes tell a written entry from a read one, without a new branch."""
    written = _features(NO_NOTIFY + READ + "fault addr=0x100000 flags=FAULT_FLAG_WRITE\n")
    read = _features(NO_NOTIFY + READ)
    assert {f for f in written if f[0] == "pte"} != {f for f in read if f[0] == "pte"}


def test_a_target_without_features_gets_the_generic_ones():
    """features_of falls back to outcome_features for a target that is not Featured."""
    plain = types.SimpleNamespace(schema=TARGET.schema, evaluate=TARGET.evaluate)
    ops = _ops(DEEP)
    outcome = TARGET.evaluate(ops)
    calls = [op for op in ops if not TARGET.schema.spec(op.name).scene]
    assert set(features_of(plain)(ops, outcome)) == set(outcome_features(calls, outcome))


def test_the_features_of_the_seeds_rarely_share_a_counter():
    """Collisions are rare: the seeds and their one-op extensions reach few enough features
    that at most one in forty shares its counter with another."""
    seen = set()
    calls = [op for op in TARGET.small_domain().calls()][::3]
    for data in compile_seeds(TARGET).values():
        from fuzzplug.core.opslang import decode

        base = decode(TARGET.schema, data)
        for op in calls:
            ops = base + (op,)
            seen |= set(TARGET.features(ops, TARGET.evaluate(ops)))
    slots = {feedback.counter_of(f) for f in seen}
    assert len(seen) > 300
    assert len(seen) - len(slots) <= len(seen) / 40


def test_the_mode_comes_from_the_environment_and_bad_values_are_refused():
    """FUZZPLUG_FEEDBACK: unset means semantic; a value outside the modes is an InputError."""
    assert feedback.requested_mode({}) == "semantic"
    assert feedback.requested_mode({"FUZZPLUG_FEEDBACK": "both"}) == "both"
    with pytest.raises(InputError, match="semantic, bytecode, both"):
        feedback.requested_mode({"FUZZPLUG_FEEDBACK": "edges"})


def test_semantic_mode_instruments_nothing_and_bytecode_mode_everything():
    """The packages atheris instruments in each mode."""
    assert feedback.instrumented_packages("semantic", "toy") == []
    assert feedback.instrumented_packages("bytecode", "toy") == ["fuzzplug", "toy"]
    assert feedback.instrumented_packages("both") == ["fuzzplug"]


def test_an_atheris_without_counter_functions_falls_back_to_bytecode_once():
    """Semantic mode on an atheris without _reserve_counter/_trace_branch: bytecode mode,
    one warning per process."""
    feedback._warned.clear()
    old = types.SimpleNamespace(__version__="2.0.0")
    with capture_logs() as logs:
        assert feedback.effective_mode(old, "semantic") == "bytecode"
        assert feedback.effective_mode(old, "semantic") == "bytecode"
        assert feedback.effective_mode(old, "bytecode") == "bytecode"
    events = [e for e in logs if e["event"] == "semantic_feedback_unavailable"]
    assert len(events) == 1 and events[0]["log_level"] == "warning"
    assert feedback.effective_mode(FakeAtheris(), "semantic") == "semantic"


def _run(args, env_extra, timeout=240, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    for name in ("FUZZPLUG_NO_KNOWN", "FUZZPLUG_RECORD", "FUZZPLUG_FEEDBACK",
                 "FUZZPLUG_MUTATOR"):
        env.pop(name, None)
    env.update(env_extra)
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=cwd)


def _final_ft(stderr: str) -> int:
    found = re.findall(r"ft: (\d+)", stderr)
    assert found, stderr[-2000:]
    return int(found[-1])


@pytest.mark.slow
def test_under_libfuzzer_a_deeper_input_adds_features(tmp_path):
    """The whole path, in the real atheris: libFuzzer counts more features (`ft:`) for a
    corpus whose second input reaches new branch ids and states than for the first alone."""
    ft = {}
    for name, texts in (("shallow", [NO_NOTIFY + READ]),
                        ("deeper", [NO_NOTIFY + READ, DEEP])):
        corpus = tmp_path / name
        corpus.mkdir()
        for i, text in enumerate(texts):
            (corpus / f"in{i}").write_bytes(encode(TARGET.schema, _ops(text)))
        proc = _run([sys.executable, str(HARNESS), str(corpus), "-runs=0"],
                    {"FUZZPLUG_RECORD": str(tmp_path / f"rec-{name}")})
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "INITED" in proc.stderr
        ft[name] = _final_ft(proc.stderr)
    assert ft["deeper"] > ft["shallow"] > 0


@pytest.mark.slow
def test_the_harness_says_its_mode_and_instruments_only_what_the_mode_says(tmp_path):
    """semantic: nothing instrumented; both: the models, not the decoder; bytecode: all."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "in").write_bytes(encode(TARGET.schema, _ops(DEEP)))
    for mode in feedback.MODES:
        proc = _run([sys.executable, str(HARNESS), str(corpus), "-runs=0"],
                    {"FUZZPLUG_FEEDBACK": mode, "FUZZPLUG_RECORD": str(tmp_path / "rec")})
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert f"INFO: fuzzplug feedback: {mode} " in proc.stderr
        instrumented = set(re.findall(r"INFO: Instrumenting (\S+)", proc.stderr))
        if mode == "semantic":
            assert instrumented == set()
        elif mode == "both":
            assert "fuzzplug.kernel.v4_14" in instrumented
            assert "fuzzplug.targets.insert_pfn.target" in instrumented
            assert not instrumented & {"fuzzplug.core.opslang", "fuzzplug.engines.harness"}
        else:
            assert {"fuzzplug.kernel.v4_14", "fuzzplug.core.opslang"} <= instrumented


@pytest.mark.slow
def test_make_coverage_runs_the_semantic_harness_under_coverage_py(tmp_path):
    """OSS-Fuzz's Python coverage build runs the harness under coverage.py: the reserved
    counters do not break it, and the models' lines are measured."""
    out = tmp_path / "cov"
    proc = subprocess.run(["make", "-C", str(ROOT), "coverage", "STAMP=",
                           f"BIN={Path(sys.executable).parent}", f"COV={out}",
                           f"COVERAGE_CORPUS={tmp_path / 'none'}"],
                          capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items()
                               if not k.startswith("FUZZPLUG_")})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "INFO: fuzzplug feedback: semantic" in proc.stderr
    import json

    report = json.loads((out / "coverage.json").read_text())
    model = next(v for k, v in report["files"].items() if k.endswith("kernel/v4_14.py"))
    assert model["summary"]["covered_lines"] > 100
    assert (out / "branch_ids.json").is_file()


@pytest.mark.slow
def test_libfuzzer_workers_inherit_the_feedback_mode(tmp_path):
    """`-jobs=2` re-executes the harness (argv[0]) for each job, with the parent's
    environment: each job's log (fuzz-N.log, kept by libFuzzer) says the parent's mode."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "in").write_bytes(encode(TARGET.schema, _ops(DEEP)))
    proc = _run([str(HARNESS), str(corpus), "-jobs=2", "-workers=2", "-runs=300"],
                {"FUZZPLUG_FEEDBACK": "both", "FUZZPLUG_MUTATOR": "bytes",
                 "FUZZPLUG_RECORD": str(tmp_path / "rec")}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    logs = sorted(tmp_path.glob("fuzz-*.log"))
    assert len(logs) == 2
    for log in logs:
        text = log.read_text()
        assert "INFO: fuzzplug feedback: both " in text, text[-2000:]
        assert "INFO: fuzzplug mutator: bytes" in text


def test_replay_is_on_in_semantic_feedback_unless_fuzzplug_replay_is_0(monkeypatch):
    """The harness remembers inputs only in semantic feedback, and not with
    FUZZPLUG_REPLAY=0 (the benchmark's evaluations per second)."""
    monkeypatch.setenv("FUZZPLUG_FEEDBACK", "semantic")
    monkeypatch.delenv("FUZZPLUG_REPLAY", raising=False)
    assert Harness(TARGET, feedback.SemanticCounters(FakeAtheris()))._seen is not None
    monkeypatch.setenv("FUZZPLUG_REPLAY", "0")
    assert Harness(TARGET, feedback.SemanticCounters(FakeAtheris()))._seen is None
    monkeypatch.delenv("FUZZPLUG_REPLAY")
    monkeypatch.setenv("FUZZPLUG_FEEDBACK", "both")
    assert Harness(TARGET, feedback.SemanticCounters(FakeAtheris()))._seen is None


def test_an_input_run_again_replays_its_counters_and_its_verdict(monkeypatch, tmp_path):
    """In semantic feedback the harness remembers what each input gave (the counters, the
    verdict, the known list's match): running inputs again, among them divergent ones known
    and unknown, hits the same counters and records and suppresses the same as evaluating
    each one anew."""
    monkeypatch.setenv("FUZZPLUG_NO_KNOWN", "1")
    rng = random.Random(4)
    seeds = list(compile_seeds(TARGET).values())
    inputs = seeds + [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80)))
                      for _ in range(60)]
    runs = [rng.choice(inputs) for _ in range(400)]
    results = []
    for seen in (True, False):
        for suppress in ("1", "0"):
            monkeypatch.setenv("FUZZPLUG_NO_KNOWN", suppress)
            monkeypatch.setenv("FUZZPLUG_RECORD", str(tmp_path / f"{seen}{suppress}"))
            fake = FakeAtheris()
            harness = Harness(TARGET, feedback.SemanticCounters(fake), seen=seen)
            traced, current = [], []
            fake_trace = fake._trace_branch

            def trace(i, current=current, fake_trace=fake_trace):
                current.append(i)
                fake_trace(i)

            fake._trace_branch = trace
            for data in runs:
                harness.test_one_input(data)
                traced.append(sorted(current))
                current.clear()
            harness.recorder.flush()
            results.append((suppress, traced, harness.recorder.counts,
                            harness.recorder.suppressed))
    assert results[0] == results[2] and results[1] == results[3]
    assert results[0][2] and results[1][3], "divergences recorded and suppressed"

"""The atheris harness: it raises only on unsuppressed divergences, from a frame per family."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from fuzzplug.core.opslang import encode, parse_text
from fuzzplug.engines.harness import Divergence, Harness, raiser
from fuzzplug.targets.insert_pfn import TARGET

ROOT = Path(__file__).parents[1]
HARNESS = ROOT / "harnesses" / "fuzz_insert_pfn.py"
PPC64_WARN = ("config arch=ppc64_radix DEBUG_VM=1\nvm_insert_mixed addr=0x100000 pfn=0x80\n"
              "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
"""The ppc64 set_pte_at warning alone (radix: no hash table to strand an HPTE in)."""
PPC64_HASH = PPC64_WARN.replace("ppc64_radix", "ppc64")
"""The same on the hash MMU: the warning, the stranded HPTE and the second one."""
INTENDED = "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n"


def _bytes(text: str) -> bytes:
    return encode(TARGET.schema, parse_text(TARGET.schema, text))


@pytest.fixture
def unsuppressed(monkeypatch):
    monkeypatch.setenv("FUZZPLUG_NO_KNOWN", "1")
    monkeypatch.delenv("FUZZPLUG_RECORD", raising=False)
    return Harness(TARGET)


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_the_harness_raises_nothing_but_divergence_whatever_the_bytes(unsuppressed, data):
    """Any bytes: either no exception, or a Divergence (never a model or decoder error)."""
    try:
        unsuppressed.test_one_input(data)
    except Divergence:
        pass


def test_an_intended_input_does_not_raise(unsuppressed):
    """The patch's intended delta is not a finding."""
    unsuppressed.test_one_input(_bytes(INTENDED))


def test_a_divergent_input_raises_with_the_reproducer_and_both_traces(unsuppressed):
    """The exception message carries the signature, the text reproducer and both sides."""
    with pytest.raises(Divergence) as info:
        unsuppressed.test_one_input(_bytes(PPC64_HASH))
    message = str(info.value)
    assert "signature: vm_insert_mixed_mkwrite/bad_hpte:__hash_page_4K" in message
    assert "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80" in message
    assert "v4.13:" in message and "v4.14:" in message


def test_the_raising_frame_is_named_after_the_signature_family(unsuppressed):
    """ClusterFuzz's crash state sees `divergent__<op>__<observable>` as the top frame."""
    with pytest.raises(Divergence) as info:
        unsuppressed.test_one_input(_bytes(PPC64_HASH))
    top = traceback.extract_tb(info.value.__traceback__)[-1]
    assert top.name == "divergent__vm_insert_mixed_mkwrite__bad_hpte"


def test_different_families_raise_from_different_frames():
    """Two families give two distinct function names; one family always the same one."""
    a, b = raiser("x__warn"), raiser("x__signal")
    assert a.__name__ != b.__name__
    assert raiser("x__warn") is a


def test_known_findings_are_suppressed_by_default(monkeypatch):
    """A signature in the known list does not raise unless FUZZPLUG_NO_KNOWN=1."""
    monkeypatch.delenv("FUZZPLUG_NO_KNOWN", raising=False)
    monkeypatch.delenv("FUZZPLUG_RECORD", raising=False)
    harness = Harness(TARGET)
    ops = parse_text(TARGET.schema, PPC64_WARN)
    signature = TARGET.evaluate(ops).signature
    assert harness.known.match(signature, ops), "the ppc64 warning is a triaged known finding"
    harness.test_one_input(_bytes(PPC64_WARN))


def test_the_harness_logs_once_per_signature_it_suppresses_and_counts_every_hit(
        monkeypatch, tmp_path):
    """Three suppressed hits of one signature: one log event, a count of three."""
    monkeypatch.delenv("FUZZPLUG_NO_KNOWN", raising=False)
    monkeypatch.setenv("FUZZPLUG_RECORD", str(tmp_path))
    harness = Harness(TARGET)
    with capture_logs() as logs:
        for _ in range(3):
            harness.test_one_input(_bytes(PPC64_WARN))
    harness.recorder.flush()
    events = [e for e in logs if e["event"] == "known_divergence_suppressed"]
    signature = TARGET.evaluate(parse_text(TARGET.schema, PPC64_WARN)).signature
    assert [(e["signature"], e["causes"]) for e in events] == [
        (signature, ["ppc64_set_pte_at_on_present_pte"])]
    (counts,) = tmp_path.glob("suppressed.*.json")
    assert json.loads(counts.read_text()) == {signature: {
        "count": 3, "causes": ["ppc64_set_pte_at_on_present_pte"], "by": "signature"}}
    assert not list(tmp_path.glob("*.bin")), "a suppressed divergence is counted, not kept"


def _run(args, env_extra=None, timeout=240):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("FUZZPLUG_NO_KNOWN", None)
    env.pop("FUZZPLUG_RECORD", None)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.update(env_extra or {})
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)


@pytest.mark.slow
def test_the_harness_runs_under_libfuzzer_for_a_fixed_number_of_runs(tmp_path):
    """`harness -runs=N` exits 0 when every divergence it meets is recorded."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "seed").write_bytes(_bytes(INTENDED))
    proc = _run([sys.executable, str(HARNESS), str(corpus), "-runs=3000", "-seed=1",
                 "-max_len=256"], {"FUZZPLUG_RECORD": str(tmp_path / "rec")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Done 3000 runs" in proc.stderr


@pytest.mark.slow
def test_the_harness_crashes_on_an_unsuppressed_divergent_input(tmp_path):
    """Replaying a divergent file with suppression off is a crash with the reproducer."""
    crash = tmp_path / "crash"
    crash.write_bytes(_bytes(PPC64_HASH))
    proc = _run([sys.executable, str(HARNESS), str(crash)], {"FUZZPLUG_NO_KNOWN": "1"})
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr  # atheris prints the Python traceback on stdout
    assert "divergent__vm_insert_mixed_mkwrite__bad_hpte" in output
    assert "Divergence: fuzzplug: divergent verdict" in output


@pytest.mark.slow
def test_the_harness_runs_under_libfuzzer_fork_mode(tmp_path):
    """`-fork=2` re-executes the harness (shebang, run bit) and finishes cleanly."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "seed").write_bytes(_bytes(INTENDED))
    assert os.access(HARNESS, os.X_OK), "libFuzzer's -fork re-executes argv[0]"
    proc = _run([str(HARNESS), str(corpus), "-fork=2", "-runs=400", "-max_total_time=20",
                 "-ignore_crashes=1"], {"FUZZPLUG_RECORD": str(tmp_path / "rec")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "INFO: -fork=2" in proc.stderr


@pytest.mark.slow
def test_a_new_observable_beside_known_ones_is_not_suppressed(tmp_path):
    """A new observable beside a known warning crashes the harness; the stock model passes."""
    crash = tmp_path / "mismatch"
    crash.write_bytes(_bytes("vm_insert_mixed addr=0x100000 pfn=0x81\n"
                             "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n"))
    cmd = [sys.executable, "-m", "fuzzplug.engines.harness", "--target=insert_pfn", str(crash)]
    stock = _run(cmd)
    assert stock.returncode == 0, stock.stderr[-2000:]
    assert "known_divergence_suppressed" in stock.stderr
    mutant = _run(cmd, {"FUZZPLUG_MUTANT": "mismatch_returns_zero"})
    output = mutant.stdout + mutant.stderr
    assert mutant.returncode != 0
    assert ("signature: vm_insert_mixed_mkwrite/warn:insert_pfn:pte_pfn_pte_pfn_t_to_pfn_pfn"
            "+promise:pte.pfn") in output


# --- another pair of the chain, through FUZZPLUG_PAIR -----------------------------------------

FIX_PAIR = "v4.14+f2c57d91b0d9..v4.14+f2c57d91b0d9+cae85cb8add3"
STALE_LATER = ("config arch=ppc64\nvm_insert_pfn addr=0x100000 pfn=0x40\n"
               "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x40 flags=0\nfault addr=0x100000\n")
STALE_LATER_SIGNATURE = "fault/bad_hpte:hash_page:user_access_through_a_stale_HPTE/da39a3ee"


def test_the_harness_takes_its_pair_from_the_environment(monkeypatch):
    """FUZZPLUG_PAIR=PRE..POST selects the pair; unset, the target's default."""
    from fuzzplug.targets import pair_from_environment, pair_name

    monkeypatch.delenv("FUZZPLUG_PAIR", raising=False)
    assert pair_from_environment(TARGET) is TARGET
    monkeypatch.setenv("FUZZPLUG_PAIR", FIX_PAIR)
    chosen = pair_from_environment(TARGET)
    assert pair_name(chosen) == FIX_PAIR
    assert chosen.evaluate(parse_text(TARGET.schema, STALE_LATER)).signature == \
        STALE_LATER_SIGNATURE


@pytest.mark.slow
def test_the_harness_compares_the_pair_fuzzplug_pair_names(tmp_path):
    """The same file crashes the harness at the fault under the fix's adjacent pair (a
    divergence only that pair has) and at the mkwrite insert under the default pair."""
    crash = tmp_path / "crash"
    crash.write_bytes(_bytes(STALE_LATER))
    paired = _run([sys.executable, str(HARNESS), str(crash)],
                  {"FUZZPLUG_NO_KNOWN": "1", "FUZZPLUG_PAIR": FIX_PAIR})
    default = _run([sys.executable, str(HARNESS), str(crash)], {"FUZZPLUG_NO_KNOWN": "1"})
    assert paired.returncode != 0 and default.returncode != 0
    assert "divergent__fault__bad_hpte" in paired.stdout + paired.stderr
    assert f"signature: {STALE_LATER_SIGNATURE}" in paired.stdout + paired.stderr
    assert "divergent__vm_insert_mixed_mkwrite__bad_hpte" in default.stdout + default.stderr


@pytest.mark.slow
def test_fork_mode_children_inherit_the_pair(tmp_path):
    """Under -fork=2 with FUZZPLUG_RECORD, the workers record the pair's own signature."""
    import json

    from fuzzplug.core.oracle import signature_id

    corpus, record = tmp_path / "corpus", tmp_path / "rec"
    corpus.mkdir()
    (corpus / "seed").write_bytes(_bytes(STALE_LATER))
    proc = _run([str(HARNESS), str(corpus), "-fork=2", "-runs=200", "-max_total_time=20",
                 "-ignore_crashes=1"],
                {"FUZZPLUG_RECORD": str(record), "FUZZPLUG_PAIR": FIX_PAIR,
                 "FUZZPLUG_NO_KNOWN": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    counts = {}
    for f in record.glob("counts.*.json"):
        counts.update(json.loads(f.read_text()))
    assert STALE_LATER_SIGNATURE in counts
    assert list(record.glob(f"{signature_id(STALE_LATER_SIGNATURE)}.*.bin"))

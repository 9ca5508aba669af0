"""`fuzzplug fuzz` (fuzzplug.engines.fuzz) when a run is killed: nothing it recorded is lost,
for `triage` reads the orphaned inbox and the next run adopts it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fuzzplug.core.findings import read_inbox
from fuzzplug.core.oracle import signature_id

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUZZPLUG_")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def _fuzzplug(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fuzzplug", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=300)


def test_a_run_killed_midway_loses_no_recorded_signature(tmp_path):
    """After a SIGKILL midway, triage, report and the next run find every recorded signature."""
    findings, corpus = tmp_path / "findings", tmp_path / "corpus"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fuzzplug", "fuzz", "insert_pfn", "--time", "120",
         "--no-known", "--seed", "7", "--findings", str(findings), "--corpus", str(corpus)],
        cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    inbox = findings / f".inbox-{proc.pid}"
    try:
        deadline = time.monotonic() + 120
        while not inbox.is_dir() or len(read_inbox(inbox).inputs) < 3:
            assert proc.poll() is None and time.monotonic() < deadline, "no signatures"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    recorded = read_inbox(inbox)
    ids = set(recorded.inputs)
    assert len(ids) >= 3 and inbox.is_dir()

    triaged = _fuzzplug("triage", str(findings), "--json", cwd=tmp_path)
    assert triaged.returncode == 0, triaged.stderr
    groups = [json.loads(line) for line in triaged.stdout.splitlines()]
    assert ids <= {signature_id(g["signature"]) for g in groups}
    assert all(g["target"] == "insert_pfn" and g["reproduces"] for g in groups)
    reported = _fuzzplug("report", "insert_pfn", str(findings), "--format", "json",
                         cwd=tmp_path)
    assert reported.returncode == 0, reported.stderr
    report = json.loads(reported.stdout)
    listed = [s for c in report["causes"] for s in c["signatures"]]
    listed += report["new"] + report["unclassified"]
    assert ids <= {signature_id(s["signature"]) for s in listed}

    again = _fuzzplug("fuzz", "insert_pfn", "--time", "2", "--no-known", "--findings",
                      str(findings), "--corpus", str(corpus), cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert not inbox.exists()
    summary = json.loads((findings / "summary.json").read_text())
    assert summary["adopted_inboxes"] == [inbox.name]
    written = {signature_id(f["signature"]): f for f in summary["findings"]}
    assert ids <= set(written)
    for sig, n in recorded.counts.items():
        assert written[signature_id(sig)]["count"] >= n
        assert (findings / written[signature_id(sig)]["folder"] / "repro.bin").is_file()

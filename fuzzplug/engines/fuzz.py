"""`fuzzplug fuzz`: run a target's harness under libFuzzer for a while and report.

The harness runs in a libFuzzer process (or `-fork=N` workers) with FUZZPLUG_RECORD set, so
a divergence is recorded and the run goes on for the whole time. The corpus folder grows
(by default a working copy of the target's compiled seed scenarios; the checked-in seeds
are never written). At the end each recorded signature's shortest input is re-run on the
oracle (a reproducer that does not reproduce is flagged), minimised over ops, and written
to the findings folder with `summary.json`; a table of unique findings is printed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from fuzzplug.core.findings import FindingEntry, n_calls, table, write_entry, write_summary
from fuzzplug.core.opslang import decode, dictionary, encode
from fuzzplug.core.oracle import Verdict
from fuzzplug.errors import InputError
from fuzzplug.farm.files import compile_seeds, farm_options
from fuzzplug.io import atomic_write, check_output_dir, ensure_dir
from fuzzplug.log import get_logger

PROGRESS_EVERY = 5.0
# libFuzzer's status lines: `#N  NEW  cov: C ft: F corp: K/Sb ... exec/s: E` in one process,
# `#N: cov: C ft: F corp: K exec/s E ...` from the -fork supervisor.
_STATS = re.compile(r"#(\d+):?\s+(?:\w+\s+)?cov: (\d+) ft: (\d+) corp: (\d+)\S*.*?exec/s:? (\d+)")


def launcher(workdir: Path, target_name: str) -> Path:
    """An executable script that runs the generic harness for the target with this very
    interpreter: libFuzzer's -fork/-jobs re-execute argv[0]."""
    path = workdir / f"fuzz-{target_name}"
    atomic_write(path, f"#!{sys.executable}\nfrom fuzzplug.engines.harness import main\n"
                       f"main({target_name!r})\n")
    path.chmod(0o755)
    return path


def collect_inbox(inbox: Path) -> dict[str, tuple[int, bytes]]:
    """Signature → (count over all workers, shortest input) from the recorder's files."""
    counts: dict[str, int] = {}
    for f in inbox.glob("counts.*.json"):
        try:
            for sig, n in json.loads(f.read_text()).items():
                counts[sig] = counts.get(sig, 0) + n
        except (OSError, ValueError):
            continue
    shortest: dict[str, bytes] = {}
    for f in inbox.glob("*.bin"):
        shortest.setdefault(f.name.split(".")[0], []).append(f.read_bytes())
    return counts, {k: min(v, key=lambda d: (len(d), d)) for k, v in shortest.items()}


def run_fuzz(target, *, seconds: int, jobs: int, corpus: str | None, findings: str | None,
             no_known: bool, seed: int | None = None, max_len: int | None = None,
             minimize: bool = True, feedback: str | None = None,
             mutator: str | None = None) -> tuple[list[FindingEntry], dict]:
    """Fuzz `target` for `seconds` (see the module docstring); libFuzzer's `-max_len` is
    `max_len`, else the target's (`fuzzplug.farm.files.farm_options`), and so is its
    `-timeout`. `feedback` and `mutator` set the harness's FUZZPLUG_FEEDBACK and
    FUZZPLUG_MUTATOR (`fuzzplug.engines.feedback`, `fuzzplug.engines.mutator`; None: as
    the environment says, else the defaults), which libFuzzer's -fork workers inherit.
    Returns the findings written and the summary."""
    from fuzzplug.core.oracle import signature_id
    from fuzzplug.engines import feedback as feedback_modes
    from fuzzplug.engines import mutator as mutator_modes

    log = get_logger(target=target.name)
    feedback = (feedback_modes.check_mode(feedback) if feedback is not None
                else feedback_modes.requested_mode())
    mutator = (mutator_modes.check_mutator(mutator) if mutator is not None
               else mutator_modes.requested_mutator())
    if seconds <= 0:
        raise InputError(f"--time must be positive, got {seconds}")
    if jobs <= 0:
        raise InputError(f"--jobs must be positive, got {jobs}")
    # Check every path before anything is created, so a bad one leaves nothing behind.
    workdir = Path("work") / target.name
    cdir = Path(corpus) if corpus else workdir / "corpus"
    fdir = Path(findings) if findings else Path("findings") / target.name
    seeds_dir = target.seeds_dir()
    if seeds_dir is not None and cdir.resolve().is_relative_to(Path(seeds_dir).resolve()):
        raise InputError(f"{cdir}: is inside the checked-in seed folder; pass a working "
                         "corpus folder")
    for folder in (workdir, cdir, fdir):
        check_output_dir(folder)
    seeds = compile_seeds(target) if target.seeds_dir() is not None else {}
    workdir = ensure_dir(workdir).resolve()
    cdir = ensure_dir(cdir).resolve()
    fdir = ensure_dir(fdir).resolve()
    if not any(cdir.iterdir()):
        for name, data in seeds.items():
            atomic_write(cdir / name, data)
    inbox = Path(fdir) / f".inbox-{os.getpid()}"
    shutil.rmtree(inbox, ignore_errors=True)
    ensure_dir(inbox)
    options = farm_options(target)
    max_len = options.max_len if max_len is None else max_len
    dict_path = atomic_write(workdir / f"{target.name}.dict", dictionary(target.schema))
    crashes = ensure_dir(Path(fdir) / "crashes")
    cmd = [str(launcher(workdir, target.name)), str(cdir),
           f"-max_total_time={seconds}", f"-dict={dict_path}", f"-max_len={max_len}",
           "-print_final_stats=1", f"-artifact_prefix={crashes}/", f"-timeout={options.timeout}",
           "-rss_limit_mb=4096"]
    if seed is not None:
        cmd.append(f"-seed={seed}")
    if jobs > 1:
        cmd += [f"-fork={jobs}", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1"]
    env = dict(os.environ, FUZZPLUG_RECORD=str(inbox.resolve()), FUZZPLUG_FEEDBACK=feedback,
               FUZZPLUG_MUTATOR=mutator)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    if no_known:
        env["FUZZPLUG_NO_KNOWN"] = "1"
    else:
        env.pop("FUZZPLUG_NO_KNOWN", None)
    log_path = Path(fdir) / "libfuzzer.log"
    log.info("fuzz_started", seconds=seconds, jobs=jobs, corpus=str(cdir), findings=str(fdir),
             feedback=feedback, mutator=mutator)
    started = time.monotonic()
    stats: dict = {}
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                                cwd=str(workdir))
        try:
            while proc.poll() is None:
                time.sleep(0.5)
                if time.monotonic() - started >= PROGRESS_EVERY * (stats.get("ticks", 0) + 1):
                    stats["ticks"] = stats.get("ticks", 0) + 1
                    stats.update(_last_stats(log_path))
                    counts, _ = collect_inbox(inbox)
                    log.info("fuzz_progress", elapsed=round(time.monotonic() - started),
                             execs=stats.get("execs"), exec_per_s=stats.get("exec_per_s"),
                             cov=stats.get("cov"), corpus=stats.get("corp"),
                             signatures=len(counts))
        except KeyboardInterrupt:
            proc.terminate()
            proc.wait()
            raise
    stats.update(_last_stats(log_path))
    stats.pop("ticks", None)
    counts, shortest = collect_inbox(inbox)
    known = {} if no_known else target.known_findings()
    entries = []
    for sig, n in sorted(counts.items()):
        data = shortest.get(signature_id(sig))
        if data is None:
            continue
        entry = FindingEntry(sig, n, data, known=sig in known)
        ops = decode(target.schema, data)
        outcome = target.evaluate(ops)
        if outcome.verdict is not Verdict.DIVERGENT or outcome.signature != sig:
            entry.notes.append(f"does not reproduce: re-run gave {outcome.verdict.value} "
                               f"{outcome.signature}")
        elif minimize:
            entry.original_len = len(encode(target.schema, ops))  # canonical, as repro.bin
            entry.original_ops = n_calls(target, ops)
            small = _minimize(target, ops, sig)
            entry.data = encode(target.schema, small)
        entry.outcome = target.evaluate(decode(target.schema, entry.data))
        write_entry(target, fdir, entry)
        entries.append(entry)
        log.info("finding_written", signature=sig, count=n, folder=entry.folder_name())
    shutil.rmtree(inbox, ignore_errors=True)
    summary = {
        "target": target.name, "seconds": seconds, "jobs": jobs, "corpus": str(cdir),
        "feedback": feedback, "mutator": mutator,
        "exit_status": proc.returncode, "libfuzzer": {k: v for k, v in stats.items()},
        "crash_files": sorted(p.name for p in Path(crashes).iterdir()),
        "suppressed_known": not no_known,
        "findings": [{"signature": e.signature, "count": e.count, "folder": e.folder_name(),
                      "bytes": len(e.data), "calls": n_calls(target, decode(target.schema,
                                                                            e.data)),
                      "known": e.known, "notes": e.notes} for e in entries],
    }
    write_summary(fdir, summary)
    log.info("fuzz_finished", signatures=len(entries), execs=stats.get("execs"),
             exit_status=proc.returncode)
    return entries, summary


def _minimize(target, ops, sig):
    from fuzzplug.triage.minimize import minimize_ops

    return minimize_ops(target, ops, sig)


def _last_stats(log_path: Path) -> dict:
    try:
        text = log_path.read_bytes()[-20000:].decode("utf-8", "replace")
    except OSError:
        return {}
    found = {}
    for m in _STATS.finditer(text):
        found = {"execs": int(m.group(1)), "cov": int(m.group(2)), "ft": int(m.group(3)),
                 "corp": int(m.group(4)), "exec_per_s": int(m.group(5))}
    for key, name in (("stat::number_of_executed_units", "execs"),
                      ("stat::average_exec_per_sec", "exec_per_s")):
        m = re.search(re.escape(key) + r":\s*(\d+)", text)
        if m:
            found[name] = int(m.group(1))
    return found


def print_table(target, entries) -> None:
    sys.stdout.write(table(target, entries))

"""`fuzzplug fuzz`: run a target's harness under libFuzzer for a while and report.

The harness runs in a libFuzzer process (or `-fork=N` workers) with FUZZPLUG_RECORD set, so
a divergence is recorded and the run goes on for the whole time. The corpus folder grows
(by default a working copy of the target's compiled seed scenarios; the checked-in seeds
are never written). At the end each recorded signature's shortest input is re-run on the
oracle (a reproducer that does not reproduce is flagged), minimised over ops, matched
against the known list (`known` in its record whether or not it was suppressed), and written
to the findings folder with `summary.json`; the known signatures the harness suppressed are
counted by cause and label. The table of findings ends with the summary line, `0 new; 9
known signatures hit: 1 real bug (needs ...), ...` (`fuzzplug.core.known.summary_line`).

Nothing found is lost if the run is killed: the harness records into a hidden inbox
(`fuzzplug.core.findings`) as it goes, and the next run on the same findings folder adopts
every inbox whose `fuzz` process is gone before it starts libFuzzer; `triage` and `report`
read orphaned inboxes as they are.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fuzzplug.core.findings import (
    CANDIDATES_DIR,
    INBOX_PREFIX,
    FindingEntry,
    adopt_inbox,
    n_calls,
    orphan_inboxes,
    read_inbox,
    table,
    write_entry,
    write_inbox_marker,
    write_summary,
)
from fuzzplug.core.known import (
    KNOWN_ENV,
    KnownHit,
    KnownList,
    KnownMatch,
    summary_line,
    user_known_paths,
)
from fuzzplug.core.opslang import decode, dictionary
from fuzzplug.core.oracle import Verdict
from fuzzplug.core.words import plural
from fuzzplug.engines import confirmer as confirmers
from fuzzplug.engines.finish import (
    Confirmation,
    Deadline,
    confirm_candidates,
    finish_entry,
    keep_left,
    provisional_id,
    time_split,
)
from fuzzplug.errors import InputError
from fuzzplug.farm.files import compile_seeds, farm_options
from fuzzplug.io import atomic_write, check_output_dir, ensure_dir
from fuzzplug.log import get_logger
from fuzzplug.targets import PAIR_ENV, Budgeted, pair_name

PROGRESS_EVERY = 5.0
PR_SET_PDEATHSIG = 1
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


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the libFuzzer process gets SIGTERM when `fuzz` dies (even by SIGKILL), so an
    orphaned inbox has no writer left when the next run adopts it."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


@dataclass(slots=True)
class FuzzResult:
    """What `run_fuzz` found: the findings written (new and, with --no-known, known), the
    known signatures it suppressed, the summary, and whether it was interrupted."""

    entries: list[FindingEntry]
    suppressed: list[KnownHit]
    summary: dict
    known: KnownList
    interrupted: bool = False
    exit_status: int | None = 0
    stopped: bool = False  # `fuzz` stopped libFuzzer at the end of its share
    candidates: Confirmation | None = None
    candidates_dir: Path | None = None
    crash_files: list[str] = field(default_factory=list)
    crashes_dir: Path | None = None

    @property
    def new(self) -> list[FindingEntry]:
        return [e for e in self.entries if not e.known]

    def hits(self) -> list[KnownHit]:
        """Every known signature met: suppressed, or recorded (with --no-known)."""
        recorded = [KnownHit(e.signature, e.count, e.match, suppressed=False)
                    for e in self.entries if e.match is not None]
        return sorted(self.suppressed + recorded, key=lambda h: h.signature)

    def summary_line(self) -> str:
        return summary_line(len(self.new), self.hits(), self.known)


def run_fuzz(target, *, seconds: int, jobs: int, corpus: str | None, findings: str | None,
             no_known: bool, seed: int | None = None, max_len: int | None = None,
             minimize: bool = True, feedback: str | None = None,
             mutator: str | None = None,
             clock: Callable[[], float] = time.monotonic) -> FuzzResult:
    """Fuzz `target` for at most `seconds` in all, libFuzzer's share and the end phase's
    (`fuzzplug.engines.finish`: confirming candidates, minimising; `clock` times it); see
    the module docstring. libFuzzer's `-max_len` is
    `max_len`, else the target's (`fuzzplug.farm.files.farm_options`), and so is its
    `-timeout`. `feedback` and `mutator` set the harness's FUZZPLUG_FEEDBACK and
    FUZZPLUG_MUTATOR (`fuzzplug.engines.feedback`, `fuzzplug.engines.mutator`; None: as
    the environment says, else the defaults), which libFuzzer's -fork workers inherit.
    Orphaned inboxes in the findings folder are adopted first. Ctrl-C stops libFuzzer and
    still writes what was found (the result says it was interrupted)."""
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
    # The command's own start counts (Python's start-up, the imports), when on the real
    # clock.
    started = clock() - (process_age() if clock is time.monotonic else 0.0)
    deadline = Deadline(started + seconds, clock)
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
    known = KnownList.of(target)
    seeds = compile_seeds(target) if target.seeds_dir() is not None else {}
    workdir = ensure_dir(workdir).resolve()
    cdir = ensure_dir(cdir).resolve()
    fdir = ensure_dir(fdir).resolve()
    if not any(cdir.iterdir()):
        for name, data in seeds.items():
            atomic_write(cdir / name, data)
    inbox = Path(fdir) / f"{INBOX_PREFIX}{os.getpid()}"
    shutil.rmtree(inbox, ignore_errors=True)
    ensure_dir(inbox)
    write_inbox_marker(inbox, target.name, pair_name(target))
    adopted = []
    for orphan in orphan_inboxes(Path(fdir)):
        found = read_inbox(orphan)
        if found.target not in (None, target.name) or \
                (found.target is not None and found.pair != pair_name(target)):
            continue  # another target's, or another pair's: its signatures mean other things
        files = adopt_inbox(orphan, inbox)
        adopted.append(orphan.name)
        log.info("inbox_adopted", inbox=orphan.name, files=files)
    options = farm_options(target)
    max_len = options.max_len if max_len is None else max_len
    dict_path = atomic_write(workdir / f"{target.name}.dict", dictionary(target.schema))
    crashes = ensure_dir(Path(fdir) / "crashes")
    fuzz_s, end_s = time_split(seconds)
    fuzz_s = max(1, min(fuzz_s, int(deadline.left()) - end_s))  # the setup took some
    # libFuzzer's -max_total_time does not count its start (the harness's imports, reading
    # the corpus): `fuzz` stops it at its share's end, measured from here.
    libfuzzer_until = clock() + fuzz_s
    cmd = [str(launcher(workdir, target.name)), str(cdir),
           f"-max_total_time={fuzz_s}", f"-dict={dict_path}", f"-max_len={max_len}",
           "-print_final_stats=1", f"-artifact_prefix={crashes}/", f"-timeout={options.timeout}",
           "-rss_limit_mb=4096"]
    if seed is not None:
        cmd.append(f"-seed={seed}")
    if jobs > 1:
        cmd += [f"-fork={jobs}", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1"]
    env = dict(os.environ, FUZZPLUG_RECORD=str(inbox.resolve()), FUZZPLUG_FEEDBACK=feedback,
               FUZZPLUG_MUTATOR=mutator)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    pair = pair_name(target)
    if pair:  # the harness (and libFuzzer's -fork children, who inherit it) compares it
        env[PAIR_ENV] = pair
    else:
        env.pop(PAIR_ENV, None)
    if user_known_paths():  # the harness runs in the work folder: absolute paths
        env[KNOWN_ENV] = os.pathsep.join(str(p.resolve()) for p in user_known_paths())
    if no_known:
        env["FUZZPLUG_NO_KNOWN"] = "1"
    else:
        env.pop("FUZZPLUG_NO_KNOWN", None)
    log_path = Path(fdir) / "libfuzzer.log"
    log.info("fuzz_started", budget_s=seconds, fuzz_s=fuzz_s, end_s=end_s, jobs=jobs,
             corpus_dir=str(cdir), findings_dir=str(fdir), feedback=feedback,
             mutator=mutator)
    stats: dict = {}
    interrupted = stopped = inited = False
    fuzz_started = clock()
    confirmer = None
    if isinstance(target, Budgeted) and confirmers.wanted(jobs):
        confirmer = confirmers.Confirmer(target, inbox / CANDIDATES_DIR,
                                         workdir / f"confirmed-{os.getpid()}", not no_known)
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                                cwd=str(workdir), preexec_fn=_die_with_parent)
        if confirmer is not None:
            confirmer.start()
        try:
            while proc.poll() is None:
                time.sleep(0.5)
                inited = inited or _inited(log_path)
                if not stopped and clock() >= libfuzzer_until and (
                        inited or deadline.passed()):
                    # Its share is up (libFuzzer would go on for its start-up's time, and
                    # checks its time only between units): SIGTERM, upon which it prints
                    # its final stats and exits. Not before it has run the corpus once
                    # (its start-up on a loaded machine), unless the whole time is up.
                    stopped = True
                    log.info("libfuzzer_stopped", fuzz_s=fuzz_s,
                             elapsed_s=round(clock() - started))
                    proc.terminate()
                if clock() - fuzz_started >= PROGRESS_EVERY * (stats.get("ticks", 0) + 1):
                    stats["ticks"] = stats.get("ticks", 0) + 1
                    f = progress_fields(_last_stats(log_path), read_inbox(inbox),
                                        len(confirmer_done(confirmer)))
                    log.info("fuzz_progress", elapsed_s=round(clock() - started),
                             phase=f["phase"], execs=f["execs"], exec_per_s=f["exec_per_s"],
                             cov=f["cov"], corpus_size=f["corpus_size"],
                             signatures=f["signatures"],
                             known_signatures=f["known_signatures"],
                             candidates=f["candidates"], confirmed=f["confirmed"])
        except KeyboardInterrupt:
            interrupted = True
            log.warning("fuzz_interrupted", elapsed_s=round(clock() - started))
            proc.terminate()
        finally:
            if proc.poll() is None:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            # The confirmer goes on with the candidates it has begun beside the end phase
            # (collected below), unless the run was interrupted.
            begun: set[str] = set()
            if confirmer is not None:
                if interrupted:
                    confirmer.stop()
                else:
                    begun = confirmer.wind_down()
    stats.update(_last_stats(log_path))
    stats.pop("ticks", None)
    recorded = read_inbox(inbox)
    counts, shortest = dict(recorded.counts), recorded.shortest()
    # An input whose worker was killed before it flushed its counts: name it by re-running
    # it (one hit at least).
    named = {signature_id(sig) for sig in counts}
    for sig_id, data in sorted(shortest.items()):
        if sig_id not in named:
            sig = target.evaluate(decode(target.schema, data)).signature
            if sig is not None and signature_id(sig) == sig_id:
                counts[sig] = 1
    # The candidates: confirmed or dropped by the full evaluation, within the time. The
    # confirmer's results first (what it confirmed is in the inbox, read above); then,
    # with findings to minimise, the candidates left take half of what is left at most;
    # what the findings leave of it goes back to the candidates left then.
    done = confirmer_done(confirmer)
    confirmation, cut, tried = _early_confirmation(done)
    todo = [p for p in recorded.candidates if p.name not in done and p.name not in begun]
    confirmation.merge(confirm_candidates(
        target, todo, deadline.share(2 if counts and minimize else 1), known, not no_known,
        tried))
    confirmation.left = confirmation.left + [p for p in recorded.candidates
                                             if p.name in cut]
    entries: dict[str, FindingEntry] = {}

    def add_hits(hits: dict[str, int], inputs: dict[str, bytes]) -> list[str]:
        """Add hits (signature → how many) to the counts, and inputs (signature id → an
        input that shows it) to the shortest; the signatures new to the run."""
        fresh = []
        for sig, n in sorted(hits.items()):
            if sig not in counts:
                fresh.append(sig)
            counts[sig] = counts.get(sig, 0) + n
            if sig in entries:
                entries[sig].count = counts[sig]
        for sig_id, data in inputs.items():
            _keep_shortest(shortest, sig_id, data)
        return fresh

    def take(conf: Confirmation) -> list[str]:
        """Add a confirmation's recorded hits to the counts; the new signatures."""
        return add_hits(conf.counts, {signature_id(sig): conf.shortest[sig]
                                      for sig in conf.counts})

    # The inputs the confirmer evaluated in full and recorded: not re-run.
    evaluated = {bytes.fromhex(r["data"]): r["outcome"] for r in done.values()
                 if "outcome" in r}

    def finish(sigs: list[str]) -> None:
        todo = [sig for sig in sigs if signature_id(sig) in shortest]
        for i, sig in enumerate(todo):
            entry = FindingEntry(sig, counts[sig], shortest[signature_id(sig)])
            record = evaluated.get(entry.data)
            if record is not None and record.get("signature") == sig:
                entry.evaluated = record
            # Each finding's minimisation takes an equal share of what is left.
            finish_entry(target, entry, deadline.share(len(todo) - i), minimize, clock)
            entry.match = known.match(sig, decode(target.schema, entry.data))
            entries[sig] = entry

    take(confirmation)
    finish(sorted(counts))
    if confirmation.left and not deadline.passed():
        more = confirm_candidates(target, confirmation.left, deadline, known, not no_known)
        finish(sorted(take(more)))
        confirmation.merge(more)
    if confirmer is not None:
        # What the confirmer settled of the candidates it went on with, within the time:
        # recorded into the inbox since it was read, and counted from there; the rest of
        # them are left.
        confirmer.stop(until=deadline.at)
        late = {name: r for name, r in confirmer.results().items()
                if name not in done and name in begun}
        late_result, late_cut, _ = _early_confirmation(late)
        confirmation.confirmed += late_result.confirmed
        confirmation.dropped += late_result.dropped
        confirmation.left += [p for p in recorded.candidates
                              if p.name in begun and p.name not in done
                              and (p.name not in late or p.name in late_cut)]
        evaluated.update({bytes.fromhex(r["data"]): r["outcome"] for r in late.values()
                          if "outcome" in r})
        again = read_inbox(inbox)
        finish(add_hits(again.hits_since(recorded), again.shortest()))
        recorded = again
    for sig in sorted(entries):
        entry = entries[sig]
        write_entry(target, fdir, entry)
        log.info("finding_written", signature=sig, hits=entry.count,
                 folder=entry.folder_name(), known=entry.known)
    entries = [entries[sig] for sig in sorted(entries)]
    kept_dir = keep_left(target, fdir, confirmation.left)
    suppressed = [KnownHit(sig, int(e["count"]),
                           KnownMatch(tuple(e.get("causes", ())), e.get("by") == "signature"))
                  for sig, e in sorted(recorded.suppressed.items())]
    by_sig = {h.signature: h for h in suppressed}
    for sig, hit in confirmation.suppressed.items():
        have = by_sig.get(sig)
        by_sig[sig] = KnownHit(sig, hit.count + (have.count if have else 0), hit.match)
    suppressed = [by_sig[sig] for sig in sorted(by_sig)]
    shutil.rmtree(inbox, ignore_errors=True)
    if confirmer is not None:
        shutil.rmtree(confirmer.out, ignore_errors=True)
    result = FuzzResult(entries, suppressed, {}, known, interrupted)
    result.exit_status = proc.returncode
    result.stopped = stopped
    result.candidates = confirmation
    result.candidates_dir = kept_dir
    result.crash_files = sorted(p.name for p in Path(crashes).iterdir())
    result.crashes_dir = Path(crashes)
    result.summary = {
        "target": target.name, "pair": pair_name(target), "seconds": seconds, "jobs": jobs,
        "corpus": str(cdir), "feedback": feedback, "mutator": mutator,
        "exit_status": proc.returncode, "libfuzzer": {k: v for k, v in stats.items()},
        "crash_files": sorted(p.name for p in Path(crashes).iterdir()),
        "suppressed_known": not no_known,
        "known_files": [str(p.resolve()) for p in user_known_paths()],
        "interrupted": interrupted,
        "libfuzzer_stopped_by_fuzz": stopped,
        "fuzz_s": fuzz_s, "end_s": end_s, "elapsed_s": round(clock() - started, 1),
        "candidates": dict(confirmation.to_json(),
                           folder=str(kept_dir) if kept_dir else None),
        "adopted_inboxes": adopted,
        "new": len(result.new),
        "known_hits": [h.to_json(known) for h in result.hits()],
        "summary_line": result.summary_line(),
        "findings": [{"signature": e.signature, "count": e.count, "folder": e.folder_name(),
                      "bytes": len(e.data), "calls": n_calls(target, decode(target.schema,
                                                                            e.data)),
                      "known": e.known,
                      "known_causes": list(e.match.causes) if e.match else None,
                      "notes": e.notes} for e in entries],
    }
    write_summary(fdir, result.summary)
    log.info("fuzz_finished", signatures=len(entries), new=len(result.new),
             known_signatures=len(result.hits()),
             execs=stats.get("execs"), exit_status=proc.returncode)
    return result


def process_age() -> float:
    """Seconds since this process started (Linux: /proc; elsewhere 0)."""
    try:
        fields = Path("/proc/self/stat").read_text().rpartition(")")[2].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def progress_fields(found: dict, inbox, confirmed: int = 0) -> dict:
    """The fields of a `fuzz_progress` event, none of them None: before libFuzzer's first
    status line (while it reads the corpus) the counts are 0 and `phase` says
    `reading_corpus`, then `fuzzing`. `confirmed`: the candidates the confirmer has settled
    (`fuzzplug.engines.confirmer`)."""
    return {"phase": "fuzzing" if found else "reading_corpus",
            "execs": found.get("execs", 0), "exec_per_s": found.get("exec_per_s", 0),
            "cov": found.get("cov", 0), "corpus_size": found.get("corp", 0),
            "signatures": len(inbox.counts), "known_signatures": len(inbox.suppressed),
            "candidates": len(inbox.candidates), "confirmed": confirmed}


def _keep_shortest(shortest: dict, key, data: bytes) -> None:
    """`shortest[key]` becomes `data` if it is the shorter (then the smaller) input."""
    best = shortest.get(key)
    if best is None or (len(data), data) < (len(best), best):
        shortest[key] = data


def confirmer_done(confirmer) -> dict[str, dict]:
    """The confirmer's results so far (none without a confirmer)."""
    return confirmer.results() if confirmer is not None else {}


def _early_confirmation(done: dict[str, dict]) \
        -> tuple[Confirmation, set[str], dict[str, int]]:
    """The confirmer's results (`done`, `Confirmer.results`): how many it confirmed and
    dropped (what it confirmed is in the inbox already, recorded as the harness records),
    the names of the candidates it cut (`confirmers.CUT`: left for `triage`), and how many
    of each provisional signature it tried (`finish._order`'s `tried`)."""
    result, cut, tried = Confirmation(), set(), {}
    for name, record in sorted(done.items()):
        sig_id = provisional_id(Path(name))
        tried[sig_id] = tried.get(sig_id, 0) + 1
        if record["verdict"] == confirmers.CUT:
            cut.add(name)
        elif record["verdict"] == Verdict.DIVERGENT.value:
            result.confirmed += 1
        else:
            result.dropped += 1
    return result, cut, tried


def _inited(log_path: Path) -> bool:
    """Whether libFuzzer has run its corpus once and is fuzzing (its `INITED` line)."""
    try:
        with open(log_path, "rb") as f:
            return b"\tINITED " in f.read(1 << 20)
    except OSError:
        return False


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


LIBFUZZER_INTERRUPTED = 72
"""libFuzzer's exit status when stopped by a signal (`-interrupted_exitcode`)."""
LIBFUZZER_STATUS = {70: "an input ran over libFuzzer's -timeout", 71: "out of memory "
                    "(-rss_limit_mb)", 77: "a crash of the harness"}
"""What libFuzzer's exit statuses mean (`-timeout_exitcode`, `-oom_exitcode`,
`-error_exitcode` defaults)."""


def warnings(target, result: FuzzResult) -> list[str]:
    """What the run must say beside its table: libFuzzer stopped early (its exit status
    and what it means, where its artifacts are), candidates left unconfirmed."""
    out = []
    status = result.exit_status
    if status not in (0, None) and not result.interrupted and not (
            result.stopped and status in (LIBFUZZER_INTERRUPTED, -15)):
        why = LIBFUZZER_STATUS.get(status, "see libfuzzer.log")
        where = ""
        if result.crash_files and result.crashes_dir is not None:
            where = (f"; its input: {result.crashes_dir / result.crash_files[-1]} "
                     f"(`fuzzplug triage --target {target.name} {result.crashes_dir}`)")
        out.append(f"warning: libFuzzer stopped before its time, exit status {status}: "
                   f"{why}{where}; the run fuzzed only until then")
    conf = result.candidates
    if conf is not None and conf.left:
        out.append(f"warning: {plural(len(conf.left), 'candidate')} not confirmed within "
                   f"--time: `fuzzplug triage {result.candidates_dir}` confirms or drops "
                   "them")
    return out


def print_table(target, result: FuzzResult) -> None:
    """The table of findings, the known/new summary line, then the warnings."""
    sys.stdout.write(table(target, result.entries))
    sys.stdout.write(result.summary_line() + "\n")
    conf = result.candidates
    if conf is not None and (conf.confirmed or conf.dropped or conf.left):
        sys.stdout.write(f"candidates: {conf.confirmed} confirmed, {conf.dropped} dropped, "
                         f"{len(conf.left)} left\n")
    for line in warnings(target, result):
        sys.stdout.write(line + "\n")

"""`fuzzplug selftest TARGET`: mutation analysis of the post-patch model through the harness.

Each mutant (`fuzzplug.selftest.mutants`) runs through the target's atheris harness as a subprocess
(`python -m fuzzplug.engines.harness --target=NAME` with FUZZPLUG_MUTANT=<mutant>), on a working
copy of the target's compiled seed scenarios, with the op dictionary, a fixed `-seed` and
`-max_total_time=<budget>`. Known findings stay suppressed (FUZZPLUG_NO_KNOWN unset).

**Killed** means: the harness reported an unsuppressed divergence (one the known list does
not recognise, by signature or by cause, as the harness suppresses) on an input X, and the
unmutated model does not produce that signature on X (it gives another signature, or no
divergence). A divergence the unmutated model shows on
the same input is the model's own finding, not the mutant's, and does not count.

The harness runs in recording mode (FUZZPLUG_RECORD): it records each new signature's first
and each shorter input instead of raising, so a divergence that does not kill the mutant
does not end the run. The selftest polls the recordings (every 50 ms), re-evaluates each new
or changed one on the mutant and on the unmutated model, and stops the harness at the first
kill. The time to kill is from the harness's launch (interpreter start and instrumentation
included) to the poll that saw the killing input. A harness that fails otherwise (a Python
exception out of a mutant) is reported as `crashed`.

A mutant declared equivalent that survives is `equivalent` and left out of the kill rate;
one declared equivalent that is killed is reported killed with a note (the claim was wrong).
"""

from __future__ import annotations

import enum
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from fuzzplug.core.known import KnownList
from fuzzplug.core.opslang import decode, dictionary, format_text
from fuzzplug.core.oracle import Verdict
from fuzzplug.core.words import plural
from fuzzplug.errors import InputError
from fuzzplug.farm.files import compile_seeds, farm_options
from fuzzplug.log import get_logger
from fuzzplug.selftest.mutants import Mutant, apply_mutant, get_mutant, mutants_for
from fuzzplug.targets import PAIR_ENV, check_scene, pair_name

POLL_SECONDS = 0.05
GRACE_SECONDS = 30.0  # beyond the budget: interpreter start, instrumentation, shutdown


class Status(enum.Enum):
    """What became of a mutant."""

    KILLED = "killed"
    SURVIVED = "survived"
    EQUIVALENT = "equivalent"  # declared equivalent, and not killed
    CRASHED = "crashed"  # the harness failed with something other than a divergence


@dataclass(slots=True)
class MutantRun:
    """One mutant's run through the harness."""

    mutant: str
    status: Status
    seconds: float | None = None
    """Time to kill, from the harness's launch."""
    signature: str | None = None
    reproducer: str | None = None
    execs: int | None = None
    startup: float | None = None
    """Seconds from the launch until libFuzzer printed its seed (interpreter start, imports
    and instrumentation)."""
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"mutant": self.mutant, "status": self.status.value,
                "seconds": None if self.seconds is None else round(self.seconds, 3),
                "startup": None if self.startup is None else round(self.startup, 3),
                "signature": self.signature, "reproducer": self.reproducer,
                "execs": self.execs, "notes": self.notes}


def kill_signature(target, mutant_target, known: KnownList | set[str],
                   data: bytes) -> str | None:
    """The signature with which input `data` kills the mutant, or None (see the module
    docstring for the definition)."""
    return kill_signature_of_ops(target, mutant_target, known, decode(target.schema, data))


def kill_signature_of_ops(target, mutant_target, known: KnownList | set[str],
                          ops) -> str | None:
    """`kill_signature` for an op sequence; `known` is the target's known list, or a set of
    signatures matched exactly."""
    mutated = mutant_target.evaluate(ops)
    if mutated.verdict is not Verdict.DIVERGENT:
        return None
    if (known.match(mutated.signature, ops) is not None if isinstance(known, KnownList)
            else mutated.signature in known):
        return None
    reference = target.evaluate(ops)
    if reference.verdict is Verdict.DIVERGENT and reference.signature == mutated.signature:
        return None
    return mutated.signature


def time_to_kill_hypothesis(target, name: str, *, budget: float, seed: int) -> float | None:
    """Seconds until the Hypothesis engine kills the mutant (same definition), or None."""
    from fuzzplug.engines.hypothesis_engine import run_hypothesis

    mutant_target = apply_mutant(target, name)
    known = KnownList.of(target)

    def judge(ops, outcome) -> bool:
        return kill_signature_of_ops(target, mutant_target, known, ops) is not None

    result = run_hypothesis(mutant_target, seconds=budget, base_seed=seed, judge=judge,
                            stop_on_first=True)
    return min(result.first_seen.values()) if result.found else None


def time_to_kill_exhaustive(target, name: str, *, budget: float,
                            max_depth: int = 3) -> tuple[float | None, int | None]:
    """Seconds until the exhaustive checker kills the mutant, deepening 1, 2, ... up to
    `max_depth` (the declared reductions are off for a mutant), and the depth; deterministic."""
    from fuzzplug.engines.exhaustive import run_exhaustive

    mutant_target = apply_mutant(target, name)
    known = KnownList.of(target)

    def judge(ops, finding) -> bool:
        return kill_signature_of_ops(target, mutant_target, known, ops) is not None

    started = time.monotonic()
    for depth in range(1, max_depth + 1):
        left = budget - (time.monotonic() - started)
        if left <= 0:
            break
        report = run_exhaustive(mutant_target, depth, jobs=1, progress=False, judge=judge,
                                stop_on_first=True, seconds=left)
        if report.hits:
            return time.monotonic() - started, depth
        if report.timed_out:
            break
    return None, None


def _harness_env(mutant: str, record: Path, feedback: str | None = None,
                 mutator: str | None = None, pair: str | None = None) -> dict[str, str]:
    env = dict(os.environ, FUZZPLUG_MUTANT=mutant, FUZZPLUG_RECORD=str(record))
    env.pop("FUZZPLUG_NO_KNOWN", None)
    if feedback is not None:
        env["FUZZPLUG_FEEDBACK"] = feedback
    if mutator is not None:
        env["FUZZPLUG_MUTATOR"] = mutator
    if pair:  # the mutant edits this pair's post model
        env[PAIR_ENV] = pair
    else:
        env.pop(PAIR_ENV, None)
    return env


_EXECS = re.compile(r"#(\d+)\s")
_FINAL_EXECS = re.compile(r"stat::number_of_executed_units:\s*(\d+)")


def _execs(log: Path) -> int | None:
    try:
        text = log.read_bytes()[-20000:].decode("utf-8", "replace")
    except OSError:
        return None
    final = _FINAL_EXECS.search(text)
    if final:
        return int(final.group(1))
    found = _EXECS.findall(text)
    return int(found[-1]) if found else None


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_mutant(target, mutant: Mutant, *, budget: int, seed: int, seeds: dict[str, bytes],
               max_len: int | None = None, extra: tuple[str, ...] = (),
               feedback: str | None = None, mutator: str | None = None) -> MutantRun:
    """Run one mutant through the harness (see the module docstring); libFuzzer's max_len
    and timeout are the target's (`fuzzplug.farm.files.farm_options`), as in `fuzzplug
    fuzz`, unless `max_len` is given. `feedback` and `mutator` are the harness's modes
    (FUZZPLUG_FEEDBACK, FUZZPLUG_MUTATOR; None: the environment's, else the defaults)."""
    options = farm_options(target)
    max_len = options.max_len if max_len is None else max_len
    log = get_logger(target=target.name, mutant=mutant.name)
    mutant_target = apply_mutant(target, mutant.name)  # fails here if it no longer applies
    known = KnownList.of(target)
    with tempfile.TemporaryDirectory(prefix=f"fuzzplug-selftest-{mutant.name}-") as tmp:
        work = Path(tmp)
        corpus, record, crashes = work / "corpus", work / "record", work / "crashes"
        for folder in (corpus, record, crashes):
            folder.mkdir()
        for name, data in seeds.items():
            (corpus / name).write_bytes(data)
        dict_path = work / f"{target.name}.dict"
        dict_path.write_text(dictionary(target.schema))
        cmd = [sys.executable, "-m", "fuzzplug.engines.harness", f"--target={target.name}",
               str(corpus), f"-max_total_time={budget}", f"-seed={seed}",
               f"-dict={dict_path}", f"-max_len={max_len}", "-print_final_stats=1",
               f"-timeout={options.timeout}", f"-artifact_prefix={crashes}/",
               "-rss_limit_mb=4096", *extra]
        log_path = work / "libfuzzer.log"
        seen: dict[str, tuple[int, int]] = {}
        result = MutantRun(mutant.name, Status.SURVIVED)
        started = time.monotonic()
        log.info("mutant_started", budget_s=budget, seed=seed)
        with open(log_path, "wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=work,
                                    env=_harness_env(mutant.name, record, feedback,
                                                     mutator, pair_name(target)),
                                    start_new_session=True)
            try:
                while True:
                    done = proc.poll() is not None
                    if result.startup is None and b"INFO: Seed:" in log_path.read_bytes():
                        result.startup = time.monotonic() - started
                    killed = _scan(target, mutant_target, known, record, seen)
                    if killed is not None:
                        result.status = Status.KILLED
                        result.seconds = time.monotonic() - started
                        result.signature, data = killed
                        result.reproducer = format_text(target.schema, check_scene(
                            target, decode(target.schema, data))[0])
                        break
                    if done:
                        break
                    if time.monotonic() - started > budget + GRACE_SECONDS:
                        result.notes.append("the harness overran its budget and was stopped")
                        break
                    time.sleep(POLL_SECONDS)
            finally:
                _stop(proc)
        result.execs = _execs(log_path)
        if result.status is not Status.KILLED:
            crash_files = sorted(crashes.iterdir())
            if proc.returncode not in (0, None) and crash_files:
                result.status = Status.CRASHED
                tail = log_path.read_bytes()[-4000:].decode("utf-8", "replace")
                exc = re.findall(r"^(\w+(?:Error|Exception)\b.*)$", tail, re.M)
                result.notes.append(f"harness crashed: {exc[-1] if exc else 'see log'}")
            elif mutant.equivalent:
                result.status = Status.EQUIVALENT
        elif mutant.equivalent:
            result.notes.append("declared equivalent, but killed: the claim is wrong")
    # elapsed_s: the mutant's whole run (a survivor has no time to kill, result.seconds)
    log.info("mutant_finished", status=result.status.value,
             elapsed_s=round(time.monotonic() - started, 1),
             signature=result.signature, execs=result.execs)
    return result


def _scan(target, mutant_target, known, record: Path, seen: dict) -> tuple[str, bytes] | None:
    """Check each new or changed recording; the first killing one, if any."""
    try:
        entries = sorted(record.glob("*.bin"))
    except OSError:
        return None
    for path in entries:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        stamp = (stat.st_mtime_ns, stat.st_size)
        if seen.get(path.name) == stamp:
            continue
        seen[path.name] = stamp
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        sig = kill_signature(target, mutant_target, known, data)
        if sig is not None:
            return sig, data
    return None


@dataclass(slots=True)
class SelftestReport:
    target: str
    budget: int
    seed: int
    runs: list[MutantRun]
    seconds: float
    feedback: str = "semantic"
    mutator: str = "ops"

    @property
    def counted(self) -> list[MutantRun]:
        return [r for r in self.runs if r.status is not Status.EQUIVALENT]

    @property
    def killed(self) -> list[MutantRun]:
        return [r for r in self.runs if r.status in (Status.KILLED, Status.CRASHED)]

    @property
    def kill_rate(self) -> float:
        counted = self.counted
        return len(self.killed) / len(counted) if counted else 1.0

    def to_json(self) -> dict:
        return {"target": self.target, "budget": self.budget, "seed": self.seed,
                "feedback": self.feedback, "mutator": self.mutator,
                "seconds": round(self.seconds, 3), "mutants": [r.to_json() for r in self.runs],
                "killed": len(self.killed), "counted": len(self.counted),
                "equivalent": len(self.runs) - len(self.counted),
                "kill_rate": round(self.kill_rate, 4)}


def run_selftest(target, *, budget: int = 10, seed: int = 1, names: list[str] | None = None,
                 jobs: int = 1, feedback: str | None = None,
                 mutator: str | None = None) -> SelftestReport:
    """Every mutant of the target (or those named), `jobs` at a time, through the harness
    in the given feedback and mutator modes (None: the environment's, else the defaults)."""
    from fuzzplug.engines import feedback as feedback_modes
    from fuzzplug.engines import mutator as mutator_modes

    if feedback is not None:
        feedback_modes.check_mode(feedback)
    if mutator is not None:
        mutator_modes.check_mutator(mutator)

    if budget <= 0:
        raise InputError(f"--budget must be positive, got {budget}")
    if jobs <= 0:
        raise InputError(f"--jobs must be positive, got {jobs}")
    mutants = ([get_mutant(target, n) for n in names] if names
               else list(mutants_for(target)))
    seeds = compile_seeds(target)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = list(pool.map(lambda m: run_mutant(target, m, budget=budget, seed=seed,
                                                  seeds=seeds, feedback=feedback,
                                                  mutator=mutator), mutants))
    return SelftestReport(target.name, budget, seed, runs, time.monotonic() - started,
                          feedback or feedback_modes.requested_mode(),
                          mutator or mutator_modes.requested_mutator())


def render(report: SelftestReport) -> str:
    """The kill table and the kill rate."""
    width = max([len(r.mutant) for r in report.runs] + [6])
    lines = [f"{'mutant':<{width}}  {'result':<10}  {'time':>7}  signature",
             f"{'-' * width}  {'-' * 10}  {'-' * 7}  {'-' * 9}"]
    for r in report.runs:
        when = f"{r.seconds:6.1f}s" if r.seconds is not None else "      -"
        what = r.signature or "; ".join(r.notes) or ""
        status = r.status.value
        if r.status is Status.SURVIVED and _gap(report.target, r.mutant):
            status = "surv (gap)"
        lines.append(f"{r.mutant:<{width}}  {status:<10}  {when}  {what}")
    counted = report.counted
    lines.append("")
    lines.append(f"kill rate: {len(report.killed)}/{len(counted)} non-equivalent mutants "
                 f"killed ({100 * report.kill_rate:.1f}%) at a {report.budget} s budget, "
                 f"seed {report.seed}, {report.feedback} feedback, {report.mutator} "
                 f"mutator; {len(report.runs) - len(counted)} equivalent; "
                 f"{report.seconds:.0f} s in all")
    survivors = [r.mutant for r in report.runs if r.status is Status.SURVIVED]
    gaps = [name for name in survivors if _gap(report.target, name)]
    if survivors:
        lines.append(f"survived: {', '.join(survivors)}")
    if gaps:
        rest = len(counted) - len(gaps)
        lines.append(f"without the {plural(len(gaps), 'documented oracle gap')} "
                     f"({', '.join(gaps)}): {len(report.killed)}/{rest} "
                     f"({100 * len(report.killed) / rest if rest else 100:.1f}%)")
    return "\n".join(lines) + "\n"


def _gap(target_name: str, name: str) -> bool:
    try:
        return bool(get_mutant(target_name, name).gap)
    except InputError:
        return False


def print_json(report: SelftestReport) -> None:
    sys.stdout.write(json.dumps(report.to_json(), indent=1, sort_keys=True) + "\n")

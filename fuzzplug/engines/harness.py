"""The generic atheris harness: `python -m fuzzplug.engines.harness --target=NAME [flags]`.

Every harness of fuzzplug has this shape: decode the bytes with the target's total decoder,
evaluate them on both models, and raise `Divergence` on an unsuppressed divergent verdict —
from a frame named after the signature family (`divergent__vm_insert_mixed_mkwrite__warn`),
so ClusterFuzz's crash state (the top three frames) tells different bugs apart. It raises on
nothing else, whatever the bytes: the decoder is total and the models report kernel
failures as events, not exceptions.

With FUZZPLUG_PAIR=PRE..POST, a target with versions (`fuzzplug.targets.Versioned`)
compares that pair instead of its default; libFuzzer's -fork/-jobs children inherit the
environment, so every worker compares the same pair.

Knowingly suppressed: the divergences the target's known list for the pair recognises, by
signature or by cause (`fuzzplug.core.known`), merged with the farm's own known files that
FUZZPLUG_KNOWN names (separated by `os.pathsep`; -fork/-jobs children inherit it), unless
FUZZPLUG_NO_KNOWN=1; each suppressed
signature is counted, and logged once (`known_divergence_suppressed`, on stderr) when first
met. With FUZZPLUG_RECORD=DIR (set by `fuzzplug fuzz`), a divergence is recorded under DIR
instead of raised, so one run continues past findings: for each signature the shortest input
seen (`<id>.<pid>.bin`, written atomically) and counts per process (`counts.<pid>.json`),
and the counts of the known signatures suppressed (`suppressed.<pid>.json`: signature →
count and causes); both flushed at most once a second and at each new signature.

What libFuzzer sees of a run is the feedback mode (`FUZZPLUG_FEEDBACK`, default
`semantic`: the target's semantic features hit libFuzzer counters and nothing is
instrumented; `bytecode`: atheris' instrumentation of fuzzplug and the target's package;
`both`), described in `fuzzplug.engines.feedback`; how inputs are mutated is the mutator
mode (`FUZZPLUG_MUTATOR`, default `ops`: op-level mutations and crossover beside
libFuzzer's own; `bytes`), described in `fuzzplug.engines.mutator`.

Two-task inputs and others whose full evaluation can cost seconds (a target with the
`fuzzplug.targets.Budgeted` capability) are evaluated with the target's bounded budget
(`evaluate_budgeted`): no input costs the loop more than that. What the budget cannot
settle is a *candidate*, never raised nor recorded as a finding: its verdict is a feature,
so libFuzzer keeps the input, and it is written (atomically, `candidate-<sha1>`, at most
`CANDIDATES_PER_SIGNATURE` per provisional signature and process, the shortest) into the
folder FUZZPLUG_CANDIDATES names, else into FUZZPLUG_RECORD's `candidates/`. The full
evaluation confirms or drops each: `fuzzplug fuzz` at its end, `fuzzplug triage` on the
folder (docs/races.md, "Candidates"; docs/farm.md).

In semantic feedback an input run again replays what its first evaluation gave (the
counters and the verdict) instead of evaluating it again; FUZZPLUG_REPLAY=0 evaluates every
run (the benchmark's measure of evaluations per second in the harness).

`--target=` starts with two dashes so libFuzzer ignores it and passes it on verbatim to the
processes it forks (`-fork`, `-jobs`).
"""

from __future__ import annotations

import json
import os
import sys
from array import array
import time
import types
from dataclasses import dataclass
from pathlib import Path

import structlog

from fuzzplug.core.features import outcome_features
from fuzzplug.core.findings import CANDIDATE_PREFIX, CANDIDATES_DIR
from fuzzplug.core.known import KnownList, KnownMatch
from fuzzplug.core.opslang import format_text
from fuzzplug.core.oracle import Outcome, Verdict, signature_id
from fuzzplug.log import configure, get_logger
from fuzzplug.targets import evaluate_budgeted


class Divergence(Exception):
    """An unsuppressed divergent verdict: the reproducer and both traces in the message."""


def render_divergence(target, ops, outcome: Outcome) -> str:
    from fuzzplug.targets import check_scene
    from fuzzplug.triage.trace import side_by_side

    text = format_text(target.schema, check_scene(target, ops)[0])
    return (f"fuzzplug: divergent verdict on target {target.name}\n"
            f"signature: {outcome.signature}\n"
            f"reproducer (text form):\n{text}"
            f"trace:\n{side_by_side(target, ops, outcome)}")


def _raise_divergence(message: str) -> None:
    raise Divergence(message)


_raisers: dict[str, types.FunctionType] = {}


def raiser(family: str) -> types.FunctionType:
    """A function that raises `Divergence`, named `divergent__<family>`: one frame per
    signature family in every crash stack."""
    fn = _raisers.get(family)
    if fn is None:
        name = "divergent__" + "".join(c if c.isalnum() else "_" for c in family)
        code = _raise_divergence.__code__.replace(co_name=name, co_qualname=name)
        fn = types.FunctionType(code, _raise_divergence.__globals__, name)
        _raisers[family] = fn
    return fn


class Recorder:
    """FUZZPLUG_RECORD mode: keep the shortest input per signature and the counts, and
    count the known signatures suppressed."""

    def __init__(self, directory: str):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pid = os.getpid()
        self.counts: dict[str, int] = {}
        self.best: dict[str, int] = {}
        self.suppressed: dict[str, dict] = {}
        self.last_flush = 0.0

    def record(self, data: bytes, sig: str) -> None:
        new = sig not in self.counts
        self.counts[sig] = self.counts.get(sig, 0) + 1
        if new or len(data) < self.best[sig]:
            self.best[sig] = len(data)
            _atomic_write(self.dir / f"{signature_id(sig)}.{self.pid}.bin", data)
        self._flush(new)

    def suppress(self, sig: str, match: KnownMatch) -> None:
        entry = self.suppressed.get(sig)
        if entry is None:
            entry = self.suppressed[sig] = {"count": 0, **match.to_json()}
        entry["count"] += 1
        self._flush(entry["count"] == 1)

    def flush(self) -> None:
        """Write the counts now."""
        self._flush(True)

    def _flush(self, force: bool) -> None:
        now = time.monotonic()
        if force or now - self.last_flush > 1.0:
            self.last_flush = now
            if self.counts:
                _atomic_write(self.dir / f"counts.{self.pid}.json",
                              json.dumps(self.counts, sort_keys=True).encode())
            if self.suppressed:
                _atomic_write(self.dir / f"suppressed.{self.pid}.json",
                              json.dumps(self.suppressed, sort_keys=True).encode())


CANDIDATES_ENV = "FUZZPLUG_CANDIDATES"
"""The folder the harness writes candidates into (default: FUZZPLUG_RECORD's
`candidates/`; neither set: none written, libFuzzer's corpus keeps them)."""
CANDIDATES_PER_SIGNATURE = 4
"""Candidate inputs kept per provisional signature and process: the shortest seen."""


class Candidates:
    """The candidates one harness process writes: per provisional signature, the
    `CANDIDATES_PER_SIGNATURE` shortest distinct inputs, as `candidate-<signature
    id>-<sha1>` files (written atomically; a longer one is removed when a shorter one takes
    its place), and `provisional.<pid>.json`: per signature id the provisional signature
    and whether the known list matches it (which candidates the end of a run confirms
    first)."""

    def __init__(self, directory: str):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.kept: dict[str, list[bytes]] = {}
        self.provisional: dict[str, dict] = {}

    def record(self, data: bytes, provisional: str | None, known: bool) -> None:
        """Keep `data` if it is among the shortest of its provisional signature."""
        sig_id = signature_id(provisional or "")
        kept = self.kept.setdefault(sig_id, [])
        if not kept:
            self.provisional[sig_id] = {"signature": provisional, "known": known}
            _atomic_write(self.dir / f"provisional.{os.getpid()}.json",
                          json.dumps(self.provisional, sort_keys=True).encode())
        if data in kept:
            return
        if len(kept) >= CANDIDATES_PER_SIGNATURE:
            longest = max(kept, key=lambda d: (len(d), d))
            if (len(data), data) >= (len(longest), longest):
                return
            kept.remove(longest)
            (self.dir / candidate_name(longest, sig_id)).unlink(missing_ok=True)
        kept.append(data)
        _atomic_write(self.dir / candidate_name(data, sig_id), data)


def candidate_name(data: bytes, sig_id: str) -> str:
    """A candidate's file name: `candidate-<provisional signature id>-<sha1 of its
    bytes>`."""
    import hashlib

    return f"{CANDIDATE_PREFIX}{sig_id}-{hashlib.sha1(data).hexdigest()}"


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def features_of(target):
    """The target's `features(ops, outcome)` (`fuzzplug.targets.Featured`), or the generic
    features of the outcome (`fuzzplug.core.features`) for a target without it."""
    from fuzzplug.targets import Featured

    if isinstance(target, Featured):
        return target.features
    schema = target.schema

    def generic(ops, outcome):
        return outcome_features([op for op in ops if not schema.spec(op.name).scene], outcome)

    return generic


REPLAY_ENV = "FUZZPLUG_REPLAY"
"""`0`: evaluate every run, even of an input already run (see the module docstring)."""


class Harness:
    """One target's TestOneInput, with the suppression list, the recording mode and, in
    semantic feedback, the counters its features hit (`counters`:
    `fuzzplug.engines.feedback.SemanticCounters`, or None). Inputs are decoded through
    `decoded` (`fuzzplug.engines.mutator.DecodeCache`), which the op mutator shares
    (`setup_kwargs(..., decoded=harness.decoded)`)."""

    SEEN = 1 << 12
    """Inputs remembered per generation (two generations) in semantic feedback: the bytes
    (at most max_len) and the counters, 4 bytes each (`_Seen`): a few MiB in all."""

    def __init__(self, target, counters=None, seen: bool | None = None):
        from fuzzplug.engines.mutator import DecodeCache

        self.target = target
        self.schema = target.schema
        self.decoded = DecodeCache(target.schema)
        self.known = KnownList.of(target)
        self.suppressing = os.environ.get("FUZZPLUG_NO_KNOWN") != "1"
        record = os.environ.get("FUZZPLUG_RECORD")
        self.recorder = Recorder(record) if record else None
        candidates = os.environ.get(CANDIDATES_ENV) or (
            str(Path(record) / CANDIDATES_DIR) if record else None)
        self.candidates = Candidates(candidates) if candidates else None
        if not structlog.is_configured():
            configure()
        self.log = get_logger(target=target.name, pid=os.getpid())
        self.logged: set[str] = set()
        self.logged_candidates: set[str | None] = set()
        self.counters = counters
        self.features = features_of(target) if counters is not None else None
        if seen is None:  # only where nothing is instrumented: no feedback but the counters
            from fuzzplug.engines.feedback import requested_mode

            seen = (counters is not None and requested_mode() == "semantic"
                    and os.environ.get(REPLAY_ENV) != "0")
        self._seen: dict[bytes, _Seen] | None = {} if seen else None
        self._seen_old: dict[bytes, _Seen] = {}

    def test_one_input(self, data: bytes) -> None:
        """Decode, evaluate, hit the features' counters, and act on a divergence. In
        semantic feedback an input run again (a fifth of libFuzzer's runs with the op
        mutator: its crossovers and libFuzzer's own mutations often give back an input
        already run) replays what the evaluation gave the first time (`_Seen`: the counters
        and the verdict; the evaluation is a function of the bytes), without evaluating."""
        seen = self._seen
        if seen is not None:
            known = seen.get(data) or self._seen_old.get(data)
            if known is not None:
                self.counters.hit_counters(known.counters)
                if known.candidate:
                    self._candidate(data, None, known.signature)
                elif known.signature is not None:
                    self._divergent(data, None, None, known)
                return
        ops = self.decoded.decode(data)
        outcome = evaluate_budgeted(self.target, ops)
        counters = ()
        if self.counters is not None:
            counters = self.counters.counters(self.features(ops, outcome))
            self.counters.hit_counters(counters)
        divergent = outcome.verdict is Verdict.DIVERGENT
        candidate = outcome.verdict is Verdict.CANDIDATE
        counters = array("I", counters)  # 4 bytes a counter, where a tuple of ints takes 36
        if divergent:
            known = _Seen(counters, outcome.signature, outcome.finding.family,
                          self.known.match(outcome.signature, ops) if self.suppressing
                          else None)
        else:
            known = _Seen(counters, outcome.signature if candidate else None, None, None,
                          candidate)
        if seen is not None:
            if len(seen) >= self.SEEN:
                self._seen_old, self._seen = seen, {}
            self._seen[data] = known
        if divergent:
            self._divergent(data, ops, outcome, known)
        elif candidate:
            self._candidate(data, ops, outcome.signature)

    def _candidate(self, data: bytes, ops, provisional: str | None) -> None:
        """A candidate (see the module docstring): written for confirmation, never raised."""
        first = provisional not in self.logged_candidates
        if self.candidates is not None:
            if ops is None:
                ops = self.decoded.decode(data)
            known = provisional is not None and self.known.match(provisional, ops) is not None
            self.candidates.record(data, provisional, known)
        if first:
            self.logged_candidates.add(provisional)
            self.log.info("candidate_recorded", provisional_signature=provisional,
                          candidates_dir=str(self.candidates.dir) if self.candidates
                          else None)

    def _divergent(self, data: bytes, ops, outcome: Outcome | None, known: "_Seen") -> None:
        """A divergent verdict: suppressed if known, recorded in FUZZPLUG_RECORD mode,
        raised otherwise (from a replay, evaluated again for the traces)."""
        if known.match is not None:
            self._suppress(known.signature, known.match)
            return
        if self.recorder is not None:
            self.recorder.record(data, known.signature)
            return
        if outcome is None:
            ops = self.decoded.decode(data)
            outcome = self.target.evaluate(ops)
        raiser(known.family)(render_divergence(self.target, ops, outcome))

    def _suppress(self, sig: str, match: KnownMatch) -> None:
        if sig not in self.logged:
            self.logged.add(sig)
            self.log.info("known_divergence_suppressed", signature=sig,
                          causes=list(match.causes),
                          by="signature" if match.exact else "causes")
        if self.recorder is not None:
            self.recorder.suppress(sig, match)


@dataclass(frozen=True, slots=True)
class _Seen:
    """What the harness keeps of an input it ran: the counters its features hit, for a
    divergent verdict the signature, its family and how the known list matched it, and
    whether it is a candidate (with its provisional signature)."""

    counters: "array[int] | tuple[int, ...]"
    signature: str | None  # a candidate's: provisional
    family: str | None
    match: KnownMatch | None
    candidate: bool = False


def main(target_name: str | None = None, argv: list[str] | None = None) -> None:
    """Run a target under atheris/libFuzzer; all other arguments are libFuzzer's."""
    import atheris

    argv = list(sys.argv if argv is None else argv)
    for arg in argv[1:]:
        if arg.startswith("--target="):
            target_name = arg.split("=", 1)[1]
    if not target_name:
        sys.stderr.write("fuzzplug.engines.harness: --target=NAME is required\n")
        raise SystemExit(2)
    from fuzzplug.engines import feedback
    from fuzzplug.targets import plugin_package

    mode = feedback.effective_mode(atheris, feedback.requested_mode())
    # In bytecode mode, instrument fuzzplug and, for a third-party target, its own package;
    # in both, the models only; in semantic mode, nothing.
    with feedback.instrumentation(atheris, mode, plugin_package(target_name)):
        from fuzzplug.engines.mutator import setup_kwargs
        from fuzzplug.targets import load_target, pair_from_environment

        from fuzzplug.errors import FuzzplugError

        try:
            target = pair_from_environment(load_target(target_name))  # FUZZPLUG_PAIR
            mutant = os.environ.get("FUZZPLUG_MUTANT")
            if mutant:  # `fuzzplug selftest`: the same harness on a mutated post-patch model
                from fuzzplug.selftest.mutants import apply_mutant

                target = apply_mutant(target, mutant)
            harness = Harness(target, feedback.counters_for(atheris, mode))
        except FuzzplugError as exc:  # FUZZPLUG_KNOWN, FUZZPLUG_PAIR: one line, status 2
            sys.stderr.write(f"fuzzplug.engines.harness: error: {exc}\n")
            raise SystemExit(2) from None
    atheris.Setup(argv, harness.test_one_input,
                  **setup_kwargs(atheris, target, decoded=harness.decoded))
    atheris.Fuzz()


if __name__ == "__main__":
    main()

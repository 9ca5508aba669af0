"""The Hypothesis engine: a `RuleBasedStateMachine` that drives both models with the same ops.

`machine_for(target)` builds the machine for any target from its schema and small domain
(`fuzzplug.engines.domain`): an `@initialize` rule picks a scene, one rule per call op
appends that op (each argument drawn from the domain's values), and an invariant, checked
after every step, evaluates the whole sequence so far with `Target.evaluate` and fails on an
unsuppressed divergent verdict. Each signature fails with its own exception class
(`DivergenceFound` subclasses), so Hypothesis tells signatures apart and shrinks each one
without slipping to another.

`run_hypothesis(target, seconds=S)` is `fuzzplug hypothesis`: a Hypothesis run stops at its
first failure (and shrinks it), so it loops over seeds until the time is up, adding each
signature found to the suppressed set of the later runs, and reports the distinct signatures
as `fuzzplug fuzz` does (findings folders, summary.json, the table). Runs report one bug
each (`report_multiple_bugs=False`): shrinking every bug a run stumbles on made single runs
last tens of seconds, past the time asked for.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, Verbosity, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    get_state_machine_test,
    initialize,
    invariant,
    rule,
)

from fuzzplug.core.known import KnownHit, KnownList, summary_line
from fuzzplug.core.opslang import Op, decode, encode
from fuzzplug.core.oracle import Outcome, Verdict
from fuzzplug.engines.domain import Domain, domain_for
from fuzzplug.errors import InputError
from fuzzplug.log import get_logger
from fuzzplug.targets import pair_name

Judge = Callable[[tuple[Op, ...], Outcome], bool]
"""Whether a divergent outcome counts (default: every unsuppressed one)."""

DEFAULT_STEPS = 24


class DivergenceFound(AssertionError):
    """The state machine's failure: an unsuppressed divergent verdict on `ops`."""

    signature: str = ""

    def __init__(self, ops: tuple[Op, ...], outcome: Outcome):
        super().__init__(f"divergent verdict: {outcome.signature}")
        self.ops = ops
        self.outcome = outcome


_classes: dict[str, type[DivergenceFound]] = {}


def divergence_class(sig: str) -> type[DivergenceFound]:
    """One exception class per signature: Hypothesis keys distinct failures by type."""
    cls = _classes.get(sig)
    if cls is None:
        name = "DivergenceFound_" + hashlib.sha1(sig.encode()).hexdigest()[:10]
        cls = type(name, (DivergenceFound,), {"signature": sig, "__module__": __name__})
        _classes[sig] = cls
    return cls


def machine_for(target, *, domain: Domain | None = None,
                suppressed: set[str] | None = None,
                judge: Judge | None = None,
                first_failed: dict[str, float] | None = None,
                known: KnownList | None = None,
                known_hits: dict[str, list] | None = None) -> type[RuleBasedStateMachine]:
    """The differential state machine of `target`. `suppressed` is read at every check, so
    a caller may add signatures between runs; `known`, if given, suppresses what it
    recognises (by signature or by cause), counting each hit in `known_hits` (signature →
    [count, match]); `first_failed`, if given, receives the `time.monotonic()` of each
    signature's first failure (before shrinking)."""
    domain = domain or domain_for(target)
    suppressed = suppressed if suppressed is not None else set()
    known_hits = known_hits if known_hits is not None else {}
    scenes = domain.scenes

    def __init__(self) -> None:
        RuleBasedStateMachine.__init__(self)
        self.scene: tuple[Op, ...] = ()
        self.calls: list[Op] = []

    @initialize(scene=st.sampled_from(range(len(scenes))))
    def pick_scene(self, scene: int) -> None:
        self.scene = scenes[scene]

    @invariant()
    def oracle_agrees(self) -> None:
        """Evaluate the sequence so far; fail on an unsuppressed divergent verdict."""
        if not self.calls:
            return
        ops = self.scene + tuple(self.calls)
        outcome = target.evaluate(ops)
        if outcome.verdict is not Verdict.DIVERGENT or outcome.signature in suppressed:
            return
        match = known.match(outcome.signature, ops) if known is not None else None
        if match is not None:
            hit = known_hits.setdefault(outcome.signature, [0, match])
            hit[0] += 1
            return
        if judge is not None and not judge(ops, outcome):
            return
        if first_failed is not None:
            first_failed.setdefault(outcome.signature, time.monotonic())
        raise divergence_class(outcome.signature)(ops, outcome)

    namespace = {"__init__": __init__, "pick_scene": pick_scene,
                 "oracle_agrees": oracle_agrees, "domain": domain, "target": target}
    for op_name, args in domain.values.items():
        namespace[op_name] = _call_rule(op_name, args)
    return type(f"Differential_{target.name}", (RuleBasedStateMachine,), namespace)


def _call_rule(op_name: str, args: tuple[tuple[str, tuple[int, ...]], ...]):
    names = tuple(name for name, _ in args)

    def append(self, **values: int) -> None:
        self.calls.append(Op(op_name, tuple((n, values[n]) for n in names)))

    append.__name__ = op_name
    append.__qualname__ = op_name
    return rule(**{name: st.sampled_from(vals) for name, vals in args})(append)


def hypothesis_settings(*, max_examples: int, steps: int = DEFAULT_STEPS,
                        derandomize: bool = False) -> settings:
    """Settings for a run: no database, no deadline, quiet, generate and shrink only."""
    return settings(max_examples=max_examples, stateful_step_count=steps,
                    derandomize=derandomize, database=None, deadline=None,
                    verbosity=Verbosity.quiet, phases=(Phase.generate, Phase.shrink),
                    suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
                    print_blob=False)


def run_machine(machine: type[RuleBasedStateMachine], run_settings: settings,
                seed_value: int | None = None) -> list[DivergenceFound]:
    """One Hypothesis run of the machine: the (shrunk) divergences it ended with."""
    test = get_state_machine_test(machine, settings=run_settings)
    if seed_value is not None:
        test = seed(seed_value)(test)
    try:
        test()
    except DivergenceFound as exc:
        return [exc]
    except BaseExceptionGroup as group:
        found, rest = group.split(DivergenceFound)
        if rest is not None:
            raise
        return list(_leaves(found))
    return []


def _leaves(group: BaseExceptionGroup) -> Iterable[DivergenceFound]:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc


# --- `fuzzplug hypothesis`: many runs, distinct signatures --------------------------------------

@dataclass(slots=True)
class HypothesisResult:
    """What a timed campaign found."""

    found: dict[str, DivergenceFound] = field(default_factory=dict)
    first_seen: dict[str, float] = field(default_factory=dict)
    """Seconds from the start to the signature's first failure (before shrinking)."""
    hits: dict[str, int] = field(default_factory=dict)
    known_hits: dict[str, list] = field(default_factory=dict)
    """Known signatures suppressed: signature → [checks that met it, its KnownMatch]."""
    runs: int = 0
    seconds: float = 0.0


def run_hypothesis(target, *, seconds: float, no_known: bool = False, base_seed: int = 0,
                   max_examples: int = 200, steps: int = DEFAULT_STEPS,
                   judge: Judge | None = None, stop_on_first: bool = False,
                   domain: Domain | None = None) -> HypothesisResult:
    """Run the machine with seeds base_seed, base_seed+1, ... until `seconds` have passed
    (a run in progress finishes), suppressing the known signatures (unless `no_known`) and
    every signature already found."""
    if seconds <= 0:
        raise InputError(f"--time must be positive, got {seconds}")
    log = get_logger(target=target.name, engine="hypothesis")
    suppressed: set[str] = set()
    known = None if no_known else KnownList.of(target)
    first_failed: dict[str, float] = {}
    result = HypothesisResult()
    machine = machine_for(target, domain=domain, suppressed=suppressed, judge=judge,
                          first_failed=first_failed, known=known,
                          known_hits=result.known_hits)
    run_settings = hypothesis_settings(max_examples=max_examples, steps=steps)
    started = time.monotonic()
    log.info("hypothesis_started", budget_s=seconds, seed=base_seed,
             known_listed=len(known.findings) if known else 0)
    while time.monotonic() - started < seconds:
        run_seed = base_seed + result.runs
        failures = run_machine(machine, run_settings, run_seed)
        result.runs += 1
        for exc in failures:
            sig = exc.outcome.signature
            result.hits[sig] = result.hits.get(sig, 0) + 1
            if sig not in result.found:
                result.found[sig] = exc
                result.first_seen[sig] = first_failed.get(sig, time.monotonic()) - started
                log.info("signature_found", signature=sig, run=result.runs, seed=run_seed,
                         calls=sum(1 for op in exc.ops
                                   if not target.schema.spec(op.name).scene))
            suppressed.add(sig)
        if stop_on_first and result.found:
            break
    result.seconds = time.monotonic() - started
    log.info("hypothesis_finished", runs=result.runs, signatures=len(result.found),
             elapsed_s=round(result.seconds, 1))
    return result


def known_hits(result: HypothesisResult, entries: list) -> list[KnownHit]:
    """Every known signature the campaign met: suppressed, or found (with --no-known)."""
    hits = [KnownHit(sig, n, match) for sig, (n, match) in result.known_hits.items()]
    hits += [KnownHit(e.signature, e.count, e.match, suppressed=False)
             for e in entries if e.match is not None]
    return sorted(hits, key=lambda h: h.signature)


def write_report(target, result: HypothesisResult, fdir: str | Path, *,
                 no_known: bool, base_seed: int, minimize: bool = True) -> list:
    """Findings folders, summary.json and the entries for the table, as `fuzzplug fuzz`:
    each finding minimised by `fuzzplug.triage.minimize` (Hypothesis' shrinking works in its
    own domain; the op-level minimiser also drops scene ops and moves values to their
    defaults), its sizes before in `minimized_from`."""
    from fuzzplug.core.findings import FindingEntry, n_calls, write_entry, write_summary
    from fuzzplug.io import ensure_dir
    from fuzzplug.triage.minimize import minimize_ops

    fdir = ensure_dir(fdir)
    known = KnownList.of(target)
    entries = []
    for sig, exc in result.found.items():
        ops = exc.ops
        entry = FindingEntry(sig, result.hits[sig], encode(target.schema, ops),
                             outcome=exc.outcome)
        if minimize:
            entry.original_len, entry.original_ops = len(entry.data), n_calls(target, ops)
            ops = minimize_ops(target, ops, sig)
            entry.data = encode(target.schema, ops)
            entry.outcome = target.evaluate(ops)
        entry.match = known.match(sig, ops)
        write_entry(target, fdir, entry)
        entries.append(entry)
    hits = known_hits(result, entries)
    new = sum(1 for e in entries if not e.known)
    summary = {
        "target": target.name, "pair": pair_name(target), "engine": "hypothesis", "seconds": round(result.seconds, 3),
        "runs": result.runs, "seed": base_seed, "suppressed_known": not no_known,
        "new": new, "known_hits": [h.to_json(known) for h in hits],
        "summary_line": summary_line(new, hits, known),
        "findings": [{"signature": e.signature, "count": e.count, "folder": e.folder_name(),
                      "bytes": len(e.data),
                      "calls": n_calls(target, decode(target.schema, e.data)),
                      "known": e.known,
                      "known_causes": list(e.match.causes) if e.match else None,
                      "first_seen_s": round(result.first_seen[e.signature], 3)}
                     for e in entries],
    }
    write_summary(fdir, summary)
    return entries

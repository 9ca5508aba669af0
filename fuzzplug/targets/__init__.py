"""Targets: what fuzzplug fuzzes, as plugins, and the one interface the core sees them by.

A target is an object that satisfies `Target`, published under the entry-point group
`fuzzplug.targets` (name = the target's name, value = `module:ATTRIBUTE`). Loading is lazy:
`target_names()` reads only the entry-point metadata, `load_target(name)` imports one target.
fuzzplug's own targets are also known without installed metadata (a source checkout, a
PyInstaller-packed harness), through `BUILTIN`: the one place outside a target's own package
that names it. Each built-in target is a package `fuzzplug.targets.<name>` holding all that
is its own; the kernel models it runs are shared, in `fuzzplug.kernel`.

Beside the required members of `Target`, a target may offer optional capabilities, each a
small `Protocol` below that the core checks with `isinstance` (they are runtime-checkable),
with a fallback when a target lacks it:

- `SmallDomain`: `small_domain()`, the scenes and values the Hypothesis engine and the
  exhaustive checker draw ops from (fallback: a domain derived from the schema);
- `Steppable`: `stepper(scene_ops, renaming)`, which the exhaustive checker steps, forks and
  keys to merge states (fallback: `ReplayStepper`, re-evaluating prefixes);
- `Mutable`: `mutants()`, `mutant_module` and `with_mutant_module(module)`, for `fuzzplug
  selftest` (fallback: none; the target has no self-test);
- `FarmTuned`: `farm_options`, libFuzzer's `max_len` and `timeout` for `fuzz`, `selftest`
  and the farm's `.options` file (fallback: the defaults in `fuzzplug.farm.files`);
- `Versioned`: `versions()`, the target's chain of model versions (oldest first), `pair`,
  the (pre, post) it compares, `with_pair(pre, post)`, a copy comparing another pair, and
  `commit_of(version)`, the change each version adds (fallback: the one pair the target
  has; `fuzzplug backport` needs it). `select_pair` is how every verb and engine picks
  a pair: from the command line (`--pre`, `--post`), from the environment (`FUZZPLUG_PAIR`,
  which the harness reads, and which libFuzzer's -fork/-jobs children inherit), or from a
  scenario's `# pair:` header; findings record it (`pair_name`).
- `KnownCauses`: `known_causes()`, the root causes behind the known findings, with their
  labels, upstream fixes and the observables they are made of (`fuzzplug.core.known`:
  matching by cause, the summary line, `fuzzplug report`; fallback: exact signatures only,
  every known finding `unclassified`);
- `Advised`: `advice()`, what the known list tells a backporter beside the divergence
  classes (`fuzzplug.core.advice.Advice`: the scope of the claims and what shows what is out
  of it, companion fixes outside the chain, each fix's intended changes; `fuzzplug backport`
  and `fuzzplug report`; fallback: none of it said);
- `SceneChecked`: `check_scene(ops)`, the scene a sequence sets up checked against itself
  and the target's documented layout: the text loader refuses a contradiction with
  `file:line`, the binary form is normalised and the trace says how (fallback: no check);
- `Traced`: `describe_event(event)`, a target's own rendering of an event in the
  side-by-side trace (PTE values as flags; fallback: the generic rendering).
- `Budgeted`: `evaluate_budgeted(ops)`, a bounded evaluation for the fuzz loop that gives
  `evaluate`'s verdict and signature wherever its budget settles them, and
  `Verdict.CANDIDATE` where it does not; the harness records candidates, and `fuzz`,
  `triage`, `minimize` and `cmin` confirm them with `evaluate` (fallback: `evaluate`).
- `Featured`: `features(ops, outcome)`, the semantic features of one evaluation that the
  harness feeds back to libFuzzer (fallback: `fuzzplug.core.features.outcome_features`,
  branch ids, returns and verdicts).
- `ScheduleMutable`: `mutate_schedule(calls, rng)`, one change of how an input's tasks
  interleave, which the op mutator makes beside its generic changes (fallback: the generic
  changes only).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from fuzzplug.errors import InputError, TargetError

if TYPE_CHECKING:
    from collections.abc import Hashable, Iterable
    from random import Random

    from fuzzplug.core.advice import Advice
    from fuzzplug.core.known import Cause
    from fuzzplug.core.opslang import Op, Schema
    from fuzzplug.core.oracle import Outcome
    from fuzzplug.engines.domain import Domain
    from fuzzplug.engines.stepper import Stepper
    from fuzzplug.farm.files import FarmOptions
    from fuzzplug.selftest.mutants import Mutant

GROUP = "fuzzplug.targets"
BUILTIN = {"insert_pfn": "fuzzplug.targets.insert_pfn:TARGET", "dax_fault": "fuzzplug.targets.dax_fault:TARGET", "insert_pfn_pmd": "fuzzplug.targets.insert_pfn_pmd:TARGET"}  # noqa: E501 (one line: the boundary test allows this one)


@runtime_checkable
class Target(Protocol):
    """A differential target: an op language, two models, and an oracle over them."""

    name: str
    description: str
    schema: "Schema"

    def evaluate(self, ops: "tuple[Op, ...]") -> "Outcome":
        """Run `ops` on both models and compare; deterministic."""
        ...

    def branch_ids(self) -> dict[str, frozenset[str]]:
        """Every branch id each model declares, by model version."""
        ...

    def known_findings(self) -> dict[str, dict]:
        """Triaged signatures, suppressed by default: signature → record. A record may say
        which root causes it shows (`cause_records`: dicts with `id`, `title`, `status`,
        `analysis`) and give its shortest reproducer (`reproducer`, the text form);
        `fuzzplug backport` reads them."""
        ...

    def seeds_dir(self) -> Path | None:
        """The seed scenarios (`*.ops`) of the target, if it ships any."""
        ...


# --- optional capabilities ------------------------------------------------------------------

@runtime_checkable
class SmallDomain(Protocol):
    """A target that declares a small op domain of its own (scenes and a few values per
    argument), with the reductions proven for its models (`fuzzplug.engines.domain`)."""

    def small_domain(self) -> "Domain":
        ...


@runtime_checkable
class Steppable(Protocol):
    """A target that can run a sequence one call at a time, fork the run and name its state
    (`fuzzplug.engines.stepper.Stepper`), so the exhaustive checker shares prefixes and
    merges states. `renaming` is the domain's declared symmetry (`Domain.renaming`) when its
    proof applies to the models, else None; the stepper's keys then name a state and its
    image alike."""

    def stepper(self, scene_ops: "tuple[Op, ...]", renaming: object = None) -> "Stepper":
        ...


@runtime_checkable
class Mutable(Protocol):
    """A target whose model the mutation self-test can mutate: its mutants (each a set of
    exact source edits, `fuzzplug.selftest.mutants.Mutant`), the module they edit, and a
    copy of the target running a mutated module in that module's place."""

    mutant_module: ModuleType

    def mutants(self) -> "tuple[Mutant, ...]":
        ...

    def with_mutant_module(self, module: ModuleType) -> "Target":
        ...


class MutatesPostModel:
    """The usual `Mutable` plumbing for a target whose mutants edit its post-patch model,
    held in `post_model`: a dataclass-free mixin (the copy is shallow; the target's other
    state is shared)."""

    post_model: ModuleType

    @property
    def mutant_module(self) -> ModuleType:
        """The module the mutants edit: the post-patch model."""
        return self.post_model

    def with_mutant_module(self, module: ModuleType):
        """A copy of this target that runs `module` as its post-patch model."""
        import copy

        clone = copy.copy(self)
        clone.post_model = module
        return clone


@runtime_checkable
class FarmTuned(Protocol):
    """A target with libFuzzer options of its own (`max_len`, `timeout`)."""

    farm_options: "FarmOptions"


@runtime_checkable
class KnownCauses(Protocol):
    """A target whose known findings are triaged into root causes
    (`fuzzplug.core.known.Cause`: title, status and short label, upstream fixes, and the
    ops, observables and input predicate a cause is made of), by cause id."""

    def known_causes(self) -> "dict[str, Cause]":
        ...


@runtime_checkable
class Advised(Protocol):
    """A target whose known list advises a backporter (`fuzzplug.core.advice.Advice`): the
    scope of its claims, companion fixes, and the intended changes of its chain's fixes."""

    def advice(self) -> "Advice":
        ...


def advice_of(target) -> "Advice":
    """`target.advice()` if the target has the capability, else an empty `Advice`."""
    from fuzzplug.core.advice import Advice

    return target.advice() if isinstance(target, Advised) else Advice()


@dataclass(frozen=True, slots=True)
class SceneIssue:
    """A scene op that contradicts itself or the target's documented layout: the op's index
    in the sequence, what is wrong (the text loader's error), and what the binary form,
    which accepts every byte string, makes of it instead."""

    index: int
    problem: str
    normalised: str


@runtime_checkable
class SceneChecked(Protocol):
    """A target that checks the scene of a sequence: `check_scene(ops)` returns the ops
    with their scene normalised (the same verdict as `evaluate(ops)`, and ops that pass the
    check) and the issues found, in op order."""

    def check_scene(self, ops: "tuple[Op, ...]") -> "tuple[tuple[Op, ...], list[SceneIssue]]":
        ...


@runtime_checkable
class Traced(Protocol):
    """A target that renders some events of its records itself in the side-by-side trace:
    `describe_event(event)` (an event's JSON, `SideRecord.events`) gives the line, or None
    for the generic one."""

    def describe_event(self, event: dict) -> str | None:
        ...


def check_scene(target, ops: "tuple[Op, ...]") -> "tuple[tuple[Op, ...], list[SceneIssue]]":
    """`target.check_scene(ops)` if the target has the capability, else `(ops, [])`."""
    if isinstance(target, SceneChecked):
        return target.check_scene(ops)
    return ops, []


@runtime_checkable
class Budgeted(Protocol):
    """A target whose full evaluation can cost seconds for some inputs (a search), with a
    bounded form for the fuzz loop: `evaluate_budgeted(ops)` is deterministic, costs a
    bounded amount of work (runs and steps, not time), and gives exactly `evaluate(ops)`'s
    verdict and signature unless its verdict is `Verdict.CANDIDATE`: a difference the
    budget could not settle, its finding named provisionally, which `evaluate(ops)`
    confirms (divergent) or drops."""

    def evaluate_budgeted(self, ops: "tuple[Op, ...]") -> "Outcome":
        ...


def evaluate_budgeted(target: "Target", ops: "tuple[Op, ...]") -> "Outcome":
    """`target.evaluate_budgeted(ops)` if the target has the capability, else
    `target.evaluate(ops)`."""
    if isinstance(target, Budgeted):
        return target.evaluate_budgeted(ops)
    return target.evaluate(ops)


def evaluate_settled(target: "Target", ops: "tuple[Op, ...]") -> "Outcome":
    """`evaluate(ops)`'s outcome by the budgeted path first: its outcome when it settles
    the input, else the full evaluation's (the fast path of `minimize` and `cmin`: the
    same verdict and signature as `evaluate`)."""
    from fuzzplug.core.oracle import Verdict

    outcome = evaluate_budgeted(target, ops)
    if outcome.verdict is Verdict.CANDIDATE:
        return target.evaluate(ops)
    return outcome


@runtime_checkable
class Versioned(Protocol):
    """A target whose models form a chain of versions (a patch, then the fixes upstream took
    after it), any two of which it can compare, the older as pre and the newer as post. Its
    intended delta for a pair is its own business (for a chain of commits: the rules of the
    commits between them); so are its known findings, which `known_findings()` of a copy
    returns for that copy's pair."""

    pair: tuple[str, str]

    def versions(self) -> tuple[str, ...]:
        """The version names, oldest first; `pair` is the default pair."""
        ...

    def with_pair(self, pre: str, post: str) -> "Target":
        """A copy comparing `pre` with `post`; `InputError` unless both are versions and
        `pre` comes before `post`."""
        ...

    def commit_of(self, version: str) -> str | None:
        """The change that makes `version` from the version before it, as a reviewer cites
        it (`<id> ("<subject>")`); None for the first version."""
        ...


PAIR_ENV = "FUZZPLUG_PAIR"
"""The environment variable the harness reads its pair from: `PRE..POST`."""
PAIR_SEPARATOR = ".."


def pair_name(target: "Target") -> str | None:
    """The pair a target compares, as `PRE..POST`; None for a target without versions."""
    if not isinstance(target, Versioned):
        return None
    pre, post = target.pair
    return f"{pre}{PAIR_SEPARATOR}{post}"


def parse_pair(text: str) -> tuple[str, str]:
    """`PRE..POST` as (pre, post); `InputError` when it is not of that form."""
    pre, sep, post = text.strip().partition(PAIR_SEPARATOR)
    if not sep or not pre or not post or PAIR_SEPARATOR in post:
        raise InputError(f"{text!r}: a pair is PRE..POST (two version names), for example "
                         "v1..v2")
    return pre, post


def select_pair(target: "Target", pre: str | None = None, post: str | None = None,
                pair: str | None = None) -> "Target":
    """The target comparing the pair asked for: `pair` (`PRE..POST`), else `pre` and/or
    `post` (a side not given keeps the target's default), else the target itself.
    `InputError` for a target without versions (`Versioned`) when a pair is asked for."""
    if pair:
        if pre or post:
            raise InputError("give a pair either as --pre/--post or as PRE..POST, not both")
        pre, post = parse_pair(pair)
    if not pre and not post:
        return target
    if not isinstance(target, Versioned):
        raise InputError(f"target {target.name!r} has one pair of models; it takes no "
                         "--pre/--post (it does not implement fuzzplug.targets.Versioned)")
    default_pre, default_post = target.pair
    chosen = (pre or default_pre, post or default_post)
    if chosen == tuple(target.pair):
        return target
    return target.with_pair(*chosen)


def pair_from_environment(target: "Target") -> "Target":
    """The target comparing the pair `FUZZPLUG_PAIR` names, if it is set (the harness)."""
    text = os.environ.get(PAIR_ENV, "").strip()
    return select_pair(target, pair=text) if text else target


def versions_of(target: "Target") -> tuple[str, ...]:
    """The target's versions: its chain if `Versioned`, else the two versions its
    `branch_ids()` names."""
    if isinstance(target, Versioned):
        return tuple(target.versions())
    return tuple(target.branch_ids())


@runtime_checkable
class Featured(Protocol):
    """A target that names the semantic features of one evaluation, for the harness's
    semantic feedback (`fuzzplug.engines.feedback`): each a str, an int or a tuple of those,
    hashed onto libFuzzer counters; an input is kept when it reaches a feature no earlier
    input reached. Usually the generic `fuzzplug.core.features.outcome_features(calls,
    outcome)` plus what makes a run new for this target (a coarse class of the states
    reached). Called on every execution: keep it cheap, and the set of features bounded."""

    def features(self, ops: "tuple[Op, ...]", outcome: "Outcome") -> "Iterable[Hashable]":
        ...


@runtime_checkable
class ScheduleMutable(Protocol):
    """A target whose inputs carry a schedule of several tasks, with mutations of its own
    for it (moving a change point by one step, swapping two priorities...): given an
    input's ops without its scene ops, in order, and a `random.Random`, the ops with one
    change of the schedule, or None when there is none to make. Called by the op mutator
    (`fuzzplug.engines.mutator`) on some of its mutations, and `cross_tasks` on some of its
    crossovers: keep them cheap, never raise."""

    def mutate_schedule(self, calls: "list[Op]", rng: "Random") -> "list[Op] | None":
        ...

    def cross_tasks(self, calls1: "list[Op]", calls2: "list[Op]",
                    rng: "Random") -> "list[Op] | None":
        """A crossover of two inputs' ops without their scene ops: tasks taken from each
        (a program of one beside a program of the other), with a schedule; None when
        there is none to make. Called by the op mutator on some of its crossovers."""
        ...


# --- loading --------------------------------------------------------------------------------

def _entry_points() -> dict[str, str]:
    found = dict(BUILTIN)
    for ep in entry_points(group=GROUP):
        found[ep.name] = ep.value
    return found


def target_names() -> list[str]:
    """The names of every target, without importing any."""
    return sorted(_entry_points())


def plugin_package(name: str) -> str:
    """The top-level package a target's entry point lives in (for instrumentation);
    `fuzzplug` for unknown names (load_target reports those)."""
    spec = _entry_points().get(name, "fuzzplug")
    return spec.partition(":")[0].split(".")[0]


_loaded: dict[str, Target] = {}


def load_target(name: str) -> Target:
    """Import the target `name`; `TargetError` if unknown or if its plugin fails."""
    if name in _loaded:
        return _loaded[name]
    spec = _entry_points().get(name)
    if spec is None:
        raise TargetError(f"unknown target {name!r}; known targets: "
                          f"{', '.join(target_names())}")
    module_name, _, attr = spec.partition(":")
    try:
        obj = importlib.import_module(module_name)
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
    except Exception as exc:  # a third party's plugin: any failure is its load failure
        raise TargetError(f"target {name!r} failed to load from {spec}: {exc}") from exc
    if not isinstance(obj, Target):
        raise TargetError(f"target {name!r} ({spec}) does not implement fuzzplug's Target "
                          "protocol (name, description, schema, evaluate, branch_ids, "
                          "known_findings, seeds_dir)")
    _loaded[name] = obj
    return obj


# --- seeds of the built-in targets ------------------------------------------------------------

CHECKOUT_CORPORA = Path(__file__).resolve().parents[2] / "corpora"
"""Where the seed scenarios live in a source checkout: `corpora/<target>/*.ops`."""


def corpus_dir(name: str) -> Path | None:
    """The seed scenarios of the built-in target `name`: `fuzzplug/corpora/<name>/` inside
    this fuzzplug package, where a regular install (a wheel) puts the package
    `fuzzplug.corpora`, else the checkout's `corpora/<name>/` beside the package (a source
    tree, an editable install); None when neither exists. The package's own folder is
    looked in, not whatever `import fuzzplug.corpora` finds: an editable install of
    another tree could map that name elsewhere."""
    installed = resources.files("fuzzplug") / "corpora" / name
    if installed.is_dir():
        return Path(str(installed))
    here = CHECKOUT_CORPORA / name
    return here if here.is_dir() else None

"""The differential oracle's generic part: verdicts, side records, findings, signatures.

A target runs an op sequence on both models and compares each op's two `OpRun`s itself
(what is observable is the target's business: for the kernel models,
`fuzzplug.explore.observe` says which events and which state count); what counts as the
intended delta is the target's own declarative rule table. This module holds what every
target shares: the verdicts, the records of a run, and the naming of a divergence.

A divergence is described by a list of *diffs*, strings of two forms:

- an observed difference, `<what>:<detail>`: a return (`ret:0->-16`), an event
  (`warn:<function>:<condition>`, `events_diff` below) or a broken promise of an intended
  rule (`promise:pte.DIRTY`);
- a state descriptor, `<kind>.<field>` without a colon (`pte.DIRTY`, `page.refcount`,
  `counter.MM_ANONPAGES`).

The signature names the observed differences when there are any, otherwise the kinds of
state that differ (see `primary_diffs`).
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any


class Verdict(enum.Enum):
    """The oracle's answer for one op sequence."""

    SAME = "same"  # every op behaved identically
    INTENDED = "intended"  # differences, all of them the patch's stated intent
    DIVERGENT = "divergent"  # a change of behaviour beyond the intent
    CANDIDATE = "candidate"  # a difference a budgeted evaluation could not settle: only
    # `evaluate_budgeted` gives it (`fuzzplug.targets.Budgeted`); the full evaluation
    # confirms it (divergent) or drops it

    @classmethod
    def of(cls, finding: object, rules_applied: object) -> "Verdict":
        """An evaluation's verdict: divergent with a finding, else intended when a rule
        allowed a difference, else same."""
        if finding is not None:
            return cls.DIVERGENT
        return cls.INTENDED if rules_applied else cls.SAME


@dataclass(slots=True)
class OpRun:
    """What one side did for one op: the caller-visible return, the events and branch ids
    of that op, and whether the call ended in a BUG (the task is then dead)."""

    ret: str
    events: list[Any] = field(default_factory=list)
    branches: list[str] = field(default_factory=list)
    oops: bool = False


def _slug(text: str) -> str:
    """A condition or reason as a short identifier: `pte_present_ptep_pte_protnone_ptep`."""
    return "_".join(re.findall(r"[A-Za-z0-9]+", text))[:48]


def events_diff(pre: list[tuple], post: list[tuple]) -> list[str]:
    """Observable events present on one side only, as `kind:function:what` descriptors."""
    if pre == post:
        return []
    only = set(pre) ^ set(post)
    if not only:  # same events, different order or count
        return sorted({f"{k}:{f}:order" for k, f, _ in pre + post})
    return sorted({f"{k}:{f}:{_slug(w)}" if w else f"{k}:{f}" for k, f, w in only})


def is_state_descriptor(diff: str) -> bool:
    """Whether a diff names a differing piece of state (`pte.DIRTY`) rather than an
    observed difference (`ret:...`, `warn:...`, `promise:...`)."""
    return ":" not in diff


def primary_diffs(diffs: list[str], own: frozenset[str] = frozenset()) -> list[str]:
    """What a signature names: the differing events, returns and broken promises when there
    are any (the state differences are then their consequences, which vary with the
    configuration); otherwise which kinds of state differ (`state:counter+page+pte`): the
    fields that differ within a kind follow from the configuration and the input (which
    bits the prot had, whether the page was ever allocated) and are in the record.

    A descriptor in `own` is named by itself (`state:pte.SOFT_DIRTY`) when it is the only
    difference of its kind: a target declares so a field whose difference alone is a
    behaviour of its own, so that a triaged difference of that field does not hide every
    other difference of the kind behind one name."""
    primary = [d for d in diffs if not is_state_descriptor(d)]
    if primary:
        return primary
    by_kind: dict[str, set[str]] = {}
    for d in diffs:
        by_kind.setdefault(d.split(".", 1)[0], set()).add(d)
    names = sorted(next(iter(ds)) if len(ds) == 1 and ds <= own else kind
                   for kind, ds in by_kind.items())
    return ["state:" + "+".join(names)] if names else []


def signature(op: str, diffs: list[str], pre_branches: list[str],
              post_branches: list[str], path_prefixes: tuple[str, ...] = (), *,
              incidental: frozenset[str] = frozenset(),
              incidental_prefixes: tuple[str, ...] = (),
              own: frozenset[str] = frozenset()) -> str:
    """A stable name for a divergence: the op, its primary differing observables, and a
    short hash of the branch ids that only the post-patch side took in that op — the code
    the patch made run, less the `incidental` ones (branch ids whose taking depends on
    history, not on the behaviour that differs) and those starting with one of the
    `incidental_prefixes` (a layer whose branches follow from the configuration). What the
    pre-patch side did instead depends on the configuration and is in the record, not in
    the name (`own`: see `primary_diffs`). One bug
    reached by different inputs gets one signature; different observables or different
    patched code paths get different ones. `path_prefixes` names branch ids a target wants
    in the hash even when both sides took them (the patched function's own choice of path,
    so that a divergence on one path does not hide behind one on another)."""
    a = {x for x in pre_branches if not x.startswith(incidental_prefixes)} - incidental
    b = {x for x in post_branches if not x.startswith(incidental_prefixes)} - incidental
    post_only = sorted((b - a) | {x for x in b if x.startswith(path_prefixes)})
    digest = hashlib.sha1("|".join(post_only).encode()).hexdigest()[:8]
    return f"{op}/{'+'.join(primary_diffs(diffs, own))}/{digest}"


def signature_id(sig: str) -> str:
    """A short, file-name-safe id for a signature (findings folders, crash-state names)."""
    return hashlib.sha1(sig.encode()).hexdigest()[:12]


def family(op: str, diffs: list[str]) -> str:
    """The signature family: the op and the kind of the first differing observable
    (`vm_insert_mixed_mkwrite__warn`); the harness raises from one frame per family."""
    diffs = primary_diffs(diffs)
    first = diffs[0].split(":")[0].split(".")[0] if diffs else "none"
    return f"{op}__{first}"


@dataclass(slots=True)
class Finding:
    """Where and how the two sides first differed."""

    op_index: int
    op: str
    diffs: list[str]
    signature: str
    family: str
    rule: str | None = None  # the intended rule the op fell under, if any
    pre_branches: list[str] = field(default_factory=list)
    post_branches: list[str] = field(default_factory=list)


class SideRecord:
    """One side's whole run: per-op returns, events (tagged with the op index), branch ids,
    and the final state. Built lazily from the runs and the side's state object (`kernel`:
    anything with a `snapshot()` returning JSON; events are anything with a `to_json()`),
    so the fuzzing hot path (which needs only the verdict) pays nothing for it."""

    __slots__ = ("version", "runs", "kernel", "_json")

    def __init__(self, version: str, kernel: Any = None):
        self.version = version
        self.runs: list[OpRun] = []
        self.kernel = kernel
        self._json: dict | None = None

    def add(self, index: int, run: OpRun) -> None:
        self.runs.append(run)

    @property
    def rets(self) -> list[str]:
        return [r.ret for r in self.runs]

    @property
    def branches(self) -> list[list[str]]:
        return [list(r.branches) for r in self.runs]

    @property
    def events(self) -> list[dict]:
        out = []
        for index, run in enumerate(self.runs):
            for e in run.events:
                record = e.to_json()
                record["op"] = index
                out.append(record)
        return out

    @property
    def state(self) -> dict:
        return self.kernel.snapshot() if self.kernel is not None else {}

    def to_json(self) -> dict:
        if self._json is None:
            self._json = {"version": self.version, "ret": self.rets, "events": self.events,
                          "branches": self.branches, "state": self.state}
        return self._json


@dataclass(slots=True)
class Outcome:
    """The oracle's result for one sequence."""

    verdict: Verdict
    finding: Finding | None
    pre: SideRecord
    post: SideRecord
    rules_applied: list[str] = field(default_factory=list)

    @property
    def signature(self) -> str | None:
        return self.finding.signature if self.finding else None

    def to_json(self) -> dict:
        out = {"verdict": self.verdict.value, "signature": self.signature,
               "rules_applied": self.rules_applied, "pre": self.pre.to_json(),
               "post": self.post.to_json()}
        if self.finding is not None:
            f = self.finding
            out["finding"] = {"op_index": f.op_index, "op": f.op, "diffs": f.diffs,
                              "family": f.family, "rule": f.rule,
                              "pre_branches": f.pre_branches,
                              "post_branches": f.post_branches}
        return out

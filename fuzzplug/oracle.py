"""The differential oracle's generic part: verdicts, side records, observables, signatures.

A target runs an op sequence on both models and hands each op's two `OpRun`s here to be
compared; what counts as the intended delta is the target's own declarative rule table
(for insert_pfn: `fuzzplug.targets.insert_pfn.INTENDED_RULES`).

What is compared (what callers and the rest of the kernel can observe): the return value as
the caller sees it, the WARN/BUG/bad-PTE/signal events (architecture debug checks included)
and ppc64's bad-HPTE events, and the state: every PTE, every struct page that the run
touched, the rss counters, the page-table pages, ppc64's hash page table. Not compared:
the order and number of internal helper calls and architecture hooks, and the WARN_ON_ONCE
once-state (hidden until it hides a warning, which then shows as a missing WARN).
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, field

from fuzzplug.kernel.state import (
    OBSERVABLE_KINDS,
    Event,
    EventKind,
    Kernel,
    PageKind,
    page,
)


class Verdict(enum.Enum):
    """The oracle's answer for one op sequence."""

    SAME = "same"  # every op behaved identically
    INTENDED = "intended"  # differences, all of them the patch's stated intent
    DIVERGENT = "divergent"  # a change of behaviour beyond the intent


@dataclass(slots=True)
class OpRun:
    """What one side did for one op: the caller-visible return, the events and branch ids
    of that op, and whether the call ended in a BUG (the task is then dead)."""

    ret: str
    events: list[Event] = field(default_factory=list)
    branches: list[str] = field(default_factory=list)
    oops: bool = False


def observables(events: list[Event]) -> list[tuple]:
    """The caller-visible events of an op, in order: printed warnings, BUGs, bad PTEs and
    signals, each by kind, function and what fired."""
    out = []
    for e in events:
        if e.kind not in OBSERVABLE_KINDS:
            continue
        if e.kind is EventKind.WARN and not e.get("printed", True):
            continue
        what = e.get("condition") or e.get("signal") or ""
        out.append((e.kind.value, e.function, what))
    return out


def state_diff(pre: Kernel, post: Kernel) -> list[str]:
    """The observable state that differs, as stable descriptors (`pte.DIRTY`, `pte.pfn`,
    `page.refcount`, `counter.MM_ANONPAGES`, ...); empty when equal."""
    if pre.same_state(post):
        return []
    a, b = pre.snapshot(), post.snapshot()
    out: set[str] = set()
    for addr in set(a["ptes"]) | set(b["ptes"]):
        x, y = a["ptes"].get(addr), b["ptes"].get(addr)
        if x is None or y is None:
            out.add("pte.presence")
            continue
        if x["pfn"] != y["pfn"]:
            out.add("pte.pfn")
        fx, fy = set(x["flags"].split("|")), set(y["flags"].split("|"))
        out.update(f"pte.{bit}" for bit in fx ^ fy)
    for pfn in sorted(set(pre.pages) | set(post.pages)):
        x, y = _page_state(pre, pfn), _page_state(post, pfn)
        for key, u, v in zip(("refcount", "mapcount", "anon", "dirty", "referenced",
                              "allocated"), x, y):
            if u != v:
                out.add(f"page.{key}")
    for name, n in a["counters"].items():
        if b["counters"][name] != n:
            out.add(f"counter.{name}")
    for level, n in a["pgtables"].items():
        if b["pgtables"][level] != n:
            out.add(f"pgtable.{level}")
    for addr in set(a["hptes"]) | set(b["hptes"]):
        x, y = a["hptes"].get(addr, {}), b["hptes"].get(addr, {})
        for slot in set(x) | set(y):
            if slot not in x or slot not in y:
                out.add("hpte.presence")
                continue
            if x[slot]["pfn"] != y[slot]["pfn"]:
                out.add("hpte.pfn")
            if x[slot]["perm"] != y[slot]["perm"]:
                out.add("hpte.perm")
    # `tainted` is not compared: it follows from the WARN/bad-PTE events, compared as such.
    return sorted(out)


def _slug(text: str) -> str:
    """A condition or reason as a short identifier: `pte_present_ptep_pte_protnone_ptep`."""
    return "_".join(re.findall(r"[A-Za-z0-9]+", text))[:48]


def pfn_to_page_pristine(k: Kernel, pfn: int) -> page:
    """The struct page of `pfn` as the memory map hands it over (untouched)."""
    kind = k.memmap.kind(pfn, k.config.DEVMAP)
    if kind is PageKind.ANON:
        return page(pfn, kind, _refcount=0, allocated=False)
    return page(pfn, kind)


def _page_state(k: Kernel, pfn: int) -> tuple:
    p = k.pages.get(pfn)
    if p is not None:
        return p.state()
    return pfn_to_page_pristine(k, pfn).state()


def events_diff(pre: list[tuple], post: list[tuple]) -> list[str]:
    """Observable events present on one side only, as `kind:function:what` descriptors."""
    if pre == post:
        return []
    only = set(pre) ^ set(post)
    if not only:  # same events, different order or count
        return sorted({f"{k}:{f}:order" for k, f, _ in pre + post})
    return sorted({f"{k}:{f}:{_slug(w)}" if w else f"{k}:{f}" for k, f, w in only})


# Branch ids whose taking depends on history, not on the behaviour that differs: whether
# the op found its PTE table or had to allocate it. Left out of signatures.
INCIDENTAL_BRANCHES = frozenset({
    "__get_locked_pte:ok",
    "__get_locked_pte:pte_table_allocated",
    "handle_pte_fault:no_pte_table",
    "zap_pte_range:no_pte_table",
})
# Branch ids of the architecture layer (fuzzplug.kernel.arch): the MMU's own access and
# ppc64's hash MMU. Which of them run follows from the configuration (which architecture,
# whether an entry is young), not from the patched code path; left out of signatures, so
# that one behaviour of the patch has one signature on every architecture (what the
# architecture makes of it shows in the observables: bad_hpte...).
INCIDENTAL_PREFIXES = ("mmu_access:", "update_mmu_cache:", "__hash_page_4K:", "pte_update:")


# Descriptors that follow from another one in the same diff (its "parent"), so that a bug
# shows one signature whatever the configuration adds: SOFT_DIRTY follows DIRTY (pte_mkdirty
# sets both), arm64's RDONLY follows RW and DIRTY, the special/devmap/cache bits follow a
# different pfn, a COW's page bookkeeping follows its refcount, ppc64's hash table follows
# its PTEs (what a PTE maps, whether it is hashed, its permission) and the HPTE slot bits in
# a PTE follow a difference of the hash table.
DERIVED = {
    "pte.SOFT_DIRTY": ("pte.DIRTY",),
    "pte.RDONLY": ("pte.RW", "pte.DIRTY"),
    "pte.SPECIAL": ("pte.pfn",),
    "pte.DEVMAP": ("pte.pfn",),
    "pte.PCD": ("pte.pfn",),
    "page.anon": ("page.refcount",),
    "page.allocated": ("page.refcount",),
    "page.referenced": ("page.refcount",),
    "hpte.presence": ("pte.presence", "pte.pfn", "pte.HASHPTE"),
    "hpte.pfn": ("pte.presence", "pte.pfn"),
    "hpte.perm": ("pte.presence", "pte.pfn", "pte.RW", "pte.DIRTY"),
    "pte.F_SECOND": ("hpte.presence", "pte.HASHPTE"),
    "pte.F_GIX0": ("hpte.presence", "pte.HASHPTE"),
    "pte.F_GIX1": ("hpte.presence", "pte.HASHPTE"),
    "pte.F_GIX2": ("hpte.presence", "pte.HASHPTE"),
}


def _pte_bit(descriptor: str) -> bool:
    return descriptor.startswith("pte.") and descriptor[4:].isupper()


def signature_diffs(diffs: list[str]) -> list[str]:
    """The diffs a signature names: derived descriptors dropped when their parent is there;
    when the entry maps another pfn (or exists on one side only), its bits differ as a
    consequence and are dropped too."""
    present = set(diffs)
    whole_entry = "pte.pfn" in present or "pte.presence" in present
    return [d for d in diffs
            if not any(p in present for p in DERIVED.get(d, ()))
            and not (whole_entry and _pte_bit(d))]


PRIMARY_PREFIXES = ("bug:", "warn:", "bad_pte:", "bad_hpte:", "signal:", "ret:", "promise:")


def primary_diffs(diffs: list[str]) -> list[str]:
    """What a signature names: the differing events, returns and broken promises when there
    are any (the state differences are then their consequences, which vary with the
    configuration); otherwise which kinds of state differ (`state:counter+page+pte`): the
    fields that differ within a kind follow from the configuration and the input (which
    bits the prot had, whether the page was ever allocated) and are in the record."""
    primary = [d for d in diffs if d.startswith(PRIMARY_PREFIXES)]
    if primary:
        return primary
    kinds = sorted({d.split(".", 1)[0] for d in signature_diffs(diffs)})
    return ["state:" + "+".join(kinds)] if kinds else []


def signature(op: str, diffs: list[str], pre_branches: list[str],
              post_branches: list[str], path_prefixes: tuple[str, ...] = ()) -> str:
    """A stable name for a divergence: the op, its primary differing observables, and a
    short hash of the branch ids that only the post-patch side took in that op — the code
    the patch made run (incidental and architecture-layer branch ids left out). What the
    pre-patch side did instead depends on the configuration and is in the record, not in
    the name. One bug reached by different inputs gets one signature; different
    observables or different patched code paths get different ones. `path_prefixes` names branch ids a target wants
    in the hash even when both sides took them (the patched function's own choice of path,
    so that a divergence on one path does not hide behind one on another)."""
    a = {x for x in pre_branches if not x.startswith(INCIDENTAL_PREFIXES)} - INCIDENTAL_BRANCHES
    b = {x for x in post_branches if not x.startswith(INCIDENTAL_PREFIXES)} - INCIDENTAL_BRANCHES
    post_only = sorted((b - a) | {x for x in b if x.startswith(path_prefixes)})
    digest = hashlib.sha1("|".join(post_only).encode()).hexdigest()[:8]
    return f"{op}/{'+'.join(primary_diffs(diffs))}/{digest}"


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
    and the final state. Built lazily from the runs and the kernel, so the fuzzing hot path
    (which needs only the verdict) pays nothing for it."""

    __slots__ = ("version", "runs", "kernel", "_json")

    def __init__(self, version: str, kernel: Kernel | None = None):
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

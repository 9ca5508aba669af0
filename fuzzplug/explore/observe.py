"""What the oracle observes of a modelled kernel: the kernel-state half of the oracle.

A target over the kernel models compares, after each op, what callers and the rest of the
kernel can observe (`fuzzplug.core.oracle` holds the generic part: verdicts, records,
signatures). This module says what that is for a `Kernel`:

- the observable events: printed warnings, BUGs, bad PTEs, signals and ppc64's bad-HPTE
  events (`observables`); architecture debug checks included, internal helper calls and
  hooks not;
- the state: every PTE, every struct page the run touched, the rss counters, the page-table
  pages, ppc64's hash page table (`state_diff`), as stable descriptors (`pte.DIRTY`,
  `page.refcount`, `hpte.presence`...). The
  WARN_ON_ONCE once-state is not compared (hidden until it hides a warning, which then
  shows as a missing WARN), nor `tainted` (it follows from the WARN/bad-PTE events);
- which branch ids depend on history rather than on behaviour (`INCIDENTAL_BRANCHES`) or
  belong to the architecture layer (`INCIDENTAL_PREFIXES`), left out of signatures:
  `signature` here is the core's with them left out;
- which descriptors follow from another one (`DERIVED`, `signature_diffs`).
"""

from __future__ import annotations

from fuzzplug.core import oracle
from fuzzplug.kernel.state import (
    OBSERVABLE_KINDS,
    Event,
    EventKind,
    Kernel,
    PageKind,
    page,
)
from fuzzplug.kernel.types import PAGE_SHIFT


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


def state_diff(pre: Kernel, post: Kernel, skip: frozenset[int] = frozenset()) -> list[str]:
    """The observable state that differs, as stable descriptors (`pte.DIRTY`, `pte.pfn`,
    `page.refcount`, `counter.MM_ANONPAGES`, ...); empty when equal. The PTEs and HPTEs of
    the pages in `skip` (page numbers, vpn) are left out: a target's intended rule has
    accounted for them (see `entry_diff`)."""
    if pre.same_state(post):
        return []
    a, b = pre.snapshot(), post.snapshot()
    skipped = {f"{vpn << PAGE_SHIFT:#x}" for vpn in skip}
    out: set[str] = set()
    for addr in (set(a["ptes"]) | set(b["ptes"])) - skipped:
        _pte_diff(a["ptes"].get(addr), b["ptes"].get(addr), out)
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
    for addr in (set(a["hptes"]) | set(b["hptes"])) - skipped:
        _hpte_diff(a["hptes"].get(addr, {}), b["hptes"].get(addr, {}), out)
    # `tainted` is not compared: it follows from the WARN/bad-PTE events, compared as such.
    return sorted(out)


def _pte_diff(x: dict | None, y: dict | None, out: set[str]) -> None:
    if x is None and y is None:
        return
    if x is None or y is None:
        out.add("pte.presence")
        return
    if x["pfn"] != y["pfn"]:
        out.add("pte.pfn")
    fx, fy = set(x["flags"].split("|")), set(y["flags"].split("|"))
    out.update(f"pte.{bit}" for bit in fx ^ fy)


def _hpte_diff(x: dict, y: dict, out: set[str]) -> None:
    for slot in set(x) | set(y):
        if slot not in x or slot not in y:
            out.add("hpte.presence")
            continue
        if x[slot]["pfn"] != y[slot]["pfn"]:
            out.add("hpte.pfn")
        if x[slot]["perm"] != y[slot]["perm"]:
            out.add("hpte.perm")


def entry_diff(pre: Kernel, post: Kernel, vpn: int) -> list[str]:
    """What differs in one page's translation: its PTE (`pte.<bit>`, `pte.pfn`,
    `pte.presence`) and, on ppc64's hash MMU, its HPTEs (`hpte.*`)."""
    out: set[str] = set()
    x, y = pre.mm.pgtable.get(vpn), post.mm.pgtable.get(vpn)
    _pte_diff(None if x is None else pre.observed_pte(x).to_json(),
              None if y is None else post.observed_pte(y).to_json(), out)
    _hpte_diff(_hptes_of(pre, vpn), _hptes_of(post, vpn), out)
    return sorted(out)


def _hptes_of(k: Kernel, vpn: int) -> dict:
    return {str(slot): h.to_json() for (v, slot), h in k.htab.items() if v == vpn}


def entry_key(k: Kernel, vpn: int) -> tuple:
    """One page's translation as a value: its raw PTE and its HPTEs (for "unchanged?")."""
    return (k.mm.pgtable.get(vpn), tuple(sorted((slot, h) for (v, slot), h in k.htab.items()
                                                if v == vpn)))


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


def signature(op: str, diffs: list[str], pre_branches: list[str], post_branches: list[str],
              path_prefixes: tuple[str, ...] = ()) -> str:
    """`fuzzplug.core.oracle.signature` over the `signature_diffs` (a state-only signature
    names the kinds of state that differ less those that only follow from another: a hash
    table that differs because its PTEs do is named `state:pte`; a PTE that differs in
    SOFT_DIRTY alone is named `state:pte.SOFT_DIRTY`, see `OWN_DESCRIPTORS`), with the
    `INCIDENTAL_BRANCHES` and the architecture layer's branch ids (`INCIDENTAL_PREFIXES`)
    left out of the hash."""
    return oracle.signature(op, signature_diffs(diffs), pre_branches, post_branches,
                            path_prefixes,
                            incidental=INCIDENTAL_BRANCHES,
                            incidental_prefixes=INCIDENTAL_PREFIXES,
                            own=OWN_DESCRIPTORS)


# State descriptors a state-only signature names by themselves when nothing else of their
# kind differs. SOFT_DIRTY is a software bit only soft-dirty tracking reads (pagemap); which
# code sets it (pte_mkdirty() or not, an architecture's ptep_set_access_flags() keeping it
# or not, the MMU never) is a behaviour apart from what the entry translates and permits.
# Named with the rest of `pte`, a triaged SOFT_DIRTY-only difference would hide any other
# PTE difference on the same patched path (the self-test's reuse_rebuilds_entry did).
OWN_DESCRIPTORS = frozenset({"pte.SOFT_DIRTY"})


# Descriptors that follow from another one in the same diff (its "parent"), so that a bug
# shows one signature whatever the configuration adds: SOFT_DIRTY follows DIRTY (pte_mkdirty
# sets both), arm64's RDONLY follows RW and DIRTY, the special/devmap/cache bits follow a
# different pfn, a COW's page bookkeeping follows its refcount, ppc64's hash table follows
# its PTEs (what a PTE maps, its permission), and the hash bookkeeping bits of a PTE
# (H_PAGE_HASHPTE, the slot) follow the hash table: whether a page is hashed is the hash
# table's state, which the PTE only records, so a difference of it alone is `state:hpte`,
# apart from a difference of what the entry maps or permits.
DERIVED = {
    "pte.SOFT_DIRTY": ("pte.DIRTY",),
    "pte.RDONLY": ("pte.RW", "pte.DIRTY"),
    "pte.SPECIAL": ("pte.pfn",),
    "pte.DEVMAP": ("pte.pfn",),
    "pte.PCD": ("pte.pfn",),
    "page.anon": ("page.refcount",),
    "page.allocated": ("page.refcount",),
    "page.referenced": ("page.refcount",),
    "hpte.presence": ("pte.presence", "pte.pfn"),
    "hpte.pfn": ("pte.presence", "pte.pfn"),
    "hpte.perm": ("pte.presence", "pte.pfn", "pte.RW", "pte.DIRTY"),
    "pte.HASHPTE": ("hpte.presence",),
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
    consequence and are dropped too. Observed differences (`ret:`, `warn:`...) all stay."""
    present = set(diffs)
    whole_entry = "pte.pfn" in present or "pte.presence" in present
    return [d for d in diffs
            if not any(p in present for p in DERIVED.get(d, ()))
            and not (whole_entry and _pte_bit(d))]

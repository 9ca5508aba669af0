"""dax_fault's oracle, op by op: one side of one op (`Side`, `run_side`), the rules of a
pair (`PairRules`) and the fixes' judges, and `compare_op`, which compares the two sides
after an op under them (`fuzzplug.targets.dax_fault.target` runs it over a sequence)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fuzzplug.core.oracle import Finding, OpRun, events_diff, family
from fuzzplug.explore import daxfile, daxview
from fuzzplug.explore.daxfile import Access, AccessStatus, DaxMachine, OpResult
from fuzzplug.explore.mkwrite import (
    F2C_WARN,
    MISMATCH,
    MISMATCH_ZERO_PFN,
    OLD_STORE_REPORTS,
    REUSE,
    REUSE_STORED,
    SEED_WARN,
    STORE_KEEPS,
)
from fuzzplug.explore.observe import observables, signature, signature_diffs
from fuzzplug.kernel import fs
from fuzzplug.kernel.state import PTE_TABLE_SHIFT, EventKind
from fuzzplug.kernel.types import PAGE_SHIFT, PAGE_SIZE
from fuzzplug.targets.dax_fault.rules import (
    FEWER_ALLOCATIONS,
    HOLE_READ_ZERO_PAGE,
    HOLE_REPLACEMENT,
    INTENDED_RULES,
    MKWRITE_ONE_FAULT,
    REUSE_STORES_WITH_PTEP_SET_ACCESS_FLAGS,
    ZERO_PFN_MISMATCH_IS_SILENT,
)
from fuzzplug.targets.dax_fault.schema import ALLOC_SITES
from fuzzplug.targets.dax_fault.view import (
    StateNote,
    _MAP_KINDS,
    normalised_view,
    story,
    user_view,
    view_diff,
)

# --- one side of one op -------------------------------------------------------------------------

# Where v4.13 makes the allocations v4.14 does not (rule fewer_allocations): the hole page,
# and the hole fill's tree preload (add_to_page_cache's preload follows a hole page).
_HOLE_ALLOC_SITE = "__page_cache_alloc"
_HOLE_FILL_BRANCH = "dax_insert_mapping_entry:hole_fill"
# v4.13 could not get a page-cache page for a hole (injected, or RAM used up).
_HOLE_PAGE_ALLOC_FAILED = "pagecache_get_page:alloc_failed"
# The arming sites whose count v4.13's hole allocations shift: the hole page itself, the
# tree preloads (add_to_page_cache's and the hole fill's), and "the N-th allocation" of any
# site. A failure armed at another site (the page tables, anon_vma, a COW page) counts the
# same allocations on both sides, and fires at the same one.
_SHIFTED_SITES = frozenset({"any", _HOLE_ALLOC_SITE, "radix_tree_preload"})


@dataclass(frozen=True, slots=True)
class UnfilledHole:
    """A hole read whose page v4.13 could not get (rule fewer_allocations): file page
    `index`, read at `addr`. v4.13 left an unlocked empty entry and no PTE there (nor, if it
    had none, the PTE table) where v4.14 has its zero-page entry and PTE."""

    index: int
    addr: int


@dataclass(slots=True)
class Side:
    """One side's run: the machine, whether it is dead (a BUG or a hang ended a call), and,
    for rule fewer_allocations: while an injected failure is armed on either side, the
    event index it was first armed at and whether a hole fill has run since; the sites
    armed before the op now running; and (v4.13) the holes whose page it could not get."""

    m: DaxMachine
    dead: bool = False
    armed_since: int | None = None
    hole_fill_since_armed: bool = False
    armed_sites: frozenset[str] = frozenset()
    unfilled: list[UnfilledHole] = field(default_factory=list)
    ptes_not_made: set[int] = field(default_factory=set)
    tables_not_made: set[int] = field(default_factory=set)


def run_side(side: Side, name: str, args: dict[str, int]) -> tuple[OpRun, OpResult | None]:
    """One call on one side: its OpRun (the trace's return, the kernel's events and the
    state notes, the branch ids) and the model's OpResult (None on a dead side)."""
    if side.dead:
        return OpRun(ret="dead", oops=True), None
    k = side.m.k
    e0, b0 = len(k.events), len(k.branches)
    side.armed_sites = _armed_sites(side)
    if name == "fail_alloc":
        site = ALLOC_SITES[args["site"]]
        args = {"nth": args["nth"], "site": None if site == "any" else site}
        if side.armed_since is None:  # else the earlier arming is still pending
            side.armed_since = e0
            side.hole_fill_since_armed = False
    before = _story_state(side.m)
    res = daxfile.run_op(side.m, name, **args)
    branches = k.branches[b0:]
    if side.armed_since is not None and _HOLE_FILL_BRANCH in branches:
        side.hole_fill_since_armed = True
    events = k.events[e0:] + _state_notes(before, _story_state(side.m))
    if res.stop is not None:
        side.dead = True
    return OpRun(ret=story(res), events=events, branches=branches,
                 oops=res.stop is not None), res


def _story_state(m: DaxMachine) -> dict[str, str]:
    """What the trace tells of the state: PTEs, mapping entries and tags, file pages."""
    out = {}
    for vpn, pte in m.k.mm.pgtable.items():
        j = pte.to_json()
        out[f"pte {vpn << PAGE_SHIFT:#x}"] = f"pfn {j['pfn']:#x} {j['flags']}"
    for index, entry in m.mapping.page_tree.items():
        desc = daxview.describe_entry(entry)
        tags = sorted(fs.TAG_NAMES[t] for t in m.mapping.tags.get(index, ()))
        extra = f" pfn {desc['pfn']:#x}" if "pfn" in desc else ""
        extra += f" sector {desc['sector']}" if "sector" in desc else ""
        extra += " locked" if desc.get("locked") else ""
        out[f"entry {index}"] = f"{desc['kind']}{extra}{' ' + '|'.join(tags) if tags else ''}"
    for lblk, page in daxview.file_view(m)["pages"].items():
        out[f"file page {lblk}"] = (f"block {page['block']} visible {page['visible']:#x} "
                                    f"durable {page['durable']:#x}")
    return out


def _state_notes(before: dict[str, str], after: dict[str, str]) -> list[StateNote]:
    notes = []
    for key in sorted(before.keys() | after.keys()):
        x, y = before.get(key), after.get(key)
        if x != y:
            notes.append(StateNote("state", f"{key}: {y if y is not None else 'gone'}"))
    return notes


def _kernel_events(run: OpRun) -> list:
    return [e for e in run.events if not isinstance(e, StateNote)]


def _alloc_fails(run: OpRun) -> list[str]:
    return [e.function for e in _kernel_events(run) if e.kind is EventKind.ALLOC_FAIL]


def _failure_pending(side: Side) -> bool:
    """Whether an injected allocation failure is still armed on the side."""
    k = side.m.k
    return k.fail_at is not None or k.fail_site is not None


def _armed_sites(side: Side) -> frozenset[str]:
    """The sites of the failures armed on the side (`any`: the N-th allocation)."""
    k = side.m.k
    sites = {"any"} if k.fail_at is not None else set()
    if k.fail_site is not None:
        sites.add(k.fail_site[0])
    return frozenset(sites)


def _v4_13_made_hole_allocations(side: Side) -> bool:
    """Whether v4.13 made an allocation v4.14 does not since the failure was armed: a
    page-cache page for a hole (with its add_to_page_cache preload), or a hole fill's
    preload (dax_insert_mapping_entry replacing a hole page)."""
    if side.armed_since is None:
        return False
    if side.hole_fill_since_armed:
        return True
    return any(e.kind in (EventKind.ALLOC, EventKind.ALLOC_FAIL)
               and e.function == _HOLE_ALLOC_SITE for e in side.m.k.events[side.armed_since:])


# --- the fixes' rules (the pairs after v4.14) ----------------------------------------------------

SERIES_RULE_NAMES = frozenset(rule.name for rule in INTENDED_RULES)



@dataclass(slots=True)
class PairRules:
    """The rules of the pair an evaluation compares, as `compare_op` applies them: whether
    the series' rules apply (the pair spans v4.13 → v4.14), the fixes' rule names, and the
    addresses whose entry rule reuse_stores_with_ptep_set_access_flags let differ in an
    earlier op (address → both sides' view of it then), carried while neither changes."""

    names: frozenset[str]
    carried: dict[int, tuple] = field(default_factory=dict)

    @property
    def series(self) -> bool:
        return HOLE_READ_ZERO_PAGE.name in self.names


def _fired(run: OpRun, warn: tuple) -> list:
    return [e for e in _kernel_events(run) if e.kind is EventKind.WARN
            and (e.kind.value, e.function, e.get("condition")) == warn]


def _judge_zero_pfn_mismatch(a: OpRun, b: OpRun, events_a: list, events_b: list,
                             applied: list[str]) -> list:
    """Rule zero_pfn_mismatch_is_silent (f2c57d91b0d9), as the insert_pfn target judges it:
    returns the post side's events with its warning named as the pre side's."""
    pre_warn = _fired(a, SEED_WARN)
    return zero_pfn_mismatch_events(a.branches, b.branches, events_a, events_b, applied,
                                    fired=bool(pre_warn),
                                    spent=bool(pre_warn) and not any(
                                        e.get("printed", True) for e in pre_warn))


def zero_pfn_mismatch_events(branches_a, branches_b, events_a: list, events_b: list,
                             applied: list[str], fired: bool | None = None,
                             spent: bool = False) -> list:
    """Rule zero_pfn_mismatch_is_silent on one call's printed events (`events_a` is edited
    in place; the post side's are returned): where both sides took the mismatch path and
    the pre side's mismatch WARN fired (`fired`; by default, was printed), the post side's
    warning is named as the pre side's; the pre side's print is left out when the post side
    took the zero-pfn branch without printing, and the post side's when the pre side's once
    was spent (`spent`: fired, not printed)."""
    if MISMATCH not in branches_a or MISMATCH not in branches_b:
        return events_b
    if not (SEED_WARN in events_a if fired is None else fired):
        return events_b  # the pre side does not run the code the fix replaced
    events_b = [SEED_WARN if e == F2C_WARN else e for e in events_b]
    if MISMATCH_ZERO_PFN in branches_b and SEED_WARN in events_a \
            and SEED_WARN not in events_b:
        events_a.remove(SEED_WARN)
        applied.append(ZERO_PFN_MISMATCH_IS_SILENT.name)
    elif SEED_WARN in events_b and SEED_WARN not in events_a and spent:
        events_b.remove(SEED_WARN)
        applied.append(ZERO_PFN_MISMATCH_IS_SILENT.name)
    return events_b


def _at(view: dict, addr: int) -> tuple:
    """A view's PTE and HPTEs at `addr` (what rule reuse_stores_with_ptep_set_access_flags
    speaks of)."""
    pte = f"pte.{addr:#x}"
    return tuple(sorted((k, v) for k, v in view.items()
                        if k == pte or k.startswith(f"hpte.{addr:#x}.")))


def _without_kept(view: dict, addrs, keeps: frozenset[str]) -> dict:
    """The view with, at each address, the PTE bits `keeps` and the HPTEs left out."""
    out = dict(view)
    for addr in addrs:
        for key in [k for k in out if k.startswith(f"hpte.{addr:#x}.")]:
            del out[key]
        pte = out.get(f"pte.{addr:#x}")
        if pte is not None:
            out[f"pte.{addr:#x}"] = (pte[0], tuple(f for f in pte[1] if f not in keeps))
    return out


def _judge_reuse_store(a: OpRun, b: OpRun, addr: int | None, events_a: list,
                       events_b: list, rules: PairRules, applied: list[str]) -> list:
    """Rule reuse_stores_with_ptep_set_access_flags (cae85cb8add3): where the pre side
    stored a reused entry with set_pte_at() and the post side with
    ptep_set_access_flags(), the pre side's reports of the old store are left out
    (returned: the pre side's events still compared) and the access's address is carried
    (`rules.carried`; `_ruled_views` leaves its kept bits and HPTEs out)."""
    if addr is None or not _reuses_differently(a.branches, b.branches):
        return events_a
    events_a = old_store_reports(a.branches, b.branches, events_a, events_b, applied)
    rules.carried[addr & ~(PAGE_SIZE - 1)] = None  # its views are taken after the op
    return events_a


def _reuses_differently(branches_a, branches_b) -> bool:
    """Whether the pre side reused a present entry with the store cae85cb8add3 replaced
    (set_pte_at()) and the post side with ptep_set_access_flags()."""
    return (REUSE in branches_a and not any(x in branches_a for x in REUSE_STORED)
            and any(x in branches_b for x in REUSE_STORED))


def old_store_reports(branches_a, branches_b, events_a: list, events_b: list,
                      applied: list[str]) -> list:
    """Rule reuse_stores_with_ptep_set_access_flags on one call's printed events: where the
    pre side reused the entry with set_pte_at() and the post side with
    ptep_set_access_flags(), the pre side's events without the old store's reports (those
    of `OLD_STORE_REPORTS` the post side has not)."""
    if not _reuses_differently(branches_a, branches_b):
        return events_a
    reports = [e for e in events_a if e[1] in OLD_STORE_REPORTS and e not in events_b]
    if reports:
        events_a = [e for e in events_a if e not in reports]
        if REUSE_STORES_WITH_PTEP_SET_ACCESS_FLAGS.name not in applied:
            applied.append(REUSE_STORES_WITH_PTEP_SET_ACCESS_FLAGS.name)
    return events_a


def _ruled_views(pre: Side, after: tuple[dict, dict], rules: PairRules,
                 applied: list[str]) -> tuple[dict, dict]:
    """The views compared after an op, with the carried addresses' kept bits and HPTEs left
    out; an address either side changed since it was carried is compared again."""
    if not rules.carried:
        return after
    keeps = STORE_KEEPS[pre.m.k.config.arch]
    for addr, seen in list(rules.carried.items()):
        now = (_at(after[0], addr), _at(after[1], addr))
        if seen is None:  # carried by this op
            rules.carried[addr] = now
            if now[0] != now[1] and REUSE_STORES_WITH_PTEP_SET_ACCESS_FLAGS.name not in applied:
                applied.append(REUSE_STORES_WITH_PTEP_SET_ACCESS_FLAGS.name)
        elif now != seen:
            del rules.carried[addr]
    addrs = tuple(rules.carried)
    return (_without_kept(after[0], addrs, keeps), _without_kept(after[1], addrs, keeps))


@dataclass(slots=True)
class Judgement:
    """The comparison of one op: its finding (or None), the rules that allowed a
    difference, and whether the run stops being compared (rule fewer_allocations)."""

    finding: Finding | None
    rules: list[str]
    stop: bool = False


def compare_op(pre: Side, post: Side, name: str, index: int, a: OpRun, b: OpRun,
               ra: OpResult | None, rb: OpResult | None,
               views: tuple[dict, dict], rules: PairRules | None = None,
               addr: int | None = None) -> tuple[Judgement, tuple[dict, dict]]:
    """Compare one op's two runs and the state after it (see the module docstring).
    `views` are both sides' normalised views before the op; `rules` the pair's (default:
    the series'), `addr` the op's user address if it has one; returns the judgement and the
    views after it."""
    if rules is None:
        rules = PairRules(SERIES_RULE_NAMES)
    if ra is None and rb is None:  # both dead since an earlier op
        return Judgement(None, []), views
    fails_a, fails_b = _alloc_fails(a), _alloc_fails(b)
    series = rules.series
    applied: list[str] = []
    hole_failed = series and _HOLE_PAGE_ALLOC_FAILED in a.branches and ra is not None
    if hole_failed and _HOLE_ALLOC_SITE in fails_a:  # v4.14 has no such allocation to fail
        fails_a = list(fails_a)
        fails_a.remove(_HOLE_ALLOC_SITE)
    armed = pre.armed_sites | post.armed_sites
    if (series and fails_a != fails_b and armed & _SHIFTED_SITES
            and _v4_13_made_hole_allocations(pre)):
        # The same arming names different allocations on the two sides: from here on they
        # failed different allocations by construction.
        return Judgement(None, [FEWER_ALLOCATIONS.name], stop=True), views
    if not (_failure_pending(pre) or _failure_pending(post)):
        pre.armed_since = post.armed_since = None
    if hole_failed:
        applied.append(FEWER_ALLOCATIONS.name)
        hole = _unfilled_hole(pre, post, name, addr)
        if hole is not None and hole not in pre.unfilled:
            pre.unfilled.append(hole)
            pre.ptes_not_made.add(hole.addr)
            table = hole.addr >> (PAGE_SHIFT + PTE_TABLE_SHIFT)
            if table in post.m.k.mm.pte_tables and table not in pre.m.k.mm.pte_tables:
                pre.tables_not_made.add(table)
    diffs: list[str] = []
    ua = user_view(ra) if ra is not None else "dead"
    ub = user_view(rb) if rb is not None else "dead"
    oom_13 = hole_failed and ua == AccessStatus.OOM.value  # the access the failure ended
    if ua != ub and not oom_13:
        sa, sb = ua.split()[0], ub.split()[0]  # a load's value is named apart: no tokens
        diffs.append(f"ret:{sa}->{sb}" if sa != sb else "load:value")
    if ra is not None and rb is not None and not oom_13:
        if isinstance(ra.ret, Access) and isinstance(rb.ret, Access):
            n13, n14 = ra.ret.faults, rb.ret.faults
            if name == "store" and n14 == n13 - 1 and ua == ub and series:
                applied.append(MKWRITE_ONE_FAULT.name)
            elif n14 > n13:
                diffs.append("faults:more")
            elif n14 < n13:
                diffs.append("faults:fewer")
    events_a, events_b = observables(_kernel_events(a)), observables(_kernel_events(b))
    if oom_13:
        events_a = [e for e in events_a if e != _OOM_SIGNAL]
    if ZERO_PFN_MISMATCH_IS_SILENT.name in rules.names:
        events_b = _judge_zero_pfn_mismatch(a, b, events_a, events_b, applied)
    if REUSE_STORES_WITH_PTEP_SET_ACCESS_FLAGS.name in rules.names:
        events_a = _judge_reuse_store(a, b, addr, events_a, events_b, rules, applied)
    diffs += events_diff(events_a, events_b)
    after = (normalised_view(pre.m) if ra is not None else views[0],
             normalised_view(post.m) if rb is not None else views[1])
    compared = _fold_unfilled_holes(pre, post, after)
    if compared is not after and not hole_failed:
        applied.append(FEWER_ALLOCATIONS.name)
    state = view_diff(*_ruled_views(pre, compared, rules, applied))
    diffs += [_MAP_KINDS.get(d, d) for d in signature_diffs(state)]
    if not diffs:
        holes = _hole_rules(views, after) if series else []
        return Judgement(None, applied + holes), after
    finding = Finding(index, name, diffs, signature(name, diffs, a.branches, b.branches),
                      family(name, diffs), None, sorted(set(a.branches)),
                      sorted(set(b.branches)))
    return Judgement(finding, []), after


_OOM_SIGNAL = ("signal", "mm_fault_error", "OOM")
"""The OOM a failed allocation makes of a user access (`fuzzplug.kernel.mm.mm_fault_error`),
as `observables` names it."""


def _unfilled_hole(pre: Side, post: Side, name: str, addr: int | None) -> UnfilledHole | None:
    """The hole a load at `addr` whose hole page v4.13 could not get left unfilled, if the
    op left what the failure leaves: v4.13's unlocked empty entry where v4.14 has a zero
    entry."""
    if name != "load" or addr is None:
        return None
    addr &= ~(PAGE_SIZE - 1)
    vma = next((v for v in pre.m.k.mm.mmap if v.vm_start <= addr < v.vm_end), None)
    if vma is None:
        return None
    index = vma.vm_pgoff + ((addr - vma.vm_start) >> PAGE_SHIFT)
    hole = UnfilledHole(index, addr)
    return hole if _still_unfilled(pre, post, hole) else None


def _still_unfilled(pre: Side, post: Side, hole: UnfilledHole) -> bool:
    """Whether v4.13's entry at the hole is still the unlocked empty entry its failed read
    left, and v4.14's the zero-page entry its read made."""
    a = pre.m.mapping.page_tree.get(hole.index)
    b = post.m.mapping.page_tree.get(hole.index)
    if a is None or b is None:
        return False
    da, db = daxview.describe_entry(a), daxview.describe_entry(b)
    return (da["kind"] == "empty" and not da["locked"] and db["kind"] == "zero"
            and not db["locked"])


def _fold_unfilled_holes(pre: Side, post: Side,
                         views: tuple[dict, dict]) -> tuple[dict, dict]:
    """Rule fewer_allocations after a hole page v4.13 could not get: while v4.13's entry
    there is still the unlocked empty entry the failure left and v4.14's the zero entry
    (`_still_unfilled`), those two entries compare equal, v4.13's empty entry is left out
    of nrexceptional; while v4.13 still has no PTE at the address read and v4.14 its
    zero-page PTE there, that PTE (with its HPTEs) is left out; and while v4.13 still lacks
    the PTE table its failed read did not make and v4.14 made, that table is left out of
    v4.14's count. The three last apart: the PTE outlives the entries when v4.13 fills the
    hole through another mapping, the table outlives both (tables are not freed on unmap).
    Everything else is compared; a hole whose entries changed, a PTE either side changed,
    a table v4.13 got since, are dropped for good. Returns `views` itself when nothing was
    folded."""
    a, b = views
    pre.unfilled = [h for h in pre.unfilled if _still_unfilled(pre, post, h)]
    pre.ptes_not_made = {addr for addr in pre.ptes_not_made
                         if f"pte.{addr:#x}" not in a
                         and b.get(f"pte.{addr:#x}", ("",))[0] == "hole"}
    pre.tables_not_made = {t for t in pre.tables_not_made
                           if t in post.m.k.mm.pte_tables and t not in pre.m.k.mm.pte_tables}
    if not (pre.unfilled or pre.ptes_not_made or pre.tables_not_made):
        return views
    a, b = dict(a), dict(b)
    for index in sorted({hole.index for hole in pre.unfilled}):
        a[f"entry.{index}"] = b[f"entry.{index}"]
        a["mapping.nrexceptional"] -= 1
    for addr in sorted(pre.ptes_not_made):  # each address a failed read left unmapped
        pte_key = f"pte.{addr:#x}"
        del b[pte_key]
        for key in [key for key in b if key.startswith(f"h{pte_key}.")]:
            if key not in a and b[key][0] == "hole":
                del b[key]
    b["pgtable.pte"] -= len(pre.tables_not_made)
    return a, b


def _holes(view: dict) -> int:
    return sum(1 for key, value in view.items()
               if key.startswith("entry.") and ("kind", "hole") in value)


def _hole_rules(before: tuple[dict, dict], after: tuple[dict, dict]) -> list[str]:
    """Rules 1-2, when they allowed this op's differences: a hole's entry came (v4.13's
    page entry, v4.14's zero entry: hole_read_zero_page) or went (hole_replacement)."""
    out = []
    if _holes(after[0]) > _holes(before[0]) or _holes(after[1]) > _holes(before[1]):
        out.append(HOLE_READ_ZERO_PAGE.name)
    if _holes(after[0]) < _holes(before[0]) or _holes(after[1]) < _holes(before[1]):
        out.append(HOLE_REPLACEMENT.name)
    return out


# --- the target ---------------------------------------------------------------------------------

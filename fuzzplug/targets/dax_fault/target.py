"""The dax_fault target: the DAX fault paths of ext4 before and after the series "DAX common
4k zero page" (v4.13 vs v4.14), with the file operations around them.

Runs one op sequence (`fuzzplug.targets.dax_fault.schema`) on the v4.13 DAX model
(`fuzzplug.kernel.dax_v4_13`, over the mm model `v4_13`) and the v4.14 one (`dax_v4_14` over
`v4_14`), op by op, each through `fuzzplug.explore.daxfile.run_op`, and compares after each
op what user space sees and what the rest of the kernel sees:

- user space: how the op ended (a load's value, OK/SIGBUS/SIGSEGV/OOM/LIVELOCK, a system
  call's return, or a BUG or a hang), the user's fault count (rule `mkwrite_one_fault`),
  and the file as a reader and as the media see it (per page: block, visible token,
  durable token; i_size);
- the kernel: the printed WARNs, BUGs, bad PTEs, bad HPTEs and signals; every PTE and
  (ppc64's hash MMU) every HPTE; the struct pages
  the run touched; the rss counters and page-table counts; the mapping's entries by
  meaning, their tags, nrpages/nrexceptional and its writeback error; the free blocks;
  the VMAs; leaked references and locks (`daxview.leaks`); data stored to the zero page.

The differences allowed are the rules of `fuzzplug.targets.dax_fault.rules`, and only
those; a side that BUGs or hangs is dead for the rest of the run (later ops are not run on
it), as in the insert_pfn target.

The models form a chain (`fuzzplug.targets.dax_fault.chain`): v4.13, v4.14, then v4.14 with
each upstream fix of patch 1 (f2c57d91b0d9, then cae85cb8add3: `dax_v4_14` on the fixed mm
model). `with_pair(pre, post)` (the `Versioned` capability) compares any two of them, under
the rules of the commits between them (the series' INTENDED_RULES, each fix's FIX_RULES:
`PairRules`, the fixes' judges below) and with the known findings listed for that pair.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import ModuleType

from fuzzplug.core.known import Advice, Cause, advice_from_toml, causes_from_toml
from fuzzplug.core.oracle import (
    Finding,
    OpRun,
    Outcome,
    SideRecord,
    Verdict,
    events_diff,
    family,
)
from fuzzplug.farm.files import FarmOptions
from fuzzplug.explore import daxfile, daxview
from fuzzplug.kernel import arch, dax_v4_13, dax_v4_14, fs, mm
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
from fuzzplug.kernel.state import PTE_TABLE_SHIFT, EventKind
from fuzzplug.kernel.types import PAGE_SHIFT, PAGE_SIZE, errname
from fuzzplug.targets import MutatesPostModel, corpus_dir
from fuzzplug.targets.chain import ChainedTarget
from fuzzplug.targets.dax_fault.chain import CHAIN, SERIES_PAIR
from fuzzplug.targets.dax_fault.rules import (
    FEWER_ALLOCATIONS,
    HOLE_READ_ZERO_PAGE,
    HOLE_REPLACEMENT,
    INTENDED_RULES,
    MKWRITE_ONE_FAULT,
    REUSE_STORES_WITH_PTEP_SET_ACCESS_FLAGS,
    ZERO_PFN_MISMATCH_IS_SILENT,
    rules_between,
)
from fuzzplug.targets.dax_fault import tasks
from fuzzplug.targets.dax_fault.schema import ALLOC_SITES, SCHEMA, TASK_OPS, Scene, call_args

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


def user_view(res: OpResult) -> str:
    """How the op ended, as user space sees it (compared): a load's status and value, a
    store's status, a system call's return, or how the call stopped. Fault counts are not
    in it (compared apart, rule mkwrite_one_fault)."""
    if res.stop is not None:
        return f"{res.stop.value} in {res.where.split(':')[0]}"
    ret = res.ret
    if isinstance(ret, Access):
        if ret.status is AccessStatus.OK and ret.value is not None:
            return f"ok {ret.value:#x}"
        return ret.status.value
    if ret is None:
        return "void"
    return errname(ret) if ret < 0 else str(ret)


def story(res: OpResult) -> str:
    """The op's return as the trace tells it: the user view, and the faults an access took."""
    text = user_view(res)
    if isinstance(res.ret, Access):
        text += f" ({res.ret.faults} fault{'s' if res.ret.faults != 1 else ''})"
    return text


@dataclass(frozen=True, slots=True)
class StateNote:
    """A line of the trace: what an op changed in the state of one side (a PTE, a mapping
    entry, a file page). Recorded with the op's events; never compared."""

    kind: str
    function: str

    def to_json(self) -> dict:
        return {"kind": self.kind, "function": self.function}


class MachineRecord:
    """A side's machine as `SideRecord` wants it: `snapshot()` is `daxview.snapshot`; with
    several tasks, the steps of its run under the input's schedule too (`trace`: their
    footprints give the interleaving features, `fuzzplug.targets.dax_fault.features`)."""

    __slots__ = ("m", "trace")

    def __init__(self, m: DaxMachine, trace: list | None = None):
        self.m = m
        self.trace = trace

    def snapshot(self) -> dict:
        return daxview.snapshot(self.m)


# --- the normalised view: what is compared, with rules 1-2 applied ------------------------------

def _hole_pfn(m: DaxMachine, pfn: int) -> bool:
    """A pfn of a hole's page: v4.13's page-cache pages come from RAM, v4.14 maps the zero
    page (rules hole_read_zero_page, hole_replacement)."""
    lo, hi = m.k.memmap.ram
    return lo <= pfn <= hi or pfn == m.k.memmap.zero


_PFN_BITS = frozenset({"SPECIAL", "DEVMAP"})


def normalised_view(m: DaxMachine) -> dict[str, object]:
    """Everything compared after an op, by descriptor (`pte.<addr>`, `entry.<index>`,
    `file.visible`...), with what rules 1-2 allow folded away: a PTE mapping a hole page or
    the zero page shows as `hole` without its SPECIAL/DEVMAP bits; a `page` entry and a
    `zero` entry both show as `hole`; nrpages and nrexceptional leave those entries out;
    RAM and the zero page's struct pages and data are left out; MM_FILEPAGES leaves out the
    normal PTEs that map them."""
    k = m.k
    view: dict[str, object] = {}
    hole_normal_ptes = 0
    for vpn, pte in k.mm.pgtable.items():
        j = pte.to_json()
        flags = j["flags"].split("|")
        if _hole_pfn(m, j["pfn"]):
            if "SPECIAL" not in flags and "PRESENT" in flags:
                hole_normal_ptes += 1
            view[f"pte.{vpn << PAGE_SHIFT:#x}"] = ("hole", tuple(f for f in flags
                                                               if f not in _PFN_BITS))
        else:
            view[f"pte.{vpn << PAGE_SHIFT:#x}"] = (j["pfn"], tuple(flags))
    for (vpn, slot), h in k.htab.items():  # ppc64's hash page table (hash MMU only)
        j = h.to_json()
        pfn = "hole" if _hole_pfn(m, j["pfn"]) else j["pfn"]
        view[f"hpte.{vpn << PAGE_SHIFT:#x}.{slot}"] = (pfn, j["perm"])
    for pfn, p in k.pages.items():
        if not p.pristine() and not _hole_pfn(m, pfn):
            view[f"page.{pfn:#x}"] = p.state()
    for counter, n in k.mm.rss_stat.items():
        if counter.value == "MM_FILEPAGES":
            n -= hole_normal_ptes
        view[f"counter.{counter.value}"] = n
    view["pgtable.pud"] = len(k.mm.pud_tables)
    view["pgtable.pmd"] = len(k.mm.pmd_tables)
    view["pgtable.pte"] = len(k.mm.pte_tables)
    mapping = m.mapping
    holes = zeroes = 0
    for index, entry in mapping.page_tree.items():
        desc = daxview.describe_entry(entry)
        if desc["kind"] == "page":
            holes += 1
            desc = {"kind": "hole"}
        elif desc["kind"] == "zero":
            zeroes += 1
            desc = {"kind": "hole"}
        view[f"entry.{index}"] = tuple(sorted(desc.items()))
    for index, tags in mapping.tags.items():
        view[f"tag.{index}"] = tuple(sorted(fs.TAG_NAMES[t] for t in tags))
    view["mapping.nrpages"] = mapping.nrpages - holes
    view["mapping.nrexceptional"] = mapping.nrexceptional - zeroes
    view["mapping.wb_err"] = mapping.wb_err
    fv = daxview.file_view(m)
    view["file.i_size"] = fv["i_size"]
    for lblk, page in fv["pages"].items():
        view[f"file.block.{lblk}"] = page["block"]
        view[f"file.visible.{lblk}"] = page["visible"]
        view[f"file.durable.{lblk}"] = page["durable"]
    memory = m.memory
    for pfn, token in memory.ram.items():
        if not _hole_pfn(m, pfn):
            view[f"memory.ram.{pfn:#x}"] = token
    view["memory.zero_page_stores"] = tuple(memory.zero_page_stores)
    view["free_blocks"] = len(m.sb.free_blocks)
    view["vmas"] = tuple((v.vm_start, v.vm_end, v.vm_pgoff, v.vm_flags) for v in k.mm.mmap)
    for text in daxview.leaks(m):
        view[f"leak.{_leak_kind(text)}.{text}"] = True
    return view


def _leak_kind(text: str) -> str:
    if text.startswith("lock held"):
        return "lock"
    if text.startswith("entry"):
        return "entry_locked"
    if text.endswith("locked"):
        return "page_locked"
    return "refcount"


# What a user address reaches (mapped or not, which page) is named apart from the entry's
# bits: a stale or missing mapping (`map.presence`, `map.pfn`: a load reads other data, an
# access faults or not) and a bit that differs (`pte.SOFT_DIRTY`) are different behaviours,
# and a state-only signature names kinds only (`state:map` against `state:pte`). Renamed
# after `signature_diffs`, whose derivations (an HPTE follows its PTE) use the pte names.
_MAP_KINDS = {"pte.presence": "map.presence", "pte.pfn": "map.pfn"}


def view_diff(a: dict[str, object], b: dict[str, object]) -> list[str]:
    """The descriptors whose values differ, by kind and field (`pte.pfn`, `pte.DIRTY`,
    `entry.kind`, `file.durable`, `leak.lock`...): stable names, no addresses."""
    out: set[str] = set()
    for key in a.keys() | b.keys():
        x, y = a.get(key), b.get(key)
        if x == y:
            continue
        kind = key.split(".", 1)[0]
        if kind == "pte":
            if x is None or y is None:
                out.add("pte.presence")
            elif x[0] != y[0]:
                out.add("pte.pfn")
            else:
                out.update(f"pte.{bit}" for bit in set(x[1]) ^ set(y[1]))
        elif kind == "hpte":
            if x is None or y is None:
                out.add("hpte.presence")
            else:
                out.update(f"hpte.{f}" for f, u, v in zip(("pfn", "perm"), x, y) if u != v)
        elif kind == "page":
            fields = ("refcount", "mapcount", "anon", "dirty", "referenced", "allocated")
            if x is None or y is None:
                out.add("page.presence")
            else:
                out.update(f"page.{f}" for f, u, v in zip(fields, x, y) if u != v)
        elif kind == "entry":
            if x is None or y is None:
                out.add("entry.presence")
            else:
                dx, dy = dict(x), dict(y)
                out.update(f"entry.{f}" for f in dx.keys() | dy.keys()
                           if dx.get(f) != dy.get(f))
        elif kind == "tag":
            out.update(f"tag.{t}" for t in set(x or ()) ^ set(y or ()))
        elif kind in ("file", "leak", "memory"):
            parts = key.split(".")
            out.add(f"{kind}.{parts[1]}")
        elif kind in ("counter", "mapping", "pgtable"):
            out.add(key)
        else:
            out.add(f"{kind}.value")
    return sorted(out)


# --- the per-op comparison --------------------------------------------------------------------

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

@functools.cache
def _known_toml() -> dict:
    """known.toml beside this module, read once."""
    return tomllib.loads(resources.files(__package__).joinpath("known.toml").read_text())


def _pair_text(pre: str, post: str) -> str:
    return f"{pre}..{post}"


_SERIES_TEXT = _pair_text(*SERIES_PAIR)

SHARED_MODELS = (fs, mm, arch)
"""Kernel modules both DAX models call whose branches record ids of their own."""


class DaxFaultTarget(ChainedTarget, MutatesPostModel):
    """The dax_fault target (satisfies `fuzzplug.targets.Target` and `Versioned`): by
    default v4.13 against v4.14, the series; `with_pair` compares any two versions of the
    chain (`chain.CHAIN`: then each fix of the series' patch 1)."""

    name = "dax_fault"
    description = ("DAX common 4k zero page (b2770da64254..): ext4 DAX faults, write, punch, "
                   "truncate, fsync, msync, munmap, v4.13 vs v4.14, and the fixes upstream "
                   "took after it")
    schema = SCHEMA
    pre_model: ModuleType = dax_v4_13
    post_model: ModuleType = dax_v4_14
    chain = CHAIN
    pair = SERIES_PAIR
    rules = INTENDED_RULES

    @property
    def rule_names(self) -> frozenset[str]:
        return frozenset(rule.name for rule in self.rules)

    def rules_between(self, pre: str, post: str):
        """The intended delta of a pair (`rules.rules_between`)."""
        return rules_between(pre, post)

    def evaluate(self, ops) -> Outcome:
        return self._evaluate(ops, None)

    def evaluate_budgeted(self, ops) -> Outcome:
        """The `Budgeted` capability: an input of several tasks searches the other
        version's interleavings within `tasks.FAST_RUNS` runs only, and is a candidate
        where that does not settle it (`tasks.evaluate`); a one-task input is evaluated
        as `evaluate` does."""
        return self._evaluate(ops, tasks.FAST_RUNS)

    def _evaluate(self, ops, budget: int | None) -> Outcome:
        scene = Scene.from_ops(ops).dax
        calls = [op for op in ops if not SCHEMA.spec(op.name).scene]
        program = tasks.split(calls)
        if program.concurrent:
            return tasks.evaluate(self, scene, calls, program, budget)
        pre = Side(daxfile.boot(self.pre_model, scene))
        post = Side(daxfile.boot(self.post_model, scene))
        rec_pre = SideRecord(pre.m.k.version, MachineRecord(pre.m))
        rec_post = SideRecord(post.m.k.version, MachineRecord(post.m))
        views = (normalised_view(pre.m), normalised_view(post.m))
        pair_rules = PairRules(self.rule_names)
        finding = None
        rules_applied: list[str] = []
        for index, op in enumerate(calls):
            if op.name in TASK_OPS:  # one task: the schedule has nothing to decide
                rec_pre.add(index, OpRun(ret="-"))
                rec_post.add(index, OpRun(ret="-"))
                continue
            args = call_args(op)
            a, ra = run_side(pre, op.name, args)
            b, rb = run_side(post, op.name, args)
            rec_pre.add(index, a)
            rec_post.add(index, b)
            judgement, views = compare_op(pre, post, op.name, index, a, b, ra, rb, views,
                                          pair_rules, args.get("addr"))
            rules_applied += [r for r in judgement.rules if r not in rules_applied]
            if judgement.finding is not None:
                finding = judgement.finding
                break
            if judgement.stop:
                break
        return Outcome(Verdict.of(finding, rules_applied), finding, rec_pre, rec_post, rules_applied)

    def check_scene(self, ops):
        """The `SceneChecked` capability: the `task` and `sched` lines' values checked
        (`tasks.check_tasks`; the scene lines are normalised by `Scene.from_ops`)."""
        return tasks.check_tasks(tuple(ops))

    def story(self, ops) -> str | None:
        """How the tasks of an input with several interleave on each version, per CPU
        (`replay` prints it); None for a one-task input."""
        calls = [op for op in ops if not SCHEMA.spec(op.name).scene]
        program = tasks.split(calls)
        if not program.concurrent:
            return None
        return tasks.story(self, Scene.from_ops(ops).dax, calls, program)

    def interleavings(self) -> ModuleType:
        """The exhaustive checker over schedules (`fuzzplug exhaustive dax_fault --tasks
        2`)."""
        from fuzzplug.targets.dax_fault import interleavings

        return interleavings

    def branch_ids(self) -> dict[str, frozenset[str]]:
        from fuzzplug.core.semcov import declared_branch_ids

        return {m.VERSION: declared_branch_ids(m, m.mm_model, *SHARED_MODELS)
                for m in (self.pre_model, self.post_model)}

    def known_findings(self) -> dict[str, dict]:
        """The triaged signatures of this pair (`known.toml`: a finding without `pairs`
        belongs to the series' pair)."""
        data = _known_toml()
        pair = _pair_text(*self.pair)
        causes = {c["id"]: c for c in data.get("cause", [])}
        return {f["signature"]: dict(f, cause_records=[causes[c] for c in f["causes"]])
                for f in data.get("finding", []) if pair in f.get("pairs", [_SERIES_TEXT])}

    def known_causes(self) -> dict[str, Cause]:
        """The `[[cause]]`s of known.toml that explain divergences of this pair by their
        observables (`pairs`, else the series' pair), and every cause a finding of this
        pair names (the `KnownCauses` capability)."""
        data = _known_toml()
        pair = _pair_text(*self.pair)
        named = {c for f in data.get("finding", []) if pair in f.get("pairs", [_SERIES_TEXT])
                 for c in f["causes"]}
        listed = {c["id"] for c in data.get("cause", [])
                  if pair in c.get("pairs", [_SERIES_TEXT])}
        return {cid: cause for cid, cause in causes_from_toml(data).items()
                if cid in listed | named}

    def advice(self) -> Advice:
        """The `Advised` capability: known.toml's scope, companion fixes and the fixes'
        intended changes as DAX shows them (the same for every pair)."""
        return advice_from_toml(_known_toml())

    def seeds_dir(self) -> Path | None:
        return corpus_dir(self.name)

    # --- optional capabilities (fuzzplug.targets: KnownCauses, Featured, ScheduleMutable,
    # --- SmallDomain, Mutable, FarmTuned)

    farm_options = FarmOptions(max_len=256, timeout=20)
    """max_len: room for the scene and about 30 calls (a call is 2 to 8 bytes); longer
    inputs only repeat calls. timeout: an input runs both models in a few milliseconds;
    twenty seconds catches a hang without flagging a slow machine."""

    def features(self, ops, outcome):
        """The `Featured` capability: the generic features and, with several tasks, how the
        tasks communicated (`fuzzplug.targets.dax_fault.features`)."""
        from fuzzplug.targets.dax_fault.features import features

        return features(SCHEMA, ops, outcome)

    def mutate_schedule(self, calls, rng):
        """The `ScheduleMutable` capability: one change of the input's schedule (a second
        task, a `pct` line, a change point moved by one step, priorities swapped:
        `fuzzplug.targets.dax_fault.pct.mutate_schedule`)."""
        from fuzzplug.targets.dax_fault.pct import mutate_schedule

        return mutate_schedule(calls, rng)

    def small_domain(self):
        from fuzzplug.targets.dax_fault.domain import small_domain

        return small_domain()

    def mutants(self):
        """The mutants of `dax_v4_14.py`: for a pair whose post side is v4.14's DAX code on
        its own mm model (the series' pair, v4.13..v4.14); none for a fixed version, whose
        DAX model is that code bound to another mm model (`daxbind`), which the mutant
        machinery does not rebuild."""
        from fuzzplug.targets.dax_fault.mutants import MUTANTS

        return MUTANTS if self.post_model is dax_v4_14 else ()



TARGET = DaxFaultTarget()

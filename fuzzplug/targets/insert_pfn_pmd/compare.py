"""insert_pfn_pmd's oracle, op by op: one call on one side (`run_op`), the state a caller
and the hardware can observe as descriptors (`state_diff`), and one call on both sides
compared under the pair's rules (`compare_op`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType

from fuzzplug.core import oracle
from fuzzplug.core.opslang import Op
from fuzzplug.core.oracle import Finding, OpRun, events_diff, family
from fuzzplug.explore.observe import observables
from fuzzplug.kernel.huge_state import HugeKernel
from fuzzplug.kernel.huge_types import PMD_MASK, PUD_MASK
from fuzzplug.kernel.huge_v5_0 import (
    VM_FAULT_NEEDDSYNC,
    do_user_access,
    exit_mmap,
    unmap_page_range,
    vfs_fsync_range,
)
from fuzzplug.kernel.state import Oops
from fuzzplug.kernel.types import (
    VM_FAULT_FALLBACK,
    VM_FAULT_NOPAGE,
    VM_FAULT_OOM,
    VM_FAULT_SIGBUS,
    VM_FAULT_SIGSEGV,
)
from fuzzplug.targets.insert_pfn_pmd.rules import (
    ALIGNED,
    LEAK_FIXED,
    PGTABLES_BYTES_GONE,
    PRESENT_UPDATE,
)

FAULT_NAMES = ((VM_FAULT_OOM, "OOM"), (VM_FAULT_SIGBUS, "SIGBUS"),
               (VM_FAULT_SIGSEGV, "SIGSEGV"), (VM_FAULT_NOPAGE, "NOPAGE"),
               (VM_FAULT_FALLBACK, "FALLBACK"), (VM_FAULT_NEEDDSYNC, "NEEDDSYNC"))

PRESENT_UPDATES = ("insert_pfn_pmd:present:write:same_pfn",
                   "insert_pfn_pud:present:write:same_pfn")
PATH_PREFIXES = ("insert_pfn_pmd:", "insert_pfn_pud:")
INCIDENTAL_PREFIXES = ("mmu_access_huge:", "set_pmd_at:", "pmdp_set_access_flags:",
                       "pudp_set_access_flags:", "pgtable_trans_huge_deposit:")
SET_ENTRY_REPORTS = {("warn", "set_pmd_at"), ("warn", "set_pte_at"),
                     ("bad_hpte", "set_pmd_at")}
ACCOUNTING = frozenset({"accounting.pgtables_bytes", "pgtable.live"})
VM_BUG = {("bug", "pmdp_set_access_flags", "address & ~HPAGE_PMD_MASK"),
          ("bug", "pudp_set_access_flags", "address & ~HPAGE_PUD_MASK")}


def fault_name(ret: int) -> str:
    """A fault result as the caller sees it: `0`, or its VM_FAULT_ bits by name."""
    names = [name for bit, name in FAULT_NAMES if ret & bit]
    return "|".join(names) if names else str(ret)


def call(k: HugeKernel, op: Op) -> str:
    """One call op on one side; its result."""
    if k.mm5.exited:
        return "exited"
    if op.name == "access":
        return fault_name(do_user_access(k, op["addr"], bool(op["write"])))
    if op.name == "racing_fault":
        return fault_name(do_user_access(k, op["addr"], bool(op["write"]),
                                         unlocked_none=True))
    if op.name == "fsync":
        if k.file is None:
            return "-EINVAL"  # a device-DAX file has no fsync of its own to model
        return str(vfs_fsync_range(k))
    if op.name == "zap":
        end = min(op["addr"] + op["len"], 1 << 64)
        if op["len"]:
            unmap_page_range(k.vma, op["addr"], end)
        return "0"
    if op.name == "exit":
        exit_mmap(k.mm5)
        return "0"
    if op.name == "fail_alloc":
        k.fail_nth_alloc(op["nth"])
        return "0"
    raise AssertionError(f"not a call: {op.name}")


def run_op(k: HugeKernel, op: Op, dead: bool) -> OpRun:
    """One op on one side: its result and the events and branch ids it produced. A BUG
    ends the call and the task (later ops are `dead`)."""
    if dead:
        return OpRun(ret="dead", oops=True)
    e0, b0 = len(k.events), len(k.branches)
    try:
        ret, oops = call(k, op), False
    except Oops:
        ret, oops = "BUG", True
    return OpRun(ret=ret, events=k.events[e0:], branches=k.branches[b0:], oops=oops)


def _entry_descriptors(level: str, x: dict | None, y: dict | None) -> set[str]:
    if x is None or y is None:
        return set() if x is y else {f"{level}.presence"}
    out = set()
    if x["pfn"] != y["pfn"]:
        out.add(f"{level}.pfn")
    fx, fy = set(x["flags"].split("|")), set(y["flags"].split("|"))
    out |= {f"{level}.{bit}" for bit in fx ^ fy}
    return out


def entry_pair(pre: HugeKernel, post: HugeKernel, level: str, addr: str) -> tuple:
    """The two sides' entries at `addr` (a key of the snapshot's `pmds`/`puds`)."""
    return (pre.snapshot()[level + "s"].get(addr), post.snapshot()[level + "s"].get(addr))


def state_diff(pre: HugeKernel, post: HugeKernel, carried: dict | None = None) -> list[str]:
    """The observable state that differs, as descriptors: `pmd.presence`, `pmd.pfn`,
    `pmd.<bit>` (and `pud.`), `deposited`, `accounting.pgtables_bytes`, `pgtable.live`,
    `pgtable.pmd`, `mm.huge_zero_page`, `mm.exited`, `file.<field>`. An entry in `carried`
    ((level, address) → the two sides' entries when a rule allowed their difference) is
    left out while both sides still hold exactly those entries."""
    a, b = pre.snapshot(), post.snapshot()
    carried = carried or {}
    out: set[str] = set()
    for level in ("pmd", "pud"):
        xs, ys = a[level + "s"], b[level + "s"]
        for addr in set(xs) | set(ys):
            if carried.get((level, addr)) == (xs.get(addr), ys.get(addr)):
                continue
            out |= _entry_descriptors(level, xs.get(addr), ys.get(addr))
    if a["deposited"] != b["deposited"]:
        out.add("deposited")
    if a["pgtables_bytes"] != b["pgtables_bytes"]:
        out.add("accounting.pgtables_bytes")
    if a["pgtables_live"] != b["pgtables_live"]:
        out.add("pgtable.live")
    for key, name in (("pmd_tables", "pgtable.pmd"), ("huge_zero_page", "mm.huge_zero_page"),
                      ("exited", "mm.exited")):
        if a[key] != b[key]:
            out.add(name)
    for key in a.get("file", {}):
        if a["file"][key] != b["file"][key]:
            out.add(f"file.{key}")
    return sorted(out)


@dataclass(slots=True)
class Carried:
    """What an earlier op's rule allowed to go on differing: the entries it left different
    ((level, address) → both sides' entries, compared again once either changes), the
    difference of the page-table accounting it allowed (`delta`: pre minus post of
    pgtables_bytes and of the live page-table pages, allowed while it stays exactly that),
    and whether the pre task died of the VM_BUG_ON a rule removed (nothing after is
    compared)."""

    entries: dict = field(default_factory=dict)
    delta: tuple[int, int] = (0, 0)
    ended: bool = False


def _accounting_delta(pre: HugeKernel, post: HugeKernel) -> tuple[int, int]:
    return (pre.mm5.pgtables_bytes - post.mm5.pgtables_bytes,
            len(pre.mm5.pgtables_live) - len(post.mm5.pgtables_live))


def _fired(events: list[tuple], kinds: set) -> list[tuple]:
    return [e for e in events if (e[0], e[1]) in kinds or e in kinds]


def compare_op(pre_model: ModuleType, post_model: ModuleType, rule_names: frozenset[str],
               kpre: HugeKernel, kpost: HugeKernel, op: Op, index: int, dead_pre: bool,
               dead_post: bool, carried: Carried,
               ) -> tuple[OpRun, OpRun, Finding | None, list[str]]:
    """Run one op on both sides and compare returns, observable events and state, under the
    pair's rules. Returns both runs, the finding if the sides differ beyond the rules, and
    the rules the op matched through."""
    a = run_op(kpre, op, dead_pre)
    b = run_op(kpost, op, dead_post)
    if carried.ended:
        return a, b, None, []
    ev_a, ev_b = observables(a.events), observables(b.events)
    ret_a, ret_b = a.ret, b.ret
    applied: list[str] = []
    diffs_state = state_diff(kpre, kpost, carried.entries)

    if ALIGNED.name in rule_names and _fired(ev_a, VM_BUG) and not _fired(ev_b, VM_BUG):
        applied.append(ALIGNED.name)
        carried.ended = True
        return a, b, None, applied

    if PRESENT_UPDATE.name in rule_names and any(x in b.branches for x in PRESENT_UPDATES) \
            and not any(x.startswith(("insert_pfn_pmd:present", "insert_pfn_pud:present"))
                        for x in a.branches):
        applied.append(PRESENT_UPDATE.name)
        # The pre side's reports of its store only: the post side stores nothing there, so
        # a report of its own is a difference (the rule names the pre side's store).
        ev_a = [e for e in ev_a if (e[0], e[1]) not in SET_ENTRY_REPORTS]
        for level, mask in (("pmd", PMD_MASK), ("pud", PUD_MASK)):
            key = f"{op['addr'] & mask:#x}"
            pair = entry_pair(kpre, kpost, level, key)
            found = _entry_descriptors(level, *pair)
            if found and not found & {f"{level}.pfn", f"{level}.presence"}:
                carried.entries[level, key] = pair
        diffs_state = state_diff(kpre, kpost, carried.entries)

    delta = _accounting_delta(kpre, kpost)
    if PRESENT_UPDATE.name in applied:
        carried.delta = delta
    elif LEAK_FIXED.name in rule_names and delta[0] == carried.delta[0] \
            and delta[1] > carried.delta[1] \
            and any(x.startswith("insert_pfn_pmd:present") for x in b.branches):
        applied.append(LEAK_FIXED.name)
        carried.delta = delta
    if delta == carried.delta:
        diffs_state = [d for d in diffs_state if d not in ACCOUNTING]
    if carried.delta[0] > 0 and PGTABLES_BYTES_GONE.name in rule_names:
        alerts = [e for e in ev_a if e[0] == "alert" and e not in ev_b]
        if alerts:
            ev_a = [e for e in ev_a if e not in alerts]
            applied.append(PGTABLES_BYTES_GONE.name)

    diffs = []
    if ret_a != ret_b:
        diffs.append(f"ret:{ret_a}->{ret_b}")
    diffs += events_diff(ev_a, ev_b)
    diffs += diffs_state
    if not diffs:
        return a, b, None, applied
    sig = oracle.signature(op.name, diffs, a.branches, b.branches, PATH_PREFIXES,
                           incidental_prefixes=INCIDENTAL_PREFIXES)
    finding = Finding(index, op.name, diffs, sig, family(op.name, diffs),
                      applied[0] if applied else None, sorted(set(a.branches)),
                      sorted(set(b.branches)))
    return a, b, finding, []



"""dax_fault's view of a machine: what user space and the rest of the kernel can see after
an op (`normalised_view`, `user_view`, `story`), the record of a side (`MachineRecord`),
and the differences between two views (`view_diff`), which `compare` judges."""

from __future__ import annotations

from dataclasses import dataclass

from fuzzplug.explore import daxview
from fuzzplug.explore.daxfile import Access, AccessStatus, DaxMachine, OpResult
from fuzzplug.kernel import fs
from fuzzplug.kernel.types import PAGE_SHIFT, errname

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

"""insert_pfn's scene: what the scene ops (`config`, `vma`, `memmap`) set up, booting it on a
version model, and its normalisation (`check_scene`, the `SceneChecked` capability)."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from fuzzplug.core.opslang import Op
from fuzzplug.kernel.mm import vma_page_prot
from fuzzplug.kernel.state import (
    ANON_POOL_END,
    ANON_POOL_START,
    Arch,
    Config,
    Kernel,
    Memmap,
    VmOps,
)
from fuzzplug.kernel.types import PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, U64
from fuzzplug.targets import SceneIssue
from fuzzplug.targets.insert_pfn.schema import SCHEMA, VM_FLAG_BITS, VM_OPS_BITS, _to_kernel


@dataclass(frozen=True, slots=True)
class Scene:
    """What the scene ops set up, with the documented defaults."""

    config: Config
    memmap: Memmap
    vm_start: int
    vm_end: int
    vm_flags: int
    vm_ops: VmOps
    vm_pgoff: int

    @classmethod
    def from_ops(cls, ops: tuple[Op, ...]) -> "Scene":
        """The scene the ops set up, normalised as `check_scene` says."""
        by = {op.name: op for op in ops if op.name in ("config", "vma", "memmap")}
        cfg = by.get("config") or _DEFAULT_CONFIG
        vma = _normal_vma(by["vma"])[0] if "vma" in by else _DEFAULT_VMA
        mem = _normal_memmap(by["memmap"])[0] if "memmap" in by else _DEFAULT_MEMMAP
        config = Config(HAVE_PTE_SPECIAL=bool(cfg["HAVE_PTE_SPECIAL"]),
                        DEVMAP=bool(cfg["DEVMAP"]), arch=list(Arch)[cfg["arch"]],
                        DEBUG_VM=bool(cfg["DEBUG_VM"]), PAT=bool(cfg["PAT"]))
        memmap = Memmap(ram=_range(mem["ram"]), device=_range(mem["device"]), zero=mem["zero"])
        return cls(config, memmap, vma["start"], vma["end"],
                   _to_kernel(VM_FLAG_BITS, vma["flags"]),
                   VmOps(_to_kernel(VM_OPS_BITS, vma["vm_ops"])), vma["pgoff"])

    def boot(self, model: ModuleType) -> Kernel:
        prot = vma_page_prot(self.vm_flags, bool(self.vm_ops), self.config.arch)
        k = Kernel(self.config, self.memmap, vm_start=self.vm_start, vm_end=self.vm_end,
                   vm_flags=self.vm_flags, vm_ops=self.vm_ops, vm_pgoff=self.vm_pgoff,
                   vm_page_prot=prot)
        k.version = model.VERSION
        return k


def _range(value: int) -> tuple[int, int]:
    return value & 0xFFFFFFFF, value >> 32


_DEFAULT_CONFIG = Op.make(SCHEMA, "config")
_DEFAULT_VMA = Op.make(SCHEMA, "vma")
_DEFAULT_MEMMAP = Op.make(SCHEMA, "memmap")
_TOP_PAGE = U64 & PAGE_MASK  # the last page an address can start
_EMPTY_RANGE = (0x1, 0x0)  # LO above HI: no pfn
_POOL = f"the page allocator's reserved pfns {ANON_POOL_START:#x}-{ANON_POOL_END - 1:#x}"
_POOL_SIZE = ANON_POOL_END - ANON_POOL_START
_PTE_PFN_BITS = 40  # the pfn a PTE holds: bits 12..51 of the entry (PTE_PFN_MASK)
_PTE_PFNS = 1 << _PTE_PFN_BITS
PFN_CALLS = frozenset({"vm_insert_pfn", "vm_insert_pfn_prot", "vm_insert_mixed",
                       "vm_insert_mixed_mkwrite"})
"""The calls that name a pfn for the driver (`pfn=`)."""


def _in_pool(pfn: int) -> bool:
    """Whether a pfn, as a PTE stores it (its low 40 bits), is one of the allocator's."""
    return ANON_POOL_START <= pfn % _PTE_PFNS < ANON_POOL_END


def _with(op: Op, **values: int) -> Op:
    return Op(op.name, tuple((k, values.get(k, v)) for k, v in op.args))


def _normal_vma(op: Op) -> tuple[Op, list[tuple[str, str]]]:
    """The `vma` op as mmap() could have made it: bounds page-aligned (start down, end up),
    and at least one page long. Each change as (problem, what the binary form does)."""
    start, end = op["start"], op["end"]
    notes = []
    if start & ~PAGE_MASK:
        start &= PAGE_MASK
        notes.append((f"vma start={op['start']:#x} is not page-aligned (mmap() hands out "
                      "page-aligned VMAs)", f"start rounded down to {start:#x}"))
    if end & ~PAGE_MASK:
        end = (end + PAGE_SIZE - 1) & PAGE_MASK & U64
        notes.append((f"vma end={op['end']:#x} is not page-aligned (mmap() hands out "
                      "page-aligned VMAs)", f"end rounded up to {end:#x}"))
    if start >= end:
        if start == _TOP_PAGE:
            start = _TOP_PAGE - PAGE_SIZE
        end = start + PAGE_SIZE
        notes.append((f"vma start={op['start']:#x} is not below end={op['end']:#x} (a VMA "
                      "holds at least one page)", f"the VMA is the page at {start:#x}"))
    pgoff, end = _driver_pages(op, start, end, notes)
    return (_with(op, start=start, end=end, pgoff=pgoff) if notes else op), notes


def _driver_pages(op: Op, start: int, end: int,
                  notes: list[tuple[str, str]]) -> tuple[int, int]:
    """The VMA's pgoff and end with none of the pfns its driver maps among the allocator's
    reserved pfns: the driver's fault maps page pgoff+i of the VMA at pfn pgoff+i
    (`linear_page_index`), so a VMA whose pages reach the pool would map the allocator's
    pages, which a driver never owns. A pgoff in the pool moves up by the pool's size; a VMA whose
    pages run into the pool ends at the last page below it."""
    pgoff, pages = op["pgoff"], (end - start) >> PAGE_SHIFT
    first = pgoff % _PTE_PFNS
    if ANON_POOL_START <= first < ANON_POOL_END:
        moved = pgoff + _POOL_SIZE
        notes.append((f"vma pgoff={pgoff:#x} is one of {_POOL} (the driver's fault maps "
                      "page pgoff+i of the VMA at pfn pgoff+i)",
                      f"pgoff taken as {moved:#x}"))
        pgoff, first = moved, moved % _PTE_PFNS
    room = (ANON_POOL_START - first) % _PTE_PFNS  # pages before the pfns reach the pool
    if pages > room:
        new_end = start + (room << PAGE_SHIFT)
        notes.append((f"vma pgoff={pgoff:#x} with {pages:#x} pages reaches {_POOL} at page "
                      f"{room:#x} (the driver's fault maps page pgoff+i of the VMA at pfn "
                      "pgoff+i)", f"end taken as {new_end:#x}"))
        end = new_end
    return pgoff, end


def normal_call(op: Op) -> tuple[Op, list[tuple[str, str]]]:
    """A call naming a pfn among the allocator's reserved pfns (as a PTE stores it) names
    the pfn just above the pool instead: a driver inserts its own memory, never the page
    allocator's. Each change as (problem, what the binary form does)."""
    if op.name not in PFN_CALLS:
        return op, []
    pfn = op["pfn"]
    if not _in_pool(pfn):
        return op, []
    moved = pfn + _POOL_SIZE
    return _with(op, pfn=moved), [
        (f"{op.name} pfn={pfn:#x} is one of {_POOL} (a driver inserts its own memory, "
         "never the page allocator's)", f"pfn taken as {moved:#x}")]


def _clamp(lo: int, hi: int) -> tuple[int, int]:
    """An inclusive pfn range with the page allocator's reserved pfns taken out: the part
    below them if there is one, else the part above, else nothing."""
    if hi < ANON_POOL_START or lo >= ANON_POOL_END or lo > hi:
        return lo, hi
    if lo < ANON_POOL_START:
        return lo, ANON_POOL_START - 1
    if hi >= ANON_POOL_END:
        return ANON_POOL_END, hi
    return _EMPTY_RANGE


def _normal_memmap(op: Op) -> tuple[Op, list[tuple[str, str]]]:
    """The `memmap` op with no RAM, device memory or zero page among the page allocator's
    reserved pfns (`_clamp`; the zero page goes back to its default pfn)."""
    values, notes = {}, []
    for name in ("ram", "device"):
        lo, hi = _range(op[name])
        new = _clamp(lo, hi)
        if new != (lo, hi):
            values[name] = (new[1] << 32) | new[0]
            notes.append((f"memmap {name}={lo:#x}-{hi:#x} overlaps {_POOL} (COW copies)",
                          f"{name} taken as {new[0]:#x}-{new[1]:#x}"
                          + (" (none)" if new == _EMPTY_RANGE else "")))
    if ANON_POOL_START <= op["zero"] < ANON_POOL_END:
        values["zero"] = _DEFAULT_MEMMAP["zero"]
        notes.append((f"memmap zero={op['zero']:#x} is one of {_POOL}",
                      f"the zero page at its default pfn {values['zero']:#x}"))
    return (_with(op, **values) if values else op), notes


def check_scene(ops: tuple[Op, ...]) -> tuple[tuple[Op, ...], list[SceneIssue]]:
    """The scene checked against itself and the documented layout (README "The op
    language"): VMA bounds page-aligned, start below end; no RAM, device memory or zero
    page among the page allocator's reserved pfns, and no pfn a driver maps there either
    (the pages of the VMA, a call's `pfn=`). Returns the ops normalised (what `evaluate`
    runs) and the issues, in op order."""
    out, issues = list(ops), []
    for index, op in enumerate(ops):
        if op.name == "vma":
            out[index], notes = _normal_vma(op)
        elif op.name == "memmap":
            out[index], notes = _normal_memmap(op)
        elif op.name in PFN_CALLS:
            out[index], notes = normal_call(op)
        else:
            continue
        issues += [SceneIssue(index, problem, normalised) for problem, normalised in notes]
    return tuple(out), issues

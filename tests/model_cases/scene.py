"""The one-VMA scene of the cases: its numbers, the calls a case makes (with CALL/RET
markers) and what a test reads back, and state made by hand as the kernel would make it."""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from types import ModuleType
from typing import Callable
from unittest import mock

from fuzzplug.core.opslang import parse_text
from fuzzplug.kernel.arch import set_pte_at
from fuzzplug.kernel.mm import do_user_fault, get_page, pfn_to_page
from fuzzplug.kernel.state import (
    ANON_POOL_START,
    Event,
    EventKind,
    Kernel,
    Oops,
    page,
    pte_ptr,
)
from fuzzplug.kernel.types import (
    _PAGE_RW,
    FAULT_FLAG_USER,
    FAULT_FLAG_WRITE,
    PAGE_SHIFT,
    PAGE_SIZE,
    PFN_DEV,
    PFN_MAP,
    __pfn_to_pfn_t,
    pfn_t,
    pte_clear_flags,
    pte_pfn,
    pte_t,
)
from fuzzplug.targets.insert_pfn.target import SCHEMA, Scene


# --- the scene's numbers ---

A0 = 0x100000  # vm_start: the first page of the VMA
A1 = A0 + PAGE_SIZE  # the second page (same PTE table)
END = 0x110000  # vm_end: the first address after the VMA
RAM = 0x10  # a page-cache page (memmap ram=0x10-0x1f)
DEV = 0x80  # ZONE_DEVICE memory when DEVMAP=1 (memmap device=0x80-0x8f)
MMIO = 0x40  # no struct page: pfn_valid() is false
ZERO = 0x1  # the shared zero page
ANON = ANON_POOL_START  # the first page alloc_page_vma() hands out
BEYOND = 0x4000  # past highest_memmap_pfn (the anonymous pool ends at 0x1fff)

SHARED_RW_MIXED = "VM_READ|VM_WRITE|VM_SHARED|VM_MAYREAD|VM_MAYWRITE|VM_MIXEDMAP"
SHARED_RO_MIXED = "VM_READ|VM_SHARED|VM_MAYREAD|VM_MIXEDMAP"  # mmap(PROT_READ) of O_RDONLY
PRIVATE_RW_MIXED = "VM_READ|VM_WRITE|VM_MAYREAD|VM_MAYWRITE|VM_MIXEDMAP"
PRIVATE_RO_MIXED = "VM_READ|VM_MAYREAD|VM_MAYWRITE|VM_MIXEDMAP"  # PROT_READ, MAP_PRIVATE
SHARED_RW_PFNMAP = "VM_READ|VM_WRITE|VM_SHARED|VM_MAYREAD|VM_MAYWRITE|VM_PFNMAP"
PRIVATE_RW_PFNMAP = "VM_READ|VM_WRITE|VM_MAYREAD|VM_MAYWRITE|VM_PFNMAP"  # COW remap_pfn_range
PRIVATE_RW_PLAIN = "VM_READ|VM_WRITE|VM_MAYREAD|VM_MAYWRITE"
SHARED_RW_PLAIN = "VM_READ|VM_WRITE|VM_SHARED|VM_MAYREAD|VM_MAYWRITE"
PLAIN_RO = "VM_READ|VM_MAYREAD"


def pfn_of(pfn: int, *flags: int) -> pfn_t:
    """`__pfn_to_pfn_t(pfn, flags)`."""
    value = 0
    for flag in flags:
        value |= flag
    return __pfn_to_pfn_t(pfn, value)


MMIO_PFN = pfn_of(MMIO, PFN_DEV)  # what a driver passes for memory without struct pages
DEV_PFN = pfn_of(DEV, PFN_DEV, PFN_MAP)  # ZONE_DEVICE memory (DAX on pmem)
RAM_PFN = pfn_of(RAM)  # a page with a struct page, no flags


def boot(model: ModuleType, flags: str, *, vm_ops: str = "pfn_mkwrite", pgoff: int = DEV,
         start: int = A0, end: int = END, **config: object) -> Kernel:
    """A kernel with one VMA. The config defaults are the schema's except PAT=0 (so that
    prots keep their bits); pass PAT=1, arch=..., HAVE_PTE_SPECIAL=0... to change them.
    `pgoff` is taken as given, even where the target's scene check would move it (pages
    among the allocator's pfns): the models' own branches for such a driver are tested."""
    cfg = {"HAVE_PTE_SPECIAL": 1, "DEVMAP": 1, "arch": "x86_64", "DEBUG_VM": 0, "PAT": 0}
    cfg.update(config)
    text = ("config " + " ".join(f"{key}={value}" for key, value in cfg.items()) + "\n"
            f"vma start={start:#x} end={end:#x} flags={flags} vm_ops={vm_ops or 0}\n")
    scene = dataclasses.replace(Scene.from_ops(parse_text(SCHEMA, text)), vm_pgoff=pgoff)
    return scene.boot(model)


# --- calls, with CALL/RET markers ---

def _begin(k: Kernel, name: str, **detail) -> None:
    k.event(EventKind.CALL, name, branch=len(k.branches), **detail)


def _end(k: Kernel, name: str, ret: object) -> object:
    k.event(EventKind.RET, name, ret=ret, branch=len(k.branches))
    return ret


def call(k: Kernel, model: ModuleType, name: str, addr: int, *args) -> object:
    """A driver calls `model.<name>(vma, addr, *args)`; a BUG_ON ends the call with "BUG"."""
    _begin(k, name, addr=addr)
    try:
        ret = getattr(model, name)(k.vma, addr, *args)
    except Oops:
        ret = "BUG"
    return _end(k, name, ret)


def user_fault(k: Kernel, model: ModuleType, addr: int, *, write: bool = False) -> object:
    """A user access at `addr` that faults (arch/x86/mm/fault.c → handle_mm_fault())."""
    flags = FAULT_FLAG_USER | (FAULT_FLAG_WRITE if write else 0)
    _begin(k, "fault", addr=addr, write=int(write))
    try:
        ret = do_user_fault(k, addr, flags, model.handle_mm_fault)
    except Oops:
        ret = "BUG"
    return _end(k, "fault", ret)


def forced_write(k: Kernel, model: ModuleType, addr: int) -> object:
    """A FOLL_FORCE write (ptrace's PTRACE_POKEDATA): get_user_pages() allows it on a COW
    mapping without VM_WRITE (check_vma_flags() in mm/gup.c) and faults with
    FAULT_FLAG_WRITE straight into handle_mm_fault()."""
    _begin(k, "handle_mm_fault", addr=addr)
    ret = model.handle_mm_fault(k.vma, addr, FAULT_FLAG_WRITE)
    return _end(k, "handle_mm_fault", ret)


def zap(k: Kernel, model: ModuleType, addr: int, length: int = PAGE_SIZE) -> None:
    """Unmap [addr, addr+length) (zap_page_range_single(), as MADV_DONTNEED or
    unmap_mapping_range() do); a BUG ends the call with "BUG"."""
    _begin(k, "zap", addr=addr)
    try:
        model.zap_page_range_single(k.vma, addr, length)
        ret = None
    except Oops:
        ret = "BUG"
    _end(k, "zap", ret)


@dataclass(frozen=True)
class Call:
    """One recorded call: its name, return, the events and branch ids between its markers."""

    name: str
    ret: object
    events: tuple[Event, ...]
    branches: tuple[str, ...]


def calls(k: Kernel) -> list[Call]:
    """Every call the case made, in order."""
    out = []
    opened = None
    for i, e in enumerate(k.events):
        if e.kind is EventKind.CALL:
            opened = (i, e)
        elif e.kind is EventKind.RET and opened is not None:
            j, c = opened
            out.append(Call(e.function, e.get("ret"), tuple(k.events[j + 1:i]),
                            tuple(k.branches[c.get("branch"):e.get("branch")])))
            opened = None
    return out


def last_call(k: Kernel) -> Call:
    return calls(k)[-1]


def pte_at(k: Kernel, addr: int) -> pte_t:
    """`*pte` at `addr` (pte_t(0) when none)."""
    return k.mm.pgtable.get(addr >> PAGE_SHIFT, pte_t(0))


def page_at(k: Kernel, pfn: int) -> page:
    """The struct page of a valid pfn (pristine if the run never touched it)."""
    return pfn_to_page(k, pfn)


# --- hand-made state ---

def install_pte(k: Kernel, model: ModuleType, addr: int, entry: pte_t) -> None:
    """Install `entry` at `addr` as remap_pfn_range() and do_anonymous_page() do: take the PTE
    with the model's get_locked_pte() (allocating the tables), store it with set_pte_at()."""
    ptep = model.get_locked_pte(k.mm, addr)
    assert ptep is not None, "no allocation was set to fail"
    set_pte_at(k.mm, addr, ptep, entry)


def page_dup_rmap(k: Kernel, p: page) -> None:
    """page_dup_rmap() (include/linux/rmap.h): one more mapping of the page (atomic_inc of
    _mapcount); no mm helper models it, as only fork calls it."""
    p._mapcount += 1
    k.event(EventKind.RMAP, "page_dup_rmap", pfn=p.pfn, mapcount=p._mapcount)


def fork_cow_page(k: Kernel, addr: int) -> page:
    """The parent's side of fork()'s copy_one_pte() for a present anonymous page of a COW
    mapping (mm/memory.c): get_page(), page_dup_rmap() for the child's mapping, and
    ptep_set_wrprotect() on the parent's entry (x86: clear _PAGE_RW in place, written here
    with set_pte_at(), which on x86 does no checks). The child's mm is not modelled."""
    entry = pte_at(k, addr)
    p = pfn_to_page(k, pte_pfn(entry))
    get_page(k, p)
    page_dup_rmap(k, p)
    set_pte_at(k.mm, addr, pte_ptr(k.mm, addr >> PAGE_SHIFT), pte_clear_flags(entry, _PAGE_RW))
    return p


@contextlib.contextmanager
def stand_in(model: ModuleType, name: str, replacement: Callable) -> object:
    """Replace the model's callback `name` (a vm_ops callback or the allocator) for the
    duration of the block; the original is handed to `replacement` as its first argument."""
    original = getattr(model, name)
    with mock.patch.object(model, name, lambda *a: replacement(original, *a)):
        yield


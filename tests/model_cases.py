"""Named scenarios that drive the kernel models through every modelled branch.

Not a test module. Each case is a function that takes a model module (`v4_13` or `v4_14`),
boots a kernel, makes the calls a driver, a user access or the rest of the kernel would make,
and returns the `Kernel` for the caller to inspect. `tests/test_model_branches.py` asserts on
what each case leaves behind (one test per branch id); `tests/test_model_coverage.py` runs
every case to check that each branch id a model declares is reached.

How the cases call the models: `call()` wraps an entry point of mm/memory.c (the driver's
view), `user_fault()` a user access through the x86 fault entry, `forced_write()` a FOLL_FORCE
write (ptrace) that reaches handle_mm_fault() without the VM_WRITE check, `zap()` an
unmapping. Each records a CALL event before and a RET event after (with the return value and
where the call's branch ids start and end), so a test can pick one call's events apart.

Hand-made state is built as the kernel would build it and says so in the case's docstring:
PTEs go in with the model's get_locked_pte() and the architecture's set_pte_at() (as
remap_pfn_range() and do_anonymous_page() install them), references and mapcounts with the mm
helpers. Concurrency, which the models do not have, is played by a callback stand-in: the
vm_ops callback (or the allocation) runs where the kernel has dropped the PTE lock, and the
stand-in does there what another thread may do (a MADV_DONTNEED zap), or returns what a real
callback may return (filemap_page_mkwrite() on a truncated page).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from types import ModuleType
from typing import Callable
from unittest import mock

from fuzzplug.core.opslang import parse_text
from fuzzplug.kernel.arch import set_pte_at
from fuzzplug.kernel.mm import (
    do_user_fault,
    get_page,
    inc_mm_counter_fast,
    maybe_mkwrite,
    page_add_new_anon_rmap,
    pfn_to_page,
    zap_details,
)
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
    VM_FAULT_DONE_COW,
    VM_FAULT_NOPAGE,
    __pfn_to_pfn_t,
    mm_counter,
    pfn_pte,
    pfn_t,
    pgprot_t,
    pte_clear_flags,
    pte_mkdirty,
    pte_mkspecial,
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
    prots keep their bits); pass PAT=1, arch=..., HAVE_PTE_SPECIAL=0... to change them."""
    cfg = {"HAVE_PTE_SPECIAL": 1, "DEVMAP": 1, "arch": "x86_64", "DEBUG_VM": 0, "PAT": 0}
    cfg.update(config)
    text = ("config " + " ".join(f"{key}={value}" for key, value in cfg.items()) + "\n"
            f"vma start={start:#x} end={end:#x} flags={flags} vm_ops={vm_ops or 0} "
            f"pgoff={pgoff:#x}\n")
    return Scene.from_ops(parse_text(SCHEMA, text)).boot(model)


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


# --- the cases ---

@dataclass(frozen=True)
class Case:
    """A named scenario and the model versions it runs on."""

    name: str
    run: Callable[[ModuleType], Kernel]
    versions: tuple[str, ...]

    def runs_on(self, version: str) -> bool:
        """Whether the case runs on `version`: one it names, or a fixed version of the chain
        when it names v4.14 (a fix changes insert_pfn only; the entry points are v4.14's)."""
        return version in self.versions or (version in FIXED and "v4.14" in self.versions)

    def __call__(self, model: ModuleType) -> Kernel:
        assert self.runs_on(model.VERSION), f"{self.name} does not run on {model.VERSION}"
        return self.run(model)


CASES: list[Case] = []
BOTH = ("v4.13", "v4.14")
FIXED = ("v4.14+f2c57d91b0d9", "v4.14+f2c57d91b0d9+cae85cb8add3")
"""The versions of the chain after the seed: v4.14 with each upstream fix applied in turn."""


def case(*versions: str) -> Callable[[Callable[[ModuleType], Kernel]], Case]:
    """Register a case function; it runs on `versions` (both models by default)."""

    def register(fn: Callable[[ModuleType], Kernel]) -> Case:
        c = Case(fn.__name__, fn, versions or BOTH)
        CASES.append(c)
        return c

    return register


# --- insert_pfn, __get_locked_pte ---

@case()
def mixed_insert_of_mmio(model):
    """vm_insert_mixed() of an MMIO pfn into a shared writable VM_MIXEDMAP whose vm_ops have
    pfn_mkwrite (so vm_page_prot is write-protected): insert_pfn() maps it special."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    return k


@case()
def mixed_insert_twice(model):
    """The same vm_insert_mixed() twice: the second finds the PTE populated."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    return k


@case()
def mixed_insert_of_device_memory(model):
    """vm_insert_mixed() of ZONE_DEVICE memory (PFN_DEV|PFN_MAP) with
    __HAVE_ARCH_PTE_DEVMAP: a devmap entry."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    return k


@case()
def mixed_insert_of_device_memory_without_devmap(model):
    """The same without __HAVE_ARCH_PTE_DEVMAP: pfn_t_devmap() is false."""
    k = boot(model, SHARED_RW_MIXED, DEVMAP=0)
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    return k


def _insert_failing_allocation(model, nth):
    k = boot(model, SHARED_RW_MIXED)
    k.fail_nth_alloc(nth)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    return k


@case()
def mixed_insert_failing_pud_alloc(model):
    """vm_insert_mixed() into an empty page table whose first allocation (the PUD) fails."""
    return _insert_failing_allocation(model, 1)


@case()
def mixed_insert_failing_pmd_alloc(model):
    """...whose second allocation (the PMD) fails."""
    return _insert_failing_allocation(model, 2)


@case()
def mixed_insert_failing_pte_alloc(model):
    """...whose third allocation (the PTE table) fails."""
    return _insert_failing_allocation(model, 3)


# --- vm_insert_pfn_prot ---

@case()
def pfn_insert_of_mmio_with_pat(model):
    """vm_insert_pfn() of an MMIO pfn into a shared VM_PFNMAP on x86 with PAT: the pfn has no
    memtype reservation, so track_pfn_insert() makes the prot UC- (PCD)."""
    k = boot(model, SHARED_RW_PFNMAP, PAT=1)
    call(k, model, "vm_insert_pfn", A0, MMIO)
    return k


@case()
def pfn_insert_of_mmio_on_ppc64(model):
    """The same on ppc64 (the radix MMU, whose update_mmu_cache() does nothing):
    track_pfn_insert() is a no-op there."""
    k = boot(model, SHARED_RW_PFNMAP, PAT=1, arch="ppc64_radix")
    call(k, model, "vm_insert_pfn", A0, MMIO)
    return k


@case()
def pfn_insert_with_explicit_write_through_prot_with_pat(model):
    """vm_insert_pfn_prot() with a PWT prot on x86 with PAT: the cache bits of the prot are
    replaced by those of the pfn's memtype (UC- for MMIO)."""
    from fuzzplug.kernel.types import _PAGE_PRESENT, _PAGE_PWT, _PAGE_USER

    k = boot(model, SHARED_RW_PFNMAP, PAT=1)
    call(k, model, "vm_insert_pfn_prot", A0, MMIO,
         pgprot_t(_PAGE_PRESENT | _PAGE_USER | _PAGE_PWT))
    return k


@case()
def pfn_insert_outside_the_vma(model):
    """vm_insert_pfn() at vm_end and below vm_start."""
    k = boot(model, SHARED_RW_PFNMAP)
    call(k, model, "vm_insert_pfn", END, MMIO)
    call(k, model, "vm_insert_pfn", A0 - PAGE_SIZE, MMIO)
    return k


@case()
def pfn_insert_into_a_vma_without_pfnmap_or_mixedmap(model):
    """vm_insert_pfn() into a VMA with neither VM_PFNMAP nor VM_MIXEDMAP."""
    k = boot(model, SHARED_RW_PLAIN)
    call(k, model, "vm_insert_pfn", A0, MMIO)
    return k


@case()
def pfn_insert_into_a_vma_with_pfnmap_and_mixedmap(model):
    """vm_insert_pfn() into a VMA with both VM_PFNMAP and VM_MIXEDMAP."""
    k = boot(model, SHARED_RW_PFNMAP + "|VM_MIXEDMAP")
    call(k, model, "vm_insert_pfn", A0, MMIO)
    return k


@case()
def pfn_insert_into_a_cow_pfnmap_outside_the_vma(model):
    """vm_insert_pfn() into a private (COW) VM_PFNMAP, at vm_end: the BUG_ONs come first."""
    k = boot(model, PRIVATE_RW_PFNMAP)
    call(k, model, "vm_insert_pfn", END, MMIO)
    return k


@case()
def pfn_insert_of_a_valid_pfn_into_a_mixedmap(model):
    """vm_insert_pfn() of a RAM pfn (pfn_valid) into a VM_MIXEDMAP."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_pfn", A0, RAM)
    return k


@case()
def pfn_insert_with_a_non_present_prot_then_fault_and_zap(model):
    """vm_insert_pfn_prot() with a prot that has neither _PAGE_PRESENT nor _PAGE_PROTNONE
    (the C does not check it): the entry is neither none nor present. Then a user read of it,
    then the zap."""
    from fuzzplug.kernel.types import _PAGE_USER

    k = boot(model, SHARED_RW_PFNMAP)
    call(k, model, "vm_insert_pfn_prot", A0, MMIO, pgprot_t(_PAGE_USER))
    user_fault(k, model, A0)
    zap(k, model, A0)
    return k


# --- vm_insert_mixed, insert_page ---

@case()
def mixed_insert_outside_the_vma(model):
    """vm_insert_mixed() below vm_start and at vm_end."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0 - PAGE_SIZE, MMIO_PFN)
    call(k, model, "vm_insert_mixed", END, MMIO_PFN)
    return k


@case()
def mixed_insert_into_a_vma_without_mixedmap(model):
    """vm_insert_mixed() into a VM_PFNMAP VMA."""
    k = boot(model, SHARED_RW_PFNMAP)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    return k


@case()
def mixed_insert_of_ram_without_pte_special(model):
    """vm_insert_mixed() of a RAM page without pte_special: refcounted through
    insert_page()."""
    k = boot(model, SHARED_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    return k


@case()
def mixed_insert_of_ram_twice_without_pte_special(model):
    """The same insert_page() twice."""
    k = boot(model, SHARED_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    return k


@case()
def mixed_insert_of_ram_without_pte_special_failing_pud_alloc(model):
    """insert_page() into an empty page table whose PUD allocation fails."""
    k = boot(model, SHARED_RW_MIXED, HAVE_PTE_SPECIAL=0)
    k.fail_nth_alloc(1)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    return k


@case()
def mixed_insert_of_a_cow_copy_without_pte_special(model):
    """Without pte_special, in a private VM_MIXEDMAP: a RAM page goes in through
    insert_page(), a user write COWs it to an anonymous page, and vm_insert_mixed() of that
    anonymous page's pfn at the next address is refused by insert_page()."""
    k = boot(model, PRIVATE_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    user_fault(k, model, A0, write=True)
    call(k, model, "vm_insert_mixed", A1, pfn_of(ANON))
    return k


@case()
def mixed_insert_of_mmio_without_pte_special_then_zap(model):
    """Without pte_special, vm_insert_mixed() of an MMIO pfn (not pfn_valid) goes to
    insert_pfn(); the zap finds no page for it."""
    k = boot(model, SHARED_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    zap(k, model, A0)
    return k


@case()
def mixed_insert_of_ram_without_pte_special_then_zap(model):
    """insert_page() of a RAM page, then the zap: the page is normal (VM_MIXEDMAP,
    pfn_valid) and every reference is given back; the entry was young."""
    k = boot(model, SHARED_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    zap(k, model, A0)
    return k


@case()
def mixed_insert_of_device_memory_without_pte_special_then_zap(model):
    """A config no real kernel has (devmap without pte_special): vm_insert_mixed() of
    ZONE_DEVICE memory takes insert_pfn() (pfn_t_devmap), unrefcounted, but the zap's
    vm_normal_page() sees a VM_MIXEDMAP pfn_valid() page and unmaps it as refcounted."""
    k = boot(model, SHARED_RW_MIXED, HAVE_PTE_SPECIAL=0, DEVMAP=1)
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    zap(k, model, A0)
    return k


# --- zap ---

@case()
def mixed_insert_then_zap(model):
    """vm_insert_mixed() of MMIO with pte_special, then the zap of that page."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    zap(k, model, A0)
    return k


@case()
def zap_outside_the_vma(model):
    """zap_page_range_single() of ranges that miss the VMA: at vm_end, and one that ends at
    vm_start."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    zap(k, model, END)
    zap(k, model, A0 - PAGE_SIZE)
    return k


@case()
def zap_of_a_range_that_starts_below_the_vma(model):
    """vm_insert_mixed() at A0 and A1, then a zap of [A0 - PAGE_SIZE, A0 + PAGE_SIZE):
    unmap_single_vma() clamps it to the VMA, so only A0 goes."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    call(k, model, "vm_insert_mixed", A1, MMIO_PFN)
    zap(k, model, A0 - PAGE_SIZE, 2 * PAGE_SIZE)
    return k


@case()
def zap_of_an_empty_vma(model):
    """The zap of a VMA that has no page table."""
    k = boot(model, SHARED_RW_MIXED)
    zap(k, model, A0, END - A0)
    return k


@case()
def dirty_file_page_zap(model):
    """Without pte_special, in a shared writable VM_MIXEDMAP with no mkwrite callbacks (so
    the prot is writable): insert_page() of a RAM page, a user write (the x86 MMU marks the
    writable entry dirty, no fault), a second identical write, then the zap."""
    k = boot(model, SHARED_RW_MIXED, vm_ops="0", HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    user_fault(k, model, A0, write=True)
    user_fault(k, model, A0, write=True)
    zap(k, model, A0)
    return k


@case()
def writes_to_a_kernel_only_writable_entry(model):
    """vm_insert_pfn_prot() of MMIO with a writable prot without _PAGE_USER (a driver bug
    the C does not check) into a shared writable VM_PFNMAP; then two user stores. Each
    faults with PF_PROT|PF_WRITE|PF_USER and access_error() lets it through (VM_WRITE):
    the first marks the entry dirty, the second finds nothing to change."""
    from fuzzplug.kernel.types import _PAGE_ACCESSED, _PAGE_PRESENT, _PAGE_RW

    k = boot(model, SHARED_RW_PFNMAP)
    call(k, model, "vm_insert_pfn_prot", A0, MMIO,
         pgprot_t(_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED))
    user_fault(k, model, A0, write=True)
    user_fault(k, model, A0, write=True)
    return k


class _OtherCpu:
    """A stand-in for the scheduler of `fuzzplug.runtime.sched` (`Kernel.sched`): at the
    first switch point whose label starts with `where`, another CPU runs `then()`."""

    def __init__(self, where: str, then: Callable[[], None]):
        self.where, self.then, self.fired = where, then, False

    def point(self, label: str) -> None:
        if not self.fired and label.startswith(self.where):
            self.fired = True
            self.then()

    def spin_lock(self, name: str, label: str) -> None:
        """The PTE lock's switch point (`Scheduler.spin_lock`): the other CPU may go first."""
        self.point(label)


@case()
def a_zap_races_a_write_fault_between_the_lockless_read_and_the_pte_lock(model):
    """As writes_to_a_kernel_only_writable_entry, one store: between handle_pte_fault()'s
    lockless read of the entry and its taking of the PTE lock, another CPU zaps the page
    (MADV_DONTNEED; played by a stand-in scheduler at the PTE lock's switch point). The
    re-check under the lock sees another entry: the fault returns 0, to be retried."""
    from fuzzplug.kernel.types import _PAGE_ACCESSED, _PAGE_PRESENT

    k = boot(model, SHARED_RW_PFNMAP)
    call(k, model, "vm_insert_pfn_prot", A0, MMIO,
         pgprot_t(_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED))
    k.sched = _OtherCpu("handle_pte_fault",
                        lambda: model.zap_page_range_single(k.vma, A0, PAGE_SIZE))
    try:
        user_fault(k, model, A0, write=True)
    finally:
        k.sched = None
    return k


# --- vm_normal_page: hand-made entries ---

@case()
def zap_of_a_special_entry_outside_pfnmap_and_mixedmap(model):
    """Hand-made: a special MMIO entry installed (get_locked_pte + set_pte_at) in a VMA with
    neither VM_PFNMAP nor VM_MIXEDMAP, where no kernel path puts one; then the zap."""
    k = boot(model, PLAIN_RO)
    install_pte(k, model, A0, pte_mkspecial(pfn_pte(MMIO, k.vma.vm_page_prot)))
    zap(k, model, A0)
    return k


@case()
def write_to_the_zero_page_of_a_private_mapping(model):
    """Hand-made: the zero-page entry do_anonymous_page() installs on a read fault of a
    private mapping (pte_mkspecial(pfn_pte(zero pfn, vm_page_prot)), set_pte_at), then a
    user write to it."""
    k = boot(model, PRIVATE_RW_PLAIN)
    install_pte(k, model, A0, pte_mkspecial(pfn_pte(ZERO, k.vma.vm_page_prot)))
    user_fault(k, model, A0, write=True)
    return k


@case()
def write_to_the_zero_page_without_pte_special(model):
    """The same without pte_special (pte_mkspecial() is the identity there, so the entry is
    plain pfn_pte())."""
    k = boot(model, PRIVATE_RW_PLAIN, HAVE_PTE_SPECIAL=0)
    install_pte(k, model, A0, pfn_pte(ZERO, k.vma.vm_page_prot))
    user_fault(k, model, A0, write=True)
    return k


@case()
def zap_of_a_normal_entry_beyond_the_memmap(model):
    """Hand-made: a non-special entry for a pfn above highest_memmap_pfn (a corrupted page
    table) in a VM_MIXEDMAP with pte_special; then the zap."""
    k = boot(model, SHARED_RW_MIXED)
    install_pte(k, model, A0, pfn_pte(BEYOND, k.vma.vm_page_prot))
    zap(k, model, A0)
    return k


@case()
def cow_of_a_special_entry_then_zap(model):
    """With pte_special, in a private VM_MIXEDMAP: vm_insert_mixed() of MMIO, a user write
    that COWs it to an anonymous page, then the zap of that page."""
    k = boot(model, PRIVATE_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    user_fault(k, model, A0, write=True)
    zap(k, model, A0)
    return k


@case()
def cow_of_a_file_page_then_zap_of_the_file_mapping_only(model):
    """Without pte_special, in a private VM_MIXEDMAP: the RAM page (a page of the file,
    page->mapping set as the page cache sets it) at A0 and A1, a user write COWs A0; then
    the zap that unmap_mapping_range(mapping, ..., even_cows=0) makes (zap_details with
    check_mapping): the COW copy at A0 stays, the file page at A1 goes."""
    k = boot(model, PRIVATE_RW_MIXED, HAVE_PTE_SPECIAL=0)
    mapping = object()  # stands for the file's struct address_space
    page_at(k, RAM).mapping = mapping
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    call(k, model, "vm_insert_mixed", A1, RAM_PFN)
    user_fault(k, model, A0, write=True)
    _begin(k, "zap", addr=A0)
    model.zap_page_range_single(k.vma, A0, 2 * PAGE_SIZE, zap_details(check_mapping=mapping))
    _end(k, "zap", None)
    return k


@case()
def cow_fault_completed_by_the_fault_handler(model):
    """Stand-in: a vm_ops->fault that completes the COW itself, as DAX does
    (dax_iomap_pte_fault → finish_fault() → alloc_set_pte(): the COW page mapped as a new
    anonymous page, dirty and writable) and returns VM_FAULT_DONE_COW; the user write at A0
    of a private VM_MIXEDMAP."""
    k = boot(model, PRIVATE_RW_MIXED)

    def fault_done_cow(vmf):
        k.event(EventKind.CALLBACK, "fault", addr=vmf.address, pgoff=vmf.pgoff)
        pte = model.get_locked_pte(k.mm, vmf.address)
        entry = pfn_pte(vmf.cow_page.pfn, vmf.vma.vm_page_prot)
        entry = maybe_mkwrite(pte_mkdirty(entry), vmf.vma)
        inc_mm_counter_fast(k.mm, mm_counter.MM_ANONPAGES)
        page_add_new_anon_rmap(k, vmf.cow_page, vmf.vma, vmf.address)
        set_pte_at(k.mm, vmf.address, pte, entry)
        return VM_FAULT_DONE_COW

    k.fault_handler = fault_done_cow
    user_fault(k, model, A0, write=True)
    return k


@case()
def pfnmap_inserts_without_pte_special_then_zap(model):
    """Without pte_special, in a shared VM_PFNMAP with vm_pgoff=MMIO: vm_insert_pfn() of the
    linear pfn at A0 (pfn == vm_pgoff + 0) and of a RAM pfn at A1 (not linear), then the
    zap of both."""
    k = boot(model, SHARED_RW_PFNMAP, pgoff=MMIO, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_pfn", A0, MMIO)
    call(k, model, "vm_insert_pfn", A1, RAM)
    zap(k, model, A0, 2 * PAGE_SIZE)
    return k


@case()
def cow_of_a_remapped_pfn_without_pte_special_then_zap(model):
    """Hand-made: remap_pfn_range() of a private (COW) VM_PFNMAP with vm_pgoff=MMIO installs
    the linear entry (pfn_pte(MMIO, prot); pte_mkspecial() is the identity without
    pte_special); a user write COWs it, then the zap of the anonymous copy."""
    k = boot(model, PRIVATE_RW_PFNMAP, pgoff=MMIO, HAVE_PTE_SPECIAL=0)
    install_pte(k, model, A0, pfn_pte(MMIO, k.vma.vm_page_prot))
    user_fault(k, model, A0, write=True)
    zap(k, model, A0)
    return k


# --- faults on none PTEs ---

@case()
def read_faults(model):
    """Two user reads of a shared VM_MIXEDMAP over device memory (vm_pgoff=DEV): the first
    finds no PTE table, the second (next page) a none PTE; vm_ops->fault inserts the pfn."""
    k = boot(model, SHARED_RW_MIXED)
    user_fault(k, model, A0)
    user_fault(k, model, A1)
    return k


@case()
def write_fault_on_a_none_pte_of_a_shared_mapping(model):
    """A user write to a none PTE of a shared VM_MIXEDMAP."""
    k = boot(model, SHARED_RW_MIXED)
    user_fault(k, model, A0, write=True)
    return k


@case()
def write_fault_on_a_none_pte_of_a_private_mapping(model):
    """A user write to a none PTE of a private VM_MIXEDMAP."""
    k = boot(model, PRIVATE_RW_MIXED)
    user_fault(k, model, A0, write=True)
    return k


def _failing_fault(model, flags, nth, write):
    k = boot(model, flags)
    k.fail_nth_alloc(nth)
    user_fault(k, model, A0, write=write)
    return k


@case()
def read_fault_failing_pud_alloc(model):
    """A user read into an empty page table whose PUD allocation fails."""
    return _failing_fault(model, SHARED_RW_MIXED, 1, False)


@case()
def read_fault_failing_pmd_alloc(model):
    """A user read into an empty page table whose PMD allocation fails."""
    return _failing_fault(model, SHARED_RW_MIXED, 2, False)


@case()
def read_fault_failing_pte_alloc(model):
    """A user read into an empty page table whose PTE-table allocation (the third, made by
    the fault handler's insert) fails."""
    return _failing_fault(model, SHARED_RW_MIXED, 3, False)


@case()
def cow_fault_failing_anon_vma(model):
    """A user write to a none PTE of a private mapping; the third allocation (the
    anon_vma_chain, the first of anon_vma_prepare()'s two) fails."""
    return _failing_fault(model, PRIVATE_RW_MIXED, 3, True)


@case()
def cow_fault_failing_the_anon_vma_itself(model):
    """...the fourth allocation (anon_vma_alloc(), after the anon_vma_chain) fails."""
    return _failing_fault(model, PRIVATE_RW_MIXED, 4, True)


@case()
def cow_fault_failing_cow_page(model):
    """...the fifth allocation (the COW page) fails."""
    return _failing_fault(model, PRIVATE_RW_MIXED, 5, True)


@case()
def fault_insert_refused_without_pte_special(model):
    """Without pte_special, in a private VM_MIXEDMAP with vm_pgoff=ANON-1 (an MMIO pfn): a
    user read maps that pfn, a user write COWs it to the first anonymous page (pfn ANON),
    and a user read of the next page, whose linear pfn is that anonymous page, gets
    insert_page()'s -EINVAL from the fault handler's vm_insert_mixed()."""
    k = boot(model, PRIVATE_RW_MIXED, pgoff=ANON - 1, HAVE_PTE_SPECIAL=0)
    user_fault(k, model, A0)
    user_fault(k, model, A0, write=True)
    user_fault(k, model, A1)
    return k


@case()
def faults_refused_by_the_access_checks(model):
    """User accesses refused before handle_mm_fault(): outside the VMA, a write to a VMA
    without VM_WRITE."""
    k = boot(model, SHARED_RO_MIXED)
    user_fault(k, model, END)
    user_fault(k, model, A0, write=True)
    return k


@case()
def read_fault_on_a_vma_without_access_rights(model):
    """A user read of a VMA with none of VM_READ, VM_WRITE, VM_EXEC."""
    k = boot(model, "VM_SHARED|VM_MIXEDMAP")
    user_fault(k, model, A0)
    return k


# --- write faults on present read-only PTEs ---

@case()
def dax_write_fault(model):
    """v4.13's DAX sequence: vm_insert_mixed() of device memory into a shared writable
    VM_MIXEDMAP with pfn_mkwrite (write-protected prot), then the user write: do_wp_page()
    → wp_pfn_shared() → dax_pfn_mkwrite() → finish_mkwrite_fault() → wp_page_reuse()."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    user_fault(k, model, A0, write=True)
    return k


@case()
def write_fault_on_a_special_entry_with_page_mkwrite_only(model):
    """A shared writable VM_MIXEDMAP whose vm_ops have page_mkwrite but no pfn_mkwrite
    (write-protected prot): vm_insert_mixed() of MMIO, then the user write."""
    k = boot(model, SHARED_RW_MIXED, vm_ops="page_mkwrite")
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    user_fault(k, model, A0, write=True)
    return k


@case()
def write_fault_with_a_pfn_mkwrite_that_only_notifies(model):
    """Stand-in: a driver's pfn_mkwrite that accepts the write and returns 0 (dax_pfn_mkwrite
    never does), so wp_pfn_shared() finishes the fault itself."""

    def notify_only(original, vmf):
        vmf.vma.vm_mm.kernel.event(EventKind.CALLBACK, "pfn_mkwrite", addr=vmf.address)
        return 0

    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    with stand_in(model, "dax_pfn_mkwrite", notify_only):
        user_fault(k, model, A0, write=True)
    return k


@case()
def dax_write_fault_racing_a_zap(model):
    """Stand-in: while dax_pfn_mkwrite() runs with the PTE lock dropped, another thread's
    MADV_DONTNEED zaps the page; then the real dax_pfn_mkwrite() runs."""

    def zapped_meanwhile(original, vmf):
        model.zap_page_range_single(vmf.vma, vmf.address, PAGE_SIZE)
        return original(vmf)

    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    with stand_in(model, "dax_pfn_mkwrite", zapped_meanwhile):
        user_fault(k, model, A0, write=True)
    return k


@case()
def forced_writes_to_a_private_read_only_mapping(model):
    """Two FOLL_FORCE writes (ptrace) to a special MMIO entry of a private VM_MIXEDMAP
    without VM_WRITE: the first COWs it to an anonymous page, mapped read-only but dirty
    (maybe_mkwrite() without VM_WRITE); the second finds that page mapped once."""
    k = boot(model, PRIVATE_RO_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    forced_write(k, model, A0)
    forced_write(k, model, A0)
    return k


@case()
def write_after_fork_to_a_shared_anonymous_page(model):
    """Hand-made fork: a private VM_MIXEDMAP's special MMIO entry is COWed by a user write,
    then fork() shares the anonymous copy with a child (fork_cow_page: get_page,
    page_dup_rmap, write-protect), then the parent writes again."""
    k = boot(model, PRIVATE_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    user_fault(k, model, A0, write=True)
    fork_cow_page(k, A0)
    user_fault(k, model, A0, write=True)
    return k


@case()
def write_fault_on_a_shared_file_page(model):
    """Without pte_special, a shared writable VM_MIXEDMAP with pfn_mkwrite (write-protected
    prot): insert_page() of a RAM page, then the user write."""
    k = boot(model, SHARED_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    user_fault(k, model, A0, write=True)
    return k


@case()
def write_fault_on_a_shared_file_page_with_page_mkwrite(model):
    """The same with page_mkwrite (filemap_page_mkwrite())."""
    k = boot(model, SHARED_RW_MIXED, vm_ops="page_mkwrite", HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    user_fault(k, model, A0, write=True)
    return k


@case()
def write_fault_on_a_truncated_shared_file_page(model):
    """Stand-in: filemap_page_mkwrite() finds the page truncated (page->mapping is no longer
    the inode's) and returns VM_FAULT_NOPAGE without dirtying it, as mm/filemap.c does."""

    def truncated(original, vmf):
        vmf.vma.vm_mm.kernel.event(EventKind.CALLBACK, "page_mkwrite", addr=vmf.address,
                                   pfn=vmf.page.pfn)
        return VM_FAULT_NOPAGE

    k = boot(model, SHARED_RW_MIXED, vm_ops="page_mkwrite", HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    with stand_in(model, "filemap_page_mkwrite", truncated):
        user_fault(k, model, A0, write=True)
    return k


@case()
def write_fault_on_a_shared_file_page_racing_a_zap(model):
    """Stand-in: while page_mkwrite runs with the PTE lock dropped, another thread's
    MADV_DONTNEED zaps the page; then the real filemap_page_mkwrite() runs."""

    def zapped_meanwhile(original, vmf):
        model.zap_page_range_single(vmf.vma, vmf.address, PAGE_SIZE)
        return original(vmf)

    k = boot(model, SHARED_RW_MIXED, vm_ops="page_mkwrite", HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    with stand_in(model, "filemap_page_mkwrite", zapped_meanwhile):
        user_fault(k, model, A0, write=True)
    return k


def _cow_of_a_file_page(model, nth=0):
    k = boot(model, PRIVATE_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    if nth:
        k.fail_nth_alloc(nth)
    user_fault(k, model, A0, write=True)
    return k


@case()
def cow_of_a_file_page_failing_anon_vma(model):
    """Without pte_special, a private VM_MIXEDMAP: insert_page() of a RAM page, then a user
    write whose first allocation (the anon_vma_chain) fails."""
    return _cow_of_a_file_page(model, 1)


@case()
def cow_of_a_file_page_failing_the_anon_vma_itself(model):
    """...whose second allocation (the anon_vma) fails: the chain allocated first is freed."""
    return _cow_of_a_file_page(model, 2)


@case()
def cow_of_a_file_page_failing_the_copy(model):
    """...whose third allocation (the new page) fails."""
    return _cow_of_a_file_page(model, 3)


@case()
def cow_of_a_file_page_racing_a_zap(model):
    """Stand-in: while wp_page_copy() allocates the copy with the PTE lock dropped, another
    thread's MADV_DONTNEED zaps the page."""

    def zapped_meanwhile(original, k, vma, address):
        new_page = original(k, vma, address)
        model.zap_page_range_single(vma, address, PAGE_SIZE)
        return new_page

    k = boot(model, PRIVATE_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed", A0, RAM_PFN)
    with stand_in(model, "alloc_page_vma", zapped_meanwhile):
        user_fault(k, model, A0, write=True)
    return k


# --- v4.14: vm_insert_mixed_mkwrite ---

@case("v4.14")
def mkwrite_insert_into_a_shared_writable_mapping(model):
    """vm_insert_mixed_mkwrite() of MMIO into a none PTE of a shared writable VM_MIXEDMAP."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed_mkwrite", A0, MMIO_PFN)
    return k


@case("v4.14")
def mkwrite_insert_into_a_shared_read_only_mapping(model):
    """vm_insert_mixed_mkwrite() of MMIO into a none PTE of a shared VMA without VM_WRITE."""
    k = boot(model, SHARED_RO_MIXED)
    call(k, model, "vm_insert_mixed_mkwrite", A0, MMIO_PFN)
    return k


@case("v4.14")
def mkwrite_insert_of_device_memory(model):
    """vm_insert_mixed_mkwrite() of ZONE_DEVICE memory (DAX's write fault in v4.14)."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed_mkwrite", A0, DEV_PFN)
    return k


def _mkwrite_over_a_read_only_insert(model, **config):
    k = boot(model, SHARED_RW_MIXED, **config)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    call(k, model, "vm_insert_mixed_mkwrite", A0, MMIO_PFN)
    return k


@case("v4.14")
def mkwrite_over_a_read_only_insert(model):
    """vm_insert_mixed() of MMIO, then vm_insert_mixed_mkwrite() of the same pfn (DAX's read
    fault, then its write fault, in v4.14), on x86."""
    return _mkwrite_over_a_read_only_insert(model)


@case("v4.14")
def mkwrite_over_a_read_only_insert_on_ppc64_with_debug_vm(model):
    """The same on ppc64 with CONFIG_DEBUG_VM."""
    return _mkwrite_over_a_read_only_insert(model, arch="ppc64", DEBUG_VM=1)


@case("v4.14")
def mkwrite_over_a_read_only_insert_on_arm64_with_debug_vm(model):
    """The same on arm64 with CONFIG_DEBUG_VM."""
    return _mkwrite_over_a_read_only_insert(model, arch="arm64", DEBUG_VM=1)


@case("v4.14")
def mkwrite_over_a_read_only_insert_on_ppc64_radix_with_debug_vm(model):
    """The same on ppc64 with the radix MMU and CONFIG_DEBUG_VM."""
    return _mkwrite_over_a_read_only_insert(model, arch="ppc64_radix", DEBUG_VM=1)


@case("v4.14")
def mkwrite_twice_over_a_read_only_insert(model):
    """vm_insert_mixed() of MMIO, then vm_insert_mixed_mkwrite() of the same pfn twice: the
    second finds the entry already young, dirty and writable."""
    k = _mkwrite_over_a_read_only_insert(model)
    call(k, model, "vm_insert_mixed_mkwrite", A0, MMIO_PFN)
    return k


@case("v4.14")
def mkwrite_over_the_zero_page_then_over_another_pfn(model):
    """vm_insert_mixed() of the zero page (DAX's read fault on a hole, v4.14), then
    vm_insert_mixed_mkwrite() of a block's pfn there (the write fault that raced with
    write(2)'s block allocation, f2c57d91b0d9's message), then vm_insert_mixed_mkwrite() at
    the next page, over an entry for another (non-zero) pfn."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, pfn_of(ZERO))  # pfn_to_pfn_t(my_zero_pfn())
    call(k, model, "vm_insert_mixed_mkwrite", A0, MMIO_PFN)
    call(k, model, "vm_insert_mixed", A1, MMIO_PFN)
    call(k, model, "vm_insert_mixed_mkwrite", A1, pfn_of(MMIO + 1, PFN_DEV))
    return k


@case("v4.14")
def mkwrite_of_another_pfn_twice(model):
    """vm_insert_mixed() of MMIO, then two vm_insert_mixed_mkwrite() of the next pfn."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    call(k, model, "vm_insert_mixed_mkwrite", A0, pfn_of(MMIO + 1, PFN_DEV))
    call(k, model, "vm_insert_mixed_mkwrite", A0, pfn_of(MMIO + 1, PFN_DEV))
    return k


@case("v4.14")
def mkwrite_over_a_cow_copy(model):
    """The case the code comment names: in a private VM_MIXEDMAP the entry is a writable COW
    copy (a user write after vm_insert_mixed()), then vm_insert_mixed_mkwrite() of the
    original pfn."""
    k = boot(model, PRIVATE_RW_MIXED)
    call(k, model, "vm_insert_mixed", A0, MMIO_PFN)
    user_fault(k, model, A0, write=True)
    call(k, model, "vm_insert_mixed_mkwrite", A0, MMIO_PFN)
    return k


@case("v4.14")
def mkwrite_insert_of_ram_without_pte_special(model):
    """vm_insert_mixed_mkwrite() of a RAM page without pte_special: __vm_insert_mixed()
    takes insert_page(), which has no mkwrite."""
    k = boot(model, SHARED_RW_MIXED, HAVE_PTE_SPECIAL=0)
    call(k, model, "vm_insert_mixed_mkwrite", A0, RAM_PFN)
    return k


@case("v4.14")
def mkwrite_insert_outside_the_vma(model):
    """vm_insert_mixed_mkwrite() at vm_end."""
    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_mixed_mkwrite", END, MMIO_PFN)
    return k


# --- the MMU's own access ---

def _mmu_serves(model, arch):
    """vm_insert_pfn_prot() of MMIO with a user-writable prot that is neither young nor
    dirty (PRESENT|USER|RW) into a shared writable VM_PFNMAP, then a user load, a user store
    and another load: every access is one the entry permits."""
    from fuzzplug.kernel.types import _PAGE_PRESENT, _PAGE_RW, _PAGE_USER

    k = boot(model, SHARED_RW_PFNMAP, arch=arch)
    call(k, model, "vm_insert_pfn_prot", A0, MMIO, pgprot_t(_PAGE_PRESENT | _PAGE_USER | _PAGE_RW))
    user_fault(k, model, A0)
    user_fault(k, model, A0, write=True)
    user_fault(k, model, A0)
    return k


@case()
def mmu_serves_a_load_and_a_store_on_x86(model):
    """x86-64: the page walker sets A, then D; no fault handler runs."""
    return _mmu_serves(model, "x86_64")


@case()
def mmu_serves_a_load_and_a_store_on_arm64(model):
    """arm64 (HW AFDBM): the hardware sets AF, then DBM clears PTE_RDONLY on the store."""
    return _mmu_serves(model, "arm64")


@case()
def mmu_serves_a_load_and_a_store_on_ppc64_radix(model):
    """ppc64 radix: the MMU sets R, then C."""
    return _mmu_serves(model, "ppc64_radix")


@case()
def mmu_serves_a_load_and_a_store_on_ppc64_hash(model):
    """ppc64 hash: the insert's entry is not young, so update_mmu_cache() hashes nothing;
    the load misses the hash table and __hash_page() inserts a read-only HPTE; the store
    hits it, is refused, and __hash_page() marks the entry dirty and makes the HPTE
    writable; the second load hits the HPTE."""
    return _mmu_serves(model, "ppc64")


def _read_then_write_fault(model, arch):
    """Shared writable VM_MIXEDMAP over device memory with pfn_mkwrite (write-protected
    prot): a user load of a none PTE (the fault handler maps the pfn read-only), then a
    user store to it (the write-protect fault)."""
    k = boot(model, SHARED_RW_MIXED, arch=arch)
    user_fault(k, model, A0)
    user_fault(k, model, A0, write=True)
    return k


@case()
def read_then_write_fault_on_arm64(model):
    """arm64: a translation fault, then a permission fault (PTE_RDONLY without PTE_WRITE)."""
    return _read_then_write_fault(model, "arm64")


@case()
def read_then_write_fault_on_ppc64_radix(model):
    """ppc64 radix: no translation, then a protection fault."""
    return _read_then_write_fault(model, "ppc64_radix")


@case()
def read_then_write_fault_on_ppc64_hash(model):
    """ppc64 hash: the load finds no HPTE and no linux PTE (do_page_fault); the fault
    handler's insert preloads a read-only HPTE; the store is refused by it and by the
    read-only linux PTE (do_page_fault again); wp_page_reuse()'s ptep_set_access_flags()
    keeps the hash bits and its update_mmu_cache() makes the HPTE writable."""
    return _read_then_write_fault(model, "ppc64")


@case()
def read_of_an_exec_only_vma_on_arm64(model):
    """arm64: a user load of a VMA with only VM_EXEC: __do_page_fault() wants VM_READ or
    VM_WRITE for a load: SIGSEGV."""
    k = boot(model, "VM_EXEC|VM_SHARED|VM_MIXEDMAP", arch="arm64")
    user_fault(k, model, A0)
    return k


@case()
def read_of_an_exec_only_vma_on_x86(model):
    """x86-64: the same load is let through (VM_EXEC counts for a read) and the fault
    handler maps the pfn with PAGE_READONLY_EXEC."""
    k = boot(model, "VM_EXEC|VM_SHARED|VM_MIXEDMAP")
    user_fault(k, model, A0)
    return k


@case()
def read_of_a_kernel_only_entry(model):
    """vm_insert_pfn_prot() of MMIO with a prot without _PAGE_USER, then a user load: the
    x86 MMU faults with PF_PROT, and access_error() refuses a read with PF_PROT."""
    from fuzzplug.kernel.types import _PAGE_ACCESSED, _PAGE_PRESENT

    k = boot(model, SHARED_RW_PFNMAP)
    call(k, model, "vm_insert_pfn_prot", A0, MMIO, pgprot_t(_PAGE_PRESENT | _PAGE_ACCESSED))
    user_fault(k, model, A0)
    return k


# --- ppc64's hash MMU ---

@case()
def insert_from_a_system_call_on_ppc64_hash(model):
    """ppc64 hash: vm_insert_mixed() called from a system call (TRAP 0xc00, as a driver's
    mmap() would: Kernel.trap), so update_mmu_cache() does not preload; the user load that
    follows hashes the entry in."""
    k = boot(model, SHARED_RW_MIXED, arch="ppc64")
    k.trap = 0xC00
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    k.trap = 0x300
    user_fault(k, model, A0)
    return k


@case()
def kernel_only_insert_on_ppc64_hash(model):
    """ppc64 hash: vm_insert_pfn_prot() of MMIO with a young prot without _PAGE_USER
    (_PAGE_PRIVILEGED): hash_preload()'s __hash_page_4K() refuses it (check_pte_access()
    wants the privilege to match), so no HPTE."""
    from fuzzplug.kernel.types import _PAGE_ACCESSED, _PAGE_PRESENT

    k = boot(model, SHARED_RW_PFNMAP, arch="ppc64")
    call(k, model, "vm_insert_pfn_prot", A0, MMIO, pgprot_t(_PAGE_PRESENT | _PAGE_ACCESSED))
    return k


@case()
def insert_then_zap_on_ppc64_hash(model):
    """ppc64 hash: vm_insert_mixed() (the preload hashes it in), then the zap: pte_update()
    sees H_PAGE_HASHPTE and flushes the HPTE."""
    k = boot(model, SHARED_RW_MIXED, arch="ppc64")
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    zap(k, model, A0)
    return k


def orphan_hpte(k: Kernel, model: ModuleType, addr: int) -> None:
    """Hand-made: what b2770da64254's insert_pfn() does to a present, hashed entry on ppc64
    hash: set_pte_at() of the same entry (set_pte_filter() strips the hash bits, the HPTE
    stays), then update_mmu_cache() (the preload hashes a new one in)."""
    from fuzzplug.kernel.arch import update_mmu_cache

    entry = pte_at(k, addr)
    ptep = model.get_locked_pte(k.mm, addr)
    set_pte_at(k.mm, addr, ptep, entry)
    update_mmu_cache(k.vma, addr, ptep)


@case()
def load_through_a_stale_hpte_after_the_zap(model):
    """ppc64 hash, hand-made (orphan_hpte): a hashed entry whose first HPTE was orphaned;
    the zap flushes only the tracked HPTE; a user load at the unmapped address then hits
    the stale one and reads the pfn no PTE maps any more."""
    k = boot(model, SHARED_RW_MIXED, arch="ppc64")
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    orphan_hpte(k, model, A0)
    zap(k, model, A0)
    user_fault(k, model, A0)
    return k


@case()
def hash_group_full_of_stale_hptes(model):
    """ppc64 hash, hand-made: eight rounds of orphan_hpte fill the page's group with HPTEs
    (one tracked); the ninth orphans that one too, and its preload finds the group full:
    hpte_remove() evicts an entry before the insert."""
    k = boot(model, SHARED_RW_MIXED, arch="ppc64")
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    for _ in range(7):
        orphan_hpte(k, model, A0)
    _begin(k, "orphan_hpte", addr=A0)
    orphan_hpte(k, model, A0)
    _end(k, "orphan_hpte", None)
    return k


# --- non-present entries decoded as swap entries ---

def _hand_made_swap_entry(model, bits: int, pfn: int, **config):
    k = boot(model, SHARED_RW_MIXED, **config)
    install_pte(k, model, A0, pte_t(pfn << PAGE_SHIFT | bits))
    user_fault(k, model, A0)
    zap(k, model, A0)
    return k


@case()
def fault_and_zap_of_a_hwpoison_swap_entry(model):
    """Hand-made on x86-64: a non-present entry with SPECIAL (bit 9), SOFT_DIRTY (bit 11)
    and a pfn whose two low bits are set (bits 12-13): swap type 1 + 4 + 24 = 29 =
    SWP_HWPOISON (what v4.14's mkwrite reuse of an insert-made non-present entry makes).
    A user load, then the zap."""
    from fuzzplug.kernel.types import _PAGE_SOFT_DIRTY, _PAGE_SPECIAL, _PAGE_USER

    return _hand_made_swap_entry(model, _PAGE_USER | _PAGE_SPECIAL | _PAGE_SOFT_DIRTY,
                                 MMIO + 3)


@case()
def fault_and_zap_of_a_migration_swap_entry(model):
    """Hand-made on x86-64: bits 9, 10 and 11 and a pfn with both low bits set: swap type
    31 = SWP_MIGRATION_WRITE (no modelled path makes it: bit 10 is unused on x86). A user
    load, then the zap."""
    from fuzzplug.kernel.types import (
        _PAGE_ARM64_RDONLY,
        _PAGE_SOFT_DIRTY,
        _PAGE_SPECIAL,
        _PAGE_USER,
    )

    return _hand_made_swap_entry(
        model, _PAGE_USER | _PAGE_SPECIAL | _PAGE_ARM64_RDONLY | _PAGE_SOFT_DIRTY, MMIO + 3)


@case()
def fault_and_zap_of_an_entry_with_no_swap_type(model):
    """Hand-made on arm64: a non-present entry with PTE_USER and PTE_RDONLY (and the
    MT_NORMAL AttrIndx every user prot carries): swap type 4 + 16 + 32 = 52, above every
    type: a non_swap_entry that is neither migration nor hwpoison. A user load, then the
    zap."""
    from fuzzplug.kernel.types import _PAGE_ARM64_RDONLY, _PAGE_USER

    return _hand_made_swap_entry(model, _PAGE_USER | _PAGE_ARM64_RDONLY, MMIO, arch="arm64")


@case("v4.14")
def mkwrite_reuse_of_a_non_present_entry_makes_a_hwpoison_entry(model):
    """vm_insert_pfn_prot() of MMIO+3 with a prot without _PAGE_PRESENT (swap type 1 + 24 =
    25), then vm_insert_mixed_mkwrite() of the same pfn: the reuse path's pte_mkdirty() adds
    SOFT_DIRTY (type 29, SWP_HWPOISON); then a user load and the zap."""
    from fuzzplug.kernel.types import _PAGE_USER

    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_pfn_prot", A0, MMIO + 3, pgprot_t(_PAGE_USER))
    call(k, model, "vm_insert_mixed_mkwrite", A0, pfn_of(MMIO + 3, PFN_DEV))
    user_fault(k, model, A0)
    zap(k, model, A0)
    return k


# --- the smaller discrepancies ---

@case()
def zap_of_a_normal_entry_in_a_memmap_hole(model):
    """Hand-made: a non-special entry for an MMIO pfn (below highest_memmap_pfn, no struct
    page) in a VM_MIXEDMAP with pte_special; then the zap."""
    k = boot(model, SHARED_RW_MIXED)
    install_pte(k, model, A0, pfn_pte(MMIO, k.vma.vm_page_prot))
    zap(k, model, A0)
    return k


@case()
def write_fault_on_a_device_page_with_page_mkwrite(model):
    """A config no real kernel has (devmap without pte_special), with page_mkwrite:
    vm_insert_mixed() of ZONE_DEVICE memory (unrefcounted), then a user store; do_wp_page()
    sees a normal page, and filemap_page_mkwrite() finds it is no page of the file."""
    k = boot(model, SHARED_RW_MIXED, vm_ops="page_mkwrite", HAVE_PTE_SPECIAL=0, DEVMAP=1)
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    user_fault(k, model, A0, write=True)
    return k


def by_name(name: str) -> Case:
    for c in CASES:
        if c.name == name:
            return c
    raise KeyError(name)

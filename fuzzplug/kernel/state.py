"""The modelled kernel's objects and the record of a run.

One `Kernel` is one booted kernel with one process: its configuration (`Config`), the
memory map (`Memmap`: which pfns have a `struct page` and of what kind), the `struct page`s,
one `mm_struct` with its page table and rss counters, one `vm_area_struct`, on ppc64's hash
MMU the hash page table (`hpte`s), and what the run records: an ordered event trace, the
branch ids taken, the WARN_ON_ONCE once-state.

Mutable kernel objects change only through the functions that change them in the kernel
(`set_pte_at` and friends in `fuzzplug.kernel.arch`, `get_page`/`put_page` and the rmap and
counter helpers in `fuzzplug.kernel.mm`). Every stateful class has `_check_invariants()`;
it returns the list of kernel invariants that do not hold (a model may legitimately break
one, e.g. a negative mapcount is a real kernel bug that `print_bad_pte` reports), while
structural corruption of the model itself is asserted.

Sources (read, not copied), v4.13.9 and v4.14.5 alike: include/linux/mm_types.h (struct
page, vm_area_struct, mm_struct), include/linux/mm.h (the rss counters, page flags used),
arch/powerpc/include/asm/book3s/64/hash*.h (the hash page table's slots).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from fuzzplug.kernel.types import (
    _PAGE_ARM64_RDONLY,
    _PAGE_DIRTY,
    _PAGE_PRESENT,
    _PAGE_RW,
    H_PAGE_F_GIX,
    H_PAGE_F_GIX_SHIFT,
    H_PAGE_HASHPTE,
    PAGE_SHIFT,
    mm_counter,
    pgprot_t,
    pte_pfn,
    pte_t,
)

if TYPE_CHECKING:
    from fuzzplug.runtime.physmem import PhysMemory


class Arch(enum.Enum):
    """The architectures (and MMUs) whose hooks are modelled (`fuzzplug.kernel.arch`).

    The order is the op language's `arch=` choice ids: append only. `ppc64` is book3s64 with
    the hash MMU (POWER8 and earlier, and POWER9 booted with disable_radix); `ppc64_radix`
    is book3s64 with the radix MMU (POWER9's default from v4.14 on: radix_enabled()).
    """

    x86_64 = "x86_64"
    ppc64 = "ppc64"
    arm64 = "arm64"
    ppc64_radix = "ppc64_radix"

    # Members are singletons, equal only to themselves: hashed by identity, in C, instead
    # of Enum.__hash__ (hash of the name, in Python). Every event, counter update and
    # architecture hook looks one up; dicts and sets behave the same.
    __hash__ = object.__hash__


@dataclass(frozen=True, slots=True)
class Config:
    """Compile-time and boot-time switches: the config axes of a run.

    `HAVE_PTE_SPECIAL` (from __HAVE_ARCH_PTE_SPECIAL) and `DEVMAP` (__HAVE_ARCH_PTE_DEVMAP) are
    free parameters, even where the chosen architecture fixes them in reality (x86-64 has both;
    arm64 of v4.13 has special but no devmap): HAVE_PTE_SPECIAL=0 stands for the architectures
    without a special bit (32-bit arm without LPAE, mips, m68k, ia64...; sh and arc have one
    in v4.13), run with the chosen architecture's hooks.
    `DEBUG_VM` turns on VM_BUG_ON/VM_WARN_ON and the architectures' debug checks.
    `PAT` is x86's page attribute table (track_pfn_insert); ignored elsewhere.
    """

    HAVE_PTE_SPECIAL: bool = True
    DEVMAP: bool = True
    arch: Arch = Arch.x86_64
    DEBUG_VM: bool = False
    PAT: bool = True

    def to_json(self) -> dict:
        return {"HAVE_PTE_SPECIAL": int(self.HAVE_PTE_SPECIAL), "DEVMAP": int(self.DEVMAP),
                "arch": self.arch.value, "DEBUG_VM": int(self.DEBUG_VM), "PAT": int(self.PAT)}


class PageKind(enum.Enum):
    """What a pfn is in the memory map."""

    RAM = "ram"  # system RAM with a struct page (a file page of the mapped object)
    DEVICE = "device"  # device memory: ZONE_DEVICE struct pages when DEVMAP, else none
    ZERO = "zero"  # the shared zero page
    ANON = "anon"  # anonymous pages the model allocates (COW copies)
    NONE = "none"  # no struct page (MMIO, holes)

    # Members are singletons, equal only to themselves: hashed by identity, in C, instead
    # of Enum.__hash__ (hash of the name, in Python). Every event, counter update and
    # architecture hook looks one up; dicts and sets behave the same.
    __hash__ = object.__hash__


ANON_POOL_START = 0x1000  # pfns handed out by alloc_page_vma, in order
ANON_POOL_END = 0x2000


@dataclass(frozen=True, slots=True)
class Memmap:
    """The physical memory map: which pfns are RAM, device memory, the zero page.

    Ranges are inclusive (`ram=0x10-0x1f` in the op language). Pfns outside every range have
    no struct page (pfn_valid() is false), like MMIO; the model takes their memory sections
    to have no memmap either (see vm_normal_page()). The anonymous pool
    [ANON_POOL_START, ANON_POOL_END) is RAM the page allocator hands out for COW copies; it
    takes precedence over the scene's ranges. The pfns are physical: the default RAM and zero
    pfns lie below 1 MiB, which x86's PAT treats as its own (`track_pfn_insert`).
    """

    ram: tuple[int, int] = (0x10, 0x1F)
    device: tuple[int, int] = (0x80, 0x8F)
    zero: int = 0x1

    def kind(self, pfn: int, devmap: bool) -> PageKind:
        if ANON_POOL_START <= pfn < ANON_POOL_END:
            return PageKind.ANON  # the page allocator's: never RAM or device of a scene
        if pfn == self.zero:
            return PageKind.ZERO
        if self.ram[0] <= pfn <= self.ram[1]:
            return PageKind.RAM
        if self.device[0] <= pfn <= self.device[1]:
            return PageKind.DEVICE if devmap else PageKind.NONE
        return PageKind.NONE

    def to_json(self) -> dict:
        return {"ram": list(self.ram), "device": list(self.device), "zero": self.zero}


@dataclass(slots=True)
class page:
    """`struct page`: the fields the paths touch.

    `_refcount` is page_count(); `_mapcount` is page_mapcount() (the C field plus one);
    `dirty` is PG_dirty, `referenced` is what mark_page_accessed() leaves behind. `mapping`
    is page->mapping of a page-cache page (a `fuzzplug.kernel.fs.address_space`), None
    otherwise (anonymous pages are told apart by `anon`); it is not part of `state()`, which
    the insert_pfn target compares and never sets it.
    """

    pfn: int
    kind: PageKind
    _refcount: int = 1
    _mapcount: int = 0
    anon: bool = False
    dirty: bool = False
    referenced: bool = False
    allocated: bool = True  # an anon-pool page is allocated once alloc_page_vma hands it out
    mapping: object | None = None

    def to_json(self) -> dict:
        return {"pfn": self.pfn, "kind": self.kind.value, "refcount": self._refcount,
                "mapcount": self._mapcount, "anon": self.anon, "dirty": self.dirty,
                "referenced": self.referenced}

    def state(self) -> tuple:
        """The mutable fields, for cheap comparison."""
        return (self._refcount, self._mapcount, self.anon, self.dirty, self.referenced,
                self.allocated)

    def pristine(self) -> bool:
        """Whether the page is as the memory map hands it over (not touched by the run)."""
        if self.kind is PageKind.ANON:
            return self.state() == (0, 0, False, False, False, False)
        return self.state() == (1, 0, False, False, False, True)

    def _check_invariants(self) -> list[str]:
        broken = []
        if self._refcount < 0:
            broken.append(f"page {self.pfn:#x}: refcount {self._refcount} < 0")
        if self._mapcount < 0:
            broken.append(f"page {self.pfn:#x}: mapcount {self._mapcount} < 0")
        if self._refcount < self._mapcount:
            broken.append(f"page {self.pfn:#x}: refcount {self._refcount} < mapcount "
                          f"{self._mapcount}")
        return broken


class VmOps(enum.IntFlag):
    """Which `vm_operations_struct` callbacks the VMA has, besides `fault` (always there).

    pfn_mkwrite behaves as v4.13's dax_pfn_mkwrite() with a DAX entry present (fs/dax.c):
    finish_mkwrite_fault(), then VM_FAULT_NOPAGE whatever it returned. page_mkwrite behaves
    as filemap_page_mkwrite(): a page of the mapped file (RAM) is dirtied and returned locked
    (VM_FAULT_LOCKED); any other page (page->mapping is not the file's) gets VM_FAULT_NOPAGE.
    A target that models the callbacks themselves sets `Kernel.pfn_mkwrite_handler` and
    `Kernel.page_mkwrite_handler` (as it sets `Kernel.fault_handler`).
    """

    pfn_mkwrite = 1
    page_mkwrite = 2


@dataclass(slots=True)
class vm_area_struct:
    """`struct vm_area_struct`: [vm_start, vm_end), vm_flags, vm_page_prot, vm_pgoff, vm_ops,
    and vm_file: the `struct file` of a file mapping (`fuzzplug.kernel.fs.file`), None for
    the insert_pfn target's driver mapping."""

    vm_start: int
    vm_end: int
    vm_flags: int
    vm_page_prot: pgprot_t
    vm_pgoff: int
    vm_ops: VmOps
    vm_mm: "mm_struct"
    anon_vma: bool = False  # whether anon_vma_prepare() has allocated it
    vm_file: object | None = None

    def to_json(self) -> dict:
        return {"vm_start": self.vm_start, "vm_end": self.vm_end, "vm_flags": self.vm_flags,
                "vm_page_prot": self.vm_page_prot.val, "vm_pgoff": self.vm_pgoff,
                "vm_ops": int(self.vm_ops)}


PTE_NONE = pte_t(0)
"""The empty entry (pte_t is a value: one instance serves every read of an empty slot)."""


class pte_ptr:
    """A pointer to one PTE slot: `pte[0]` reads the entry, as `*pte` does in C.

    Only the architecture hooks store through it (`_store`), as only set_pte_at() and
    friends write page-table entries in the kernel.
    """

    __slots__ = ("mm", "index")

    def __init__(self, mm: "mm_struct", index: int):
        self.mm = mm
        self.index = index

    def __getitem__(self, i: int) -> pte_t:
        assert i == 0, "only *pte is modelled"
        return self.mm.pgtable.get(self.index, PTE_NONE)

    def _store(self, entry: pte_t) -> None:
        # A zero entry is stored as absence; an entry the architecture's pte_none() calls
        # none but that has bits set (x86's KNL erratum bits, hash bits) is kept as it is.
        if not entry.val:
            self.mm.pgtable.pop(self.index, None)
        else:
            self.mm.pgtable[self.index] = entry


# Page-table geometry (x86-64 4-level; p4d folded): a PTE table covers 2 MiB, a PMD table
# 1 GiB, a PUD table 512 GiB.
PTE_TABLE_SHIFT = 9
PMD_TABLE_SHIFT = 18
PUD_TABLE_SHIFT = 27


@dataclass(slots=True)
class mm_struct:
    """`struct mm_struct`: the page table (PTEs by virtual page number), which page-table pages
    exist, the rss counters, and mmap: the VMAs in address order (the kernel's VMA list;
    `fuzzplug.kernel.mm.find_vma` walks it)."""

    kernel: "Kernel"
    pgtable: dict[int, pte_t] = field(default_factory=dict)
    pud_tables: set[int] = field(default_factory=set)
    pmd_tables: set[int] = field(default_factory=set)
    pte_tables: set[int] = field(default_factory=set)
    rss_stat: dict[mm_counter, int] = field(
        default_factory=lambda: {c: 0 for c in mm_counter})
    mmap: list["vm_area_struct"] = field(default_factory=list)
    # mmap_sem (`fuzzplug.kernel.fs.rw_semaphore`) for a target whose tasks take it (page
    # faults read, munmap write: dax_fault); None where one task runs alone (insert_pfn).
    mmap_sem: object | None = None

    def _check_invariants(self) -> list[str]:
        broken = [f"{c.value} = {n} < 0" for c, n in self.rss_stat.items() if n < 0]
        for prev, vma in zip(self.mmap, self.mmap[1:]):
            assert prev.vm_end <= vma.vm_start, "VMAs overlap or are out of order"
        assert all(vma.vm_mm is self for vma in self.mmap), "a VMA of another mm"
        for vpn, entry in self.pgtable.items():
            assert entry.val, "a zero PTE is stored as absence"
            assert (vpn >> PTE_TABLE_SHIFT) in self.pte_tables, "PTE without a PTE table"
        return broken


HPTES_PER_GROUP = 8  # the slots of one hash group (asm/book3s/64/mmu-hash.h)


@dataclass(frozen=True, slots=True)
class hpte:
    """One entry of ppc64's hash page table (HPTE, asm/book3s/64/mmu-hash.h): the pfn it
    translates to (its RPN) and its user permission, from htab_convert_pte_flags()
    (arch/powerpc/mm/hash_utils_64.c): PP 0b010 "rw" when the linux PTE was writable and
    dirty, else 0b011 "ro" (a writable but clean page is mapped read-only, so the first store
    faults and marks it dirty). hpte_updatepp() changes only the permission, never the pfn.

    The model gives each virtual page its own group of HPTES_PER_GROUP slots (the real table
    hashes many pages into one group; which ones share is not modelled)."""

    pfn: int
    rw: bool

    def to_json(self) -> dict:
        return {"pfn": self.pfn, "perm": "rw" if self.rw else "ro"}


def hpte_slot(pte: pte_t) -> int:
    """The slot of a linux PTE's HPTE in its group (H_PAGE_F_GIX; the model has no
    secondary group, so H_PAGE_F_SECOND stays clear)."""
    return (pte.val & H_PAGE_F_GIX) >> H_PAGE_F_GIX_SHIFT


class EventKind(enum.Enum):
    """What a trace event is. String values: traces serialise stably."""

    BUG = "bug"  # BUG_ON/VM_BUG_ON fired: the call ends like an oops
    WARN = "warn"  # WARN_ON/WARN_ON_ONCE/VM_WARN_ON fired (printed=False: once-state held it)
    BAD_PTE = "bad_pte"  # print_bad_pte(): "BUG: Bad page map", tainted
    BAD_HPTE = "bad_hpte"  # ppc64 hash: an HPTE its linux PTE no longer tracks (no message:
    # the kernel does not notice; what goes wrong on the machine is the event's condition)
    SIGNAL = "signal"  # the user access ends in a signal (SIGSEGV, SIGBUS)
    ARCH = "arch"  # an architecture hook ran (set_pte_at, ptep_set_access_flags...)
    REF = "ref"  # get_page/put_page
    RMAP = "rmap"  # mapcount changed
    COUNTER = "counter"  # an mm rss counter changed
    ALLOC = "alloc"  # an allocation succeeded
    ALLOC_FAIL = "alloc_fail"  # an allocation failed (fault injection)
    MMU = "mmu"  # the MMU (hardware, or ppc64's hash fault) served a user access
    CALLBACK = "callback"  # a vm_ops callback ran
    PAGE_FLAG = "page_flag"  # set_page_dirty, mark_page_accessed
    CALL = "call"  # a modelled entry point was called (the op)
    RET = "ret"  # ...and returned
    ALERT = "alert"  # a pr_alert() another part of the kernel prints about the mm (check_mm's
    # "BUG: non-zero pgtables_bytes on freeing mm"): a report, not an oops

    # Members are singletons, equal only to themselves: hashed by identity, in C, instead
    # of Enum.__hash__ (hash of the name, in Python). Every event, counter update and
    # architecture hook looks one up; dicts and sets behave the same.
    __hash__ = object.__hash__


# Kinds a caller or the rest of the kernel can observe (the oracle compares these).
OBSERVABLE_KINDS = frozenset({EventKind.BUG, EventKind.WARN, EventKind.BAD_PTE, EventKind.SIGNAL,
                              EventKind.BAD_HPTE, EventKind.ALERT})


@dataclass(frozen=True, slots=True)
class Event:
    """One trace entry: its kind, the C function it happened in, and details."""

    kind: EventKind
    function: str
    detail: tuple[tuple[str, object], ...] = ()

    def to_json(self) -> dict:
        out: dict = {"kind": self.kind.value, "function": self.function}
        out.update(self.detail)
        return out

    def get(self, key: str, default=None):
        return dict(self.detail).get(key, default)


class Oops(Exception):
    """A BUG_ON fired: the model's stand-in for the oops that ends the task's call.

    Internal to the model runner: `run_op` catches it and records the call as ended by a
    BUG. It never leaves the package.
    """

    def __init__(self, function: str, condition: str):
        super().__init__(f"{function}: {condition}")
        self.function = function
        self.condition = condition


FaultHandler = Callable[["Kernel", "object"], int]


class Kernel:
    """One booted kernel running one process (one VMA at boot, `vma`; a target may add more
    to `mm.mmap`); everything a run records."""

    def __init__(self, config: Config, memmap: Memmap, *, vm_start: int, vm_end: int,
                 vm_flags: int, vm_ops: VmOps, vm_pgoff: int, vm_page_prot: pgprot_t):
        self.config = config
        self.memmap = memmap
        self.events: list[Event] = []
        self.branches: list[str] = []
        self.warned_once: set[str] = set()
        self.alloc_count = 0  # allocations attempted so far
        self.fail_at: int | None = None  # the allocation number that fails
        self.next_anon_pfn = ANON_POOL_START
        # The page allocator's per-cpu list of freed order-0 pages (struct per_cpu_pages,
        # mm/page_alloc.c), hot first: RAM pages whose last reference went
        # (`fuzzplug.kernel.mm.free_hot_cold_page`), handed out again before any page never
        # used (`fuzzplug.kernel.fs.__page_cache_alloc`). None where RAM pages are not the
        # allocator's but the mapped object's own (insert_pfn): a freed one is not reused.
        self.pcp_list: list[page] | None = None
        self.tainted = False
        # struct pages are made on first sight (fuzzplug.kernel.mm.pfn_to_page), pristine.
        self.pages: dict[int, page] = {}
        self.version = ""  # the model module's VERSION, set by whoever boots it
        self.mm = mm_struct(self)
        self.vma = vm_area_struct(vm_start, vm_end, vm_flags, vm_page_prot, vm_pgoff, vm_ops,
                                  self.mm)
        self.mm.mmap.append(self.vma)  # the first VMA; a target may map more (mm.mmap)
        # ppc64's hash page table (hash MMU only): (virtual page number, slot) -> HPTE.
        # Changed only by the hash MMU code of fuzzplug.kernel.arch.
        self.htab: dict[tuple[int, int], hpte] = {}
        # TRAP(current->thread.regs) on ppc64: what the task is doing while the calls run.
        # 0x300, a data storage interrupt: every call runs in the fault handler of a user
        # data access, as DAX's do (update_mmu_cache() preloads the hash table only then).
        self.trap = 0x300
        # The VMA's vm_ops->fault: pluggable, set by the target (see fuzzplug.kernel.mm).
        self.fault_handler: FaultHandler | None = None
        # vm_ops->pfn_mkwrite and ->page_mkwrite, pluggable the same way; None keeps the
        # mm models' stand-ins (dax_pfn_mkwrite, filemap_page_mkwrite; see VmOps).
        self.pfn_mkwrite_handler: FaultHandler | None = None
        self.page_mkwrite_handler: FaultHandler | None = None
        # The data in memory, for a target that models it (dax_fault); None: pfns only.
        self.memory: PhysMemory | None = None
        # The scheduler of a run with several tasks (fuzzplug.runtime.sched), whose switch
        # points the models pass (the PTE lock, fuzzplug.kernel.mm.pte_lock); None for a
        # run of one task, where every switch point is a no-op.
        self.sched = None

    # --- the record ---------------------------------------------------------------------
    def event(self, kind: EventKind, function: str, **detail) -> None:
        self.events.append(Event(kind, function, tuple(detail.items())))

    def branch(self, branch_id: str) -> None:
        """Record that the branch `branch_id` (`function:branch...`) was taken."""
        self.branches.append(branch_id)

    # --- the kernel's assertion macros ----------------------------------------------------
    def BUG_ON(self, cond: bool, function: str, text: str) -> None:
        if cond:
            self.event(EventKind.BUG, function, condition=text)
            raise Oops(function, text)

    def VM_BUG_ON(self, cond: bool, function: str, text: str) -> None:
        if self.config.DEBUG_VM:
            self.BUG_ON(cond, function, text)

    def WARN_ON(self, cond: bool, function: str, text: str) -> bool:
        if cond:
            self.event(EventKind.WARN, function, condition=text, printed=True)
            self.tainted = True
        return cond

    def WARN_ON_ONCE(self, cond: bool, function: str, text: str) -> bool:
        if cond:
            site = f"{function}:{text}"
            printed = site not in self.warned_once
            self.warned_once.add(site)
            self.event(EventKind.WARN, function, condition=text, printed=printed)
            self.tainted = True
        return cond

    def VM_WARN_ON(self, cond: bool, function: str, text: str) -> bool:
        """VM_WARN_ON(): only evaluated under CONFIG_DEBUG_VM (else it compiles away)."""
        if self.config.DEBUG_VM:
            return self.WARN_ON(cond, function, text)
        return False

    def VM_WARN_ONCE(self, cond: bool, function: str, text: str) -> bool:
        if self.config.DEBUG_VM:
            return self.WARN_ON_ONCE(cond, function, text)
        return False

    # --- fault injection ------------------------------------------------------------------
    def should_fail_alloc(self, site: str) -> bool:
        """Every allocation of the modelled paths asks here first; `fail_alloc nth=N` makes
        the Nth next one fail."""
        self.alloc_count += 1
        if self.fail_at is not None and self.alloc_count == self.fail_at:
            self.fail_at = None
            self.event(EventKind.ALLOC_FAIL, site)
            return True
        self.event(EventKind.ALLOC, site)
        return False

    def fail_nth_alloc(self, nth: int) -> None:
        self.fail_at = self.alloc_count + nth if nth > 0 else None

    # --- the snapshot -----------------------------------------------------------------------
    def observed_pte(self, entry: pte_t) -> pte_t:
        """An entry as the kernel reads it, for comparing states: on arm64 a valid, writable
        entry without PTE_RDONLY is dirty (pte_hw_dirty(), asm/pgtable.h: the hardware's DBM
        cleared PTE_RDONLY on a store) exactly as one with the software PTE_DIRTY, and is
        shown with DIRTY; every other entry is its raw value."""
        if (self.config.arch is Arch.arm64 and entry.val & _PAGE_PRESENT
                and entry.val & _PAGE_RW and not entry.val & _PAGE_ARM64_RDONLY):
            return pte_t(entry.val | _PAGE_DIRTY)
        return entry

    def snapshot(self) -> dict:
        """The final state: every PTE, every struct page, the counters, the hash page table;
        compares by value and serialises to JSON (keys are strings, values plain)."""
        hptes: dict[str, dict] = {}
        for (vpn, slot) in sorted(self.htab):
            hptes.setdefault(f"{vpn << PAGE_SHIFT:#x}", {})[str(slot)] = \
                self.htab[vpn, slot].to_json()
        return {
            "ptes": {f"{vpn << PAGE_SHIFT:#x}": self.observed_pte(self.mm.pgtable[vpn]).to_json()
                     for vpn in sorted(self.mm.pgtable)},
            "pages": {f"{pfn:#x}": self.pages[pfn].to_json() for pfn in sorted(self.pages)
                      if not self.pages[pfn].pristine()},
            "counters": {c.value: n for c, n in self.mm.rss_stat.items()},
            "pgtables": {"pud": len(self.mm.pud_tables), "pmd": len(self.mm.pmd_tables),
                         "pte": len(self.mm.pte_tables)},
            "hptes": hptes,
            "tainted": self.tainted,
        }

    def state_key(self) -> tuple:
        """Everything `snapshot()` shows, in a form that is cheap to compare."""
        pages = tuple(sorted((pfn, p.state()) for pfn, p in self.pages.items()
                             if not p.pristine()))
        mm = self.mm
        ptes = tuple(sorted((vpn, self.observed_pte(entry)) for vpn, entry in mm.pgtable.items()))
        return (ptes, tuple(mm.rss_stat.values()), len(mm.pud_tables), len(mm.pmd_tables),
                len(mm.pte_tables), pages, tuple(sorted(self.htab.items())))

    def same_state(self, other: "Kernel") -> bool:
        """`self.state_key() == other.state_key()`, with a fast path for the usual case."""
        a, b = self.mm, other.mm
        if a.pgtable != b.pgtable:
            if self.config.arch is not Arch.arm64:
                return False
            return self.state_key() == other.state_key()  # equal as arm64 reads them?
        if (a.rss_stat != b.rss_stat or self.htab != other.htab
                or len(a.pte_tables) != len(b.pte_tables)
                or len(a.pmd_tables) != len(b.pmd_tables)
                or len(a.pud_tables) != len(b.pud_tables)):
            return False
        if self.pages.keys() == other.pages.keys() and all(
                p.state() == other.pages[pfn].state() for pfn, p in self.pages.items()):
            return True
        return self.state_key() == other.state_key()

    def untracked_hptes(self) -> list[tuple[int, int]]:
        """The (vpn, slot)s of HPTEs that no linux PTE tracks: the PTE at that address has no
        H_PAGE_HASHPTE, names another slot, or maps another pfn. The hash code would never
        flush them (pte_update() flushes only the slot its PTE names)."""
        out = []
        for (vpn, slot), h in sorted(self.htab.items()):
            entry = self.mm.pgtable.get(vpn, pte_t(0))
            if not (entry.val & H_PAGE_HASHPTE and hpte_slot(entry) == slot
                    and pte_pfn(entry) == h.pfn):
                out.append((vpn, slot))
        return out

    def _check_invariants(self) -> list[str]:
        broken = self.mm._check_invariants()
        for p in self.pages.values():
            broken.extend(p._check_invariants())
        for vpn, slot in self.untracked_hptes():
            broken.append(f"hpte {vpn << PAGE_SHIFT:#x} slot {slot}: not tracked by its "
                          f"linux PTE")
        for (vpn, slot) in self.htab:
            assert 0 <= slot < HPTES_PER_GROUP, "an HPTE outside its group"
        return broken

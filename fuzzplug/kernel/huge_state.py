"""The v5.0-era kernel objects the huge-page paths add: the mm's PMD and PUD entries and
its page-table accounting, the deposited page tables, the huge zero page, `struct vm_fault`,
and the two DAX backings (a device-DAX region, an fs-DAX file on ext4).

`HugeKernel` is a `fuzzplug.kernel.state.Kernel` (config, events, branch ids, WARN/BUG
machinery, fault injection) whose `mm` is an `mm_struct_v5_0`: the v4-era `mm_struct` plus
the fields the PMD level needs. The PTE level below a PMD table is not modelled (see
docs/models.md, "The v5.0 era"): a fault that falls back to PTEs reports VM_FAULT_FALLBACK.

Mutable objects change only through the functions that change them in the kernel:
`set_pmd_at`/`pmdp_set_access_flags` and friends (`fuzzplug.kernel.huge_arch`),
`pgtable_trans_huge_deposit`/`_withdraw`, `pte_alloc_one`/`pte_free`,
`mm_inc_nr_ptes`/`mm_dec_nr_ptes` (`fuzzplug.kernel.huge_v5_0`).

Sources (read, not copied), Linux v5.0: include/linux/mm_types.h (mm_struct:
pgtables_bytes, pmd_huge_pte, flags; struct vm_fault in include/linux/mm.h),
include/linux/mm.h (mm_inc_nr_ptes, mm_pgtables_bytes), mm/pgtable-generic.c
(pmd_huge_pte, the deposit list), drivers/dax/dax-private.h (struct dax_region: align,
pfn_flags), fs/ext4 and fs/dax.c (the file's blocks and its DAX entries).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType

from fuzzplug.kernel.huge_types import (
    PMD_NONE,
    PMD_SHIFT,
    PUD_NONE,
    PUD_SHIFT,
    pmd_t,
    pud_t,
)
from fuzzplug.kernel.state import Config, Kernel, Memmap, VmOps, mm_struct
from fuzzplug.kernel.types import PAGE_SHIFT, PFN_DEV, PFN_MAP, pgprot_t

PTE_TABLE_BYTES = 4096
"""What one PTE table adds to mm->pgtables_bytes (PTRS_PER_PTE * sizeof(pte_t) on x86-64;
the model uses it on ppc64 too, where a table is a fragment of a 64K page: check_mm()'s
message prints a non-zero count either way)."""

HUGE_ZERO_PFN = 0x3000
"""The huge zero page's pfn (get_huge_zero_page(): a 2 MiB RAM page, allocated once)."""
DEV_DAX_BASE_PFN = 0x100000
"""The device-DAX region's first pfn (physical 4 GiB): its capacity is mapped linearly."""
FS_DAX_BASE_PFN = 0x200000
"""Where the fs-DAX file's blocks live on pmem: block n of the file at this pfn + n."""


@dataclass(slots=True)
class mm_struct_v5_0(mm_struct):
    """`struct mm_struct` with the v5.0 fields of the huge paths: the huge PMD and PUD
    entries (by pmd index `addr >> PMD_SHIFT`, pud index `addr >> PUD_SHIFT`), the page
    tables deposited under each PMD (pmd_huge_pte(): a FIFO of pgtable ids, oldest first),
    mm->pgtables_bytes, MMF_HUGE_ZERO_PAGE, the PTE tables pte_alloc_one() handed out and
    pte_free() has not freed (`pgtables_live`), and whether exit_mmap() has run."""

    pmds: dict[int, pmd_t] = field(default_factory=dict)
    puds: dict[int, pud_t] = field(default_factory=dict)
    pmd_huge_pte: dict[int, list[int]] = field(default_factory=dict)
    pgtables_bytes: int = 0
    mmf_huge_zero_page: bool = False
    pgtables_live: set[int] = field(default_factory=set)
    next_pgtable: int = 1
    exited: bool = False

    def _check_invariants(self) -> list[str]:
        broken = mm_struct._check_invariants(self)
        if self.pgtables_bytes < 0:
            broken.append(f"pgtables_bytes {self.pgtables_bytes} < 0")
        for index, tables in self.pmd_huge_pte.items():
            assert tables, "an empty deposit list is stored as absence"
            assert set(tables) <= self.pgtables_live, "a deposited table was freed"
        for index, entry in self.pmds.items():
            assert entry.val, "a zero PMD is stored as absence"
        for index, entry in self.puds.items():
            assert entry.val, "a zero PUD is stored as absence"
        return broken


class pmd_ptr:
    """A pointer to one PMD slot: `pmd[0]` reads `*pmd`. Only the architecture hooks
    store through it, as only set_pmd_at() and friends write PMD entries."""

    __slots__ = ("mm", "index")

    def __init__(self, mm: mm_struct_v5_0, index: int):
        self.mm = mm
        self.index = index

    def __getitem__(self, i: int) -> pmd_t:
        assert i == 0, "only *pmd is modelled"
        return self.mm.pmds.get(self.index, PMD_NONE)

    def _store(self, entry: pmd_t) -> None:
        if not entry.val:
            self.mm.pmds.pop(self.index, None)
        else:
            self.mm.pmds[self.index] = entry


class pud_ptr:
    """A pointer to one PUD slot: `pud[0]` reads `*pud`."""

    __slots__ = ("mm", "index")

    def __init__(self, mm: mm_struct_v5_0, index: int):
        self.mm = mm
        self.index = index

    def __getitem__(self, i: int) -> pud_t:
        assert i == 0, "only *pud is modelled"
        return self.mm.puds.get(self.index, PUD_NONE)

    def _store(self, entry: pud_t) -> None:
        if not entry.val:
            self.mm.puds.pop(self.index, None)
        else:
            self.mm.puds[self.index] = entry


def pmd_offset(mm: mm_struct_v5_0, address: int) -> pmd_ptr:
    return pmd_ptr(mm, address >> PMD_SHIFT)


def pud_offset(mm: mm_struct_v5_0, address: int) -> pud_ptr:
    return pud_ptr(mm, address >> PUD_SHIFT)


@dataclass(slots=True)
class vm_fault:
    """`struct vm_fault` (include/linux/mm.h): the VMA, the page-aligned faulting address
    (__handle_mm_fault() sets `address & PAGE_MASK`), the flags, the file offset, and the
    PUD and PMD slots once allocated."""

    vma: object
    address: int
    flags: int
    pgoff: int
    pud: pud_ptr | None = None
    pmd: pmd_ptr | None = None


@dataclass(slots=True)
class dax_region:
    """`struct dax_region` of device DAX (drivers/dax/dax-private.h): its alignment (2 MiB
    or 1 GiB), the pfn flags its capacity is mapped with (PFN_DEV|PFN_MAP: devmap), and its
    first pfn and size in pages."""

    align: int
    pfn_flags: int = PFN_DEV | PFN_MAP
    base_pfn: int = DEV_DAX_BASE_PFN
    nr_pages: int = 1 << (PUD_SHIFT + 1 - PAGE_SHIFT)  # 2 GiB


@dataclass(slots=True)
class dax_file:
    """An ext4 file on a DAX filesystem: its size in pages, which of its PMD-sized extents
    have blocks (`holes`: extent numbers without), its DAX entries in the page cache (fs/dax.c:
    `zero_entries`, the extents whose entry is the huge zero page's), and whether the inode
    has metadata not yet committed (ext4_inode_datasync_dirty(): IOMAP_F_DIRTY, which makes
    a MAP_SYNC write fault synchronous)."""

    nr_pages: int
    holes: set[int] = field(default_factory=set)
    zero_entries: set[int] = field(default_factory=set)
    inode_dirty: bool = False
    base_pfn: int = FS_DAX_BASE_PFN


class HugeKernel(Kernel):
    """A booted v5.0 kernel with one process and one DAX mapping. `model` is the version
    module whose huge_memory.c and DAX callers the kernel was built with (the functions
    the shared paths reach through it, as C reaches vm_ops->huge_fault through a
    pointer); `region` is the device-DAX region and `file` the fs-DAX file (one of them),
    `vm_sync` whether the mapping is MAP_SYNC (VM_SYNC)."""

    def __init__(self, config: Config, model: ModuleType, *, vm_start: int, vm_end: int,
                 vm_flags: int, vm_pgoff: int, vm_page_prot: pgprot_t,
                 region: dax_region | None = None, file: dax_file | None = None,
                 vm_sync: bool = False):
        super().__init__(config, Memmap(), vm_start=vm_start, vm_end=vm_end,
                         vm_flags=vm_flags, vm_ops=VmOps(0), vm_pgoff=vm_pgoff,
                         vm_page_prot=vm_page_prot)
        self.mm = mm_struct_v5_0(self)
        self.vma.vm_mm = self.mm
        self.mm.mmap.append(self.vma)
        self.model = model
        self.version = model.VERSION
        self.region = region
        self.file = file
        self.vm_sync = vm_sync

    @property
    def mm5(self) -> mm_struct_v5_0:
        return self.mm  # type: ignore[return-value]

    def snapshot(self) -> dict:
        """What the oracle compares and the trace shows: the huge entries, the deposited
        tables, the page-table accounting, the live tables, the huge zero page flag, the
        file's DAX bookkeeping, `tainted`."""
        mm = self.mm5
        out = {
            "pmds": {f"{i << PMD_SHIFT:#x}": e.to_json() for i, e in sorted(mm.pmds.items())},
            "puds": {f"{i << PUD_SHIFT:#x}": e.to_json() for i, e in sorted(mm.puds.items())},
            "deposited": {f"{i << PMD_SHIFT:#x}": len(t)
                          for i, t in sorted(mm.pmd_huge_pte.items())},
            "pgtables_bytes": mm.pgtables_bytes,
            "pgtables_live": len(mm.pgtables_live),
            "pmd_tables": len(mm.pmd_tables),
            "huge_zero_page": mm.mmf_huge_zero_page,
            "exited": mm.exited,
            "tainted": self.tainted,
        }
        if self.file is not None:
            out["file"] = {"holes": sorted(self.file.holes),
                           "zero_entries": sorted(self.file.zero_entries),
                           "inode_dirty": self.file.inode_dirty}
        return out

    def _check_invariants(self) -> list[str]:
        return self.mm5._check_invariants()

"""Kernel values and the header helpers that the modelled paths use.

Everything here is unchanged by the seed patch, so it is shared by both version models
(`v4_13`, `v4_14`). Values are immutable, as in C where `pte_t`, `pfn_t` and `pgprot_t` are
passed by value; a `pte_mk*` helper returns a new value.

Sources (read, not copied): include/linux/pfn_t.h, include/linux/mm.h (maybe_mkwrite,
is_cow_mapping, VM_* flags), arch/x86/include/asm/pgtable.h and pgtable_types.h (the PTE bit
layout and the pte_* helpers), include/linux/mm_types.h (VM_FAULT_*), all as in Linux v4.13.9
(tree kinmax/linux-4.13.19) and unchanged in v4.14.5 for what is used here.

The raw PTE layout is x86-64's for every modelled architecture (bit positions as in
arch/x86/include/asm/pgtable_types.h). Architecture differences that matter to the paths are
modelled in `fuzzplug.kernel.arch`, in the hooks where the kernel puts them. The bits that
exist only on another architecture go where x86-64 has nothing, so no x86 meaning changes:

| model bit | x86-64 | arm64 (asm/pgtable-hwdef.h) | ppc64 book3s64 (asm/book3s/64/*.h) |
|---|---|---|---|
| 0 PRESENT | _PAGE_PRESENT | PTE_VALID | _PAGE_PRESENT (with PROTNONE: see below) |
| 1 RW | _PAGE_RW | PTE_WRITE (= PTE_DBM) | _PAGE_WRITE |
| 2 USER | _PAGE_USER | PTE_USER | not _PAGE_PRIVILEGED |
| 3, 4, 7 PWT, PCD, PAT | cache mode | PCD: AttrIndx MT_DEVICE_nGnRnE, else MT_NORMAL | - |
| 5 ACCESSED | _PAGE_ACCESSED | PTE_AF | _PAGE_ACCESSED (R) |
| 6 DIRTY | _PAGE_DIRTY | PTE_DIRTY (software) | _PAGE_DIRTY (C) |
| 8 PROTNONE | _PAGE_PROTNONE | PTE_PROT_NONE | _PAGE_PRESENT|_PAGE_PRIVILEGED, no R/W/X |
| 9 SPECIAL | _PAGE_SPECIAL | PTE_SPECIAL | _PAGE_SPECIAL |
| 10 RDONLY | (SOFTW2: unused) | PTE_RDONLY | - |
| 11 SOFT_DIRTY | _PAGE_SOFT_DIRTY | - (none in v4.13) | _PAGE_SOFT_DIRTY |
| 12-51 pfn | pfn | pfn | pfn (PTE_RPN_MASK) |
| 52 HASHPTE | (ignored by hardware, unused) | - | H_PAGE_HASHPTE (hash MMU only) |
| 53 F_SECOND | (ignored, unused) | - | H_PAGE_F_SECOND |
| 54-56 F_GIX0..2 | (ignored, unused) | - | H_PAGE_F_GIX (the HPTE's slot in its group) |
| 57 BUSY | (ignored, unused) | - | H_PAGE_BUSY |
| 58 DEVMAP | _PAGE_DEVMAP | - | _PAGE_DEVMAP |
| 63 NX | _PAGE_NX | PTE_UXN | not _PAGE_EXEC |

ppc64's _PAGE_READ has no bit of its own: a present entry is readable (as on x86), so
_PAGE_READ stands for PRESENT. The architecture's own reading of an entry (which bits make a
swap type, what pte_none() ignores, what its hardware does) is in `fuzzplug.kernel.arch`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = ~(PAGE_SIZE - 1)
U64 = (1 << 64) - 1

# --- errno values, as the kernel returns them (negative) -------------------------------------
EFAULT = 14
EBUSY = 16
EINVAL = 22
ENOMEM = 12
ERRNO_NAMES = {0: "0", -EFAULT: "-EFAULT", -EBUSY: "-EBUSY", -EINVAL: "-EINVAL", -ENOMEM: "-ENOMEM"}


def errname(ret: int) -> str:
    """A return code as the kernel source spells it (`-EBUSY`), for traces."""
    return ERRNO_NAMES.get(ret, str(ret))


# --- x86-64 PTE bits (arch/x86/include/asm/pgtable_types.h) ----------------------------------
_PAGE_PRESENT = 1 << 0
_PAGE_RW = 1 << 1
_PAGE_USER = 1 << 2
_PAGE_PWT = 1 << 3
_PAGE_PCD = 1 << 4
_PAGE_ACCESSED = 1 << 5
_PAGE_DIRTY = 1 << 6
_PAGE_PAT = 1 << 7
_PAGE_PROTNONE = 1 << 8  # _PAGE_BIT_GLOBAL, reused when not present
_PAGE_SPECIAL = 1 << 9  # _PAGE_BIT_SOFTW1
_PAGE_ARM64_RDONLY = 1 << 10  # _PAGE_BIT_SOFTW2: stands for arm64's PTE_RDONLY (bit 7 there)
_PAGE_SOFT_DIRTY = 1 << 11  # _PAGE_BIT_SOFTW3
_PAGE_DEVMAP = 1 << 58  # _PAGE_BIT_SOFTW4
_PAGE_NX = 1 << 63
# ppc64 hash MMU (asm/book3s/64/hash.h, hash-4k.h): bits x86-64 ignores and never uses.
H_PAGE_HASHPTE = 1 << 52  # the linux PTE has an HPTE in the hash page table
H_PAGE_F_SECOND = 1 << 53  # ...in the secondary group
H_PAGE_F_GIX_SHIFT = 54
H_PAGE_F_GIX = 7 << H_PAGE_F_GIX_SHIFT  # ...at this slot of its group
H_PAGE_BUSY = 1 << 57  # the hash fault holds the PTE (never left set)
_PAGE_HPTEFLAGS = H_PAGE_BUSY | H_PAGE_HASHPTE | H_PAGE_F_SECOND | H_PAGE_F_GIX
_PAGE_CACHE_MASK = _PAGE_PAT | _PAGE_PCD | _PAGE_PWT
PTE_PFN_MASK = ((1 << 52) - 1) & PAGE_MASK  # bits 12..51

PTE_BIT_NAMES = (
    (_PAGE_PRESENT, "PRESENT"),
    (_PAGE_RW, "RW"),
    (_PAGE_USER, "USER"),
    (_PAGE_PWT, "PWT"),
    (_PAGE_PCD, "PCD"),
    (_PAGE_ACCESSED, "ACCESSED"),
    (_PAGE_DIRTY, "DIRTY"),
    (_PAGE_PAT, "PAT"),
    (_PAGE_PROTNONE, "PROTNONE"),
    (_PAGE_SPECIAL, "SPECIAL"),
    (_PAGE_ARM64_RDONLY, "RDONLY"),
    (_PAGE_SOFT_DIRTY, "SOFT_DIRTY"),
    (H_PAGE_HASHPTE, "HASHPTE"),
    (H_PAGE_F_SECOND, "F_SECOND"),
    (1 << H_PAGE_F_GIX_SHIFT, "F_GIX0"),
    (2 << H_PAGE_F_GIX_SHIFT, "F_GIX1"),
    (4 << H_PAGE_F_GIX_SHIFT, "F_GIX2"),
    (H_PAGE_BUSY, "BUSY"),
    (_PAGE_DEVMAP, "DEVMAP"),
    (_PAGE_NX, "NX"),
)


@dataclass(frozen=True, slots=True)
class pgprot_t:
    """`pgprot_t`: the protection bits a new PTE is built from."""

    val: int

    def __repr__(self) -> str:
        return f"pgprot_t({pte_flag_names(self.val)})"


@dataclass(frozen=True, slots=True)
class pte_t:
    """`pte_t`: a raw page-table entry value (x86-64 layout; see the module docstring)."""

    val: int

    def __repr__(self) -> str:
        if not self.val:
            return "pte_t(none)"
        return f"pte_t(pfn={pte_pfn(self):#x} {pte_flag_names(self.val)})"

    def to_json(self) -> dict:
        """The entry as named bits and a pfn: what snapshots and traces show."""
        flags = self.val & ~PTE_PFN_MASK
        return {"pfn": pte_pfn(self), "flags": pte_flag_names(flags)}


def pte_flag_names(val: int) -> str:
    """The set bits of a PTE or pgprot value by name, joined with `|` (`0` if none)."""
    names = [name for bit, name in PTE_BIT_NAMES if val & bit]
    return "|".join(names) if names else "0"


def __pgprot(val: int) -> pgprot_t:
    return pgprot_t(val & U64)


# x86-64 protections (pgtable_types.h: PAGE_NONE, PAGE_SHARED, PAGE_COPY, PAGE_READONLY and
# the _EXEC variants, which are the same without _PAGE_NX).
PAGE_NONE = __pgprot(_PAGE_PROTNONE | _PAGE_ACCESSED)
PAGE_SHARED = __pgprot(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX)
PAGE_SHARED_EXEC = __pgprot(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED)
PAGE_COPY = __pgprot(_PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX)
PAGE_COPY_EXEC = __pgprot(_PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED)
PAGE_READONLY = __pgprot(_PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX)
PAGE_READONLY_EXEC = __pgprot(_PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED)
# arm64's (asm/pgtable-prot.h) execute-only protection: valid, executable, not PTE_USER, so
# EL0 can fetch instructions from it but not read it.
PAGE_EXECONLY = __pgprot(_PAGE_PRESENT | _PAGE_ACCESSED)

# Cache modes of a prot (arch/x86/mm/pat.c, cachemode2protval): WB is 0, UC- is PCD.
_PAGE_CACHE_MODE_WB = 0
_PAGE_CACHE_MODE_UC_MINUS = _PAGE_PCD


def pte_none(pte: pte_t) -> bool:
    """pte_none() of arm64 and the generic code: no bits set. x86-64 and ppc64 ignore some
    bits: the architectures' own pte_none() is `fuzzplug.kernel.arch.pte_none`, which the
    models call."""
    return pte.val == 0


def pte_present(pte: pte_t) -> bool:
    """pte_present(): PRESENT or PROTNONE."""
    return bool(pte.val & (_PAGE_PRESENT | _PAGE_PROTNONE))


def pte_protnone(pte: pte_t) -> bool:
    """pte_protnone() (x86, CONFIG_NUMA_BALANCING): PROTNONE without PRESENT."""
    return (pte.val & (_PAGE_PROTNONE | _PAGE_PRESENT)) == _PAGE_PROTNONE


def pte_write(pte: pte_t) -> bool:
    return bool(pte.val & _PAGE_RW)


def pte_dirty(pte: pte_t) -> bool:
    return bool(pte.val & _PAGE_DIRTY)


def pte_young(pte: pte_t) -> bool:
    return bool(pte.val & _PAGE_ACCESSED)


def pte_special(pte: pte_t) -> bool:
    return bool(pte.val & _PAGE_SPECIAL)


def pte_devmap(pte: pte_t) -> bool:
    return bool(pte.val & _PAGE_DEVMAP)


def pte_pfn(pte: pte_t) -> int:
    return (pte.val & PTE_PFN_MASK) >> PAGE_SHIFT


def pte_same(a: pte_t, b: pte_t) -> bool:
    """pte_same(): raw values compare equal."""
    return a.val == b.val


def pte_set_flags(pte: pte_t, flags: int) -> pte_t:
    return pte_t(pte.val | flags)


def pte_clear_flags(pte: pte_t, flags: int) -> pte_t:
    return pte_t(pte.val & ~flags & U64)


def pte_mkyoung(pte: pte_t) -> pte_t:
    return pte_set_flags(pte, _PAGE_ACCESSED)


def pte_mkdirty(pte: pte_t) -> pte_t:
    """pte_mkdirty() sets DIRTY and SOFT_DIRTY: x86 (asm/pgtable.h) and ppc64 book3s64, hash
    and radix alike (asm/book3s/64/pgtable.h: _PAGE_DIRTY | _PAGE_SOFT_DIRTY). arm64 has no
    soft-dirty bit; its hooks drop it."""
    return pte_set_flags(pte, _PAGE_DIRTY | _PAGE_SOFT_DIRTY)


def pte_mkwrite(pte: pte_t) -> pte_t:
    return pte_set_flags(pte, _PAGE_RW)


def pte_mkspecial(pte: pte_t) -> pte_t:
    return pte_set_flags(pte, _PAGE_SPECIAL)


def pte_mkdevmap(pte: pte_t) -> pte_t:
    """pte_mkdevmap() sets SPECIAL and DEVMAP (x86 and ppc64 alike)."""
    return pte_set_flags(pte, _PAGE_SPECIAL | _PAGE_DEVMAP)


def pfn_pte(pfn: int, prot: pgprot_t) -> pte_t:
    return pte_t(((pfn << PAGE_SHIFT) & PTE_PFN_MASK) | (prot.val & ~PTE_PFN_MASK & U64))


# --- pfn_t (include/linux/pfn_t.h) ------------------------------------------------------------
PFN_SG_CHAIN = 1 << 63
PFN_SG_LAST = 1 << 62
PFN_DEV = 1 << 61
PFN_MAP = 1 << 60
PFN_FLAGS_MASK = ((~PAGE_MASK) & U64) << (64 - PAGE_SHIFT) & U64
PFN_FLAG_NAMES = ("PFN_SG_CHAIN", "PFN_SG_LAST", "PFN_DEV", "PFN_MAP")


@dataclass(frozen=True, slots=True)
class pfn_t:
    """`pfn_t`: a pfn with flags in the top bits."""

    val: int

    def __repr__(self) -> str:
        flags = [n for n, b in zip(PFN_FLAG_NAMES, (PFN_SG_CHAIN, PFN_SG_LAST, PFN_DEV, PFN_MAP))
                 if self.val & b]
        return f"pfn_t({pfn_t_to_pfn(self):#x}{' ' + '|'.join(flags) if flags else ''})"


def __pfn_to_pfn_t(pfn: int, flags: int) -> pfn_t:
    return pfn_t((pfn | (flags & PFN_FLAGS_MASK)) & U64)


def pfn_t_to_pfn(pfn: pfn_t) -> int:
    return pfn.val & ~PFN_FLAGS_MASK & U64


def pfn_t_pte(pfn: pfn_t, prot: pgprot_t) -> pte_t:
    return pfn_pte(pfn_t_to_pfn(pfn), prot)


def pfn_t_has_page(pfn: pfn_t) -> bool:
    """PFN_MAP set, or PFN_DEV clear."""
    return bool(pfn.val & PFN_MAP) or not (pfn.val & PFN_DEV)


def pfn_t_devmap_flags(pfn: pfn_t, have_arch_pte_devmap: bool) -> bool:
    """pfn_t_devmap(): PFN_DEV and PFN_MAP both set; always false without
    __HAVE_ARCH_PTE_DEVMAP (a compile-time switch, hence the parameter)."""
    if not have_arch_pte_devmap:
        return False
    both = PFN_DEV | PFN_MAP
    return (pfn.val & both) == both


# --- swap entries (include/linux/swap.h, include/linux/swapops.h) --------------------------------
# CONFIG_SWAP, CONFIG_MIGRATION and CONFIG_MEMORY_FAILURE on, as distributions build v4.13:
# five type bits, the top three types taken by hwpoison and the two migration types.
MAX_SWAPFILES_SHIFT = 5
SWP_MIGRATION_NUM = 2
SWP_HWPOISON_NUM = 1
MAX_SWAPFILES = (1 << MAX_SWAPFILES_SHIFT) - SWP_MIGRATION_NUM - SWP_HWPOISON_NUM  # 29
SWP_HWPOISON = MAX_SWAPFILES
SWP_MIGRATION_READ = MAX_SWAPFILES + SWP_HWPOISON_NUM
SWP_MIGRATION_WRITE = MAX_SWAPFILES + SWP_HWPOISON_NUM + 1
RADIX_TREE_EXCEPTIONAL_SHIFT = 2
SWP_TYPE_SHIFT = 64 - (MAX_SWAPFILES_SHIFT + RADIX_TREE_EXCEPTIONAL_SHIFT)  # 57
SWP_OFFSET_MASK = (1 << SWP_TYPE_SHIFT) - 1


@dataclass(frozen=True, slots=True)
class swp_entry_t:
    """`swp_entry_t` in the arch-independent format: the type in the top seven bits (room
    for five, so a wider architecture type is kept, not cut), the offset below."""

    val: int


def swp_entry(type_: int, offset: int) -> swp_entry_t:
    return swp_entry_t(((type_ << SWP_TYPE_SHIFT) | (offset & SWP_OFFSET_MASK)) & U64)


def swp_type(entry: swp_entry_t) -> int:
    return entry.val >> SWP_TYPE_SHIFT


def swp_offset(entry: swp_entry_t) -> int:
    return entry.val & SWP_OFFSET_MASK


def non_swap_entry(entry: swp_entry_t) -> bool:
    """non_swap_entry(): a type at or above MAX_SWAPFILES (hwpoison, migration, or no type
    at all) is not in any swap area."""
    return swp_type(entry) >= MAX_SWAPFILES


def is_migration_entry(entry: swp_entry_t) -> bool:
    return swp_type(entry) in (SWP_MIGRATION_READ, SWP_MIGRATION_WRITE)


def is_hwpoison_entry(entry: swp_entry_t) -> bool:
    return swp_type(entry) == SWP_HWPOISON


# --- vm_flags (include/linux/mm.h) -------------------------------------------------------------
VM_READ = 0x00000001
VM_WRITE = 0x00000002
VM_EXEC = 0x00000004
VM_SHARED = 0x00000008
VM_MAYREAD = 0x00000010
VM_MAYWRITE = 0x00000020
VM_PFNMAP = 0x00000400
VM_MIXEDMAP = 0x10000000
VM_FLAG_NAMES = {
    VM_READ: "VM_READ", VM_WRITE: "VM_WRITE", VM_EXEC: "VM_EXEC", VM_SHARED: "VM_SHARED",
    VM_MAYREAD: "VM_MAYREAD", VM_MAYWRITE: "VM_MAYWRITE", VM_PFNMAP: "VM_PFNMAP",
    VM_MIXEDMAP: "VM_MIXEDMAP",
}


def is_cow_mapping(flags: int) -> bool:
    """is_cow_mapping() (mm/internal.h): private and may become writable."""
    return (flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE


# --- fault flags and results (include/linux/mm.h, mm_types.h) -----------------------------------
FAULT_FLAG_WRITE = 0x01
FAULT_FLAG_MKWRITE = 0x02
FAULT_FLAG_USER = 0x40

VM_FAULT_OOM = 0x0001
VM_FAULT_SIGBUS = 0x0002
VM_FAULT_MAJOR = 0x0004
VM_FAULT_WRITE = 0x0008
VM_FAULT_HWPOISON = 0x0010
VM_FAULT_HWPOISON_LARGE = 0x0020
VM_FAULT_SIGSEGV = 0x0040
VM_FAULT_NOPAGE = 0x0100
VM_FAULT_LOCKED = 0x0200
VM_FAULT_FALLBACK = 0x0800
VM_FAULT_DONE_COW = 0x1000  # ->fault has fully handled the COW (DAX)
VM_FAULT_ERROR = (VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_HWPOISON
                  | VM_FAULT_HWPOISON_LARGE | VM_FAULT_FALLBACK)
VM_FAULT_NAMES = (
    (VM_FAULT_OOM, "VM_FAULT_OOM"), (VM_FAULT_SIGBUS, "VM_FAULT_SIGBUS"),
    (VM_FAULT_MAJOR, "VM_FAULT_MAJOR"),
    (VM_FAULT_WRITE, "VM_FAULT_WRITE"), (VM_FAULT_HWPOISON, "VM_FAULT_HWPOISON"),
    (VM_FAULT_SIGSEGV, "VM_FAULT_SIGSEGV"),
    (VM_FAULT_NOPAGE, "VM_FAULT_NOPAGE"), (VM_FAULT_LOCKED, "VM_FAULT_LOCKED"),
    (VM_FAULT_DONE_COW, "VM_FAULT_DONE_COW"),
)


def vm_fault_name(ret: int) -> str:
    """A fault result as the kernel spells it (`VM_FAULT_NOPAGE|VM_FAULT_WRITE`, `0`)."""
    names = [n for bit, n in VM_FAULT_NAMES if ret & bit]
    return "|".join(names) if names else "0"


# --- mm counters (include/linux/mm_types.h) ------------------------------------------------------
class mm_counter(enum.Enum):
    """The rss counters; string values so snapshots serialise stably."""

    MM_FILEPAGES = "MM_FILEPAGES"
    MM_ANONPAGES = "MM_ANONPAGES"
    MM_SHMEMPAGES = "MM_SHMEMPAGES"
    MM_SWAPENTS = "MM_SWAPENTS"

    # Hashed by identity, in C (see fuzzplug.kernel.state.EventKind): rss_stat is keyed by
    # these and every counter update looks one up.
    __hash__ = object.__hash__

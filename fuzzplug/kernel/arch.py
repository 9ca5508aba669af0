"""Architecture code: the page-table hooks, each architecture's reading of an entry, and its
MMU serving a user access.

Each architecture is modelled from its source in Linux v4.13.9 (kinmax/linux-4.13.19), with
the checks it makes under CONFIG_DEBUG_VM; the files read are unchanged in v4.14.5 where they
matter here. Both version models use these hooks: the seed is studied as a patch applied to
v4.13 (as the distribution backported it). v4.14 itself also changed arm64 (73e86cb03cf2,
"arm64: Move PTE_RDONLY bit handling out of set_pte_at()", v4.14-rc1), which is not the seed
and is not modelled.

Without __HAVE_ARCH_PTE_SPECIAL, pte_mkspecial() is the identity; the shared helper sets the
bit, so `set_pte_at` drops it when the configuration has no special bit.

- x86-64: arch/x86/include/asm/pgtable.h (native_set_pte_at, pte_none ignoring
  _PAGE_KNL_ERRATUM_MASK, ptep_get_and_clear_full), arch/x86/mm/pgtable.c
  (ptep_set_access_flags: store only when changed and dirty), asm/pgtable_64.h
  (update_mmu_cache: nothing; the swap entry: type in bits 9-13, offset from bit 14),
  arch/x86/mm/pat.c (track_pfn_insert, lookup_memtype), arch/x86/mm/fault.c
  (__do_page_fault's error code and access_error()). The MMU: the page walker sets
  _PAGE_ACCESSED, and _PAGE_DIRTY for a store, in an entry that permits the access.
- ppc64 book3s64, two MMUs (radix_enabled() chooses):
  - both: arch/powerpc/mm/pgtable.c (set_pte_at with
    `VM_WARN_ON(pte_present(*ptep) && !pte_protnone(*ptep))`, then set_pte_filter();
    ptep_set_access_flags through __ptep_set_access_flags), asm/book3s/64/pgtable.h (the swap
    entry: type in bits 0-4; pte_mkdirty sets _PAGE_DIRTY | _PAGE_SOFT_DIRTY),
    arch/powerpc/mm/fault.c (do_page_fault's VMA checks).
  - hash (`Arch.ppc64`): asm/book3s/64/hash.h and hash-4k.h (_PAGE_HPTEFLAGS,
    hash__pte_update, which flushes the HPTE of an entry with H_PAGE_HASHPTE through
    hpte_need_flush (arch/powerpc/mm/tlb_hash64.c); hash__ptep_set_access_flags, which ORs
    DIRTY|ACCESSED|READ|WRITE|EXEC|SOFT_DIRTY and keeps the hash bits without a flush;
    hash__pte_same and hash__pte_none, which ignore them); pgtable.c set_pte_filter(), which
    strips _PAGE_HPTEFLAGS; arch/powerpc/mm/mem.c update_mmu_cache() -> hash_preload()
    (arch/powerpc/mm/hash_utils_64.c) for a young entry from a data or instruction fault;
    hash_utils_64.c __hash_page() -> hash_page_mm() and arch/powerpc/mm/hash64_4k.c
    __hash_page_4K() (update the tracked HPTE's permission, or insert one), and
    htab_convert_pte_flags() (the HPTE's permission). A 64K-page kernel (what
    distributions build) runs __hash_page_64K (hash64_64k.c), which does the same for this
    purpose; the model's pages are 4K.
  - radix (`Arch.ppc64_radix`): asm/book3s/64/radix.h (radix__ptep_set_access_flags ORs
    only DIRTY|ACCESSED|RW|EXEC, not SOFT_DIRTY; radix__pte_none ignores DIRTY|ACCESSED;
    set_pte_filter returns the entry unchanged; update_mmu_cache does nothing). The MMU sets
    the R and C bits (ACCESSED, DIRTY) itself.
- arm64: arch/arm64/include/asm/pgtable.h (set_pte_at computes PTE_RDONLY from dirty and
  write and, with CONFIG_ARM64_HW_AFDBM and DEBUG_VM, warns once on "racy access flag
  clearing" and "racy dirty state clearing" when it overwrites a valid entry; pte_dirty is
  PTE_DIRTY or the hardware-dirty PTE_WRITE without PTE_RDONLY; the swap entry: type in bits
  2-7), arch/arm64/mm/fault.c (ptep_set_access_flags with HW_AFDBM: only the access flag,
  write and dirty bits are merged, and PTE_RDONLY ends as the more permissive of old and
  new; __do_page_fault's VMA check: a read needs VM_READ or VM_WRITE, a write VM_WRITE).
  The MMU (ARMv8.1 hardware access flag and dirty bit management): sets PTE_AF, and on a
  store to a PTE_WRITE (DBM) entry clears PTE_RDONLY.

Every hook records an ARCH event (function, address, old and new entry); the MMU's own
access records an MMU event. On the hash MMU an access the hash fault handled is translated
again, as the CPU re-executes the instruction after the interrupt; one that a stale HPTE
refuses after every hash fault never completes (`ACCESS_LIVELOCK`). Branch ids of the MMU
step and the hash code are declared here (`mmu_access:<arch>:...`, `__hash_page_4K:...`) and
read by the coverage scan.
"""

from __future__ import annotations

from typing import Protocol

from fuzzplug.kernel.state import (
    HPTES_PER_GROUP,
    PTE_TABLE_SHIFT,
    Arch,
    EventKind,
    Kernel,
    PageKind,
    hpte,
    hpte_slot,
    mm_struct,
    pte_ptr,
    vm_area_struct,
)
from fuzzplug.kernel.types import (
    _PAGE_ACCESSED,
    _PAGE_ARM64_RDONLY,
    _PAGE_CACHE_MASK,
    _PAGE_CACHE_MODE_UC_MINUS,
    _PAGE_CACHE_MODE_WB,
    _PAGE_DEVMAP,
    _PAGE_DIRTY,
    _PAGE_HPTEFLAGS,
    _PAGE_NX,
    _PAGE_PAT,
    _PAGE_PCD,
    _PAGE_PRESENT,
    _PAGE_PROTNONE,
    _PAGE_RW,
    _PAGE_SOFT_DIRTY,
    _PAGE_SPECIAL,
    _PAGE_USER,
    H_PAGE_BUSY,
    H_PAGE_F_GIX_SHIFT,
    H_PAGE_F_SECOND,
    H_PAGE_HASHPTE,
    PAGE_SHIFT,
    PTE_PFN_MASK,
    U64,
    VM_EXEC,
    VM_READ,
    VM_WRITE,
    pfn_t,
    pfn_t_to_pfn,
    pgprot_t,
    pte_pfn,
    pte_present,
    pte_protnone,
    pte_same,
    pte_t,
    pte_write,
    pte_young,
    swp_entry,
    swp_entry_t,
)


class ArchHooks(Protocol):
    """What the generic mm code calls into an architecture for, and what its MMU does."""

    def set_pte_at(self, k: Kernel, mm: mm_struct, addr: int, ptep: pte_ptr,
                   pte: pte_t) -> None: ...

    def ptep_set_access_flags(self, k: Kernel, vma: vm_area_struct, addr: int, ptep: pte_ptr,
                              entry: pte_t, dirty: int) -> int: ...

    def update_mmu_cache(self, k: Kernel, vma: vm_area_struct, addr: int,
                         ptep: pte_ptr) -> None: ...

    def ptep_get_and_clear_full(self, k: Kernel, mm: mm_struct, addr: int, ptep: pte_ptr,
                                full: int) -> pte_t: ...

    def ptep_clear_flush(self, k: Kernel, vma: vm_area_struct, addr: int,
                         ptep: pte_ptr) -> pte_t: ...

    def pte_none(self, pte: pte_t) -> bool: ...

    def pte_dirty(self, pte: pte_t) -> bool: ...

    def pte_to_swp_entry(self, pte: pte_t) -> swp_entry_t: ...

    def mmu_access(self, k: Kernel, addr: int,
                   write: bool) -> int | None | AccessLivelock: ...

    def access_error(self, vma: vm_area_struct, error_code: int) -> bool: ...


def _hook(k: Kernel, name: str, addr: int, old: pte_t, new: pte_t, **extra) -> None:
    k.event(EventKind.ARCH, name, addr=addr, old=old.val, new=new.val, **extra)


def _mmu(k: Kernel, addr: int, old: pte_t, new: pte_t, write: bool,
         pfn: int | None = None) -> None:
    """Record an access the MMU served: the entry before and after, and the pfn the access
    reached (the entry's, unless a hash MMU translated it through an HPTE of its own)."""
    k.event(EventKind.MMU, "mmu_access", addr=addr, old=old.val, new=new.val,
            write=int(write), pfn=pte_pfn(new) if pfn is None else pfn)


class AccessLivelock:
    """The type of ACCESS_LIVELOCK."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ACCESS_LIVELOCK"


ACCESS_LIVELOCK = AccessLivelock()
"""What `mmu_access` returns for an access that never completes and never reaches the
page-fault handler: the MMU's own fault handling (ppc64 hash: __hash_page()) succeeds every
time and the re-executed instruction faults again (`PPC64Hash.mmu_access`). Not an error
code: the caller reports the access as not completing (the insert_pfn target's `fault`
returns "livelock", the dax_fault target's access is a LIVELOCK)."""


def _xchg_clear(k: Kernel, name: str, addr: int, ptep: pte_ptr) -> pte_t:
    """Read and clear the entry: an atomic exchange with zero."""
    old = ptep[0]
    ptep._store(pte_t(0))
    _hook(k, name, addr, old, pte_t(0))
    return old


# --- x86-64 -------------------------------------------------------------------------------

# The page-fault error code (arch/x86/mm/fault.c, enum x86_pf_error_code).
PF_PROT = 1 << 0
PF_WRITE = 1 << 1
PF_USER = 1 << 2

# x86-64's pte_none() ignores the bits the Knights Landing erratum may set in a non-present
# entry (asm/pgtable_types.h, _PAGE_KNL_ERRATUM_MASK).
_PAGE_KNL_ERRATUM_MASK = _PAGE_DIRTY | _PAGE_ACCESSED
# x86-64's swap entry (asm/pgtable_64.h): type above _PAGE_BIT_PROTNONE, offset above it;
# pte_swp_soft_dirty() is _PAGE_PSE (bit 7, the model's _PAGE_PAT), cleared first.
SWP_TYPE_FIRST_BIT = 9
SWP_TYPE_BITS = 5
SWP_OFFSET_FIRST_BIT = SWP_TYPE_FIRST_BIT + SWP_TYPE_BITS
_PAGE_SWP_SOFT_DIRTY = _PAGE_PAT


class X86_64:
    """x86-64 hooks and MMU."""

    def set_pte_at(self, k, mm, addr, ptep, pte):
        old = ptep[0]
        ptep._store(pte)
        _hook(k, "set_pte_at", addr, old, pte)

    def ptep_set_access_flags(self, k, vma, addr, ptep, entry, dirty):
        old = ptep[0]
        changed = not pte_same(old, entry)
        if changed and dirty:
            ptep._store(entry)
        _hook(k, "ptep_set_access_flags", addr, old, ptep[0], changed=int(changed))
        return int(changed)

    def update_mmu_cache(self, k, vma, addr, ptep):
        _hook(k, "update_mmu_cache", addr, ptep[0], ptep[0])

    def ptep_get_and_clear_full(self, k, mm, addr, ptep, full):
        return _xchg_clear(k, "ptep_get_and_clear_full", addr, ptep)

    def ptep_clear_flush(self, k, vma, addr, ptep):
        return _xchg_clear(k, "ptep_clear_flush", addr, ptep)

    def pte_none(self, pte):
        return not (pte.val & ~_PAGE_KNL_ERRATUM_MASK)

    def pte_dirty(self, pte):
        return bool(pte.val & _PAGE_DIRTY)

    def pte_to_swp_entry(self, pte):
        val = pte.val & ~_PAGE_SWP_SOFT_DIRTY  # pte_swp_clear_soft_dirty()
        type_ = (val >> SWP_TYPE_FIRST_BIT) & ((1 << SWP_TYPE_BITS) - 1)
        return swp_entry(type_, val >> SWP_OFFSET_FIRST_BIT)

    def mmu_access(self, k, addr, write):
        """The page walk of a user access: an entry without _PAGE_PRESENT faults with
        PF_USER (and PF_WRITE for a store); a present entry without _PAGE_USER, or without
        _PAGE_RW for a store, faults with PF_PROT added; otherwise the walker sets
        _PAGE_ACCESSED, and _PAGE_DIRTY for a store (never _PAGE_SOFT_DIRTY, a software
        bit), and the access completes without a fault."""
        ptep = pte_ptr(k.mm, addr >> PAGE_SHIFT)
        old = ptep[0]
        error_code = PF_USER | (PF_WRITE if write else 0)
        if not old.val & _PAGE_PRESENT:
            k.branch("mmu_access:x86_64:not_present")
            return error_code
        if not old.val & _PAGE_USER or (write and not old.val & _PAGE_RW):
            k.branch("mmu_access:x86_64:protection")
            return error_code | PF_PROT
        if write:
            k.branch("mmu_access:x86_64:hw_dirty")
            new = pte_t(old.val | _PAGE_ACCESSED | _PAGE_DIRTY)
        else:
            k.branch("mmu_access:x86_64:hw_young")
            new = pte_t(old.val | _PAGE_ACCESSED)
        ptep._store(new)
        _mmu(k, addr, old, new, write)
        return None

    def access_error(self, vma, error_code):
        """access_error() (arch/x86/mm/fault.c; protection keys not modelled)."""
        if error_code & PF_WRITE:
            # write, present and write, not present:
            return not vma.vm_flags & VM_WRITE
        # read, present:
        if error_code & PF_PROT:
            return True
        # read, not present:
        return not vma.vm_flags & (VM_READ | VM_EXEC | VM_WRITE)


# --- ppc64 book3s64 ---------------------------------------------------------------------------

# The book3s64 bits (asm/book3s/64/pgtable.h, hash.h) an entry of the model stands for (see
# the table in fuzzplug.kernel.types). Only what the hash code and the swap decoding read.
_PPC_PAGE_EXEC = 0x00001
_PPC_PAGE_WRITE = 0x00002
_PPC_PAGE_READ = 0x00004
_PPC_PAGE_PRIVILEGED = 0x00008
_PPC_PAGE_DIRTY = 0x00080
_PPC_PAGE_ACCESSED = 0x00100
_PPC_PAGE_SOFT_DIRTY = 0x00200
_PPC_PAGE_SPECIAL = 0x00400
_PPC_PAGE_DEVMAP = 0x00800
_PPC_H_PAGE_HASHPTE = 1 << 55  # _RPAGE_RPN43
_PPC_H_PAGE_F_GIX_SHIFT = 56
_PPC_H_PAGE_F_SECOND = 1 << 59  # _RPAGE_RSV2
_PPC_H_PAGE_BUSY = 1 << 60  # _RPAGE_RSV1
_PPC_PAGE_PRESENT = 1 << 63
_PPC_PTE_RPN_MASK = ((1 << 53) - 1) & ~((1 << PAGE_SHIFT) - 1)  # PTE_RPN_MASK
_PPC_SWP_TYPE_BITS = 5  # SWP_TYPE_BITS, from _PAGE_BIT_SWAP_TYPE 0
_PPC_PAGE_SWP_SOFT_DIRTY = 1 << (_PPC_SWP_TYPE_BITS + 0)


def ppc64_pte_val(pte: pte_t) -> int:
    """The book3s64 value an entry of the model stands for: the pfn in place, _PAGE_PRESENT
    for PRESENT or PROTNONE, _PAGE_READ for PRESENT (a present entry is readable),
    _PAGE_WRITE for RW, _PAGE_EXEC for a present entry without NX, _PAGE_PRIVILEGED without
    USER, and the software and hash bits at their book3s64 places."""
    v = pte.val
    out = v & PTE_PFN_MASK
    if v & (_PAGE_PRESENT | _PAGE_PROTNONE):
        out |= _PPC_PAGE_PRESENT
    if v & _PAGE_PRESENT:
        out |= _PPC_PAGE_READ
        if not v & _PAGE_NX:
            out |= _PPC_PAGE_EXEC
    if v & _PAGE_RW:
        out |= _PPC_PAGE_WRITE
    if not v & _PAGE_USER:
        out |= _PPC_PAGE_PRIVILEGED
    for bit, ppc in ((_PAGE_DIRTY, _PPC_PAGE_DIRTY), (_PAGE_ACCESSED, _PPC_PAGE_ACCESSED),
                     (_PAGE_SOFT_DIRTY, _PPC_PAGE_SOFT_DIRTY), (_PAGE_SPECIAL, _PPC_PAGE_SPECIAL),
                     (_PAGE_DEVMAP, _PPC_PAGE_DEVMAP), (H_PAGE_HASHPTE, _PPC_H_PAGE_HASHPTE),
                     (H_PAGE_F_SECOND, _PPC_H_PAGE_F_SECOND), (H_PAGE_BUSY, _PPC_H_PAGE_BUSY)):
        if v & bit:
            out |= ppc
    out |= hpte_slot(pte) << _PPC_H_PAGE_F_GIX_SHIFT
    return out


def check_pte_access(access: int, ptev: int) -> bool:
    """check_pte_access() (asm/book3s/64/pgtable.h), on book3s64 values: every access bit
    (_PAGE_PRESENT, _PAGE_READ, _PAGE_WRITE, _PAGE_EXEC) must be in the entry, and the
    privilege must match (a user access to a _PAGE_PRIVILEGED entry is refused)."""
    if access & ~ptev:
        return False
    if (access & _PPC_PAGE_PRIVILEGED) != (ptev & _PPC_PAGE_PRIVILEGED):
        return False
    return True


# The data storage interrupt's DSISR bits (asm/reg.h) the model produces.
DSISR_NOHPTE = 0x40000000
DSISR_PROTFAULT = 0x08000000
DSISR_ISSTORE = 0x02000000


class PPC64:
    """What book3s64's hash and radix MMUs share: set_pte_at()'s check, the swap entry,
    do_page_fault()'s VMA checks."""

    def set_pte_filter(self, k: Kernel, pte: pte_t) -> pte_t:
        raise NotImplementedError

    def set_pte_at(self, k, mm, addr, ptep, pte):
        old = ptep[0]
        # When handling numa faults, we already have the pte marked _PAGE_PRESENT, but we
        # can be sure that it is not in hpte. Hence we can use set_pte_at for them.
        k.VM_WARN_ON(pte_present(old) and not pte_protnone(old), "set_pte_at",
                     "pte_present(*ptep) && !pte_protnone(*ptep)")
        # _PAGE_PTE is added here; the model has no bit for it.
        pte = self.set_pte_filter(k, pte)
        ptep._store(pte)  # __set_pte_at()
        _hook(k, "set_pte_at", addr, old, pte)
        self._after_set_pte_at(k, addr, old)

    def _after_set_pte_at(self, k: Kernel, addr: int, old: pte_t) -> None:
        pass

    def pte_dirty(self, pte):
        return bool(pte.val & _PAGE_DIRTY)

    def pte_to_swp_entry(self, pte):
        """pte_to_swp_entry() over book3s64's __swp_type (bits 0-4: _PAGE_EXEC, _WRITE,
        _READ, _PRIVILEGED, _SAO) and __swp_offset (the RPN); _PAGE_SWP_SOFT_DIRTY is bit 5,
        cleared first, and __pte_to_swp_entry() drops _PAGE_PTE."""
        val = ppc64_pte_val(pte) & ~_PPC_PAGE_SWP_SOFT_DIRTY
        type_ = val & ((1 << _PPC_SWP_TYPE_BITS) - 1)
        return swp_entry(type_, (val & _PPC_PTE_RPN_MASK) >> PAGE_SHIFT)

    def access_error(self, vma, error_code):
        """do_page_fault() (arch/powerpc/mm/fault.c) at good_area: a store needs VM_WRITE,
        a load one of VM_READ|VM_EXEC|VM_WRITE."""
        if error_code & DSISR_ISSTORE:
            return not vma.vm_flags & VM_WRITE
        return not vma.vm_flags & (VM_READ | VM_EXEC | VM_WRITE)

    def user_access_bits(self, write: bool) -> int:
        """__hash_page()'s access for a user load or store (and radix's check of the same)."""
        return _PPC_PAGE_PRESENT | _PPC_PAGE_READ | (_PPC_PAGE_WRITE if write else 0)


class PPC64Radix(PPC64):
    """book3s64 with the radix MMU (radix_enabled()): no hash page table."""

    # radix__ptep_set_access_flags() (asm/book3s/64/radix.h): the bits it may set. Not
    # _PAGE_SOFT_DIRTY: fixed only by 66b2ca086210 ("powerpc/64s/radix: Fix soft dirty
    # tracking", v6.4, Cc stable v4.7+). _PAGE_EXEC is the absence of the model's NX.
    ACCESS_BITS = _PAGE_DIRTY | _PAGE_ACCESSED | _PAGE_RW
    # radix__pte_none(): RADIX_PTE_NONE_MASK, "an empty PTE can still have a R or C
    # writeback".
    PTE_NONE_MASK = _PAGE_DIRTY | _PAGE_ACCESSED

    def set_pte_filter(self, k, pte):
        return pte  # if (radix_enabled()) return pte;

    def ptep_set_access_flags(self, k, vma, addr, ptep, entry, dirty):
        old = ptep[0]
        changed = not pte_same(old, entry)  # radix__pte_same(): raw values
        if changed:
            new = old.val | (entry.val & self.ACCESS_BITS)
            if not entry.val & _PAGE_NX:
                new &= ~_PAGE_NX  # _PAGE_EXEC ORed in
            ptep._store(pte_t(new))
        _hook(k, "ptep_set_access_flags", addr, old, ptep[0], changed=int(changed))
        return int(changed)

    def update_mmu_cache(self, k, vma, addr, ptep):
        _hook(k, "update_mmu_cache", addr, ptep[0], ptep[0])  # if (radix_enabled()) return;

    def ptep_get_and_clear_full(self, k, mm, addr, ptep, full):
        return _xchg_clear(k, "ptep_get_and_clear_full", addr, ptep)

    def ptep_clear_flush(self, k, vma, addr, ptep):
        return _xchg_clear(k, "ptep_clear_flush", addr, ptep)

    def pte_none(self, pte):
        return not (pte.val & ~self.PTE_NONE_MASK)

    def mmu_access(self, k, addr, write):
        """The radix walk of a user access: the entry must be present and, as book3s64
        reads it, readable, not privileged, and writable for a store (check_pte_access());
        then the MMU sets R (_PAGE_ACCESSED) and, for a store, C (_PAGE_DIRTY) itself.
        Otherwise a data storage interrupt: DSISR_NOHPTE (no translation) or
        DSISR_PROTFAULT, with DSISR_ISSTORE for a store."""
        ptep = pte_ptr(k.mm, addr >> PAGE_SHIFT)
        old = ptep[0]
        dsisr = DSISR_ISSTORE if write else 0
        ptev = ppc64_pte_val(old)
        if not ptev & _PPC_PAGE_PRESENT or not check_pte_access(self.user_access_bits(write),
                                                                 ptev):
            k.branch("mmu_access:ppc64_radix:fault")
            return dsisr | (DSISR_PROTFAULT if ptev & _PPC_PAGE_PRESENT else DSISR_NOHPTE)
        if write:
            k.branch("mmu_access:ppc64_radix:hw_dirty")
            new = pte_t(old.val | _PAGE_ACCESSED | _PAGE_DIRTY)
        else:
            k.branch("mmu_access:ppc64_radix:hw_young")
            new = pte_t(old.val | _PAGE_ACCESSED)
        ptep._store(new)
        _mmu(k, addr, old, new, write)
        return None


# What goes wrong on the machine when the hash table and the linux PTE part (BAD_HPTE
# conditions; each names the first sign, the consequences are in the state).
STALE_HPTE = "stale HPTE: linux PTE dropped H_PAGE_HASHPTE"
TWO_HPTES = "two HPTEs translate one address"
ACCESS_THROUGH_STALE = "user access through a stale HPTE"
FAULTS_FOREVER_ON_STALE = "user access faults forever on a stale HPTE"

# The hash faults one attempt of an instruction may take before it is a livelock
# (PPC64Hash.mmu_access). An access that can complete needs at most one: a miss
# (DSISR_NOHPTE) gets an HPTE inserted, the only one for the page, and a protection fault on
# the HPTE the linux PTE tracks gets that HPTE updated to the PTE's permission, which
# hash_page_mm() has just checked permits the access. A second one means the MMU found an
# HPTE __hash_page_4K() does not touch (a stale one, in an earlier slot than the tracked
# one); it updates the tracked HPTE again, to the same permission, and the third translation
# is the second again: the state repeats, and so would the fault, forever.
HASH_FAULTS_PER_ACCESS = 2


class PPC64Hash(PPC64):
    """book3s64 with the hash MMU: the linux PTE tracks its HPTE with H_PAGE_HASHPTE and
    the slot bits; the hash page table is `Kernel.htab`."""

    # hash__ptep_set_access_flags() (asm/book3s/64/hash.h): the bits it may set (its
    # _PAGE_READ is a present entry's, already there; _PAGE_EXEC is the absence of NX).
    ACCESS_BITS = _PAGE_DIRTY | _PAGE_ACCESSED | _PAGE_RW | _PAGE_SOFT_DIRTY

    def set_pte_filter(self, k, pte):
        """set_pte_filter() (pgtable.c, CONFIG_PPC_STD_MMU): strip _PAGE_HPTEFLAGS (the
        icache flush that follows is skipped on CPUs with CPU_FTR_NOEXECUTE, POWER5 on)."""
        return pte_t(pte.val & ~_PAGE_HPTEFLAGS)

    def _after_set_pte_at(self, k, addr, old):
        # The C never flushes here: set_pte_at() is for entries without an HPTE. If the old
        # entry had one, it is left in the table with nothing pointing at it.
        vpn = addr >> PAGE_SHIFT
        if old.val & H_PAGE_HASHPTE and (vpn, hpte_slot(old)) in k.htab:
            k.event(EventKind.BAD_HPTE, "set_pte_at", condition=STALE_HPTE, addr=addr,
                    pfn=k.htab[vpn, hpte_slot(old)].pfn)

    def ptep_set_access_flags(self, k, vma, addr, ptep, entry, dirty):
        old = ptep[0]
        # set_access_flags_filter() is the identity here; hash__pte_same() ignores the
        # hash bits.
        changed = bool((old.val ^ entry.val) & ~_PAGE_HPTEFLAGS)
        if changed:
            # hash__ptep_set_access_flags(): OR the bits in, keep the hash bits, no flush
            # ("this function doesn't need to flush the hash entry": a more permissive
            # linux PTE under a stricter HPTE only faults once more, into __hash_page).
            new = old.val | (entry.val & self.ACCESS_BITS)
            if not entry.val & _PAGE_NX:
                new &= ~_PAGE_NX
            ptep._store(pte_t(new))
            # flush_tlb_page(): hash__flush_tlb_page() is empty.
        _hook(k, "ptep_set_access_flags", addr, old, ptep[0], changed=int(changed))
        return int(changed)

    def update_mmu_cache(self, k, vma, addr, ptep):
        """update_mmu_cache() (arch/powerpc/mm/mem.c): only for a young entry, and only from
        a data (0x300) or instruction (0x400) fault: hash_preload(). Whether the current
        task is in a fault is `Kernel.trap`: the op language's insert calls stand for a
        driver's fault handler (DAX's, or the VMA's vm_ops->fault), so they run with 0x300
        and preload, as DAX's inserts do on a real kernel; an insert from a system call
        (a driver's mmap()) would not, and is what a test sets trap to 0xc00 for."""
        _hook(k, "update_mmu_cache", addr, ptep[0], ptep[0])
        # We only want HPTEs for linux PTEs that have _PAGE_ACCESSED set
        if not pte_young(ptep[0]):
            k.branch("update_mmu_cache:ppc64:not_young")
            return
        if k.trap == 0x300:
            access = 0
        elif k.trap == 0x400:
            access = _PPC_PAGE_EXEC
        else:
            k.branch("update_mmu_cache:ppc64:not_from_a_fault")
            return
        k.branch("update_mmu_cache:ppc64:hash_preload")
        self.hash_preload(k, addr, access, ptep)

    def hash_preload(self, k: Kernel, addr: int, access: int, ptep: pte_ptr) -> None:
        """hash_preload() (hash_utils_64.c): __hash_page_4K() of the entry with `access`
        (slices and subpage protection are not modelled; the model's PTE is always found,
        as it was just stored)."""
        _hook(k, "hash_preload", addr, ptep[0], ptep[0])
        self.__hash_page_4K(k, addr, access, ptep)

    def __hash_page_4K(self, k: Kernel, addr: int, access: int, ptep: pte_ptr) -> int:
        """__hash_page_4K() (hash64_4k.c): 1 when the entry does not permit `access` (the
        caller takes the page fault); else mark it accessed (and dirty for a store: never
        soft-dirty), update the permission of the HPTE it tracks (hpte_updatepp), or insert
        an HPTE for its pfn and record the slot in the linux PTE; 0."""
        old = ptep[0]
        if not check_pte_access(access, ppc64_pte_val(old)):
            k.branch("__hash_page_4K:no_access")
            return 1
        new = old.val | _PAGE_ACCESSED
        if access & _PPC_PAGE_WRITE:
            new |= _PAGE_DIRTY
        # htab_convert_pte_flags(): user read/write only when writable and dirty.
        rw = bool(new & _PAGE_RW and new & _PAGE_DIRTY)
        vpn = addr >> PAGE_SHIFT
        if old.val & H_PAGE_HASHPTE:
            # The tracked HPTE is always there: HPTEs leave the table only through
            # hpte_need_flush() (which clears its PTE) or hpte_remove() (of untracked ones).
            k.branch("__hash_page_4K:updatepp")
            slot = hpte_slot(old)
            k.htab[vpn, slot] = hpte(k.htab[vpn, slot].pfn, rw)
            _hook(k, "hpte_updatepp", addr, old, pte_t(new), slot=slot, rw=int(rw))
        else:
            k.branch("__hash_page_4K:insert")
            others = sorted(slot for (v, slot) in k.htab if v == vpn)
            free = [s for s in range(HPTES_PER_GROUP) if s not in others]
            if not free:
                # Both groups full: hpte_remove() evicts an entry (at random; the model
                # takes the lowest slot) and the insert is retried.
                k.branch("__hash_page_4K:hpte_remove")
                del k.htab[vpn, others[0]]
                _hook(k, "hpte_remove", addr, old, old, slot=others[0])
                others = others[1:]
                free = [s for s in range(HPTES_PER_GROUP) if s not in others]
            slot = free[0]
            k.htab[vpn, slot] = hpte(pte_pfn(old), rw)
            new = (new & ~_PAGE_HPTEFLAGS) | H_PAGE_HASHPTE | (slot << H_PAGE_F_GIX_SHIFT)
            _hook(k, "hpte_insert", addr, old, pte_t(new), slot=slot, rw=int(rw))
            if others:
                k.event(EventKind.BAD_HPTE, "__hash_page_4K", condition=TWO_HPTES, addr=addr,
                        pfn=pte_pfn(old))
        ptep._store(pte_t(new & ~H_PAGE_BUSY))
        return 0

    def _pte_update_clear(self, k: Kernel, name: str, addr: int, ptep: pte_ptr) -> pte_t:
        """hash__pte_update() clearing every bit: an entry with H_PAGE_HASHPTE gets its HPTE
        flushed (hpte_need_flush(), batched under lazy MMU mode and flushed by the end of the
        caller's walk: the model flushes at once)."""
        old = _xchg_clear(k, name, addr, ptep)
        if old.val & H_PAGE_HASHPTE:
            k.branch("pte_update:ppc64:hpte_need_flush")
            k.htab.pop((addr >> PAGE_SHIFT, hpte_slot(old)), None)
            _hook(k, "hpte_need_flush", addr, old, pte_t(0), slot=hpte_slot(old))
        return old

    def ptep_get_and_clear_full(self, k, mm, addr, ptep, full):
        return self._pte_update_clear(k, "ptep_get_and_clear_full", addr, ptep)

    def ptep_clear_flush(self, k, vma, addr, ptep):
        return self._pte_update_clear(k, "ptep_clear_flush", addr, ptep)

    def pte_none(self, pte):
        return not (pte.val & ~_PAGE_HPTEFLAGS)  # hash__pte_none(): H_PTE_NONE_MASK

    def mmu_access(self, k, addr, write):
        """A user load or store: the MMU searches the hash table for the page (the model
        takes the lowest slot when there are two, which the architecture leaves undefined)
        and uses the HPTE it finds if its permission allows (a store needs "rw"): no
        interrupt, and the linux PTE is not looked at. Otherwise a data storage interrupt
        (0x300) goes to do_hash_page (arch/powerpc/kernel/exceptions-64s.S: DSISR_NOHPTE and
        DSISR_PROTFAULT are not among its "weird error" bits) -> __hash_page() ->
        hash_page_mm() (arch/powerpc/mm/hash_utils_64.c): a present entry that permits the
        access is hashed by __hash_page_4K() (arch/powerpc/mm/hash64_4k.c), which returns 0,
        and do_hash_page returns from the interrupt (fast_exc_return_irq: rfid), so the CPU
        executes the instruction again and translates it again through the hash table;
        else (1) do_page_fault(), with the DSISR as its error code.

        A stale HPTE in an earlier slot than the one the linux PTE tracks is found first by
        every translation: when it refuses the access, each hash fault updates the tracked
        HPTE, returns 0, and the re-executed instruction faults on the stale one again,
        without end and without reaching do_page_fault(). After HASH_FAULTS_PER_ACCESS hash
        faults the model reports that (a BAD_HPTE event, "user access faults forever on a
        stale HPTE") and returns ACCESS_LIVELOCK: the access does not complete."""
        vpn = addr >> PAGE_SHIFT
        before = k.mm.pgtable.get(vpn, pte_t(0))
        hash_faults = 0
        while True:
            found = sorted(slot for (v, slot) in k.htab if v == vpn)
            dsisr = DSISR_ISSTORE if write else 0
            if found:
                slot = found[0]
                h = k.htab[vpn, slot]
                if h.rw or not write:
                    k.branch("mmu_access:ppc64:hpte_hit")
                    if (vpn, slot) in k.untracked_hptes():
                        k.event(EventKind.BAD_HPTE, "hash_page",
                                condition=ACCESS_THROUGH_STALE, addr=addr, pfn=h.pfn)
                    _mmu(k, addr, before, k.mm.pgtable.get(vpn, pte_t(0)), write, pfn=h.pfn)
                    return None
                dsisr |= DSISR_PROTFAULT
            else:
                dsisr |= DSISR_NOHPTE
            if hash_faults == HASH_FAULTS_PER_ACCESS:
                k.branch("mmu_access:ppc64:livelock")
                k.event(EventKind.BAD_HPTE, "hash_page", condition=FAULTS_FOREVER_ON_STALE,
                        addr=addr, pfn=k.htab[vpn, found[0]].pfn)
                return ACCESS_LIVELOCK
            ptep = pte_ptr(k.mm, vpn)
            access = self.user_access_bits(write)
            # hash_page_mm(): no PTE, or one that is not present or does not permit the
            # access (its pre-check; __hash_page_4K() checks again) sends the fault up:
            # rc = 1.
            rc = 1
            if ((vpn >> PTE_TABLE_SHIFT) in k.mm.pte_tables and pte_present(ptep[0])
                    and check_pte_access(access, ppc64_pte_val(ptep[0]))):
                rc = self.__hash_page_4K(k, addr, access, ptep)
            if rc:
                k.branch("mmu_access:ppc64:page_fault")
                return dsisr
            # rc == 0: return from the interrupt; the instruction is executed again.
            k.branch("mmu_access:ppc64:hash_page")
            hash_faults += 1


# --- arm64 ----------------------------------------------------------------------------------

_ARM64_PTE_VALID = 1 << 0
_ARM64_PTE_TABLE_BIT = 1 << 1
_ARM64_ATTRINDX_SHIFT = 2
_ARM64_MT_DEVICE_nGnRnE = 0
_ARM64_MT_NORMAL = 4
_ARM64_PTE_USER = 1 << 6
_ARM64_PTE_RDONLY = 1 << 7
_ARM64_PTE_AF = 1 << 10
_ARM64_PTE_WRITE = 1 << 51
_ARM64_PTE_UXN = 1 << 54
_ARM64_PTE_DIRTY = 1 << 55
_ARM64_PTE_SPECIAL = 1 << 56
_ARM64_PTE_PROT_NONE = 1 << 58
_ARM64_SWP_TYPE_SHIFT = 2  # __SWP_TYPE_SHIFT
_ARM64_SWP_TYPE_BITS = 6
_ARM64_SWP_OFFSET_SHIFT = _ARM64_SWP_TYPE_SHIFT + _ARM64_SWP_TYPE_BITS
_ARM64_PHYS_MASK = (1 << 48) - 1


def arm64_pte_val(pte: pte_t) -> int:
    """The arm64 value an entry of the model stands for: every user protection carries
    PTE_TYPE_PAGE's table bit and an AttrIndx (MT_NORMAL, or MT_DEVICE_nGnRnE for the
    model's PCD), the other bits at their arm64 places (see fuzzplug.kernel.types)."""
    v = pte.val
    out = (v & PTE_PFN_MASK & _ARM64_PHYS_MASK) | _ARM64_PTE_TABLE_BIT
    mt = _ARM64_MT_DEVICE_nGnRnE if v & _PAGE_PCD else _ARM64_MT_NORMAL
    out |= mt << _ARM64_ATTRINDX_SHIFT
    for bit, arm in ((_PAGE_PRESENT, _ARM64_PTE_VALID), (_PAGE_USER, _ARM64_PTE_USER),
                     (_PAGE_ARM64_RDONLY, _ARM64_PTE_RDONLY), (_PAGE_ACCESSED, _ARM64_PTE_AF),
                     (_PAGE_RW, _ARM64_PTE_WRITE), (_PAGE_NX, _ARM64_PTE_UXN),
                     (_PAGE_DIRTY, _ARM64_PTE_DIRTY), (_PAGE_SPECIAL, _ARM64_PTE_SPECIAL),
                     (_PAGE_PROTNONE, _ARM64_PTE_PROT_NONE)):
        if v & bit:
            out |= arm
    return out


# The fault's kind as arm64's do_page_fault() reads the ESR: ESR_ELx_WNR for a store, and
# whether it was a permission fault (the model's own bit: a translation fault otherwise).
ESR_ELx_WNR = 1 << 6
ARM64_PERMISSION_FAULT = 1 << 0


class ARM64:
    """arm64 hooks (CONFIG_ARM64_HW_AFDBM=y, as in defconfig, on an ARMv8.1 CPU that has
    the hardware access flag and dirty bit management).

    arm64 of v4.13 has no soft-dirty bit (its pte_mkdirty sets PTE_DIRTY only); the shared
    helpers set the x86 layout's SOFT_DIRTY, so the arm64 hooks drop it on every store.
    """

    @staticmethod
    def _rdonly(pte: pte_t) -> pte_t:
        # set_pte_at(): a present entry is hardware-writable only when dirty and writable.
        if pte_present(pte):
            if pte.val & _PAGE_DIRTY and pte_write(pte):
                return pte_t(pte.val & ~_PAGE_ARM64_RDONLY)
            return pte_t(pte.val | _PAGE_ARM64_RDONLY)
        return pte

    def set_pte_at(self, k, mm, addr, ptep, pte):
        old = ptep[0]
        pte = self._rdonly(pte_t(pte.val & ~_PAGE_SOFT_DIRTY))
        valid_old = bool(old.val & _PAGE_PRESENT)
        valid_new = bool(pte.val & _PAGE_PRESENT)
        if valid_old and valid_new:
            k.VM_WARN_ONCE(not pte_young(pte), "set_pte_at", "racy access flag clearing")
            k.VM_WARN_ONCE(pte_write(old) and not self.pte_dirty(pte), "set_pte_at",
                           "racy dirty state clearing")
        ptep._store(pte)
        _hook(k, "set_pte_at", addr, old, pte)

    @staticmethod
    def pte_same(a: pte_t, b: pte_t) -> bool:
        """arm64's pte_same(): PTE_RDONLY does not count on present entries."""
        lhs = a.val & ~_PAGE_ARM64_RDONLY if pte_present(a) else a.val
        rhs = b.val & ~_PAGE_ARM64_RDONLY if pte_present(b) else b.val
        return lhs == rhs

    def ptep_set_access_flags(self, k, vma, addr, ptep, entry, dirty):
        old = ptep[0]
        if self.pte_same(old, entry):
            _hook(k, "ptep_set_access_flags", addr, old, old, changed=0)
            return 0
        flags = entry.val & (_PAGE_ACCESSED | _PAGE_RW | _PAGE_DIRTY)
        rdonly_new = (not (flags & _PAGE_RW)) or (not (flags & _PAGE_DIRTY))
        rdonly_old = bool(old.val & _PAGE_ARM64_RDONLY)
        new = (old.val | flags) & ~_PAGE_ARM64_RDONLY
        if rdonly_old and rdonly_new:
            new |= _PAGE_ARM64_RDONLY
        ptep._store(pte_t(new))
        _hook(k, "ptep_set_access_flags", addr, old, ptep[0], changed=1)
        return 1

    def update_mmu_cache(self, k, vma, addr, ptep):
        _hook(k, "update_mmu_cache", addr, ptep[0], ptep[0])

    def ptep_get_and_clear_full(self, k, mm, addr, ptep, full):
        return _xchg_clear(k, "ptep_get_and_clear_full", addr, ptep)

    def ptep_clear_flush(self, k, vma, addr, ptep):
        return _xchg_clear(k, "ptep_clear_flush", addr, ptep)

    def pte_none(self, pte):
        return not pte.val

    def pte_dirty(self, pte):
        """pte_sw_dirty(pte) || pte_hw_dirty(pte): PTE_DIRTY, or PTE_WRITE without
        PTE_RDONLY (the hardware's DBM cleared it on a store)."""
        return bool(pte.val & _PAGE_DIRTY) or (pte_write(pte)
                                                and not pte.val & _PAGE_ARM64_RDONLY)

    def pte_to_swp_entry(self, pte):
        """pte_to_swp_entry() over arm64's __swp_type (bits 2-7: AttrIndx, NS, PTE_USER,
        PTE_RDONLY) and __swp_offset (from bit 8); no soft-dirty."""
        val = arm64_pte_val(pte)
        type_ = (val >> _ARM64_SWP_TYPE_SHIFT) & ((1 << _ARM64_SWP_TYPE_BITS) - 1)
        return swp_entry(type_, val >> _ARM64_SWP_OFFSET_SHIFT)

    def mmu_access(self, k, addr, write):
        """The stage-1 walk of an EL0 access: an invalid entry is a translation fault; a
        valid one without PTE_USER a permission fault; a store to a PTE_RDONLY entry is a
        permission fault unless the entry has PTE_WRITE (DBM), in which case the hardware
        clears PTE_RDONLY (the entry becomes hardware-dirty); the hardware sets PTE_AF."""
        ptep = pte_ptr(k.mm, addr >> PAGE_SHIFT)
        old = ptep[0]
        esr = ESR_ELx_WNR if write else 0
        if not old.val & _PAGE_PRESENT:
            k.branch("mmu_access:arm64:translation_fault")
            return esr
        if not old.val & _PAGE_USER or (write and old.val & _PAGE_ARM64_RDONLY
                                        and not old.val & _PAGE_RW):
            k.branch("mmu_access:arm64:permission_fault")
            return esr | ARM64_PERMISSION_FAULT
        if write:
            k.branch("mmu_access:arm64:hw_dirty")
            new = pte_t((old.val | _PAGE_ACCESSED) & ~_PAGE_ARM64_RDONLY)
        else:
            k.branch("mmu_access:arm64:hw_young")
            new = pte_t(old.val | _PAGE_ACCESSED)
        ptep._store(new)
        _mmu(k, addr, old, new, write)
        return None

    def access_error(self, vma, error_code):
        """__do_page_fault() (arch/arm64/mm/fault.c): `if (!(vma->vm_flags & vm_flags))`
        with vm_flags VM_WRITE for a store and VM_READ | VM_WRITE for a load (not VM_EXEC:
        an execute-only VMA cannot be read)."""
        if error_code & ESR_ELx_WNR:
            return not vma.vm_flags & VM_WRITE
        return not vma.vm_flags & (VM_READ | VM_WRITE)


_HOOKS: dict[Arch, ArchHooks] = {Arch.x86_64: X86_64(), Arch.ppc64: PPC64Hash(),
                                 Arch.arm64: ARM64(), Arch.ppc64_radix: PPC64Radix()}


def arch_hooks(k: Kernel) -> ArchHooks:
    return _HOOKS[k.config.arch]


# --- the entry points the mm code calls, dispatching on the configured architecture ---------

def set_pte_at(mm: mm_struct, addr: int, ptep: pte_ptr, pte: pte_t) -> None:
    k = mm.kernel
    if not k.config.HAVE_PTE_SPECIAL:
        pte = pte_t(pte.val & ~_PAGE_SPECIAL)  # pte_mkspecial() is the identity there
    arch_hooks(k).set_pte_at(k, mm, addr, ptep, pte)


def ptep_set_access_flags(vma: vm_area_struct, addr: int, ptep: pte_ptr, entry: pte_t,
                          dirty: int) -> int:
    k = vma.vm_mm.kernel
    return arch_hooks(k).ptep_set_access_flags(k, vma, addr, ptep, entry, dirty)


def update_mmu_cache(vma: vm_area_struct, addr: int, ptep: pte_ptr) -> None:
    k = vma.vm_mm.kernel
    arch_hooks(k).update_mmu_cache(k, vma, addr, ptep)


def ptep_get_and_clear_full(mm: mm_struct, addr: int, ptep: pte_ptr, full: int) -> pte_t:
    """Read and clear the entry (an atomic exchange with zero; on ppc64's hash MMU through
    pte_update(), which flushes the entry's HPTE)."""
    k = mm.kernel
    return arch_hooks(k).ptep_get_and_clear_full(k, mm, addr, ptep, full)


def ptep_clear_flush(vma: vm_area_struct, addr: int, ptep: pte_ptr) -> pte_t:
    """ptep_clear_flush_notify(): clear the entry and flush the TLB (mm/pgtable-generic.c:
    ptep_get_and_clear(), which on ppc64's hash MMU flushes the HPTE too)."""
    k = vma.vm_mm.kernel
    return arch_hooks(k).ptep_clear_flush(k, vma, addr, ptep)


def flush_tlb_fix_spurious_fault(vma: vm_area_struct, addr: int) -> None:
    k = vma.vm_mm.kernel
    k.event(EventKind.ARCH, "flush_tlb_fix_spurious_fault", addr=addr)


def pte_none(k: Kernel, pte: pte_t) -> bool:
    """pte_none() of the configured architecture: x86-64 ignores _PAGE_KNL_ERRATUM_MASK
    (DIRTY|ACCESSED), ppc64 hash the hash bits, radix DIRTY|ACCESSED (its R/C writeback),
    arm64 nothing. The kernel's pte_none(pte); the model passes the kernel for the arch."""
    return arch_hooks(k).pte_none(pte)


def pte_dirty(k: Kernel, pte: pte_t) -> bool:
    """pte_dirty() of the configured architecture (arm64 counts its hardware-dirty state)."""
    return arch_hooks(k).pte_dirty(pte)


def pte_to_swp_entry(k: Kernel, pte: pte_t) -> swp_entry_t:
    """pte_to_swp_entry() (include/linux/swapops.h) over the configured architecture's
    __pte_to_swp_entry/__swp_type/__swp_offset."""
    return arch_hooks(k).pte_to_swp_entry(pte)


def mmu_access(k: Kernel, addr: int, write: bool) -> int | None | AccessLivelock:
    """The MMU's own handling of a user load or store at `addr`: None when it completed
    without a page fault (having set what its hardware, or ppc64's hash fault, sets),
    ACCESS_LIVELOCK when it never completes in the MMU's own fault handling (ppc64 hash: a
    stale HPTE), else the architecture's fault information for its page-fault handler."""
    return arch_hooks(k).mmu_access(k, addr, write)


def access_error(k: Kernel, vma: vm_area_struct, error_code: int) -> bool:
    """Whether the architecture's page-fault handler refuses the fault on this VMA."""
    return arch_hooks(k).access_error(vma, error_code)


# --- x86's PAT ------------------------------------------------------------------------------

ISA_START_PFN = 0xA0000 >> PAGE_SHIFT  # ISA_START_ADDRESS (asm/e820/types.h)
ISA_END_PFN = 0x100000 >> PAGE_SHIFT  # ISA_END_ADDRESS


def lookup_memtype(k: Kernel, pfn: int) -> int:
    """lookup_memtype() (arch/x86/mm/pat.c): the cache mode of a physical page.

    - x86_platform.is_untracked_pat_range() = is_ISA_range(): the legacy ISA range
      [640 KiB, 1 MiB) is not tracked: WB.
    - pat_pagerange_is_ram(): RAM at or above 1 MiB ("for legacy reasons" RAM below 1 MiB
      counts as not RAM) has its page's memtype, WB unless someone set another.
    - everything else: the memtype reservation covering it, UC- without one. Device memory
      is memremap'd write-back by its driver (devm_memremap_pages() with struct pages,
      memremap(MEMREMAP_WB) without), so it has a WB reservation; MMIO nobody reserved, RAM
      below 640 KiB (the default scene's RAM and zero page) and the anonymous pool's pages
      below 1 MiB (none) have none: UC-.
    """
    if ISA_START_PFN <= pfn < ISA_END_PFN:
        return _PAGE_CACHE_MODE_WB
    kind = k.memmap.kind(pfn, k.config.DEVMAP)
    if pfn >= ISA_END_PFN and kind in (PageKind.RAM, PageKind.ZERO, PageKind.ANON):
        return _PAGE_CACHE_MODE_WB  # get_page_memtype(): _PGMT_WB
    if k.memmap.device[0] <= pfn <= k.memmap.device[1] and kind in (PageKind.DEVICE,
                                                                    PageKind.NONE):
        return _PAGE_CACHE_MODE_WB  # reserved WB when the driver remapped it
    return _PAGE_CACHE_MODE_UC_MINUS


def track_pfn_insert(vma: vm_area_struct, prot: pgprot_t, pfn: pfn_t) -> pgprot_t:
    """track_pfn_insert() (arch/x86/mm/pat.c); a no-op except on x86 with PAT: the prot's
    cache bits become those of lookup_memtype(pfn). C passes the prot by pointer and rewrites
    it; the model returns the new value."""
    k = vma.vm_mm.kernel
    if k.config.arch is not Arch.x86_64 or not k.config.PAT:
        return prot
    pcm = lookup_memtype(k, pfn_t_to_pfn(pfn))
    return pgprot_t(((prot.val & ~_PAGE_CACHE_MASK) | pcm) & U64)

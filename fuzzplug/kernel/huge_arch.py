"""The architectures' huge-entry hooks of the v5.0 era, and what each MMU does on a user
access through a huge entry: x86-64, ppc64 book3s64 with the hash MMU, with the radix MMU.

Per architecture: `set_pmd_at`/`set_pud_at`, `pmdp_set_access_flags`/`pudp_set_access_flags`
(with their CONFIG_DEBUG_VM checks), `update_mmu_cache_pmd`, `arch_needs_pgtable_deposit`,
the deposit and withdraw of the page table a huge PMD carries, `pmdp_huge_get_and_clear_full`
and the MMU's own access (`mmu_access_huge`). PUD-sized entries exist on x86-64 only
(CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD): "ppc64 don't support pud pfn entries now"
(c6f3c5ee40c1's message).

Sources (read, not copied), Linux v5.0 (VVvector/linux-5.0.1):
- x86-64: arch/x86/mm/pgtable.c pmdp_set_access_flags() and pudp_set_access_flags()
  (`VM_BUG_ON(address & ~HPAGE_PMD_MASK)`, the store only `if (changed && dirty)`),
  arch/x86/include/asm/pgtable.h set_pmd_at() (native_set_pmd: a plain store, the address
  unused), update_mmu_cache_pmd() (empty), pmdp_huge_get_and_clear() (xchg);
  include/asm-generic/pgtable.h arch_needs_pgtable_deposit() (false);
  mm/pgtable-generic.c pgtable_trans_huge_deposit()/withdraw() (a FIFO list).
- ppc64 book3s64: arch/powerpc/mm/pgtable-book3s64.c set_pmd_at() (DEBUG_VM:
  `WARN_ON(pte_hw_valid(pmd_pte(*pmdp)) && !pte_protnone(...))`, `WARN_ON(!(pmd_large(pmd)
  || pmd_devmap(pmd)))`, then set_pte_at()), pmdp_set_access_flags() (DEBUG_VM:
  `WARN_ON(!pmd_trans_huge(*pmdp) && !pmd_devmap(*pmdp))`, then __ptep_set_access_flags(),
  which ORs DIRTY, ACCESSED, RW, EXEC into the entry: it never changes the pfn, and takes
  no aligned address), update_mmu_cache_pmd(); arch/powerpc/mm/pgtable.c set_pte_at()
  (`VM_WARN_ON(pte_hw_valid(*ptep) && !pte_protnone(*ptep))`, set_pte_filter(), which on
  hash strips _PAGE_HPTEFLAGS); asm/book3s/64/pgtable.h arch_needs_pgtable_deposit() (true
  on hash, false on radix); arch/powerpc/mm/pgtable-hash64.c
  hash__pgtable_trans_huge_deposit()/withdraw() (ONE slot beside the PMD table,
  `*pgtable_slot = pgtable`: a second deposit overwrites the first),
  hash__pmdp_huge_get_and_clear() (reads the deposited table's HPTE slot array, so it
  needs one: `memset(pgtable, 0, PTE_FRAG_SIZE)`), hash__pmd_hugepage_update() (flushes
  the HPTEs of an entry with H_PAGE_HASHPTE); arch/powerpc/mm/hugepage-hash64.c
  __hash_page_thp() (check_pte_access(), then ACCESSED, DIRTY for a store, H_PAGE_HASHPTE);
  pgtable-radix.c radix__pgtable_trans_huge_deposit() (a list, like the generic one).

The hash page table's entries for huge PMDs are not kept (the PTE-level `Kernel.htab` is):
an entry's H_PAGE_HASHPTE says it has them, and set_pmd_at() over such an entry, which
strips the bit without a flush, records a `bad_hpte` event (the HPTEs left behind).
"""

from __future__ import annotations

from fuzzplug.kernel.huge_state import HugeKernel, mm_struct_v5_0, pmd_ptr, pud_ptr
from fuzzplug.kernel.huge_types import (
    _PAGE_PSE,
    HPAGE_PMD_MASK,
    HPAGE_PUD_MASK,
    PMD_NONE,
    PMD_SHIFT,
    PUD_NONE,
    pmd_devmap,
    pmd_present,
    pmd_same,
    pmd_t,
    pmd_trans_huge,
    pud_present,
    pud_same,
    pud_t,
)
from fuzzplug.kernel.state import Arch, EventKind
from fuzzplug.kernel.types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_HPTEFLAGS,
    _PAGE_NX,
    _PAGE_PROTNONE,
    _PAGE_RW,
    H_PAGE_HASHPTE,
    U64,
)

STALE_HUGE_HPTE = "HPTEs of the replaced huge PMD left in the hash table"

# __ptep_set_access_flags() on book3s64 (hash and radix alike for these bits): what it ORs in.
PPC64_ACCESS_BITS = _PAGE_DIRTY | _PAGE_ACCESSED | _PAGE_RW


def _kernel(mm: mm_struct_v5_0) -> HugeKernel:
    return mm.kernel  # type: ignore[return-value]


def _hook(k: HugeKernel, name: str, addr: int, old, new, **extra) -> None:
    k.event(EventKind.ARCH, name, addr=addr, old=old.val, new=new.val, **extra)


def _is_ppc64(k: HugeKernel) -> bool:
    return k.config.arch in (Arch.ppc64, Arch.ppc64_radix)


def _hw_valid(entry) -> bool:
    """book3s64 pte_hw_valid() && !pte_protnone(): a valid entry the MMU may have cached."""
    return bool(entry.val & 1) and not entry.val & _PAGE_PROTNONE


# --- set_pmd_at / set_pud_at ----------------------------------------------------------------
def set_pmd_at(mm: mm_struct_v5_0, addr: int, pmdp: pmd_ptr, pmd: pmd_t) -> None:
    """set_pmd_at() of the configured architecture (see the module docstring)."""
    k = _kernel(mm)
    old = pmdp[0]
    if _is_ppc64(k):
        k.branch("set_pmd_at:ppc64")
        # pgtable-book3s64.c set_pmd_at(), under CONFIG_DEBUG_VM.
        k.VM_WARN_ON(_hw_valid(old), "set_pmd_at",
                     "pte_hw_valid(pmd_pte(*pmdp)) && !pte_protnone(pmd_pte(*pmdp))")
        k.VM_WARN_ON(not (pmd.val & _PAGE_PSE or pmd_devmap(pmd)), "set_pmd_at",
                     "!(pmd_large(pmd) || pmd_devmap(pmd))")
        # set_pte_at(mm, addr, pmdp_ptep(pmdp), pmd_pte(pmd)) (arch/powerpc/mm/pgtable.c).
        k.VM_WARN_ON(_hw_valid(old), "set_pte_at",
                     "pte_hw_valid(*ptep) && !pte_protnone(*ptep)")
        if k.config.arch is Arch.ppc64:
            pmd = pmd_t(pmd.val & ~_PAGE_HPTEFLAGS)  # set_pte_filter()
            if old.val & H_PAGE_HASHPTE:
                k.branch("set_pmd_at:ppc64:hashed_entry_replaced")
                k.event(EventKind.BAD_HPTE, "set_pmd_at", condition=STALE_HUGE_HPTE,
                        addr=addr & HPAGE_PMD_MASK)
    else:
        k.branch("set_pmd_at:x86_64")  # native_set_pmd(): the address is not used
    pmdp._store(pmd)
    _hook(k, "set_pmd_at", addr, old, pmd)


def set_pud_at(mm: mm_struct_v5_0, addr: int, pudp: pud_ptr, pud: pud_t) -> None:
    """x86-64 set_pud_at(): native_set_pud(), a plain store."""
    k = _kernel(mm)
    old = pudp[0]
    pudp._store(pud)
    _hook(k, "set_pud_at", addr, old, pud)


# --- pmdp_set_access_flags / pudp_set_access_flags ------------------------------------------
def pmdp_set_access_flags(vma, address: int, pmdp: pmd_ptr, entry: pmd_t, dirty: int) -> int:
    """pmdp_set_access_flags() of the configured architecture: whether the entry changed."""
    k = _kernel(vma.vm_mm)
    old = pmdp[0]
    if _is_ppc64(k):
        k.branch("pmdp_set_access_flags:ppc64")
        k.VM_WARN_ON(not pmd_trans_huge(old) and not pmd_devmap(old),
                     "pmdp_set_access_flags", "!pmd_trans_huge(*pmdp) && !pmd_devmap(*pmdp)")
        changed = not pmd_same(pmd_t(old.val & ~_PAGE_HPTEFLAGS),
                               pmd_t(entry.val & ~_PAGE_HPTEFLAGS))
        if changed:
            # __ptep_set_access_flags(): hash__ or radix__ptep_set_access_flags() OR the
            # access bits in (EXEC: the absence of the model's NX); no pfn change, no flush.
            new = old.val | (entry.val & PPC64_ACCESS_BITS)
            if not entry.val & _PAGE_NX:
                new &= ~_PAGE_NX
            pmdp._store(pmd_t(new & U64))
    else:
        changed = not pmd_same(old, entry)
        k.VM_BUG_ON(bool(address & ~HPAGE_PMD_MASK), "pmdp_set_access_flags",
                    "address & ~HPAGE_PMD_MASK")
        if changed and dirty:
            k.branch("pmdp_set_access_flags:x86_64:set_pmd")
            pmdp._store(entry)  # set_pmd()
        else:
            k.branch("pmdp_set_access_flags:x86_64:unchanged_or_clean")
    _hook(k, "pmdp_set_access_flags", address, old, pmdp[0], changed=int(changed))
    return int(changed)


def pudp_set_access_flags(vma, address: int, pudp: pud_ptr, entry: pud_t, dirty: int) -> int:
    """x86-64 pudp_set_access_flags(): `VM_BUG_ON(address & ~HPAGE_PUD_MASK)`, the store
    only if changed and dirty."""
    k = _kernel(vma.vm_mm)
    old = pudp[0]
    changed = not pud_same(old, entry)
    k.VM_BUG_ON(bool(address & ~HPAGE_PUD_MASK), "pudp_set_access_flags",
                "address & ~HPAGE_PUD_MASK")
    if changed and dirty:
        k.branch("pudp_set_access_flags:set_pud")
        pudp._store(entry)
    _hook(k, "pudp_set_access_flags", address, old, pudp[0], changed=int(changed))
    return int(changed)


def update_mmu_cache_pmd(vma, addr: int, pmdp: pmd_ptr) -> None:
    """update_mmu_cache_pmd(): empty on x86-64; on book3s64 a prefetch under radix, and
    nothing on hash (the hash fault inserts the HPTEs of a huge PMD)."""
    _hook(_kernel(vma.vm_mm), "update_mmu_cache_pmd", addr, pmdp[0], pmdp[0])


def update_mmu_cache_pud(vma, addr: int, pudp: pud_ptr) -> None:
    """update_mmu_cache_pud(): empty (x86-64)."""
    _hook(_kernel(vma.vm_mm), "update_mmu_cache_pud", addr, pudp[0], pudp[0])


# --- the deposited page table ------------------------------------------------------------------
def arch_needs_pgtable_deposit(k: HugeKernel) -> bool:
    """True on ppc64's hash MMU (a huge PMD's HPTE slots live in its deposited table), false
    on radix and x86-64. The kernel's arch_needs_pgtable_deposit(); the model passes the
    kernel for the architecture."""
    return k.config.arch is Arch.ppc64


def pgtable_trans_huge_deposit(mm: mm_struct_v5_0, pmdp: pmd_ptr, pgtable: int) -> None:
    """Deposit `pgtable` under the PMD (the caller holds the PMD lock). Hash: the one slot
    beside the PMD table, overwritten by a second deposit; elsewhere a FIFO list."""
    k = _kernel(mm)
    if k.config.arch is Arch.ppc64:
        if pmdp.index in mm.pmd_huge_pte:
            k.branch("pgtable_trans_huge_deposit:hash:slot_overwritten")
        mm.pmd_huge_pte[pmdp.index] = [pgtable]  # *pgtable_slot = pgtable
    else:
        mm.pmd_huge_pte.setdefault(pmdp.index, []).append(pgtable)


def pgtable_trans_huge_withdraw(mm: mm_struct_v5_0, pmdp: pmd_ptr) -> int | None:
    """Withdraw the table deposited under the PMD: the slot's (hash, which clears it and
    zeroes the table: `memset(pgtable, 0, PTE_FRAG_SIZE)`, an oops on a NULL slot) or the
    oldest (FIFO); None when there is none (a NULL pgtable_t in C)."""
    k = _kernel(mm)
    tables = mm.pmd_huge_pte.get(pmdp.index)
    if k.config.arch is Arch.ppc64:
        k.BUG_ON(not tables, "pgtable_trans_huge_withdraw",
                 "memset(pgtable = NULL, 0, PTE_FRAG_SIZE): no deposited table")
    if not tables:
        return None
    pgtable = tables.pop(0)
    if not tables:
        del mm.pmd_huge_pte[pmdp.index]
    return pgtable


def pmdp_huge_get_and_clear_full(mm: mm_struct_v5_0, addr: int, pmdp: pmd_ptr,
                                 full: int) -> pmd_t:
    """Read and clear a huge PMD. Hash: hash__pmdp_huge_get_and_clear() flushes the
    entry's HPTEs (pmd_hugepage_update()) and clears the deposited table's slot array,
    an oops when nothing is deposited (a NULL table)."""
    k = _kernel(mm)
    old = pmdp[0]
    if k.config.arch is Arch.ppc64:
        k.BUG_ON(not mm.pmd_huge_pte.get(pmdp.index), "pmdp_huge_get_and_clear",
                 "memset(pgtable = NULL, 0, PTE_FRAG_SIZE): no deposited table")
    pmdp._store(PMD_NONE)
    _hook(k, "pmdp_huge_get_and_clear_full", addr, old, PMD_NONE)
    return old


def pudp_huge_get_and_clear_full(mm: mm_struct_v5_0, addr: int, pudp: pud_ptr,
                                 full: int) -> pud_t:
    """x86-64: read and clear a huge PUD (xchg)."""
    k = _kernel(mm)
    old = pudp[0]
    pudp._store(PUD_NONE)
    _hook(k, "pudp_huge_get_and_clear_full", addr, old, PUD_NONE)
    return old


# --- the MMU --------------------------------------------------------------------------------
def _permits(entry, write: bool) -> bool:
    return bool(entry.val & 1) and (not write or bool(entry.val & _PAGE_RW))


def mmu_access_huge(k: HugeKernel, addr: int, write: bool, ptr) -> bool:
    """A user load or store through the huge entry `ptr` points at: True when the MMU
    served it, False when it raises a page fault. x86-64's page walker and radix set
    ACCESSED, and DIRTY for a store, in hardware; ppc64's hash MMU misses and
    __hash_page_thp() checks the access (check_pte_access()), sets ACCESSED (DIRTY for a
    store) and H_PAGE_HASHPTE, and inserts the HPTEs, whose slots it records in the PMD's
    deposited table. An oops there (a PMD without a deposited table) ends the task: `Oops`
    propagates to the caller, as from any modelled BUG."""
    old = ptr[0]
    if not _permits(old, write):
        k.branch("mmu_access_huge:fault")
        return False
    new = old.val | _PAGE_ACCESSED | (_PAGE_DIRTY if write else 0)
    if k.config.arch is Arch.ppc64:
        k.branch("mmu_access_huge:hash_page_thp")
        # __hash_page_thp() keeps the HPTE slots in the deposited table
        # (get_hpte_slot_array()): a huge PMD without one (v5.0's dax_pmd_load_hole()
        # deposits none) faults in the kernel.
        index = addr >> PMD_SHIFT
        k.BUG_ON(isinstance(old, pmd_t) and not k.mm5.pmd_huge_pte.get(index),
                 "__hash_page_thp", "get_hpte_slot_array(): no deposited table")
        new |= H_PAGE_HASHPTE
    else:
        k.branch("mmu_access_huge:hardware")
    ptr._store(type(old)(new))
    k.event(EventKind.MMU, "mmu_access", addr=addr, old=old.val, new=new, write=int(write))
    return True


def huge_entry_present(entry) -> bool:
    """pmd_present()/pud_present() of a huge entry."""
    return pmd_present(entry) if isinstance(entry, pmd_t) else pud_present(entry)

"""Architecture hooks: set_pte_at, ptep_set_access_flags, update_mmu_cache and friends.

Each architecture's hooks are modelled from its source in Linux v4.13.9, with the checks they
make under CONFIG_DEBUG_VM. Both version models use these v4.13 hooks: the seed is studied as
a patch applied to v4.13 (as the distribution backported it). v4.14 itself also changed
arm64 (73e86cb03cf2, "arm64: Move PTE_RDONLY bit handling out of set_pte_at()", v4.14-rc1),
which is not the seed and is not modelled.

Without __HAVE_ARCH_PTE_SPECIAL, pte_mkspecial() is the identity; the shared helper sets the
bit, so `set_pte_at` drops it when the configuration has no special bit.


- x86-64: arch/x86/include/asm/pgtable.h (native_set_pte_at, ptep_get_and_clear_full),
  arch/x86/mm/pgtable.c (ptep_set_access_flags: store only when changed and dirty),
  arch/x86/include/asm/pgtable_32.h/64.h (update_mmu_cache: nothing), arch/x86/mm/pat.c
  (track_pfn_insert with PAT: the cache mode of the pfn's memtype replaces the prot's).
- ppc64 (book3s64): arch/powerpc/mm/pgtable.c (set_pte_at with
  `VM_WARN_ON(pte_present(*ptep) && !pte_protnone(*ptep))`; ptep_set_access_flags, which
  only ever adds DIRTY/ACCESSED/RW/SOFT_DIRTY through __ptep_set_access_flags),
  arch/powerpc/mm/mem.c (update_mmu_cache: hash-table preload, no PTE change).
- arm64: arch/arm64/include/asm/pgtable.h (set_pte_at computes PTE_RDONLY from dirty and
  write and, with CONFIG_ARM64_HW_AFDBM and DEBUG_VM, warns once on "racy access flag
  clearing" and "racy dirty state clearing" when it overwrites a valid entry),
  arch/arm64/mm/fault.c (ptep_set_access_flags with HW_AFDBM: only the access flag, write
  and dirty bits are merged, and PTE_RDONLY ends as the more permissive of old and new),
  arch/arm64/include/asm/pgtable.h (update_mmu_cache: nothing on the PTE).

Every hook records an ARCH event (function, address, old and new entry).
"""

from __future__ import annotations

from typing import Protocol

from fuzzplug.kernel.state import (
    Arch,
    EventKind,
    Kernel,
    PageKind,
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
    _PAGE_DIRTY,
    _PAGE_PRESENT,
    _PAGE_RW,
    _PAGE_SOFT_DIRTY,
    _PAGE_SPECIAL,
    pfn_t,
    pfn_t_to_pfn,
    pgprot_t,
    pte_dirty,
    pte_present,
    pte_protnone,
    pte_same,
    pte_t,
    pte_write,
    pte_young,
)


class ArchHooks(Protocol):
    """What the generic mm code calls into an architecture for."""

    def set_pte_at(self, k: Kernel, mm: mm_struct, addr: int, ptep: pte_ptr,
                   pte: pte_t) -> None: ...

    def ptep_set_access_flags(self, k: Kernel, vma: vm_area_struct, addr: int, ptep: pte_ptr,
                              entry: pte_t, dirty: int) -> int: ...

    def update_mmu_cache(self, k: Kernel, vma: vm_area_struct, addr: int,
                         ptep: pte_ptr) -> None: ...


def _hook(k: Kernel, name: str, addr: int, old: pte_t, new: pte_t, **extra) -> None:
    k.event(EventKind.ARCH, name, addr=addr, old=old.val, new=new.val, **extra)


class X86_64:
    """x86-64 hooks."""

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


class PPC64:
    """ppc64 (book3s64) hooks."""

    # __ptep_set_access_flags (book3s/64/pgtable.h, hash and radix): the bits it may set.
    ACCESS_BITS = _PAGE_DIRTY | _PAGE_ACCESSED | _PAGE_RW | _PAGE_SOFT_DIRTY

    def set_pte_at(self, k, mm, addr, ptep, pte):
        old = ptep[0]
        # arch/powerpc/mm/pgtable.c: set_pte_at() must not overwrite a present entry.
        k.VM_WARN_ON(pte_present(old) and not pte_protnone(old), "set_pte_at",
                     "pte_present(*ptep) && !pte_protnone(*ptep)")
        ptep._store(pte)
        _hook(k, "set_pte_at", addr, old, pte)

    def ptep_set_access_flags(self, k, vma, addr, ptep, entry, dirty):
        old = ptep[0]
        changed = not pte_same(old, entry)
        if changed:
            ptep._store(pte_t(old.val | (entry.val & self.ACCESS_BITS)))
        _hook(k, "ptep_set_access_flags", addr, old, ptep[0], changed=int(changed))
        return int(changed)

    def update_mmu_cache(self, k, vma, addr, ptep):
        _hook(k, "update_mmu_cache", addr, ptep[0], ptep[0])


class ARM64:
    """arm64 hooks (CONFIG_ARM64_HW_AFDBM=y, as in defconfig).

    arm64 of v4.13 has no soft-dirty bit (its pte_mkdirty sets PTE_DIRTY only); the shared
    helpers set the x86 layout's SOFT_DIRTY, so the arm64 hooks drop it on every store.
    """

    @staticmethod
    def _rdonly(pte: pte_t) -> pte_t:
        # set_pte_at(): a present entry is hardware-writable only when dirty and writable.
        if pte_present(pte):
            if pte_dirty(pte) and pte_write(pte):
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
            k.VM_WARN_ONCE(pte_write(old) and not pte_dirty(pte), "set_pte_at",
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


_HOOKS: dict[Arch, ArchHooks] = {Arch.x86_64: X86_64(), Arch.ppc64: PPC64(), Arch.arm64: ARM64()}


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
    """Read and clear the entry (every architecture: an atomic exchange with zero)."""
    old = ptep[0]
    ptep._store(pte_t(0))
    _hook(mm.kernel, "ptep_get_and_clear_full", addr, old, pte_t(0))
    return old


def ptep_clear_flush(vma: vm_area_struct, addr: int, ptep: pte_ptr) -> pte_t:
    """ptep_clear_flush_notify(): clear the entry and flush the TLB."""
    old = ptep[0]
    ptep._store(pte_t(0))
    _hook(vma.vm_mm.kernel, "ptep_clear_flush", addr, old, pte_t(0))
    return old


def flush_tlb_fix_spurious_fault(vma: vm_area_struct, addr: int) -> None:
    k = vma.vm_mm.kernel
    k.event(EventKind.ARCH, "flush_tlb_fix_spurious_fault", addr=addr)


def track_pfn_insert(vma: vm_area_struct, prot: pgprot_t, pfn: pfn_t) -> pgprot_t:
    """track_pfn_insert() (arch/x86/mm/pat.c); a no-op except on x86 with PAT.

    With PAT, lookup_memtype() gives RAM (and the zero page) its page's memtype, write-back;
    device memory remapped with ZONE_DEVICE pages was reserved write-back by
    devm_memremap_pages(); anything else has no reservation and gets UC-.
    C passes the prot by pointer and rewrites it; the model returns the new value.
    """
    k = vma.vm_mm.kernel
    if k.config.arch is not Arch.x86_64 or not k.config.PAT:
        return prot
    kind = k.memmap.kind(pfn_t_to_pfn(pfn), k.config.DEVMAP)
    pcm = _PAGE_CACHE_MODE_UC_MINUS if kind is PageKind.NONE else _PAGE_CACHE_MODE_WB
    return pgprot_t((prot.val & ~_PAGE_CACHE_MASK) | pcm)

"""Linux v5.0 with the first posting of the fix to linux-mm: "[PATCH] mm: Fix modifying of
page protection by insert_pfn_pmd()" (Aneesh Kumar K.V, 2019-03-30).

A sibling of `v5_0` (`tests/test_model_siblings.py`): insert_pfn_pmd() and insert_pfn_pud()
no longer store over a present entry. Under the lock, a present entry is left alone for a
read; for a write, an entry of another pfn is left alone with a WARN_ON_ONCE unless it is
the huge zero PMD, and an entry of the same pfn is made young, dirty and (VM_WRITE) writable
through pmdp_set_access_flags()/pudp_set_access_flags(), as cae85cb8add3 did for PTEs. The
table vmf_insert_pfn_pmd() preallocated (ppc64 hash) is neither deposited nor freed on that
path: the leak review sent back ("Changes from v1: Fix the pgtable leak", in the v2
posting).

The functions are mm/huge_memory.c's; the rest is as in `v5_0`. Source (read, not copied):
the posting (Message-Id 20190330054121.27831-1-aneesh.kumar@linux.ibm.com, linux-mm,
2019-03-30) as quoted whole in Jan Kara's Reviewed-by reply of 2019-04-01
(20190401081441.GD4826@quack2.suse.cz): mm/huge_memory.c, 31 insertions, the same
insert_pfn_pmd()/insert_pfn_pud() hunks as the v2 posting less `pgtable = NULL` after the
deposit and the `pte_free()` at `out_unlock`.
"""

from __future__ import annotations

from fuzzplug.kernel.huge_arch import (
    arch_needs_pgtable_deposit,
    pgtable_trans_huge_deposit,
    pmdp_set_access_flags,
    pudp_set_access_flags,
    set_pmd_at,
    set_pud_at,
    update_mmu_cache_pmd,
    update_mmu_cache_pud,
)
from fuzzplug.kernel.huge_state import HugeKernel, pmd_ptr, pud_ptr, vm_fault
from fuzzplug.kernel.huge_types import (
    PG_PMD_COLOUR,
    PMD_MASK,
    PMD_SIZE,
    PUD_MASK,
    PUD_SIZE,
    maybe_pmd_mkwrite,
    maybe_pud_mkwrite,
    pfn_t_pmd,
    pfn_t_pud,
    pmd_devmap,
    pmd_mkdevmap,
    pmd_mkdirty,
    pmd_mkhuge,
    pmd_mkyoung,
    pmd_none,
    pmd_pfn,
    pmd_trans_huge,
    pud_mkdevmap,
    pud_mkdirty,
    pud_mkhuge,
    pud_mkyoung,
    pud_none,
    pud_pfn,
)
from fuzzplug.kernel.huge_v5_0 import (
    IOMAP_HOLE,
    PMD_ORDER,
    check_vma,
    VM_FAULT_NEEDDSYNC,
    dax_fault_is_synchronous,
    dax_insert_entry,
    dax_pgoff_to_phys,
    dax_pmd_load_hole,
    ext4_iomap_begin,
    is_huge_zero_pmd,
    is_huge_zero_pud,
    linear_page_index,
    mm_inc_nr_ptes,
    pmd_colour_matches,
    pmd_lock,
    pte_alloc_one,
    pud_lock,
    spin_unlock,
)
from fuzzplug.kernel.types import (
    FAULT_FLAG_WRITE,
    PAGE_SHIFT,
    PFN_DEV,
    PFN_MAP,
    VM_FAULT_FALLBACK,
    VM_FAULT_NOPAGE,
    VM_FAULT_OOM,
    VM_FAULT_SIGBUS,
    VM_MIXEDMAP,
    VM_PFNMAP,
    VM_SHARED,
    __pfn_to_pfn_t,
    is_cow_mapping,
    pfn_t,
    pfn_t_devmap_flags,
    pfn_t_to_pfn,
)

VERSION = "v5.0+v1"


def _k(vma) -> HugeKernel:
    return vma.vm_mm.kernel


# --- mm/huge_memory.c --------------------------------------------------------------------------
def insert_pfn_pmd(vma, addr: int, pmd: pmd_ptr, pfn: pfn_t, prot, write: bool,
                   pgtable: int | None) -> None:
    """mm/huge_memory.c insert_pfn_pmd(): under the PMD lock, build a huge (and devmap)
    entry, young, dirty and maybe writable for a write, deposit the preallocated table if
    any, and store the entry with set_pmd_at()."""
    k = _k(vma)
    mm = vma.vm_mm

    ptl = pmd_lock(mm, pmd)
    if not pmd_none(pmd[0]):
        k.branch("insert_pfn_pmd:present")
        if write:
            if pmd_pfn(pmd[0]) != pfn_t_to_pfn(pfn):
                k.branch("insert_pfn_pmd:present:write:pfn_mismatch")
                k.WARN_ON_ONCE(not is_huge_zero_pmd(pmd[0]), "insert_pfn_pmd",
                               "!is_huge_zero_pmd(*pmd)")
                spin_unlock(ptl)  # goto out_unlock
                return
            k.branch("insert_pfn_pmd:present:write:same_pfn")
            entry = pmd_mkyoung(pmd[0])
            entry = maybe_pmd_mkwrite(pmd_mkdirty(entry), vma)
            if pmdp_set_access_flags(vma, addr, pmd, entry, 1):
                update_mmu_cache_pmd(vma, addr, pmd)

        spin_unlock(ptl)  # goto out_unlock
        return

    entry = pmd_mkhuge(pfn_t_pmd(pfn, prot))
    if pfn_t_devmap_flags(pfn, k.config.DEVMAP):
        entry = pmd_mkdevmap(entry)
    if write:
        k.branch("insert_pfn_pmd:write")
        entry = pmd_mkyoung(pmd_mkdirty(entry))
        entry = maybe_pmd_mkwrite(entry, vma)

    if pgtable is not None:
        k.branch("insert_pfn_pmd:deposit")
        pgtable_trans_huge_deposit(mm, pmd, pgtable)
        mm_inc_nr_ptes(mm)

    set_pmd_at(mm, addr, pmd, entry)
    update_mmu_cache_pmd(vma, addr, pmd)
    spin_unlock(ptl)


def vmf_insert_pfn_pmd(vma, addr: int, pmd: pmd_ptr, pfn: pfn_t, write: bool) -> int:
    """mm/huge_memory.c vmf_insert_pfn_pmd(): the VMA checks (BUG_ONs), SIGBUS outside
    the VMA, the table preallocated where the architecture deposits one (OOM if that
    fails), track_pfn_insert() (device memory is write-back: the prot is unchanged), then
    insert_pfn_pmd()."""
    k = _k(vma)
    pgprot = vma.vm_page_prot
    pgtable = None
    k.BUG_ON(not vma.vm_flags & (VM_PFNMAP | VM_MIXEDMAP)
             and not pfn_t_devmap_flags(pfn, k.config.DEVMAP), "vmf_insert_pfn_pmd",
             "!(vma->vm_flags & (VM_PFNMAP|VM_MIXEDMAP)) && !pfn_t_devmap(pfn)")
    k.BUG_ON(vma.vm_flags & (VM_PFNMAP | VM_MIXEDMAP) == (VM_PFNMAP | VM_MIXEDMAP),
             "vmf_insert_pfn_pmd",
             "(vma->vm_flags & (VM_PFNMAP|VM_MIXEDMAP)) == (VM_PFNMAP|VM_MIXEDMAP)")
    k.BUG_ON(bool(vma.vm_flags & VM_PFNMAP) and is_cow_mapping(vma.vm_flags),
             "vmf_insert_pfn_pmd", "(vma->vm_flags & VM_PFNMAP) && is_cow_mapping(...)")

    if addr < vma.vm_start or addr >= vma.vm_end:
        k.branch("vmf_insert_pfn_pmd:outside_vma")
        return VM_FAULT_SIGBUS

    if arch_needs_pgtable_deposit(k):
        pgtable = pte_alloc_one(vma.vm_mm)
        if pgtable is None:
            k.branch("vmf_insert_pfn_pmd:pte_alloc_one_failed")
            return VM_FAULT_OOM

    insert_pfn_pmd(vma, addr, pmd, pfn, pgprot, write, pgtable)
    return VM_FAULT_NOPAGE


def insert_pfn_pud(vma, addr: int, pud: pud_ptr, pfn: pfn_t, prot, write: bool) -> None:
    """mm/huge_memory.c insert_pfn_pud(): as insert_pfn_pmd(), without a deposit."""
    k = _k(vma)
    mm = vma.vm_mm

    ptl = pud_lock(mm, pud)
    if not pud_none(pud[0]):
        k.branch("insert_pfn_pud:present")
        if write:
            if pud_pfn(pud[0]) != pfn_t_to_pfn(pfn):
                k.branch("insert_pfn_pud:present:write:pfn_mismatch")
                k.WARN_ON_ONCE(not is_huge_zero_pud(pud[0]), "insert_pfn_pud",
                               "!is_huge_zero_pud(*pud)")
                spin_unlock(ptl)  # goto out_unlock
                return
            k.branch("insert_pfn_pud:present:write:same_pfn")
            entry = pud_mkyoung(pud[0])
            entry = maybe_pud_mkwrite(pud_mkdirty(entry), vma)
            if pudp_set_access_flags(vma, addr, pud, entry, 1):
                update_mmu_cache_pud(vma, addr, pud)
        spin_unlock(ptl)  # goto out_unlock
        return

    entry = pud_mkhuge(pfn_t_pud(pfn, prot))
    if pfn_t_devmap_flags(pfn, k.config.DEVMAP):
        entry = pud_mkdevmap(entry)
    if write:
        k.branch("insert_pfn_pud:write")
        entry = pud_mkyoung(pud_mkdirty(entry))
        entry = maybe_pud_mkwrite(entry, vma)
    set_pud_at(mm, addr, pud, entry)
    update_mmu_cache_pud(vma, addr, pud)
    spin_unlock(ptl)


def vmf_insert_pfn_pud(vma, addr: int, pud: pud_ptr, pfn: pfn_t, write: bool) -> int:
    """mm/huge_memory.c vmf_insert_pfn_pud(): the VMA checks, SIGBUS outside the VMA,
    insert_pfn_pud()."""
    k = _k(vma)
    pgprot = vma.vm_page_prot
    k.BUG_ON(not vma.vm_flags & (VM_PFNMAP | VM_MIXEDMAP)
             and not pfn_t_devmap_flags(pfn, k.config.DEVMAP), "vmf_insert_pfn_pud",
             "!(vma->vm_flags & (VM_PFNMAP|VM_MIXEDMAP)) && !pfn_t_devmap(pfn)")
    k.BUG_ON(vma.vm_flags & (VM_PFNMAP | VM_MIXEDMAP) == (VM_PFNMAP | VM_MIXEDMAP),
             "vmf_insert_pfn_pud",
             "(vma->vm_flags & (VM_PFNMAP|VM_MIXEDMAP)) == (VM_PFNMAP|VM_MIXEDMAP)")
    k.BUG_ON(bool(vma.vm_flags & VM_PFNMAP) and is_cow_mapping(vma.vm_flags),
             "vmf_insert_pfn_pud", "(vma->vm_flags & VM_PFNMAP) && is_cow_mapping(...)")

    if addr < vma.vm_start or addr >= vma.vm_end:
        k.branch("vmf_insert_pfn_pud:outside_vma")
        return VM_FAULT_SIGBUS

    insert_pfn_pud(vma, addr, pud, pfn, pgprot, write)
    return VM_FAULT_NOPAGE


# --- drivers/dax/device.c ------------------------------------------------------------------------
def __dev_dax_pmd_fault(vmf: vm_fault, pfn: list) -> int:
    """drivers/dax/device.c __dev_dax_pmd_fault(): the region's alignment against the
    fault size (SIGBUS if larger, FALLBACK if smaller), the PMD inside the VMA, the pfn of
    the page offset, then vmf_insert_pfn_pmd() with the faulting address as it is."""
    k = _k(vmf.vma)
    pmd_addr = vmf.address & PMD_MASK
    fault_size = PMD_SIZE
    if not check_vma(k, vmf.vma):
        return VM_FAULT_SIGBUS
    region = k.region
    if region.align > PMD_SIZE:
        k.branch("__dev_dax_pmd_fault:align_gt_fault_size")
        return VM_FAULT_SIGBUS
    if region.pfn_flags & (PFN_DEV | PFN_MAP) != PFN_DEV | PFN_MAP:
        return VM_FAULT_SIGBUS
    if fault_size < region.align:
        return VM_FAULT_SIGBUS
    elif fault_size > region.align:
        return VM_FAULT_FALLBACK
    if pmd_addr < vmf.vma.vm_start or pmd_addr + PMD_SIZE > vmf.vma.vm_end:
        k.branch("__dev_dax_pmd_fault:outside_vma")
        return VM_FAULT_SIGBUS
    pgoff = linear_page_index(vmf.vma, pmd_addr)
    phys = dax_pgoff_to_phys(k, pgoff, PMD_SIZE)
    if phys is None:
        k.branch("__dev_dax_pmd_fault:pgoff_to_phys_failed")
        return VM_FAULT_SIGBUS
    pfn.append(__pfn_to_pfn_t(phys, region.pfn_flags))
    k.branch("__dev_dax_pmd_fault:insert")
    return vmf_insert_pfn_pmd(vmf.vma, vmf.address, vmf.pmd, pfn[0],
                              bool(vmf.flags & FAULT_FLAG_WRITE))


def __dev_dax_pud_fault(vmf: vm_fault, pfn: list) -> int:
    """drivers/dax/device.c __dev_dax_pud_fault() (x86-64: CONFIG_HAVE_ARCH_TRANSPARENT_
    HUGEPAGE_PUD; elsewhere the stub, VM_FAULT_FALLBACK), as __dev_dax_pmd_fault()."""
    k = _k(vmf.vma)
    if k.config.arch.value != "x86_64":
        k.branch("__dev_dax_pud_fault:no_pud_thp")
        return VM_FAULT_FALLBACK
    pud_addr = vmf.address & PUD_MASK
    fault_size = PUD_SIZE
    if not check_vma(k, vmf.vma):
        return VM_FAULT_SIGBUS
    region = k.region
    if region.align > PUD_SIZE:
        return VM_FAULT_SIGBUS
    if region.pfn_flags & (PFN_DEV | PFN_MAP) != PFN_DEV | PFN_MAP:
        return VM_FAULT_SIGBUS
    if fault_size < region.align:
        return VM_FAULT_SIGBUS
    elif fault_size > region.align:
        return VM_FAULT_FALLBACK
    if pud_addr < vmf.vma.vm_start or pud_addr + PUD_SIZE > vmf.vma.vm_end:
        k.branch("__dev_dax_pud_fault:outside_vma")
        return VM_FAULT_SIGBUS
    pgoff = linear_page_index(vmf.vma, pud_addr)
    phys = dax_pgoff_to_phys(k, pgoff, PUD_SIZE)
    if phys is None:
        k.branch("__dev_dax_pud_fault:pgoff_to_phys_failed")
        return VM_FAULT_SIGBUS
    pfn.append(__pfn_to_pfn_t(phys, region.pfn_flags))
    k.branch("__dev_dax_pud_fault:insert")
    return vmf_insert_pfn_pud(vmf.vma, vmf.address, vmf.pud, pfn[0],
                              bool(vmf.flags & FAULT_FLAG_WRITE))


# --- fs/dax.c ----------------------------------------------------------------------------------
def dax_iomap_pmd_fault(vmf: vm_fault, pfnp: list) -> int:
    """fs/dax.c dax_iomap_pmd_fault(): fall back for a PMD whose file offset is not
    aligned with its address, a COW write, a PMD outside the VMA or the file; SIGBUS
    beyond the file; otherwise look the extent up (ext4_iomap_begin) and map it: a hole
    read maps the huge zero page (dax_pmd_load_hole), a mapped extent inserts the pfn
    (vmf_insert_pfn_pmd with the faulting address as it is), unless the fault is
    synchronous (MAP_SYNC with metadata to commit): then VM_FAULT_NEEDDSYNC and the pfn."""
    k = _k(vmf.vma)
    vma = vmf.vma
    pmd_addr = vmf.address & PMD_MASK
    write = bool(vmf.flags & FAULT_FLAG_WRITE)
    max_pgoff = k.file.nr_pages
    index = vmf.pgoff & ~PG_PMD_COLOUR
    if not pmd_colour_matches(vmf):
        k.branch("dax_iomap_pmd_fault:fallback:colour")
        return VM_FAULT_FALLBACK
    if write and not vma.vm_flags & VM_SHARED:
        k.branch("dax_iomap_pmd_fault:fallback:cow")
        return VM_FAULT_FALLBACK
    if pmd_addr < vma.vm_start or pmd_addr + PMD_SIZE > vma.vm_end:
        k.branch("dax_iomap_pmd_fault:fallback:outside_vma")
        return VM_FAULT_FALLBACK
    if index >= max_pgoff:
        k.branch("dax_iomap_pmd_fault:sigbus:beyond_eof")
        return VM_FAULT_SIGBUS
    if (index | PG_PMD_COLOUR) >= max_pgoff:
        k.branch("dax_iomap_pmd_fault:fallback:beyond_eof")
        return VM_FAULT_FALLBACK
    if not pmd_none(vmf.pmd[0]) and not pmd_trans_huge(vmf.pmd[0]) \
            and not pmd_devmap(vmf.pmd[0]):
        return 0
    pos = index << PAGE_SHIFT
    iomap_type, first_pfn, iomap_dirty = ext4_iomap_begin(k, pos, write)
    sync = dax_fault_is_synchronous(k, write, vma, iomap_dirty)
    if iomap_type == IOMAP_HOLE:
        k.branch("dax_iomap_pmd_fault:hole")
        return dax_pmd_load_hole(vmf)
    pfn = __pfn_to_pfn_t(first_pfn, PFN_DEV | PFN_MAP)
    dax_insert_entry(k, vmf, index, zero=False)
    if sync:
        k.branch("dax_iomap_pmd_fault:needdsync")
        pfnp.append(pfn)
        return VM_FAULT_NEEDDSYNC
    k.branch("dax_iomap_pmd_fault:insert")
    return vmf_insert_pfn_pmd(vma, vmf.address, vmf.pmd, pfn, write)


def dax_insert_pfn_mkwrite(vmf: vm_fault, pfn: pfn_t, order: int) -> int:
    """fs/dax.c dax_insert_pfn_mkwrite(): after the fsync of a synchronous fault, mark the
    entry dirty and insert the pfn writable: vmf_insert_pfn_pmd(..., true) for a PMD (the
    PTE order is not modelled: VM_FAULT_FALLBACK)."""
    k = _k(vmf.vma)
    if order == PMD_ORDER:
        k.branch("dax_insert_pfn_mkwrite:pmd")
        return vmf_insert_pfn_pmd(vmf.vma, vmf.address, vmf.pmd, pfn, True)
    return VM_FAULT_FALLBACK

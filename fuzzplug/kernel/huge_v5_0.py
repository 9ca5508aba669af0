"""The v5.0 huge-page paths that the insert_pfn_pmd chain does not change, shared by its
four version modules (`v5_0`, `v5_0_c6f3c5ee40c1_v1`, `v5_0_c6f3c5ee40c1`,
`v5_0_c6f3c5ee40c1_fce86ff5802b`).

From mm/huge_memory.c: the page-table accounting of a deposited table (`mm_inc_nr_ptes`,
`mm_dec_nr_ptes`), `pte_alloc_one`/`pte_free`, the huge zero page (`mm_get_huge_zero_page`,
`is_huge_zero_pmd`), `zap_deposited_table`, `zap_huge_pmd`, `zap_huge_pud`,
`huge_pmd_set_accessed`, `huge_pud_set_accessed`. From mm/memory.c: `create_huge_pud`,
`wp_huge_pud`, `create_huge_pmd`, `wp_huge_pmd`, `__handle_mm_fault` (its huge part; the PTE
level is not modelled: a fault that reaches `handle_pte_fault` reports VM_FAULT_FALLBACK),
`handle_mm_fault`, `unmap_page_range` (its huge entries), `exit_mmap`. From kernel/fork.c:
`check_mm`. From drivers/dax/device.c: `dev_dax_huge_fault` and `__dev_dax_pte_fault`'s
alignment check. From fs/dax.c: `dax_pmd_load_hole`, `dax_insert_entry` (what it does to the
page tables), `dax_iomap_fault`, `dax_finish_sync_fault`; from fs/ext4: `ext4_iomap_begin`
(blocks and IOMAP_F_DIRTY), `ext4_dax_huge_fault`, `vfs_fsync_range`. And the user's access
(`do_user_access`): the MMU first, then the page fault.

What the chain changes (insert_pfn_pmd/pud, vmf_insert_pfn_pmd/pud, and the callers
fce86ff5802b changes: `__dev_dax_pmd_fault`, `__dev_dax_pud_fault`, `dax_iomap_pmd_fault`,
`dax_insert_pfn_mkwrite`) is in each version module, reached through `k.model` as C
reaches a driver's code through vm_ops->huge_fault.

Sources (read, not copied): Linux v5.0 (VVvector/linux-5.0.1, under linux-5.0.1/), the
files named above.
"""

from __future__ import annotations

from fuzzplug.kernel.huge_arch import (
    arch_needs_pgtable_deposit,
    mmu_access_huge,
    pgtable_trans_huge_withdraw,
    pmdp_huge_get_and_clear_full,
    pmdp_set_access_flags,
    pudp_huge_get_and_clear_full,
    pudp_set_access_flags,
    set_pmd_at,
    update_mmu_cache_pmd,
    update_mmu_cache_pud,
)
from fuzzplug.kernel.huge_state import (
    HUGE_ZERO_PFN,
    PTE_TABLE_BYTES,
    HugeKernel,
    mm_struct_v5_0,
    pmd_offset,
    pmd_ptr,
    pud_offset,
    pud_ptr,
    vm_fault,
)
from fuzzplug.kernel.huge_types import (
    HPAGE_PMD_MASK,
    PG_PMD_COLOUR,
    PMD_MASK,
    PMD_SHIFT,
    PMD_SIZE,
    PUD_MASK,
    PUD_SHIFT,
    pfn_t_pmd,
    pmd_devmap,
    pmd_mkdirty,
    pmd_mkhuge,
    pmd_mkyoung,
    pmd_none,
    pmd_pfn,
    pmd_present,
    pmd_same,
    pmd_t,
    pmd_trans_huge,
    pmd_write,
    pud_devmap,
    pud_mkdirty,
    pud_mkyoung,
    pud_none,
    pud_same,
    pud_t,
    pud_trans_huge,
    pud_write,
)
from fuzzplug.kernel.state import EventKind
from fuzzplug.kernel.types import (
    FAULT_FLAG_WRITE,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    VM_FAULT_ERROR,
    VM_FAULT_FALLBACK,
    VM_FAULT_NOPAGE,
    VM_FAULT_OOM,
    VM_FAULT_SIGBUS,
    VM_FAULT_SIGSEGV,
    VM_SHARED,
    VM_WRITE,
    pfn_t,
)

PE_SIZE_PTE = 0
PE_SIZE_PMD = 1
PE_SIZE_PUD = 2
PMD_ORDER = PMD_SHIFT - PAGE_SHIFT
VM_FAULT_NEEDDSYNC = 0x2000  # include/linux/mm_types.h (v5.0)


def _k(mm: mm_struct_v5_0) -> HugeKernel:
    return mm.kernel  # type: ignore[return-value]


# --- locks (one task runs alone: taken and released, nothing runs in between) ---------------
def pmd_lock(mm: mm_struct_v5_0, pmd: pmd_ptr) -> pmd_ptr:
    """pmd_lock(): the split PMD lock of the PMD's table; what spin_unlock() takes back."""
    return pmd


def pud_lock(mm: mm_struct_v5_0, pud: pud_ptr) -> pud_ptr:
    return pud


def spin_unlock(ptl) -> None:
    """spin_unlock(ptl)."""


# --- page tables and their accounting --------------------------------------------------------
def pte_alloc_one(mm: mm_struct_v5_0) -> int | None:
    """A PTE table for the page tables (include/asm-generic/pgalloc.h, arch pte_alloc_one());
    None when the allocation fails (the `fail_alloc` injection)."""
    k = _k(mm)
    if k.should_fail_alloc("pte_alloc_one"):
        return None
    pgtable = mm.next_pgtable
    mm.next_pgtable += 1
    mm.pgtables_live.add(pgtable)
    return pgtable


def pte_free(mm: mm_struct_v5_0, pgtable: int | None) -> None:
    """Free a PTE table. A NULL table is an oops (pte_fragment_free()/__free_page() of
    NULL's page)."""
    k = _k(mm)
    k.BUG_ON(pgtable is None, "pte_free", "pgtable == NULL")
    mm.pgtables_live.discard(pgtable)


def mm_inc_nr_ptes(mm: mm_struct_v5_0) -> None:
    """include/linux/mm.h: `atomic_long_add(PTRS_PER_PTE * sizeof(pte_t), &mm->pgtables_bytes)`."""
    mm.pgtables_bytes += PTE_TABLE_BYTES


def mm_dec_nr_ptes(mm: mm_struct_v5_0) -> None:
    mm.pgtables_bytes -= PTE_TABLE_BYTES


def zap_deposited_table(mm: mm_struct_v5_0, pmd: pmd_ptr) -> None:
    """mm/huge_memory.c zap_deposited_table(): withdraw, free, account."""
    pgtable = pgtable_trans_huge_withdraw(mm, pmd)
    pte_free(mm, pgtable)
    mm_dec_nr_ptes(mm)


# --- the huge zero page -------------------------------------------------------------------------
def mm_get_huge_zero_page(mm: mm_struct_v5_0) -> int:
    """The huge zero page's pfn; sets MMF_HUGE_ZERO_PAGE on first use (the reference it
    takes is dropped at exit: mm_put_huge_zero_page())."""
    k = _k(mm)
    if mm.mmf_huge_zero_page:
        k.branch("mm_get_huge_zero_page:mm_has_it")
    else:
        k.branch("mm_get_huge_zero_page:first")
        mm.mmf_huge_zero_page = True
    return HUGE_ZERO_PFN


def is_huge_zero_pmd(pmd: pmd_t) -> bool:
    """include/linux/huge_mm.h: `is_huge_zero_page(pmd_page(pmd))` (the entry maps it)."""
    return pmd_present(pmd) and pmd_pfn(pmd) == HUGE_ZERO_PFN


def is_huge_zero_pud(pud: pud_t) -> bool:
    """include/linux/huge_mm.h is_huge_zero_pud(): false (no huge zero PUD in v5.0)."""
    return False


# --- zapping ---------------------------------------------------------------------------------------
def zap_huge_pmd(vma, pmd: pmd_ptr, addr: int) -> int:
    """mm/huge_memory.c zap_huge_pmd() for a DAX VMA: clear the entry, then, where the
    architecture deposits, withdraw and free the deposited table (zap_deposited_table)."""
    k = _k(vma.vm_mm)
    mm = vma.vm_mm
    if pmd_none(pmd[0]):
        return 0  # __pmd_trans_huge_lock(): not a huge entry
    orig_pmd = pmdp_huge_get_and_clear_full(mm, addr, pmd, 0)
    # vma_is_dax(vma)
    if arch_needs_pgtable_deposit(k):
        k.branch("zap_huge_pmd:dax:zap_deposited_table")
        zap_deposited_table(mm, pmd)
    else:
        k.branch("zap_huge_pmd:dax")
    if is_huge_zero_pmd(orig_pmd):
        k.branch("zap_huge_pmd:huge_zero_pmd")  # tlb_remove_page_size() of the zero page
    return 1


def zap_huge_pud(vma, pud: pud_ptr, addr: int) -> int:
    """mm/huge_memory.c zap_huge_pud(): clear the entry (DAX: no deposit, no zero page)."""
    k = _k(vma.vm_mm)
    if pud_none(pud[0]):
        return 0
    pudp_huge_get_and_clear_full(vma.vm_mm, addr, pud, 0)
    k.branch("zap_huge_pud:dax")
    return 1


def unmap_page_range(vma, addr: int, end: int) -> None:
    """The huge half of unmap_page_range() (mm/memory.c zap_pud_range/zap_pmd_range): each
    huge PUD and PMD the range touches is zapped. A range covering part of a huge entry
    splits it, which for a DAX VMA clears it the same way (__split_huge_pmd_locked():
    `if (vma_is_dax(vma)) return` after the clear and the deposited table's zap)."""
    mm = vma.vm_mm
    for index in sorted(i for i in mm.puds if addr >> PUD_SHIFT <= i <= (end - 1) >> PUD_SHIFT):
        zap_huge_pud(vma, pud_ptr(mm, index), index << PUD_SHIFT)
    for index in sorted(i for i in set(mm.pmds) | set(mm.pmd_huge_pte)
                        if addr >> PMD_SHIFT <= i <= (end - 1) >> PMD_SHIFT):
        if index in mm.pmds:
            zap_huge_pmd(vma, pmd_ptr(mm, index), index << PMD_SHIFT)


# --- the fault path (mm/memory.c) -------------------------------------------------------------
def huge_pud_set_accessed(vmf: vm_fault, orig_pud: pud_t) -> None:
    """mm/huge_memory.c huge_pud_set_accessed(): young (and dirty on a write) through
    pudp_set_access_flags() at the PUD-aligned address."""
    k = _k(vmf.vma.vm_mm)
    write = bool(vmf.flags & FAULT_FLAG_WRITE)
    if not pud_same(vmf.pud[0], orig_pud):
        k.branch("huge_pud_set_accessed:changed_under_us")
        return
    entry = pud_mkyoung(orig_pud)
    if write:
        entry = pud_mkdirty(entry)
    haddr = vmf.address & PUD_MASK
    if pudp_set_access_flags(vmf.vma, haddr, vmf.pud, entry, int(write)):
        update_mmu_cache_pud(vmf.vma, vmf.address, vmf.pud)



def huge_pmd_set_accessed(vmf: vm_fault, orig_pmd: pmd_t) -> None:
    """mm/huge_memory.c huge_pmd_set_accessed(): young (and dirty on a write) through
    pmdp_set_access_flags() at the PMD-aligned address."""
    k = _k(vmf.vma.vm_mm)
    write = bool(vmf.flags & FAULT_FLAG_WRITE)
    if not pmd_same(vmf.pmd[0], orig_pmd):
        k.branch("huge_pmd_set_accessed:changed_under_us")
        return
    entry = pmd_mkyoung(orig_pmd)
    if write:
        entry = pmd_mkdirty(entry)
    haddr = vmf.address & HPAGE_PMD_MASK
    if pmdp_set_access_flags(vmf.vma, haddr, vmf.pmd, entry, int(write)):
        update_mmu_cache_pmd(vmf.vma, vmf.address, vmf.pmd)


def create_huge_pud(vmf: vm_fault) -> int:
    """mm/memory.c create_huge_pud(): the VMA's ->huge_fault(PE_SIZE_PUD)."""
    return vm_ops_huge_fault(vmf, PE_SIZE_PUD)


def wp_huge_pud(vmf: vm_fault, orig_pud: pud_t) -> int:
    return vm_ops_huge_fault(vmf, PE_SIZE_PUD)


def create_huge_pmd(vmf: vm_fault) -> int:
    """mm/memory.c create_huge_pmd(): a DAX VMA is not anonymous: ->huge_fault(PE_SIZE_PMD)."""
    return vm_ops_huge_fault(vmf, PE_SIZE_PMD)


def wp_huge_pmd(vmf: vm_fault, orig_pmd: pmd_t) -> int:
    """mm/memory.c wp_huge_pmd(): a write fault on a present, read-only huge PMD goes to
    ->huge_fault(PE_SIZE_PMD) (do_huge_pmd_wp_page() is for anonymous VMAs only)."""
    return vm_ops_huge_fault(vmf, PE_SIZE_PMD)


def vm_ops_huge_fault(vmf: vm_fault, pe_size: int) -> int:
    """`vmf->vma->vm_ops->huge_fault(vmf, pe_size)`: device DAX's dev_dax_huge_fault() or
    ext4's ext4_dax_huge_fault(), whichever the mapping has."""
    k = _k(vmf.vma.vm_mm)
    if k.region is not None:
        return dev_dax_huge_fault(vmf, pe_size)
    return ext4_dax_huge_fault(vmf, pe_size)


def pmd_alloc(mm: mm_struct_v5_0, pud: pud_ptr, address: int) -> pmd_ptr | None:
    """The PMD table under the PUD (__pmd_alloc() when there is none); None when the
    allocation fails."""
    k = _k(mm)
    table = address >> PUD_SHIFT
    if table not in mm.pmd_tables:
        if k.should_fail_alloc("__pmd_alloc"):
            return None
        mm.pmd_tables.add(table)
    return pmd_offset(mm, address)


def __handle_mm_fault(vma, address: int, flags: int, unlocked_none: bool = False) -> int:
    """mm/memory.c __handle_mm_fault(), its huge part. `unlocked_none`: the entries read
    without the lock (`pud_none(*vmf.pud)`, `pmd_none(*vmf.pmd)`) were none, although
    another CPU has installed the entry since: this CPU is the loser of a race of two
    faults on one huge entry, and goes on to ->huge_fault as the winner did."""
    mm = vma.vm_mm
    k = _k(mm)
    vmf = vm_fault(vma, address & PAGE_MASK, flags, linear_page_index(vma, address))
    dirty = flags & FAULT_FLAG_WRITE
    vmf.pud = pud_offset(mm, address)  # pud_alloc(): the PUD table always exists
    orig_pud = vmf.pud[0]
    if unlocked_none or pud_none(orig_pud):
        k.branch("__handle_mm_fault:pud:create_huge_pud")
        ret = create_huge_pud(vmf)
        if not ret & VM_FAULT_FALLBACK:
            return ret
    elif pud_trans_huge(orig_pud) or pud_devmap(orig_pud):
        if dirty and not pud_write(orig_pud):
            k.branch("__handle_mm_fault:pud:wp_huge_pud")
            ret = wp_huge_pud(vmf, orig_pud)
            if not ret & VM_FAULT_FALLBACK:
                return ret
        else:
            k.branch("__handle_mm_fault:pud:huge_pud_set_accessed")
            huge_pud_set_accessed(vmf, orig_pud)
            return 0
    if vmf.pud[0].val:
        # A huge PUD whose ->huge_fault fell back: pmd_alloc() would read it as a table.
        k.branch("__handle_mm_fault:pud:huge_entry_fell_back")
        return VM_FAULT_FALLBACK
    vmf.pmd = pmd_alloc(mm, vmf.pud, address)
    if vmf.pmd is None:
        return VM_FAULT_OOM
    orig_pmd = vmf.pmd[0]
    if unlocked_none or pmd_none(orig_pmd):
        k.branch("__handle_mm_fault:pmd:create_huge_pmd")
        ret = create_huge_pmd(vmf)
        if not ret & VM_FAULT_FALLBACK:
            return ret
    elif pmd_trans_huge(orig_pmd) or pmd_devmap(orig_pmd):
        if dirty and not pmd_write(orig_pmd):
            k.branch("__handle_mm_fault:pmd:wp_huge_pmd")
            ret = wp_huge_pmd(vmf, orig_pmd)
            if not ret & VM_FAULT_FALLBACK:
                return ret
        else:
            k.branch("__handle_mm_fault:pmd:huge_pmd_set_accessed")
            huge_pmd_set_accessed(vmf, orig_pmd)
            return 0
    # handle_pte_fault(): the PTE level is not modelled.
    k.branch("__handle_mm_fault:handle_pte_fault")
    return VM_FAULT_FALLBACK


def handle_mm_fault(vma, address: int, flags: int, unlocked_none: bool = False) -> int:
    """mm/memory.c handle_mm_fault(): __handle_mm_fault (memcg and the LRU aside)."""
    return __handle_mm_fault(vma, address, flags, unlocked_none)


def linear_page_index(vma, address: int) -> int:
    return ((address - vma.vm_start) >> PAGE_SHIFT) + vma.vm_pgoff


# --- device DAX (drivers/dax/device.c) -------------------------------------------------------------
def check_vma(k: HugeKernel, vma) -> bool:
    """drivers/dax/device.c check_vma(): false (an error) for a private mapping or a VMA
    not aligned to the region's alignment."""
    mask = k.region.align - 1
    if not vma.vm_flags & VM_SHARED:
        k.branch("check_vma:private_mapping")
        return False
    if vma.vm_start & mask or vma.vm_end & mask:
        k.branch("check_vma:unaligned_vma")
        return False
    return True


def dax_pgoff_to_phys(k: HugeKernel, pgoff: int, size: int) -> int | None:
    """The region's pfn for `pgoff` if [pgoff, pgoff + size) lies inside it, else None
    (phys == -1 in C); the model returns the pfn, not the physical address."""
    region = k.region
    if pgoff + (size >> PAGE_SHIFT) > region.nr_pages:
        return None
    return region.base_pfn + pgoff


def __dev_dax_pte_fault(vmf: vm_fault) -> int:
    """drivers/dax/device.c __dev_dax_pte_fault(): SIGBUS when the region's alignment
    exceeds a page, which every modelled region's does ("alignment > fault size")."""
    k = _k(vmf.vma.vm_mm)
    k.branch("__dev_dax_pte_fault:align_gt_fault_size")
    return VM_FAULT_SIGBUS


def dev_dax_huge_fault(vmf: vm_fault, pe_size: int) -> int:
    """drivers/dax/device.c dev_dax_huge_fault(): by size to the PTE, PMD or PUD handler
    (the PMD and PUD ones are the version's). The page->mapping/index bookkeeping after a
    VM_FAULT_NOPAGE is not modelled (no struct page of the region is compared)."""
    k = _k(vmf.vma.vm_mm)
    pfn: list[pfn_t] = []
    if pe_size == PE_SIZE_PTE:
        return __dev_dax_pte_fault(vmf)
    if pe_size == PE_SIZE_PMD:
        return k.model.__dev_dax_pmd_fault(vmf, pfn)
    return k.model.__dev_dax_pud_fault(vmf, pfn)


# --- fs DAX on ext4 (fs/dax.c, fs/ext4) -----------------------------------------------------------
IOMAP_HOLE = "hole"
IOMAP_MAPPED = "mapped"


def ext4_iomap_begin(k: HugeKernel, pos: int, write: bool) -> tuple[str, int, bool]:
    """fs/ext4/inode.c ext4_iomap_begin() for one PMD-sized extent at `pos`: (type, first
    pfn, IOMAP_F_DIRTY). A write allocates the extent's blocks (the inode's metadata is then
    dirty until an fsync commits it); a read of an extent without blocks is a hole."""
    file = k.file
    extent = (pos >> PAGE_SHIFT) // (PMD_SIZE >> PAGE_SHIFT)
    if extent in file.holes:
        if not write:
            k.branch("ext4_iomap_begin:hole")
            return IOMAP_HOLE, 0, file.inode_dirty
        k.branch("ext4_iomap_begin:allocate")
        file.holes.discard(extent)
        file.inode_dirty = True
    return IOMAP_MAPPED, file.base_pfn + (pos >> PAGE_SHIFT), file.inode_dirty


def dax_fault_is_synchronous(k: HugeKernel, write: bool, vma, iomap_dirty: bool) -> bool:
    """fs/dax.c dax_fault_is_synchronous(): a write, a VM_SYNC mapping, IOMAP_F_DIRTY."""
    return write and k.vm_sync and iomap_dirty


def dax_insert_entry(k: HugeKernel, vmf: vm_fault, pgoff: int, zero: bool) -> None:
    """fs/dax.c dax_insert_entry(), what it does to the page tables: a zero-page entry
    replaced by a real one unmaps the zero page's mappings first (unmap_mapping_pages() of
    the PMD range: zap_huge_pmd of the huge zero PMD), then the entry is stored."""
    file = k.file
    extent = pgoff // (PMD_SIZE >> PAGE_SHIFT)
    if extent in file.zero_entries and not zero:
        k.branch("dax_insert_entry:unmap_zero_page")
        file.zero_entries.discard(extent)
        vma = vmf.vma
        start = vma.vm_start + ((extent * (PMD_SIZE >> PAGE_SHIFT) - vma.vm_pgoff) << PAGE_SHIFT)
        unmap_page_range(vma, start, start + PMD_SIZE)
    elif zero:
        file.zero_entries.add(extent)


def dax_pmd_load_hole(vmf: vm_fault) -> int:
    """fs/dax.c dax_pmd_load_hole(): map the huge zero page read-only over the hole. v5.0
    deposits no page table here (and takes no mm_inc_nr_ptes()), on every architecture."""
    k = _k(vmf.vma.vm_mm)
    mm = vmf.vma.vm_mm
    pmd_addr = vmf.address & PMD_MASK
    zero_pfn = mm_get_huge_zero_page(mm)
    dax_insert_entry(k, vmf, vmf.pgoff, zero=True)
    if not pmd_none(vmf.pmd[0]):
        k.branch("dax_pmd_load_hole:fallback_not_none")
        return VM_FAULT_FALLBACK
    k.branch("dax_pmd_load_hole:set_pmd_at")
    pmd_entry = pmd_mkhuge(pfn_t_pmd(pfn_t(zero_pfn), vmf.vma.vm_page_prot))
    set_pmd_at(mm, pmd_addr, vmf.pmd, pmd_entry)
    return VM_FAULT_NOPAGE


def dax_iomap_fault(vmf: vm_fault, pe_size: int, pfnp: list) -> int:
    """fs/dax.c dax_iomap_fault(): the PMD size to the version's dax_iomap_pmd_fault();
    the PTE size is not modelled (VM_FAULT_FALLBACK), the PUD size falls back."""
    k = _k(vmf.vma.vm_mm)
    if pe_size == PE_SIZE_PMD:
        return k.model.dax_iomap_pmd_fault(vmf, pfnp)
    k.branch("dax_iomap_fault:fallback")
    return VM_FAULT_FALLBACK


def vfs_fsync_range(k: HugeKernel) -> int:
    """fsync of the file: the journal commits, the inode's metadata is clean."""
    k.file.inode_dirty = False
    return 0


def dax_finish_sync_fault(vmf: vm_fault, pe_size: int, pfn: pfn_t) -> int:
    """fs/dax.c dax_finish_sync_fault(): fsync the range, then insert the entry writable
    (the version's dax_insert_pfn_mkwrite())."""
    k = _k(vmf.vma.vm_mm)
    vfs_fsync_range(k)
    order = PMD_ORDER if pe_size == PE_SIZE_PMD else 0
    return k.model.dax_insert_pfn_mkwrite(vmf, pfn, order)


def ext4_dax_huge_fault(vmf: vm_fault, pe_size: int) -> int:
    """fs/ext4/file.c ext4_dax_huge_fault(): dax_iomap_fault(), then for a synchronous
    write fault (VM_FAULT_NEEDDSYNC) dax_finish_sync_fault(). The journal handle, the
    locks and the ENOSPC retry are not modelled."""
    k = _k(vmf.vma.vm_mm)
    write = bool(vmf.flags & FAULT_FLAG_WRITE) and bool(vmf.vma.vm_flags & VM_SHARED)
    pfn: list[pfn_t] = []
    result = dax_iomap_fault(vmf, pe_size, pfn)
    if write and result & VM_FAULT_NEEDDSYNC:
        k.branch("ext4_dax_huge_fault:dax_finish_sync_fault")
        result = dax_finish_sync_fault(vmf, pe_size, pfn[0])
    return result


def pmd_colour_matches(vmf: vm_fault) -> bool:
    """dax_iomap_pmd_fault()'s first check: the page offset within a PMD is the same in
    the file and in the address space."""
    return (vmf.pgoff & PG_PMD_COLOUR) == ((vmf.address >> PAGE_SHIFT) & PG_PMD_COLOUR)


# --- the user's access -------------------------------------------------------------------------
def do_user_access(k: HugeKernel, addr: int, write: bool, unlocked_none: bool = False) -> int:
    """A user load or store at `addr`: the MMU through a present huge entry first (no page
    fault when it permits the access); else the page-fault handler: a store to a VMA
    without VM_WRITE is SIGSEGV (access_error()), otherwise handle_mm_fault(), whose
    VM_FAULT_SIGBUS/SIGSEGV become the signal and VM_FAULT_OOM the OOM killer's
    (pagefault_out_of_memory(): the task is not signalled). Returns the fault's result (0
    when the MMU served it). `unlocked_none`: see `__handle_mm_fault`."""
    mm = k.mm5
    vma = k.vma
    if not unlocked_none:
        pud = pud_offset(mm, addr)
        if pud[0].val and mmu_access_huge(k, addr, write, pud):
            return 0
        pmd = pmd_offset(mm, addr)
        if not pud[0].val and pmd[0].val and mmu_access_huge(k, addr, write, pmd):
            return 0
    if not vma.vm_start <= addr < vma.vm_end:
        k.branch("do_user_access:no_vma")
        k.event(EventKind.SIGNAL, "do_page_fault", signal="SIGSEGV")
        return VM_FAULT_SIGSEGV
    if write and not vma.vm_flags & VM_WRITE:
        k.branch("do_user_access:access_error")
        k.event(EventKind.SIGNAL, "do_page_fault", signal="SIGSEGV")
        return VM_FAULT_SIGSEGV
    flags = FAULT_FLAG_WRITE if write else 0
    ret = handle_mm_fault(vma, addr, flags, unlocked_none)
    if ret & VM_FAULT_ERROR:
        if ret & VM_FAULT_OOM:
            k.branch("do_user_access:oom")
        elif ret & (VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV):
            k.branch("do_user_access:signal")
            signal = "SIGBUS" if ret & VM_FAULT_SIGBUS else "SIGSEGV"
            k.event(EventKind.SIGNAL, "do_page_fault", signal=signal)
    return ret


# --- teardown -----------------------------------------------------------------------------------
def check_mm(mm: mm_struct_v5_0) -> None:
    """kernel/fork.c check_mm(): `pr_alert("BUG: non-zero pgtables_bytes on freeing mm:
    %ld")` when the accounting is not back to zero (and the rss counters, which DAX huge
    entries do not change)."""
    k = _k(mm)
    if mm.pgtables_bytes:
        k.branch("check_mm:non_zero_pgtables_bytes")
        k.event(EventKind.ALERT, "check_mm",
                condition="BUG: non-zero pgtables_bytes on freeing mm",
                pgtables_bytes=mm.pgtables_bytes)


def exit_mmap(mm: mm_struct_v5_0) -> None:
    """mm/mmap.c exit_mmap(): unmap every VMA (unmap_vmas), free the page-table tables
    (free_pgtables(): the PMD tables; a table still deposited under a PMD is lost with
    it, its bytes still counted), then __mmdrop()'s check_mm()."""
    for vma in mm.mmap:
        unmap_page_range(vma, vma.vm_start, vma.vm_end)
    mm.pmd_tables.clear()
    mm.pmd_huge_pte.clear()
    mm.mmf_huge_zero_page = False  # mm_put_huge_zero_page()
    mm.exited = True
    check_mm(mm)

"""mm/memory.c as it is in Linux v4.14 with "mm: Fix warning in insert_pfn()" applied.

The sibling of `v4_14`: the same functions in the same order, with Linux kernel commit
f2c57d91b0d9 ("mm: Fix warning in insert_pfn()") (in v4.20; stable 4.14 as posted by
AUTOSEL, linux-mm archive) applied, as a backport of the seed takes it. In insert_pfn()'s
mkwrite path, a present entry for another pfn is still left alone with -EBUSY, but the
WARN_ON_ONCE fires only when the mapped pfn is not the zero pfn: DAX's write fault can race
with write(2) allocating a block over a hole still mapped to the zero page (fstests
generic/344). `tests/test_model_siblings.py` keeps the diff from `v4_14` to insert_pfn().
The upstream tree the fix comes from also changed these functions for other reasons (the
vm_fault_t conversion, pfn_t_special); those are not the fix and are left out, as
`v4_14`'s docstring says of v4.14's own unrelated changes.

Concurrency: where the C takes the page-table lock (get_locked_pte, handle_pte_fault's
re-check, finish_mkwrite_fault, wp_page_copy, zap_pte_range), `pte_lock` is a switch point
of the dax_fault target's tasks (`fuzzplug.runtime.sched`): another task may run first, and
the pte_same() re-checks (raw values, as x86 compares them) see what it did; the locked
section runs as one step, but for wp_page_copy's window between ptep_clear_flush() and
set_pte_at(), a switch point at which the task keeps the PTE lock (`pte_window`): another
CPU's MMU walk sees the entry empty and faults, and its fault waits for the lock. The insert_pfn target runs one task: there nothing runs in
between and every re-check succeeds. Not modelled: swapping (no swap area is configured: the only non-present entries are those an insert
built from a non-present prot, which decode as the architecture decodes swap entries; see
do_swap_page and zap_pte_range), transparent huge pages (faults are handled at PTE level),
memcg charging, NUMA balancing faults (do_numa_page: PROTNONE entries exist, PAGE_NONE
being the prot of a VMA without VM_READ|VM_WRITE|VM_EXEC, but vma_is_accessible() is false
for such a VMA, so handle_pte_fault() never sends them there), and the lock_page dances
whose only effect is ordering.
The callbacks at the end stand for the VMA's vm_ops (see `fuzzplug.kernel.state.VmOps`).
"""

from __future__ import annotations

from fuzzplug.kernel.arch import (
    flush_tlb_fix_spurious_fault,
    pte_dirty,
    pte_none,
    pte_to_swp_entry,
    ptep_clear_flush,
    ptep_get_and_clear_full,
    ptep_set_access_flags,
    set_pte_at,
    track_pfn_insert,
    update_mmu_cache,
)
from fuzzplug.kernel.mm import (
    PageAnon,
    alloc_page_vma,
    anon_vma_prepare,
    clear_user_highpage,
    cow_user_page,
    dec_mm_counter_fast,
    free_swap_and_cache,
    get_page,
    highest_memmap_pfn,
    inc_mm_counter_fast,
    is_zero_pfn,
    linear_page_index,
    lookup_swap_cache,
    mark_page_accessed,
    maybe_mkwrite,
    migration_entry_to_page,
    migration_entry_wait,
    mm_counter_file,
    mm_counter_of,
    page_add_file_rmap,
    page_add_new_anon_rmap,
    page_mapcount,
    page_remove_rmap,
    page_rmapping,
    pfn_t_devmap,
    pfn_t_valid,
    pfn_to_page,
    pfn_valid,
    pmd_alloc,
    pte_lock,
    pte_window,
    pud_alloc,
    put_page,
    set_page_dirty,
    vm_fault,
    zap_details,
)
from fuzzplug.kernel.state import (
    PTE_TABLE_SHIFT,
    EventKind,
    PageKind,
    VmOps,
    mm_struct,
    page,
    pte_ptr,
    vm_area_struct,
)
from fuzzplug.kernel.types import (
    EBUSY,
    EFAULT,
    EINVAL,
    ENOMEM,
    FAULT_FLAG_MKWRITE,
    FAULT_FLAG_WRITE,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    PFN_DEV,
    PFN_MAP,
    VM_FAULT_DONE_COW,
    VM_FAULT_ERROR,
    VM_FAULT_HWPOISON,
    VM_FAULT_LOCKED,
    VM_FAULT_NOPAGE,
    VM_FAULT_OOM,
    VM_FAULT_SIGBUS,
    VM_FAULT_WRITE,
    VM_MIXEDMAP,
    VM_PFNMAP,
    VM_SHARED,
    VM_WRITE,
    __pfn_to_pfn_t,
    is_cow_mapping,
    is_hwpoison_entry,
    is_migration_entry,
    mm_counter,
    non_swap_entry,
    pfn_pte,
    pfn_t,
    pfn_t_pte,
    pfn_t_to_pfn,
    pgprot_t,
    pte_mkdevmap,
    pte_mkdirty,
    pte_mkspecial,
    pte_mkyoung,
    pte_pfn,
    pte_present,
    pte_same,
    pte_special,
    pte_t,
    pte_write,
    pte_young,
)

VERSION = "v4.14+f2c57d91b0d9"


def vm_normal_page(vma: vm_area_struct, addr: int, pte: pte_t) -> page | None:
    """vm_normal_page() — mm/memory.c: the struct page a PTE maps, or None for
    "special" mappings. The zero page is never normal."""
    k = vma.vm_mm.kernel
    pfn = pte_pfn(pte)

    if k.config.HAVE_PTE_SPECIAL:
        if not pte_special(pte):
            k.branch("vm_normal_page:special_arch:not_special")
            return _vm_normal_page_check_pfn(vma, addr, pte, pfn)
        # vm_ops->find_special_page is not modelled (only Xen's gntdev has one).
        if vma.vm_flags & (VM_PFNMAP | VM_MIXEDMAP):
            k.branch("vm_normal_page:special_arch:special_pfnmap_mixedmap")
            return None
        if not is_zero_pfn(k, pfn):
            k.branch("vm_normal_page:special_arch:bad_special")
            print_bad_pte(vma, addr, pte, None)
            return None
        k.branch("vm_normal_page:special_arch:zero_pfn")
        return None

    # !HAVE_PTE_SPECIAL case follows:
    if vma.vm_flags & (VM_PFNMAP | VM_MIXEDMAP):
        if vma.vm_flags & VM_MIXEDMAP:
            if not pfn_valid(k, pfn):
                k.branch("vm_normal_page:mixedmap:pfn_invalid")
                return None
            k.branch("vm_normal_page:mixedmap:pfn_valid")
            return pfn_to_page(k, pfn)
        off = (addr - vma.vm_start) >> PAGE_SHIFT
        if pfn == vma.vm_pgoff + off:
            k.branch("vm_normal_page:pfnmap:linear")
            return None
        if not is_cow_mapping(vma.vm_flags):
            k.branch("vm_normal_page:pfnmap:not_cow")
            return None
        k.branch("vm_normal_page:pfnmap:cowed")

    if is_zero_pfn(k, pfn):
        k.branch("vm_normal_page:zero_pfn")
        return None
    return _vm_normal_page_check_pfn(vma, addr, pte, pfn)


def _vm_normal_page_check_pfn(vma: vm_area_struct, addr: int, pte: pte_t,
                              pfn: int) -> page | None:
    """The `check_pfn:` label of vm_normal_page(): only `pfn > highest_memmap_pfn` is a bad
    PTE. A pfn below it is trusted to have a struct page, and pfn_to_page() is returned.
    For a pfn in a memmap hole (the model's pfns without a struct page, whose memory
    sections have no memmap: SPARSEMEM_VMEMMAP never populated that part of the vmemmap)
    that pointer is into unmapped vmemmap, and the caller's first look at the page
    (zap_pte_range()'s PageAnon(), after it cleared the entry; do_wp_page()'s) is a kernel
    paging-request oops. The model records that oops here, before the caller's next step."""
    k = vma.vm_mm.kernel
    if pfn > highest_memmap_pfn(k):
        k.branch("vm_normal_page:check_pfn:bad")
        print_bad_pte(vma, addr, pte, None)
        return None
    if not pfn_valid(k, pfn):
        k.branch("vm_normal_page:check_pfn:memmap_hole")
        k.BUG_ON(True, "vm_normal_page", "pfn_to_page(pfn) in unmapped vmemmap")
    k.branch("vm_normal_page:check_pfn:normal")
    return pfn_to_page(k, pfn)


def print_bad_pte(vma: vm_area_struct, addr: int, pte: pte_t, pg: page | None) -> None:
    """print_bad_pte() — mm/memory.c: "BUG: Bad page map", taints the kernel."""
    k = vma.vm_mm.kernel
    k.event(EventKind.BAD_PTE, "print_bad_pte", addr=addr, pte=pte.val,
            pfn=pg.pfn if pg is not None else None)
    k.tainted = True


def zap_pte_range(vma: vm_area_struct, addr: int, end: int,
                  details: zap_details | None = None) -> int:
    """zap_pte_range() — mm/memory.c: clear every present PTE in [addr, end), and for
    a normal page dirty/accessed bookkeeping, the rss counter, the rmap and the reference
    (released through the TLB gather, which ends in put_page); a non-present entry is
    decoded as a swap entry. With `details` whose check_mapping is set, an entry whose
    normal page belongs to another mapping (a private COW copy) is left in place. (The C
    also leaves every non-present entry alone when `details` is given; no caller that
    passes details meets one — DAX makes none — so that branch is not modelled.) The walk
    visits only existing PTE tables, as zap_pmd_range() does, so its cost is bounded by
    what was mapped."""
    mm = vma.vm_mm
    k = mm.kernel
    while addr < end:
        table = (addr >> PAGE_SHIFT) >> PTE_TABLE_SHIFT
        table_end = min(end, (table + 1) << PTE_TABLE_SHIFT << PAGE_SHIFT)
        if table not in mm.pte_tables:
            # zap_pmd_range(): pmd_none_or_clear_bad() skips a missing PTE table; the model
            # jumps straight to the next existing one.
            k.branch("zap_pte_range:no_pte_table")
            later = [t for t in mm.pte_tables if t > table]
            if not later:
                break
            addr = min(later) << PTE_TABLE_SHIFT << PAGE_SHIFT
            continue
        pte_lock(mm, addr, "zap_pte_range")  # pte_offset_map_lock()
        while addr < table_end:
            pte = pte_ptr(mm, addr >> PAGE_SHIFT)
            ptent = pte[0]
            if pte_none(k, ptent):
                addr += PAGE_SIZE
                continue
            if not pte_present(ptent):
                # A "swap entry" only an insert with a non-present prot can make (see
                # do_swap_page). A type below MAX_SWAPFILES is counted off MM_SWAPENTS, then
                # free_swap_and_cache() finds no swap area for it and the entry is reported
                # as bad; a non_swap_entry() (hwpoison) is neither; a migration entry's
                # page is looked up (and oopses: see migration_entry_to_page).
                k.branch("zap_pte_range:not_present")
                entry = pte_to_swp_entry(k, ptent)
                if not non_swap_entry(entry):
                    k.branch("zap_pte_range:not_present:swap_entry")
                    dec_mm_counter_fast(mm, mm_counter.MM_SWAPENTS)
                elif is_migration_entry(entry):
                    k.branch("zap_pte_range:not_present:migration_entry")
                    pg = migration_entry_to_page(k, entry)
                    dec_mm_counter_fast(mm, mm_counter_of(pg))
                else:
                    k.branch("zap_pte_range:not_present:non_swap_entry")
                if not free_swap_and_cache(k, entry):
                    print_bad_pte(vma, addr, ptent, None)
                ptep_get_and_clear_full(mm, addr, pte, 0)  # pte_clear_not_present_full()
                addr += PAGE_SIZE
                continue
            pg = vm_normal_page(vma, addr, ptent)
            if details is not None and pg is not None:
                # unmap_shared_mapping_pages() wants to invalidate cache without truncating:
                # unmap shared but keep private pages.
                if (details.check_mapping is not None
                        and details.check_mapping is not page_rmapping(pg)):
                    k.branch("zap_pte_range:present:other_mapping")
                    addr += PAGE_SIZE
                    continue
            ptent = ptep_get_and_clear_full(mm, addr, pte, 0)
            if pg is None:
                k.branch("zap_pte_range:present:no_page")
                addr += PAGE_SIZE
                continue
            k.branch("zap_pte_range:present:page")
            if not PageAnon(pg):
                if pte_dirty(k, ptent):
                    k.branch("zap_pte_range:present:page:file_dirty")
                    set_page_dirty(k, pg)
                if pte_young(ptent):
                    k.branch("zap_pte_range:present:page:file_young")
                    mark_page_accessed(k, pg)
            dec_mm_counter_fast(mm, mm_counter_of(pg))
            page_remove_rmap(k, pg)
            if page_mapcount(pg) < 0:
                k.branch("zap_pte_range:present:page:mapcount_negative")
                print_bad_pte(vma, addr, ptent, pg)
            put_page(k, pg)  # __tlb_remove_page(), then release_pages() at the flush
            addr += PAGE_SIZE
    return addr


def zap_page_range_single(vma: vm_area_struct, address: int, size: int,
                          details: zap_details | None = None) -> None:
    """zap_page_range_single() — mm/memory.c, through unmap_single_vma(): clamp the
    range to the VMA, then zap it (with the caller's `details`). Its callers pass
    page-aligned ranges; the model aligns the range outwards (an unaligned end would never
    meet zap_pte_range()'s loop end)."""
    k = vma.vm_mm.kernel
    end = address + size
    start = max(vma.vm_start, address)
    if start >= vma.vm_end:
        k.branch("zap_page_range_single:outside")
        return
    end = min(vma.vm_end, end)
    if end <= vma.vm_start or end <= start:
        k.branch("zap_page_range_single:outside")
        return
    k.branch("zap_page_range_single:zap")
    zap_pte_range(vma, start & PAGE_MASK, (end + PAGE_SIZE - 1) & PAGE_MASK, details)


def __get_locked_pte(mm: mm_struct, addr: int) -> pte_ptr | None:
    """__get_locked_pte() — mm/memory.c: walk to the PTE, allocating the PUD, PMD and
    PTE tables on the way (pud_alloc, pmd_alloc, pte_alloc_map_lock); None when one of those
    allocations fails. The p4d level is folded (4-level x86-64)."""
    k = mm.kernel
    vpn = addr >> PAGE_SHIFT
    if not pud_alloc(mm, addr):
        k.branch("__get_locked_pte:pud_alloc_failed")
        return None
    if not pmd_alloc(mm, addr):
        k.branch("__get_locked_pte:pmd_alloc_failed")
        return None
    if (vpn >> PTE_TABLE_SHIFT) not in mm.pte_tables:
        if k.should_fail_alloc("pte_alloc"):
            k.branch("__get_locked_pte:pte_alloc_failed")
            return None
        k.branch("__get_locked_pte:pte_table_allocated")
        mm.pte_tables.add(vpn >> PTE_TABLE_SHIFT)
    k.branch("__get_locked_pte:ok")
    pte_lock(mm, addr, "get_locked_pte")  # pte_alloc_map_lock()
    return pte_ptr(mm, vpn)


get_locked_pte = __get_locked_pte


def insert_page(vma: vm_area_struct, addr: int, pg: page, prot: pgprot_t) -> int:
    """insert_page() — mm/memory.c: map a refcounted page with a normal PTE: take a
    reference, count it as a file page, add the file rmap; no update_mmu_cache()."""
    mm = vma.vm_mm
    k = mm.kernel

    retval = -EINVAL
    if PageAnon(pg):
        k.branch("insert_page:anon")
        return retval
    retval = -ENOMEM
    pte = get_locked_pte(mm, addr)
    if pte is None:
        k.branch("insert_page:no_pte")
        return retval
    retval = -EBUSY
    if not pte_none(k, pte[0]):
        k.branch("insert_page:busy")
        return retval

    # Ok, finally just insert the thing..
    k.branch("insert_page:insert")
    get_page(k, pg)
    inc_mm_counter_fast(mm, mm_counter_file(pg))
    page_add_file_rmap(k, pg)
    set_pte_at(mm, addr, pte, pfn_pte(pg.pfn, prot))

    retval = 0
    return retval


def insert_pfn(vma: vm_area_struct, addr: int, pfn: pfn_t, prot: pgprot_t,
               mkwrite: bool) -> int:
    """insert_pfn() — mm/memory.c: map a pfn with a special (or devmap) PTE; -EBUSY if the
    PTE is already populated, unless `mkwrite`: then a present entry for the same pfn is
    reused (another pfn: -EBUSY, and WARN_ON_ONCE unless the mapped pfn is the zero pfn).
    With `mkwrite` the entry, new or reused, is made young, dirty and (maybe_mkwrite)
    writable before set_pte_at()."""
    mm = vma.vm_mm
    k = mm.kernel

    retval = -ENOMEM
    pte = get_locked_pte(mm, addr)
    if pte is None:
        k.branch("insert_pfn:no_pte")
        return retval
    retval = -EBUSY
    if not pte_none(k, pte[0]):
        if mkwrite:
            # For read faults on private mappings the PFN passed in may not match the PFN
            # we have mapped if the mapped PFN is a writeable COW page.  In the mkwrite case
            # we are creating a writable PTE for a shared mapping and we expect the PFNs to
            # match. If they don't match, we are likely racing with block allocation and
            # mapping invalidation so just skip the update.
            if pte_pfn(pte[0]) != pfn_t_to_pfn(pfn):
                k.branch("insert_pfn:present:mkwrite:pfn_mismatch")
                if not k.WARN_ON_ONCE(not is_zero_pfn(k, pte_pfn(pte[0])), "insert_pfn",
                                      "!is_zero_pfn(pte_pfn(*pte))"):
                    k.branch("insert_pfn:present:mkwrite:pfn_mismatch:zero_pfn")
                return retval
            k.branch("insert_pfn:present:mkwrite:reuse")
            entry = pte[0]
            # goto out_mkwrite
        else:
            k.branch("insert_pfn:present")
            return retval
    else:
        # Ok, finally just insert the thing..
        if pfn_t_devmap(k, pfn):
            k.branch("insert_pfn:insert:devmap")
            entry = pte_mkdevmap(pfn_t_pte(pfn, prot))
        else:
            k.branch("insert_pfn:insert:special")
            entry = pte_mkspecial(pfn_t_pte(pfn, prot))

    # out_mkwrite:
    if mkwrite:
        k.branch("insert_pfn:out_mkwrite:mkwrite")
        entry = pte_mkyoung(entry)
        entry = maybe_mkwrite(pte_mkdirty(entry), vma)

    set_pte_at(mm, addr, pte, entry)
    update_mmu_cache(vma, addr, pte)  # XXX: why not for insert_page?

    retval = 0
    return retval


def vm_insert_pfn(vma: vm_area_struct, addr: int, pfn: int) -> int:
    """vm_insert_pfn() — mm/memory.c: vm_insert_pfn_prot() with the VMA's prot."""
    return vm_insert_pfn_prot(vma, addr, pfn, vma.vm_page_prot)


def vm_insert_pfn_prot(vma: vm_area_struct, addr: int, pfn: int, pgprot: pgprot_t) -> int:
    """vm_insert_pfn_prot() — mm/memory.c: the BUG_ONs on the VMA's flags, -EFAULT
    outside the VMA, then track_pfn_insert() and insert_pfn() of the pfn as PFN_DEV."""
    k = vma.vm_mm.kernel
    fn = "vm_insert_pfn_prot"
    k.BUG_ON(not (vma.vm_flags & (VM_PFNMAP | VM_MIXEDMAP)), fn,
             "!(vma->vm_flags & (VM_PFNMAP|VM_MIXEDMAP))")
    k.BUG_ON((vma.vm_flags & (VM_PFNMAP | VM_MIXEDMAP)) == (VM_PFNMAP | VM_MIXEDMAP), fn,
             "(vma->vm_flags & (VM_PFNMAP|VM_MIXEDMAP)) == (VM_PFNMAP|VM_MIXEDMAP)")
    k.BUG_ON(bool(vma.vm_flags & VM_PFNMAP) and is_cow_mapping(vma.vm_flags), fn,
             "(vma->vm_flags & VM_PFNMAP) && is_cow_mapping(vma->vm_flags)")
    k.BUG_ON(bool(vma.vm_flags & VM_MIXEDMAP) and pfn_valid(k, pfn), fn,
             "(vma->vm_flags & VM_MIXEDMAP) && pfn_valid(pfn)")

    if addr < vma.vm_start or addr >= vma.vm_end:
        k.branch("vm_insert_pfn_prot:efault")
        return -EFAULT

    k.branch("vm_insert_pfn_prot:insert")
    pgprot = track_pfn_insert(vma, pgprot, __pfn_to_pfn_t(pfn, PFN_DEV))

    ret = insert_pfn(vma, addr, __pfn_to_pfn_t(pfn, PFN_DEV), pgprot,
                     False)

    return ret


def __vm_insert_mixed(vma: vm_area_struct, addr: int, pfn: pfn_t, mkwrite: bool) -> int:
    """__vm_insert_mixed() — mm/memory.c: vm_insert_mixed() of v4.13 with `mkwrite`
    passed to insert_pfn(); insert_page() (no pte_special, a valid non-devmap pfn) does not
    take it."""
    k = vma.vm_mm.kernel
    pgprot = vma.vm_page_prot

    k.BUG_ON(not (vma.vm_flags & VM_MIXEDMAP), "vm_insert_mixed",
             "!(vma->vm_flags & VM_MIXEDMAP)")

    if addr < vma.vm_start or addr >= vma.vm_end:
        k.branch("vm_insert_mixed:efault")
        return -EFAULT

    pgprot = track_pfn_insert(vma, pgprot, pfn)

    # Without pte special, a valid pfn must be refcounted (see vm_normal_page).
    if not k.config.HAVE_PTE_SPECIAL and not pfn_t_devmap(k, pfn) and pfn_t_valid(k, pfn):
        k.branch("vm_insert_mixed:insert_page")
        # Committed to insert_page() whatever the pfn_t flags say (pfn_t_has_page).
        pg = pfn_to_page(k, pfn_t_to_pfn(pfn))
        return insert_page(vma, addr, pg, pgprot)
    k.branch("vm_insert_mixed:insert_pfn")
    return insert_pfn(vma, addr, pfn, pgprot, mkwrite)


def vm_insert_mixed(vma: vm_area_struct, addr: int, pfn: pfn_t) -> int:
    """vm_insert_mixed() — mm/memory.c: __vm_insert_mixed() without mkwrite."""
    return __vm_insert_mixed(vma, addr, pfn, False)


def vm_insert_mixed_mkwrite(vma: vm_area_struct, addr: int, pfn: pfn_t) -> int:
    """vm_insert_mixed_mkwrite() — mm/memory.c: __vm_insert_mixed() with mkwrite."""
    return __vm_insert_mixed(vma, addr, pfn, True)


def do_page_mkwrite(vmf: vm_fault) -> int:
    """do_page_mkwrite() — mm/memory.c: call vm_ops->page_mkwrite (the Kernel's
    page_mkwrite_handler, else the filemap_page_mkwrite() stand-in) with
    FAULT_FLAG_WRITE|FAULT_FLAG_MKWRITE. The modelled callbacks return the page locked
    (VM_FAULT_LOCKED), VM_FAULT_NOPAGE or an error, so the branch where this function locks
    the page itself is not reachable and not modelled."""
    k = vmf.vma.vm_mm.kernel
    old_flags = vmf.flags
    vmf.flags = FAULT_FLAG_WRITE | FAULT_FLAG_MKWRITE
    page_mkwrite = k.page_mkwrite_handler or filemap_page_mkwrite
    ret = page_mkwrite(vmf)
    vmf.flags = old_flags
    if ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE):
        k.branch("do_page_mkwrite:error_or_nopage")
        return ret
    k.branch("do_page_mkwrite:locked")
    return ret


def fault_dirty_shared_page(vma: vm_area_struct, pg: page) -> None:
    """fault_dirty_shared_page() — mm/memory.c: set_page_dirty(); the writeback
    throttling and file_update_time() that follow have no modelled effect."""
    k = vma.vm_mm.kernel
    set_page_dirty(k, pg)


def wp_page_reuse(vmf: vm_fault) -> None:
    """wp_page_reuse() — mm/memory.c: the entry seen at fault time made young, dirty
    and (maybe_mkwrite) writable, stored with ptep_set_access_flags(); update_mmu_cache()
    only if that changed the entry."""
    vma = vmf.vma
    k = vma.vm_mm.kernel
    entry = pte_mkyoung(vmf.orig_pte)
    entry = maybe_mkwrite(pte_mkdirty(entry), vma)
    if ptep_set_access_flags(vma, vmf.address, vmf.pte, entry, 1):
        k.branch("wp_page_reuse:changed")
        update_mmu_cache(vma, vmf.address, vmf.pte)
    else:
        k.branch("wp_page_reuse:unchanged")


def wp_page_copy(vmf: vm_fault) -> int:
    """wp_page_copy() — mm/memory.c: COW: allocate an anonymous page (zeroed for the
    zero page, else a copy), map it dirty and maybe-writable in place of the old entry, move
    the rss count from file to anon (or just add anon when there was no normal page), and
    drop the old page's mapping and references."""
    vma = vmf.vma
    mm = vma.vm_mm
    k = mm.kernel
    old_page = vmf.page

    if anon_vma_prepare(k, vma):
        k.branch("wp_page_copy:oom:anon_vma")
        return _wp_page_copy_oom(k, old_page)

    if is_zero_pfn(k, pte_pfn(vmf.orig_pte)):
        k.branch("wp_page_copy:alloc_zeroed")
        new_page = alloc_page_vma(k, vma, vmf.address)  # alloc_zeroed_user_highpage_movable()
        if new_page is None:
            k.branch("wp_page_copy:oom:alloc")
            return _wp_page_copy_oom(k, old_page)
        clear_user_highpage(k, new_page)
    else:
        k.branch("wp_page_copy:alloc_copy")
        new_page = alloc_page_vma(k, vma, vmf.address)
        if new_page is None:
            k.branch("wp_page_copy:oom:alloc")
            return _wp_page_copy_oom(k, old_page)
        cow_user_page(k, new_page, pte_pfn(vmf.orig_pte))

    # Re-check the pte - we dropped the lock
    pte_lock(mm, vmf.address, "wp_page_copy")  # pte_offset_map_lock()
    vmf.pte = pte_ptr(mm, vmf.address >> PAGE_SHIFT)
    page_copied = 0
    if pte_same(vmf.pte[0], vmf.orig_pte):
        if old_page is not None:
            if not PageAnon(old_page):
                k.branch("wp_page_copy:copied:from_file_page")
                dec_mm_counter_fast(mm, mm_counter_file(old_page))
                inc_mm_counter_fast(mm, mm_counter.MM_ANONPAGES)
            else:
                k.branch("wp_page_copy:copied:from_anon_page")
        else:
            k.branch("wp_page_copy:copied:from_no_page")
            inc_mm_counter_fast(mm, mm_counter.MM_ANONPAGES)
        entry = pfn_pte(new_page.pfn, vma.vm_page_prot)  # mk_pte()
        entry = maybe_mkwrite(pte_mkdirty(entry), vma)
        ptep_clear_flush(vma, vmf.address, vmf.pte)
        pte_window(mm, vmf.address, "wp_page_copy")
        page_add_new_anon_rmap(k, new_page, vma, vmf.address)
        set_pte_at(mm, vmf.address, vmf.pte, entry)  # set_pte_at_notify()
        update_mmu_cache(vma, vmf.address, vmf.pte)
        if old_page is not None:
            page_remove_rmap(k, old_page)
        # Free the old page..
        new_page = old_page
        page_copied = 1
    else:
        k.branch("wp_page_copy:raced")

    if new_page is not None:
        put_page(k, new_page)
    if old_page is not None:
        put_page(k, old_page)
    return VM_FAULT_WRITE if page_copied else 0


def _wp_page_copy_oom(k, old_page: page | None) -> int:
    """The `oom:` label of wp_page_copy()."""
    if old_page is not None:
        put_page(k, old_page)
    return VM_FAULT_OOM


def finish_mkwrite_fault(vmf: vm_fault) -> int:
    """finish_mkwrite_fault() — mm/memory.c: WARN_ON_ONCE outside VM_SHARED, retake
    the PTE lock; VM_FAULT_NOPAGE if the PTE changed meanwhile, else wp_page_reuse(), 0."""
    vma = vmf.vma
    k = vma.vm_mm.kernel
    k.WARN_ON_ONCE(not (vma.vm_flags & VM_SHARED), "finish_mkwrite_fault",
                   "!(vmf->vma->vm_flags & VM_SHARED)")
    pte_lock(vma.vm_mm, vmf.address, "finish_mkwrite_fault")  # pte_offset_map_lock()
    vmf.pte = pte_ptr(vma.vm_mm, vmf.address >> PAGE_SHIFT)
    # We might have raced with another page fault while we released the pte lock.
    if not pte_same(vmf.pte[0], vmf.orig_pte):
        k.branch("finish_mkwrite_fault:raced")
        return VM_FAULT_NOPAGE
    k.branch("finish_mkwrite_fault:reuse")
    wp_page_reuse(vmf)
    return 0


def wp_pfn_shared(vmf: vm_fault) -> int:
    """wp_pfn_shared() — mm/memory.c: a write to a shared PFNMAP/MIXEDMAP entry:
    vm_ops->pfn_mkwrite (the Kernel's pfn_mkwrite_handler, else the dax_pfn_mkwrite()
    stand-in; its error or VM_FAULT_NOPAGE ends the fault, else finish_mkwrite_fault()), or
    without one wp_page_reuse() directly."""
    vma = vmf.vma
    k = vma.vm_mm.kernel
    if vma.vm_ops & VmOps.pfn_mkwrite:
        vmf.flags |= FAULT_FLAG_MKWRITE
        pfn_mkwrite = k.pfn_mkwrite_handler or dax_pfn_mkwrite
        ret = pfn_mkwrite(vmf)
        if ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE):
            k.branch("wp_pfn_shared:pfn_mkwrite:done")
            return ret
        k.branch("wp_pfn_shared:pfn_mkwrite:finish")
        return finish_mkwrite_fault(vmf)
    k.branch("wp_pfn_shared:reuse")
    wp_page_reuse(vmf)
    return VM_FAULT_WRITE


def wp_page_shared(vmf: vm_fault) -> int:
    """wp_page_shared() — mm/memory.c: a write to a shared page: page_mkwrite then
    finish_mkwrite_fault(), or wp_page_reuse() without one; then dirty the page."""
    vma = vmf.vma
    k = vma.vm_mm.kernel

    get_page(k, vmf.page)

    if vma.vm_ops & VmOps.page_mkwrite:
        tmp = do_page_mkwrite(vmf)
        if not tmp or (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)):
            k.branch("wp_page_shared:page_mkwrite:failed")
            put_page(k, vmf.page)
            return tmp
        tmp = finish_mkwrite_fault(vmf)
        if tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE):
            k.branch("wp_page_shared:page_mkwrite:raced")
            put_page(k, vmf.page)
            return tmp
        k.branch("wp_page_shared:page_mkwrite:reused")
    else:
        k.branch("wp_page_shared:reuse")
        wp_page_reuse(vmf)
    fault_dirty_shared_page(vma, vmf.page)
    put_page(k, vmf.page)

    return VM_FAULT_WRITE


def do_wp_page(vmf: vm_fault) -> int:
    """do_wp_page() — mm/memory.c: a write to a present, read-only PTE. No normal
    page: shared writable mappings go to wp_pfn_shared(), others copy. Anonymous pages are
    reused when this is their only mapping (reuse_swap_page() without swap), else copied.
    Shared writable file pages go to wp_page_shared(); the rest copy."""
    vma = vmf.vma
    k = vma.vm_mm.kernel

    vmf.page = vm_normal_page(vma, vmf.address, vmf.orig_pte)
    if vmf.page is None:
        # VM_MIXEDMAP !pfn_valid() case, or VM_SOFTDIRTY clear on a VM_PFNMAP VMA.
        if (vma.vm_flags & (VM_WRITE | VM_SHARED)) == (VM_WRITE | VM_SHARED):
            k.branch("do_wp_page:no_page:shared")
            return wp_pfn_shared(vmf)
        k.branch("do_wp_page:no_page:copy")
        return wp_page_copy(vmf)

    # Take out anonymous pages first, anonymous shared vmas are not dirty accountable.
    if PageAnon(vmf.page):
        if page_mapcount(vmf.page) <= 1:  # reuse_swap_page(): no swap, one mapping at most
            k.branch("do_wp_page:anon:reuse")
            wp_page_reuse(vmf)
            return VM_FAULT_WRITE
        k.branch("do_wp_page:anon:shared")
    elif (vma.vm_flags & (VM_WRITE | VM_SHARED)) == (VM_WRITE | VM_SHARED):
        k.branch("do_wp_page:page:shared")
        return wp_page_shared(vmf)

    # Ok, we need to copy. Oh, well..
    k.branch("do_wp_page:page:copy")
    get_page(k, vmf.page)
    return wp_page_copy(vmf)


def __do_fault(vmf: vm_fault) -> int:
    """__do_fault() — mm/memory.c: call vm_ops->fault. Modelled handlers install the
    PTE themselves and return VM_FAULT_NOPAGE or an error, as VM_MIXEDMAP/VM_PFNMAP drivers
    and DAX do, or complete a COW themselves (VM_FAULT_DONE_COW, DAX); handing a page back
    to finish_fault() is not modelled."""
    k = vmf.vma.vm_mm.kernel
    handler = k.fault_handler if k.fault_handler is not None else mixedmap_fault
    ret = handler(vmf)
    assert ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_DONE_COW), \
        "fault handlers return NOPAGE, DONE_COW or an error"
    return ret


def do_read_fault(vmf: vm_fault) -> int:
    """do_read_fault() — mm/memory.c (no ->map_pages, so no fault-around)."""
    vmf.vma.vm_mm.kernel.branch("do_read_fault")
    return __do_fault(vmf)


def do_cow_fault(vmf: vm_fault) -> int:
    """do_cow_fault() — mm/memory.c: prepare the anon_vma and a COW page first; a
    handler that returns VM_FAULT_NOPAGE installed its own entry (or failed), and the COW
    page is freed; one that returns VM_FAULT_DONE_COW mapped the COW page itself, whose
    reference the new entry now holds."""
    vma = vmf.vma
    k = vma.vm_mm.kernel
    if anon_vma_prepare(k, vma):
        k.branch("do_cow_fault:oom:anon_vma")
        return VM_FAULT_OOM
    vmf.cow_page = alloc_page_vma(k, vma, vmf.address)
    if vmf.cow_page is None:
        k.branch("do_cow_fault:oom:alloc")
        return VM_FAULT_OOM
    ret = __do_fault(vmf)
    if ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE):
        k.branch("do_cow_fault:uncharge_out")
        put_page(k, vmf.cow_page)  # uncharge_out: mem_cgroup_cancel_charge(), put_page()
        return ret
    k.branch("do_cow_fault:done_cow")
    return ret


def do_shared_fault(vmf: vm_fault) -> int:
    """do_shared_fault() — mm/memory.c."""
    vmf.vma.vm_mm.kernel.branch("do_shared_fault")
    return __do_fault(vmf)


def do_fault(vmf: vm_fault) -> int:
    """do_fault() — mm/memory.c: read, COW or shared fault on a none PTE."""
    vma = vmf.vma
    if not (vmf.flags & FAULT_FLAG_WRITE):
        return do_read_fault(vmf)
    if not (vma.vm_flags & VM_SHARED):
        return do_cow_fault(vmf)
    return do_shared_fault(vmf)


def do_swap_page(vmf: vm_fault) -> int:
    """do_swap_page() — mm/memory.c: the models make no swap entries, so a non-present,
    non-none entry can only be one an insert built from a non-present prot
    (vm_insert_pfn_prot with neither _PAGE_PRESENT nor _PAGE_PROTNONE). Its bits decode as
    the architecture decodes a swap entry (pte_to_swp_entry()): on x86-64 the type is bits
    9-13 (SPECIAL, SOFTW2, SOFT_DIRTY and the pfn's two low bits), so SOFT_DIRTY and the pfn
    choose it. A non_swap_entry(): a migration entry waits for the migration
    (migration_entry_wait(), which oopses: no page is locked), a hwpoison entry
    (SWP_HWPOISON = MAX_SWAPFILES = 29) is VM_FAULT_HWPOISON, anything else a bad PTE and
    VM_FAULT_SIGBUS. A real swap type goes to lookup_swap_cache(), which oopses on the
    swap address space of a type no swap area has (CONFIG_SWAP=y, as distributions build).
    pte_unmap_same() always holds: 64-bit, and nothing runs in between."""
    vma = vmf.vma
    k = vma.vm_mm.kernel
    entry = pte_to_swp_entry(k, vmf.orig_pte)
    if non_swap_entry(entry):
        if is_migration_entry(entry):
            k.branch("do_swap_page:migration_entry")
            migration_entry_wait(k, vma, vmf.address, entry)
            return 0
        elif is_hwpoison_entry(entry):
            k.branch("do_swap_page:hwpoison_entry")
            return VM_FAULT_HWPOISON
        else:
            k.branch("do_swap_page:bad_entry")
            print_bad_pte(vma, vmf.address, vmf.orig_pte, None)
            return VM_FAULT_SIGBUS
    k.branch("do_swap_page:garbage_swap_entry")
    lookup_swap_cache(k, entry)
    return VM_FAULT_SIGBUS  # not reached: the oops ends the call


def handle_pte_fault(vmf: vm_fault) -> int:
    """handle_pte_fault() — mm/memory.c: no PTE table or a none PTE → do_fault();
    a write to a read-only PTE → do_wp_page(); otherwise make the entry young (and dirty for
    a write) with ptep_set_access_flags(), or fix a spurious fault."""
    vma = vmf.vma
    mm = vma.vm_mm
    k = mm.kernel

    if ((vmf.address >> PAGE_SHIFT) >> PTE_TABLE_SHIFT) not in mm.pte_tables:
        k.branch("handle_pte_fault:no_pte_table")
        vmf.pte = None
    else:
        vmf.pte = pte_ptr(mm, vmf.address >> PAGE_SHIFT)
        vmf.orig_pte = vmf.pte[0]
        if pte_none(k, vmf.orig_pte):
            k.branch("handle_pte_fault:pte_none")
            vmf.pte = None

    if vmf.pte is None:
        # vma_is_anonymous() is false: the modelled VMA always has vm_ops.
        return do_fault(vmf)

    if not pte_present(vmf.orig_pte):
        return do_swap_page(vmf)

    pte_lock(mm, vmf.address, "handle_pte_fault")
    entry = vmf.orig_pte
    if not pte_same(vmf.pte[0], entry):
        # Another CPU changed the entry since it was read without the lock.
        k.branch("handle_pte_fault:raced")
        return 0
    if vmf.flags & FAULT_FLAG_WRITE:
        if not pte_write(entry):
            k.branch("handle_pte_fault:write:wp")
            return do_wp_page(vmf)
        entry = pte_mkdirty(entry)
    entry = pte_mkyoung(entry)
    if ptep_set_access_flags(vma, vmf.address, vmf.pte, entry, vmf.flags & FAULT_FLAG_WRITE):
        k.branch("handle_pte_fault:access_flags_changed")
        update_mmu_cache(vma, vmf.address, vmf.pte)
    else:
        k.branch("handle_pte_fault:spurious")
        if vmf.flags & FAULT_FLAG_WRITE:
            flush_tlb_fix_spurious_fault(vma, vmf.address)
    return 0


def __handle_mm_fault(vma: vm_area_struct, address: int, flags: int) -> int:
    """__handle_mm_fault() — mm/memory.c: allocate the PUD and PMD tables (failure →
    VM_FAULT_OOM; huge PUD/PMD entries are not modelled), then handle_pte_fault()."""
    mm = vma.vm_mm
    k = mm.kernel
    vmf = vm_fault(vma=vma, address=address & PAGE_MASK, flags=flags,
                   pgoff=linear_page_index(vma, address))
    if not pud_alloc(mm, address):
        k.branch("__handle_mm_fault:pud_alloc_failed")
        return VM_FAULT_OOM
    if not pmd_alloc(mm, address):
        k.branch("__handle_mm_fault:pmd_alloc_failed")
        return VM_FAULT_OOM
    return handle_pte_fault(vmf)


def handle_mm_fault(vma: vm_area_struct, address: int, flags: int) -> int:
    """handle_mm_fault() — mm/memory.c (no protection keys, no hugetlb)."""
    return __handle_mm_fault(vma, address, flags)


# --- The VMA's vm_ops callbacks ---------------------------------------------------------------

def dax_pfn_mkwrite(vmf: vm_fault) -> int:
    """dax_pfn_mkwrite() — fs/dax.c (v4.13), for a page whose DAX radix-tree entry exists
    (dax_insert_mapping() creates it before it inserts the PTE): tag the entry dirty,
    finish_mkwrite_fault() (a race that makes it fail is ignored), VM_FAULT_NOPAGE."""
    k = vmf.vma.vm_mm.kernel
    k.event(EventKind.CALLBACK, "dax_pfn_mkwrite", addr=vmf.address)
    finish_mkwrite_fault(vmf)
    return VM_FAULT_NOPAGE


def filemap_page_mkwrite(vmf: vm_fault) -> int:
    """filemap_page_mkwrite() — mm/filemap.c: lock the page; if page->mapping is not the
    file's i_mapping, unlock it and return VM_FAULT_NOPAGE without dirtying it; else dirty
    it and return it locked. The file's pages are the memory map's RAM; a ZONE_DEVICE page
    (v4.13 sets no page->mapping for DAX pages) or an anonymous-pool page is not one (the
    zero page never gets here: vm_normal_page() refuses it)."""
    k = vmf.vma.vm_mm.kernel
    k.event(EventKind.CALLBACK, "page_mkwrite", addr=vmf.address, pfn=vmf.page.pfn)
    if vmf.page.kind is not PageKind.RAM:
        k.branch("filemap_page_mkwrite:not_this_file")
        return VM_FAULT_NOPAGE
    k.branch("filemap_page_mkwrite:dirty")
    set_page_dirty(k, vmf.page)
    return VM_FAULT_LOCKED


def mixedmap_fault(vmf: vm_fault) -> int:
    """The default vm_ops->fault: a VM_MIXEDMAP (or VM_PFNMAP) driver that maps page `pgoff`
    of its object at pfn `pgoff`, with the pfn_t flags the memory map implies (PFN_DEV|
    PFN_MAP for ZONE_DEVICE memory, PFN_DEV for memory without struct pages, none for RAM),
    and returns as DAX does: VM_FAULT_NOPAGE for 0 or -EBUSY, VM_FAULT_OOM for -ENOMEM,
    VM_FAULT_SIGBUS for anything else."""
    vma = vmf.vma
    k = vma.vm_mm.kernel
    k.event(EventKind.CALLBACK, "fault", addr=vmf.address, pgoff=vmf.pgoff)
    pfn = vmf.pgoff
    kind = k.memmap.kind(pfn, k.config.DEVMAP)
    if kind is PageKind.DEVICE:
        flags = PFN_DEV | PFN_MAP
    elif kind is PageKind.NONE:
        flags = PFN_DEV
    else:
        flags = 0
    if vma.vm_flags & VM_PFNMAP:
        error = vm_insert_pfn(vma, vmf.address, pfn)
    else:
        error = vm_insert_mixed(vma, vmf.address, __pfn_to_pfn_t(pfn, flags))
    if error == -ENOMEM:
        k.branch("mixedmap_fault:oom")
        return VM_FAULT_OOM
    # -EBUSY is not an error: somebody else faulted the same PTE in.
    if error < 0 and error != -EBUSY:
        k.branch("mixedmap_fault:sigbus")
        return VM_FAULT_SIGBUS
    k.branch("mixedmap_fault:nopage")
    return VM_FAULT_NOPAGE

"""DAX on ext4 as it is in Linux v4.13 (before the series "DAX common 4k zero page").

Modelled from the v4.13.9 tree (kinmax/linux-4.13.19), function by function in each file's
order, each branch with a stable branch id: fs/dax.c, the ext4 DAX paths (fs/ext4/file.c,
inode.c, extents.c, fsync.c), what the DAX paths call in mm/filemap.c, mm/page-writeback.c
and mm/truncate.c, the file-fault and unmapping helpers of mm/memory.c that the mm model
(`fuzzplug.kernel.v4_13`) does not have, and the system calls of the other side of the file
(write, fallocate, ftruncate, fsync, msync, munmap). The sibling `dax_v4_14` is this file
with the series applied (upstream b2770da64254 in the mm model, then 2 "dax: relocate some
dax functions", 3 91d25ba8a6b0 "dax: use common 4k zero page for dax mmap reads", 4 "dax:
remove DAX code from page_cache_tree_insert()", 5 "dax: move all DAX radix tree defs to
fs/dax.c"); `tests/test_dax_siblings.py` keeps the diff to the series.

In v4.13 a read fault on a hole allocates a zeroed page-cache page (`dax_load_hole`) and maps
it as a normal page; a write to it goes through page_mkwrite (ext4_dax_fault), which
allocates a block and replaces the page with a block entry (`dax_insert_mapping_entry`'s
hole fill). A fault on a block maps it read-only or writable as the VMA's write-protected
prot says (`vm_insert_mixed`), and the first write to a read-only DAX entry is a second,
write-protect fault: pfn_mkwrite = ext4_dax_pfn_mkwrite → dax_pfn_mkwrite, which tags the
entry dirty and makes the PTE writable.

What is not modelled (the same in both versions): PMD faults (VMAs are smaller than 2 MiB,
so dax_iomap_pmd_fault falls back before touching anything; no PMD entry is ever made, and
the PMD branches of grab_mapping_entry and dax_insert_mapping_entry are left out or, where
the series edits them, kept and unreachable), read(2), unwritten extents, partial pages
(every op is page-aligned: ext4_zero_partial_blocks and the partial-page passes of
truncate have nothing to do), page references held by pagevecs for the length of a batch,
the LRU, memcg, cleancache, the journal. See `fuzzplug.kernel.fs` for the file-side state.

Locks and steps (issue #13 interleaves tasks at these points; `fs.step` marks the named
steps, the tracked locks record themselves; the PTE lock is inside the mm model's calls):

- fault (ext4_dax_huge_fault): [i_mmap_sem read] → dax_fault:grab_entry (entry lock taken;
  grab_mapping_entry:preload, with tree_lock dropped around radix_tree_preload) →
  dax_fault:iomap_begin (ext4 block allocation for a shared write; i_data_sem, journal) →
  dax_fault:insert
  (dax_insert_mapping_entry: the hole page's unmap takes i_mmap_rwsem write and the PTE
  lock; vm_insert_mixed takes the PTE lock) or dax_fault:load_hole (page-cache page
  allocation, finish_fault under the PTE lock) or dax_fault:finish_fault (COW) → entry
  unlocked → [i_mmap_sem released].
- pfn_mkwrite (ext4_dax_pfn_mkwrite): [i_mmap_sem read] → dax_pfn_mkwrite (entry lock) →
  finish_mkwrite_fault (PTE lock; the PTE may have changed: VM_FAULT_NOPAGE) → entry
  unlocked → [i_mmap_sem released].
- write(2) (ext4_dax_write_iter): [i_rwsem write] → per extent: write:iomap_begin (block
  allocation) → for new blocks, invalidate_inode_pages2_range: invalidate:entries (per
  entry: the entry lock is waited for, clean entries deleted; hole pages: page lock, their
  unmap under i_mmap_rwsem) then invalidate:unmap (unmap_mapping_range of the range,
  i_mmap_rwsem write, PTE locks) → write:copy → write:iomap_end (i_size) → [i_rwsem
  released].
- fallocate(PUNCH_HOLE) (ext4_punch_hole): punch:writeback (if the mapping is tagged dirty:
  fsync's writeback of the range, no inode lock) → [i_rwsem write] → [i_mmap_sem write] →
  punch:unmap (i_mmap_rwsem write) → punch:truncate_entries (entry locks, page locks) →
  punch:free_blocks → [i_mmap_sem, i_rwsem released].
- ftruncate (do_truncate → ext4_setattr): [i_rwsem write] → truncate:i_size →
  [i_mmap_sem write] → truncate:unmap → truncate:truncate_entries → truncate:unmap_again
  → truncate:free_blocks → [released].
- fsync/msync (ext4_sync_file → dax_writeback_mapping_range): no inode lock;
  fsync:tag_towrite → per entry: fsync:writeback_one (entry lock; mkclean takes
  i_mmap_rwsem read and PTE locks, and keeps the PTE lock across a switch point between
  ptep_clear_flush() and set_pte_at(), `pte_window`: another task's user access sees the
  entry empty there; the cache flush) → entry unlocked.
- munmap (sys_munmap): [mm's mmap_sem write, tracked: it waits for the faults of the
  mm's tasks, each taken under mmap_sem read by the user's access, and keeps new ones
  out] → do_munmap: the VMA splits (i_mmap_rwsem write) → zap (PTE locks) → i_mmap_rwsem
  write to unlink the VMA → [mmap_sem released].
"""

from __future__ import annotations

from fuzzplug.kernel import v4_13 as mm_model  # noqa: F401  (daxfile faults through it)
from fuzzplug.kernel.arch import ptep_clear_flush, set_pte_at, update_mmu_cache
from fuzzplug.kernel.fs import (
    EEXIST,
    EIO,
    EOPNOTSUPP,
    EXT4_GET_BLOCKS_CREATE_ZERO,
    EXT4_MAP_MAPPED,
    EXT4_MAP_NEW,
    IOMAP_F_NEW,
    IOMAP_FAULT,
    IOMAP_HOLE,
    IOMAP_MAPPED,
    IOMAP_NULL_BLOCK,
    IOMAP_UNWRITTEN,
    IOMAP_WRITE,
    LLONG_MAX,
    PAGECACHE_TAG_DIRTY,
    PAGECACHE_TAG_TOWRITE,
    PAGEVEC_SIZE,
    RADIX_TREE_EXCEPTIONAL_ENTRY,
    RADIX_TREE_EXCEPTIONAL_SHIFT,
    ULONG_MAX,
    WB_SYNC_ALL,
    __page_cache_alloc,
    __radix_tree_insert,
    __radix_tree_replace,
    address_space,
    bdev_dax_pgoff,
    block_device,
    dax_direct_access,
    dax_mapping,
    down_read,
    down_write,
    entries_from,
    entry_locked,
    entry_unlocked,
    exceptional_entry,
    ext4_ext_remove_space,
    ext4_map_blocks,
    ext4_map_blocks_t,
    file,
    file_inode,
    i_mmap_lock_read,
    i_mmap_lock_write,
    i_mmap_unlock_read,
    i_mmap_unlock_write,
    i_size_read,
    inode,
    iomap,
    iomap_apply,
    iomap_ops,
    iov_iter,
    kiocb,
    lock_page,
    mapping_tagged,
    page_index,
    page_mapped,
    pte_mkclean,
    pte_wrprotect,
    radix_tree_clear_tags,
    radix_tree_delete,
    radix_tree_exceptional_entry,
    radix_tree_lookup,
    radix_tree_preload,
    radix_tree_tag_clear,
    radix_tree_tag_get,
    radix_tree_tag_set,
    step,
    tagged_from,
    unlock_page,
    up_read,
    up_write,
    vm_operations_struct,
    vma_interval_tree_foreach,
    vma_pages,
    wait_entry_unlocked,
    wake_entry_waiters,
    writeback_control,
)
from fuzzplug.kernel.mm import (
    clear_user_highpage,
    find_vma,
    get_page,
    inc_mm_counter_fast,
    mark_page_accessed,
    maybe_mkwrite,
    mm_counter_file,
    page_add_file_rmap,
    page_add_new_anon_rmap,
    pte_lock,
    pte_window,
    put_page,
    vm_fault,
    zap_details,
)
from fuzzplug.kernel.state import (
    PMD_TABLE_SHIFT,
    PTE_TABLE_SHIFT,
    PUD_TABLE_SHIFT,
    mm_struct,
    page,
    pte_ptr,
    vm_area_struct,
)
from fuzzplug.kernel.types import (
    EINVAL,
    ENOMEM,
    FAULT_FLAG_WRITE,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    VM_FAULT_DONE_COW,
    VM_FAULT_ERROR,
    VM_FAULT_MAJOR,
    VM_FAULT_NOPAGE,
    VM_FAULT_OOM,
    VM_FAULT_SIGBUS,
    VM_SHARED,
    mm_counter,
    pfn_pte,
    pfn_t_to_pfn,
    pte_dirty,
    pte_mkdirty,
    pte_none,
    pte_pfn,
    pte_present,
    pte_write,
)
from fuzzplug.kernel.v4_13 import (
    finish_mkwrite_fault,
    vm_insert_mixed,
    zap_page_range_single,
)

VERSION = "v4.13"

EBUSY = 16
PE_SIZE_PTE = 0
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
MS_ASYNC = 1
MS_INVALIDATE = 2
MS_SYNC = 4
EXT_MAX_BLOCKS = 0xFFFFFFFF

# include/linux/dax.h (v4.13): the DAX exceptional-entry bits. "We use lowest available bit
# in exceptional entry for locking, one bit for the entry size (PMD) and two more to tell us
# if the entry is a huge zero page (HZP) or an empty entry that is just used for locking."
RADIX_DAX_SHIFT = RADIX_TREE_EXCEPTIONAL_SHIFT + 4
RADIX_DAX_ENTRY_LOCK = 1 << RADIX_TREE_EXCEPTIONAL_SHIFT
RADIX_DAX_PMD = 1 << (RADIX_TREE_EXCEPTIONAL_SHIFT + 1)
RADIX_DAX_HZP = 1 << (RADIX_TREE_EXCEPTIONAL_SHIFT + 2)
RADIX_DAX_EMPTY = 1 << (RADIX_TREE_EXCEPTIONAL_SHIFT + 3)


def IS_ERR(ret: object) -> bool:
    """An ERR_PTR: the model returns a negative errno where the C returns ERR_PTR(errno)."""
    return isinstance(ret, int)


# --- mm/memory.c: file faults and unmapping (not in the mm model) -------------------------------

def unmap_mapping_range_vma(vma: vm_area_struct, start_addr: int, end_addr: int,
                            details: zap_details) -> None:
    """unmap_mapping_range_vma() — mm/memory.c."""
    zap_page_range_single(vma, start_addr, end_addr - start_addr, details)


def unmap_mapping_range_tree(mapping: address_space, first_index: int, last_index: int,
                             details: zap_details) -> None:
    """unmap_mapping_range_tree() — mm/memory.c: zap the part of each VMA of the mapping
    that maps file pages [first_index, last_index]."""
    for vma in vma_interval_tree_foreach(mapping, first_index, last_index):
        vba = vma.vm_pgoff
        vea = vba + vma_pages(vma) - 1
        zba = max(first_index, vba)
        zea = min(last_index, vea)
        unmap_mapping_range_vma(vma, ((zba - vba) << PAGE_SHIFT) + vma.vm_start,
                                ((zea - vba + 1) << PAGE_SHIFT) + vma.vm_start, details)


def unmap_mapping_range(mapping: address_space, holebegin: int, holelen: int,
                        even_cows: int) -> None:
    """unmap_mapping_range() — mm/memory.c: unmap the file pages [holebegin, holebegin +
    holelen) (holelen 0: to the end of the file) from every VMA of the mapping, under
    i_mmap_rwsem (write); even_cows=0 keeps the private COW copies."""
    sb = mapping.host.i_sb
    k = sb.k
    hba = holebegin >> PAGE_SHIFT
    hlen = (holelen + PAGE_SIZE - 1) >> PAGE_SHIFT
    details = zap_details(check_mapping=None if even_cows else mapping)
    first_index = hba
    last_index = hba + hlen - 1
    if last_index < first_index:
        last_index = ULONG_MAX
    i_mmap_lock_write(sb, mapping)
    if mapping.i_mmap:
        k.branch("unmap_mapping_range:vmas")
        unmap_mapping_range_tree(mapping, first_index, last_index, details)
    else:
        k.branch("unmap_mapping_range:no_vmas")
    i_mmap_unlock_write(sb, mapping)


def follow_pte_pmd(mm: mm_struct, address: int) -> pte_ptr | None:
    """__follow_pte_pmd() — mm/memory.c, for a PTE-mapped address: the present PTE, or None
    (-EINVAL) when a page-table level is missing or the PTE is not present. The caller holds
    the PTE lock until it is done with the entry."""
    vpn = address >> PAGE_SHIFT
    if ((vpn >> PUD_TABLE_SHIFT) not in mm.pud_tables
            or (vpn >> PMD_TABLE_SHIFT) not in mm.pmd_tables
            or (vpn >> PTE_TABLE_SHIFT) not in mm.pte_tables):
        return None
    pte_lock(mm, address, "follow_pte_pmd")  # pte_offset_map_lock()
    ptep = pte_ptr(mm, vpn)
    if not pte_present(ptep[0]):
        return None
    return ptep


def pte_alloc_one_map(vmf: vm_fault) -> int:
    """pte_alloc_one_map() — mm/memory.c: the PTE table of the fault address, allocated if
    missing (VM_FAULT_OOM when that fails); vmf.pte points at the entry."""
    mm = vmf.vma.vm_mm
    k = mm.kernel
    vpn = vmf.address >> PAGE_SHIFT
    if (vpn >> PTE_TABLE_SHIFT) not in mm.pte_tables:
        if k.should_fail_alloc("pte_alloc"):
            k.branch("pte_alloc_one_map:oom")
            return VM_FAULT_OOM
        k.branch("pte_alloc_one_map:allocated")
        mm.pte_tables.add(vpn >> PTE_TABLE_SHIFT)
    pte_lock(mm, vmf.address, "pte_alloc_one_map")  # pte_offset_map_lock()
    vmf.pte = pte_ptr(mm, vpn)
    return 0


def alloc_set_pte(vmf: vm_fault, pg: page) -> int:
    """alloc_set_pte() — mm/memory.c: map `pg` at the fault address under the PTE lock:
    VM_FAULT_NOPAGE if an entry is there already; a write makes it dirty and (maybe)
    writable; a private write maps it as a new anonymous page (the COW page), anything else
    as a file page. The entry consumes the caller's page reference."""
    vma = vmf.vma
    mm = vma.vm_mm
    k = mm.kernel
    write = bool(vmf.flags & FAULT_FLAG_WRITE)
    if vmf.pte is None:
        ret = pte_alloc_one_map(vmf)
        if ret:
            return ret
    # Re-check under ptl
    if not pte_none(vmf.pte[0]):
        k.branch("alloc_set_pte:busy")
        return VM_FAULT_NOPAGE
    entry = pfn_pte(pg.pfn, vma.vm_page_prot)  # mk_pte()
    if write:
        entry = maybe_mkwrite(pte_mkdirty(entry), vma)
    # copy-on-write page
    if write and not (vma.vm_flags & VM_SHARED):
        k.branch("alloc_set_pte:cow")
        inc_mm_counter_fast(mm, mm_counter.MM_ANONPAGES)
        page_add_new_anon_rmap(k, pg, vma, vmf.address)
    else:
        k.branch("alloc_set_pte:file")
        inc_mm_counter_fast(mm, mm_counter_file(pg))
        page_add_file_rmap(k, pg)
    set_pte_at(mm, vmf.address, vmf.pte, entry)
    update_mmu_cache(vma, vmf.address, vmf.pte)
    return 0


def finish_fault(vmf: vm_fault) -> int:
    """finish_fault() — mm/memory.c: map the COW page (a private write) or vmf.page with
    alloc_set_pte() (check_stable_address_space() is 0: no OOM reaping)."""
    if (vmf.flags & FAULT_FLAG_WRITE) and not (vmf.vma.vm_flags & VM_SHARED):
        pg = vmf.cow_page
    else:
        pg = vmf.page
    return alloc_set_pte(vmf, pg)


# --- mm/filemap.c ---------------------------------------------------------------------------------

def page_cache_tree_insert(mapping: address_space, pg: page, index: int) -> int:
    """page_cache_tree_insert() — mm/filemap.c: put the page in the slot; an exceptional
    entry there is replaced (for DAX: the locked empty entry of the fault, which must be
    exactly that, and its waiters are woken), a page there is -EEXIST."""
    k = mapping.host.i_sb.k
    p = radix_tree_lookup(mapping, index)
    if p is not None:
        if not radix_tree_exceptional_entry(p):
            k.branch("page_cache_tree_insert:eexist")
            return -EEXIST
        mapping.nrexceptional -= 1
        if not dax_mapping(mapping):
            pass  # shadow entries of evicted pages: not a DAX mapping's
        else:
            k.branch("page_cache_tree_insert:dax_replace")
            # DAX can replace empty locked entry with a hole
            k.WARN_ON_ONCE(p != dax_radix_locked_entry(0, RADIX_DAX_EMPTY),
                           "page_cache_tree_insert",
                           "p != dax_radix_locked_entry(0, RADIX_DAX_EMPTY)")
            # Wakeup waiters for exceptional entry lock
            dax_wake_mapping_entry_waiter(mapping, index, p, True)
            entry_unlocked(mapping.host.i_sb, index)  # the page's lock holds the slot now
        __radix_tree_replace(mapping, index, pg)
    else:
        k.branch("page_cache_tree_insert:empty_slot")
        __radix_tree_insert(mapping, index, pg)
    mapping.nrpages += 1
    return 0


def page_cache_tree_delete(mapping: address_space, pg: page) -> None:
    """page_cache_tree_delete() — mm/filemap.c: empty the page's slot (no shadow entry for
    a DAX mapping) and its tags."""
    sb = mapping.host.i_sb
    sb.k.VM_BUG_ON(pg.pfn not in sb.locked_pages, "page_cache_tree_delete", "!PageLocked(page)")
    index = page_index(mapping, pg)
    radix_tree_clear_tags(mapping, index)
    __radix_tree_replace(mapping, index, None)
    mapping.nrpages -= 1


def __delete_from_page_cache(pg: page) -> None:
    """__delete_from_page_cache() — mm/filemap.c: a page still mapped is a bug
    (VM_BUG_ON_PAGE under DEBUG_VM, else "BUG: Bad page cache" and a taint); the page
    leaves the tree and page->mapping is cleared; a dirty page WARNs."""
    mapping = pg.mapping
    k = mapping.host.i_sb.k
    k.VM_BUG_ON(page_mapped(pg), "__delete_from_page_cache", "page_mapped(page)")
    if not k.config.DEBUG_VM and page_mapped(pg):
        k.branch("__delete_from_page_cache:still_mapped")
        k.WARN_ON(True, "__delete_from_page_cache", "BUG: Bad page cache (still mapped)")
    page_cache_tree_delete(mapping, pg)
    pg.mapping = None
    k.WARN_ON_ONCE(pg.dirty, "__delete_from_page_cache", "PageDirty(page)")


def delete_from_page_cache(pg: page) -> None:
    """delete_from_page_cache() — mm/filemap.c: as above, then drop the page cache's
    reference."""
    sb = pg.mapping.host.i_sb
    sb.k.BUG_ON(pg.pfn not in sb.locked_pages, "delete_from_page_cache", "!PageLocked(page)")
    __delete_from_page_cache(pg)
    put_page(sb.k, pg)


def mapping_set_error(mapping: address_space, error: int) -> None:
    """mapping_set_error() — include/linux/pagemap.h: record a writeback error (errseq and
    AS_EIO)."""
    if not error:
        return
    mapping.wb_err_seq += 1
    mapping.wb_err = error
    mapping.as_eio = True


def __filemap_fdatawrite_range(mapping: address_space, start: int, end: int,
                               sync_mode: int) -> int:
    """__filemap_fdatawrite_range() — mm/filemap.c: do_writepages() over [start, end]."""
    wbc = writeback_control(sync_mode=sync_mode, range_start=start, range_end=end)
    return do_writepages(mapping, wbc)


def filemap_check_errors(mapping: address_space) -> int:
    """filemap_check_errors() — mm/filemap.c: -EIO once for AS_EIO (test and clear)."""
    if mapping.as_eio:
        mapping.as_eio = False
        return -EIO
    return 0


def filemap_write_and_wait_range(mapping: address_space, lstart: int, lend: int) -> int:
    """filemap_write_and_wait_range() — mm/filemap.c: a DAX mapping with exceptional
    entries is written back (WB_SYNC_ALL); no page is ever under writeback, so the wait
    only collects the mapping's error."""
    k = mapping.host.i_sb.k
    err = 0
    if ((not dax_mapping(mapping) and mapping.nrpages)
            or (dax_mapping(mapping) and mapping.nrexceptional)):
        k.branch("filemap_write_and_wait_range:write")
        err = __filemap_fdatawrite_range(mapping, lstart, lend, WB_SYNC_ALL)
        if err != -EIO:
            err2 = filemap_check_errors(mapping)  # filemap_fdatawait_range()
            if not err:
                err = err2
        else:
            filemap_check_errors(mapping)  # Clear any previously stored errors
    else:
        k.branch("filemap_write_and_wait_range:nothing")
        err = filemap_check_errors(mapping)
    return err


def file_check_and_advance_wb_err(f: file) -> int:
    """file_check_and_advance_wb_err() — mm/filemap.c: the error recorded since this file
    last looked, once."""
    mapping = f.f_mapping
    if f.f_wb_err != mapping.wb_err_seq:
        f.f_wb_err = mapping.wb_err_seq
        return mapping.wb_err
    return 0


def file_write_and_wait_range(f: file, lstart: int, lend: int) -> int:
    """file_write_and_wait_range() — mm/filemap.c: as filemap_write_and_wait_range, then
    the file's errseq check."""
    mapping = f.f_mapping
    k = mapping.host.i_sb.k
    err = 0
    if ((not dax_mapping(mapping) and mapping.nrpages)
            or (dax_mapping(mapping) and mapping.nrexceptional)):
        k.branch("file_write_and_wait_range:write")
        err = __filemap_fdatawrite_range(mapping, lstart, lend, WB_SYNC_ALL)
    else:
        k.branch("file_write_and_wait_range:nothing")
    err2 = file_check_and_advance_wb_err(f)
    if not err:
        err = err2
    return err


def __add_to_page_cache_locked(pg: page, mapping: address_space, offset: int) -> int:
    """__add_to_page_cache_locked() — mm/filemap.c: preload the tree (may fail), take the
    page cache's reference, set page->mapping and insert."""
    sb = mapping.host.i_sb
    k = sb.k
    error = radix_tree_preload(k)
    if error:
        k.branch("__add_to_page_cache_locked:preload_failed")
        return error
    get_page(k, pg)
    pg.mapping = mapping
    error = page_cache_tree_insert(mapping, pg, offset)
    if error:
        k.branch("__add_to_page_cache_locked:insert_failed")
        pg.mapping = None
        put_page(k, pg)
        return error
    return 0


def add_to_page_cache_lru(pg: page, mapping: address_space, offset: int) -> int:
    """add_to_page_cache_lru() — mm/filemap.c: lock the page and add it (the LRU is not
    modelled); unlocked again on failure."""
    sb = mapping.host.i_sb
    lock_page(sb, pg)  # __SetPageLocked()
    ret = __add_to_page_cache_locked(pg, mapping, offset)
    if ret:
        unlock_page(sb, pg)  # __ClearPageLocked()
    return ret


def pagecache_get_page_create(mapping: address_space, offset: int) -> page | None:
    """pagecache_get_page(FGP_LOCK|FGP_ACCESSED|FGP_CREAT, __GFP_ZERO) — mm/filemap.c, as
    find_or_create_page() calls it: a page found (not an exceptional entry) is locked and
    marked accessed; else a new zeroed page is added, locked; NULL when that fails."""
    sb = mapping.host.i_sb
    k = sb.k
    while True:  # repeat:
        pg = radix_tree_lookup(mapping, offset)  # find_get_entry()
        if radix_tree_exceptional_entry(pg):
            pg = None
        if pg is not None:
            k.branch("pagecache_get_page:found")
            get_page(k, pg)
            lock_page(sb, pg)
            mark_page_accessed(k, pg)
            return pg
        pg = __page_cache_alloc(sb, zero=True)
        if pg is None:
            k.branch("pagecache_get_page:alloc_failed")
            return None
        pg.referenced = True  # __SetPageReferenced()
        err = add_to_page_cache_lru(pg, mapping, offset)
        if err:
            k.branch("pagecache_get_page:add_failed")
            put_page(k, pg)
            if err == -EEXIST:
                continue
            return None
        k.branch("pagecache_get_page:created")
        return pg


def find_or_create_page(mapping: address_space, offset: int) -> page | None:
    """find_or_create_page() — include/linux/pagemap.h."""
    return pagecache_get_page_create(mapping, offset)


# --- mm/page-writeback.c --------------------------------------------------------------------------

def tag_pages_for_writeback(mapping: address_space, start: int, end: int) -> None:
    """tag_pages_for_writeback() — mm/page-writeback.c: TOWRITE on every DIRTY entry of
    [start, end]."""
    for index in sorted(i for i, tags in mapping.tags.items()
                        if start <= i <= end and PAGECACHE_TAG_DIRTY in tags):
        radix_tree_tag_set(mapping, index, PAGECACHE_TAG_TOWRITE)


def do_writepages(mapping: address_space, wbc: writeback_control) -> int:
    """do_writepages() — mm/page-writeback.c: ->writepages (ext4_writepages); its -ENOMEM
    retry loop is not reachable (no allocation in DAX writeback)."""
    if wbc.nr_to_write <= 0:
        return 0
    return ext4_writepages(mapping, wbc)


# --- mm/truncate.c --------------------------------------------------------------------------------

def truncate_exceptional_entry(mapping: address_space, index: int, entry: object) -> None:
    """truncate_exceptional_entry() — mm/truncate.c: a DAX entry goes unconditionally."""
    dax_delete_mapping_entry(mapping, index)


def invalidate_exceptional_entry2(mapping: address_space, index: int, entry: object) -> int:
    """invalidate_exceptional_entry2() — mm/truncate.c: a DAX entry goes if clean."""
    return dax_invalidate_mapping_entry_sync(mapping, index)


def truncate_complete_page(mapping: address_space, pg: page) -> int:
    """truncate_complete_page() — mm/truncate.c (a DAX hole page has no buffers):
    cancel_dirty_page(), delete_from_page_cache()."""
    if pg.mapping is not mapping:
        return -EIO
    pg.dirty = False  # cancel_dirty_page()
    delete_from_page_cache(pg)
    return 0


def truncate_inode_page(mapping: address_space, pg: page) -> int:
    """truncate_inode_page() — mm/truncate.c: unmap the page if mapped (even_cows=0), then
    remove it."""
    k = mapping.host.i_sb.k
    if page_mapped(pg):
        k.branch("truncate_inode_page:mapped")
        unmap_mapping_range(mapping, page_index(mapping, pg) << PAGE_SHIFT, PAGE_SIZE, 0)
    return truncate_complete_page(mapping, pg)


def truncate_inode_pages_range(mapping: address_space, lstart: int, lend: int) -> None:
    """truncate_inode_pages_range() — mm/truncate.c: remove every entry of [lstart, lend]
    (lend -1: to the end): DAX entries through dax_delete_mapping_entry(), hole pages
    through truncate_inode_page(); a first pass that skips locked pages, a second that
    waits, restarting until nothing is left in the range. The ranges are page-aligned
    here, so the partial-page zeroing has nothing to do."""
    sb = mapping.host.i_sb
    k = sb.k
    if mapping.nrpages == 0 and mapping.nrexceptional == 0:
        k.branch("truncate_inode_pages_range:empty")
        return
    partial_start = lstart & (PAGE_SIZE - 1)
    partial_end = (lend + 1) & (PAGE_SIZE - 1)
    assert not partial_start and not partial_end, "partial pages are not modelled"
    start = (lstart + PAGE_SIZE - 1) >> PAGE_SHIFT
    end = ULONG_MAX if lend == -1 else (lend + 1) >> PAGE_SHIFT

    index = start
    while index < end:
        batch = entries_from(mapping, index, min(end - index, PAGEVEC_SIZE))
        if not batch:
            break
        for index, entry in batch:
            # We rely upon deletion not changing page->index
            if index >= end:
                break
            if radix_tree_exceptional_entry(entry):
                k.branch("truncate_inode_pages_range:exceptional")
                truncate_exceptional_entry(mapping, index, entry)
                continue
            if entry.pfn in sb.locked_pages:  # !trylock_page()
                k.branch("truncate_inode_pages_range:page_locked")
                continue
            k.branch("truncate_inode_pages_range:page")
            lock_page(sb, entry)
            truncate_inode_page(mapping, entry)
            unlock_page(sb, entry)
        index += 1

    if start >= end:
        return
    index = start
    for _ in range(1 << 16):
        batch = entries_from(mapping, index, min(end - index, PAGEVEC_SIZE))
        if not batch:
            # If all gone from start onwards, we're done
            if index == start:
                break
            # Otherwise restart to make sure all gone
            index = start
            continue
        if index == start and batch[0][0] >= end:
            # All gone out of hole to be punched, we're done
            break
        k.branch("truncate_inode_pages_range:second_pass")
        for index, entry in batch:
            if index >= end:
                # Restart punch to make sure all gone
                index = start - 1
                break
            if radix_tree_exceptional_entry(entry):
                truncate_exceptional_entry(mapping, index, entry)
                continue
            lock_page(sb, entry)
            truncate_inode_page(mapping, entry)
            unlock_page(sb, entry)
        index += 1
    else:
        raise AssertionError("truncate_inode_pages_range: the second pass does not end")


def truncate_inode_pages(mapping: address_space, lstart: int) -> None:
    """truncate_inode_pages() — mm/truncate.c: from lstart to the end."""
    truncate_inode_pages_range(mapping, lstart, -1)


def invalidate_complete_page2(mapping: address_space, pg: page) -> int:
    """invalidate_complete_page2() — mm/truncate.c: a clean page leaves the cache (its
    cache reference dropped); a dirty one stays (0)."""
    k = mapping.host.i_sb.k
    if pg.mapping is not mapping:
        return 0
    if pg.dirty:
        k.branch("invalidate_complete_page2:dirty")
        return 0
    __delete_from_page_cache(pg)
    put_page(k, pg)  # pagecache ref
    return 1


def do_launder_page(mapping: address_space, pg: page) -> int:
    """do_launder_page() — mm/truncate.c: ext4 has no ->launder_page: 0."""
    return 0


def invalidate_inode_pages2_range(mapping: address_space, start: int, end: int) -> int:
    """invalidate_inode_pages2_range() — mm/truncate.c: drop the entries of [start, end]:
    clean DAX entries (dirty ones stay: -EBUSY), hole pages after unmapping them; then,
    for DAX, unmap the whole range from the page tables ("For DAX we invalidate page tables
    after invalidating radix tree")."""
    sb = mapping.host.i_sb
    k = sb.k
    ret = 0
    did_range_unmap = False
    if mapping.nrpages == 0 and mapping.nrexceptional == 0:
        k.branch("invalidate_inode_pages2_range:empty")
        return ret
    step(sb, "invalidate:entries")
    index = start
    while index <= end:
        batch = entries_from(mapping, index, min(end - index, PAGEVEC_SIZE - 1) + 1)
        if not batch:
            break
        for index, entry in batch:
            # We rely upon deletion not changing page->index
            if index > end:
                break
            if radix_tree_exceptional_entry(entry):
                if not invalidate_exceptional_entry2(mapping, index, entry):
                    k.branch("invalidate_inode_pages2_range:busy_entry")
                    ret = -EBUSY
                continue
            lock_page(sb, entry)
            if entry.mapping is not mapping:
                unlock_page(sb, entry)
                continue
            if page_mapped(entry):
                if not did_range_unmap:
                    k.branch("invalidate_inode_pages2_range:page_mapped:range")
                    # Zap the rest of the file in one hit.
                    unmap_mapping_range(mapping, index << PAGE_SHIFT,
                                        (1 + end - index) << PAGE_SHIFT, 0)
                    did_range_unmap = True
                else:
                    k.branch("invalidate_inode_pages2_range:page_mapped:page")
                    # Just zap this page
                    unmap_mapping_range(mapping, index << PAGE_SHIFT, PAGE_SIZE, 0)
            k.BUG_ON(page_mapped(entry), "invalidate_inode_pages2_range", "page_mapped(page)")
            ret2 = do_launder_page(mapping, entry)
            if ret2 == 0:
                if not invalidate_complete_page2(mapping, entry):
                    ret2 = -EBUSY
            if ret2 < 0:
                ret = ret2
            k.branch("invalidate_inode_pages2_range:page")
            unlock_page(sb, entry)
        index += 1
    # For DAX we invalidate page tables after invalidating radix tree.
    if dax_mapping(mapping):
        step(sb, "invalidate:unmap")
        unmap_mapping_range(mapping, start << PAGE_SHIFT, (end - start + 1) << PAGE_SHIFT, 0)
    return ret


def truncate_pagecache(ino: inode, newsize: int) -> None:
    """truncate_pagecache() — mm/truncate.c: unmap from the new size (even COWed pages),
    truncate the entries, unmap again (a COW may have happened in between)."""
    mapping = ino.i_mapping
    sb = ino.i_sb
    holebegin = (newsize + PAGE_SIZE - 1) & PAGE_MASK
    step(sb, "truncate:unmap")
    unmap_mapping_range(mapping, holebegin, 0, 1)
    step(sb, "truncate:truncate_entries")
    truncate_inode_pages(mapping, newsize)
    step(sb, "truncate:unmap_again")
    unmap_mapping_range(mapping, holebegin, 0, 1)


def truncate_pagecache_range(ino: inode, lstart: int, lend: int) -> None:
    """truncate_pagecache_range() — mm/truncate.c: unmap the hole once (keeping private COW
    copies), then truncate its entries."""
    mapping = ino.i_mapping
    sb = ino.i_sb
    unmap_start = (lstart + PAGE_SIZE - 1) & PAGE_MASK
    unmap_end = ((1 + lend) & PAGE_MASK) - 1
    if unmap_end > unmap_start:
        step(sb, "punch:unmap")
        unmap_mapping_range(mapping, unmap_start, 1 + unmap_end - unmap_start, 0)
    step(sb, "punch:truncate_entries")
    truncate_inode_pages_range(mapping, lstart, lend)


# --- include/linux/dax.h --------------------------------------------------------------------------

def dax_radix_sector(entry: exceptional_entry) -> int:
    return entry.val >> RADIX_DAX_SHIFT


def dax_radix_locked_entry(sector: int, flags: int) -> exceptional_entry:
    return exceptional_entry(RADIX_TREE_EXCEPTIONAL_ENTRY | flags | (sector << RADIX_DAX_SHIFT)
                             | RADIX_DAX_ENTRY_LOCK)


def dax_radix_order(entry: exceptional_entry) -> int:
    if entry.val & RADIX_DAX_PMD:
        return 21 - PAGE_SHIFT  # PMD_SHIFT - PAGE_SHIFT
    return 0


# --- fs/dax.c -------------------------------------------------------------------------------------

def dax_is_pmd_entry(entry: exceptional_entry) -> bool:
    return bool(entry.val & RADIX_DAX_PMD)


def dax_is_pte_entry(entry: exceptional_entry) -> bool:
    return not entry.val & RADIX_DAX_PMD


def dax_is_zero_entry(entry: exceptional_entry) -> bool:
    return bool(entry.val & RADIX_DAX_HZP)


def dax_is_empty_entry(entry: exceptional_entry) -> bool:
    return bool(entry.val & RADIX_DAX_EMPTY)


def slot_locked(mapping: address_space, index: int) -> bool:
    """slot_locked() — fs/dax.c: the entry's lock bit."""
    return bool(radix_tree_lookup(mapping, index).val & RADIX_DAX_ENTRY_LOCK)


def lock_slot(mapping: address_space, index: int) -> exceptional_entry:
    """lock_slot() — fs/dax.c: set the entry's lock bit (the entry lock is taken)."""
    sb = mapping.host.i_sb
    entry = exceptional_entry(radix_tree_lookup(mapping, index).val | RADIX_DAX_ENTRY_LOCK)
    __radix_tree_replace(mapping, index, entry)
    entry_locked(sb, index)
    return entry


def unlock_slot(mapping: address_space, index: int) -> exceptional_entry:
    """unlock_slot() — fs/dax.c: clear the entry's lock bit."""
    sb = mapping.host.i_sb
    entry = exceptional_entry(radix_tree_lookup(mapping, index).val & ~RADIX_DAX_ENTRY_LOCK)
    __radix_tree_replace(mapping, index, entry)
    entry_unlocked(sb, index)
    return entry


def get_unlocked_mapping_entry(mapping: address_space, index: int) -> object | None:
    """get_unlocked_mapping_entry() — fs/dax.c: the entry at index, after waiting for it to
    be unlocked if it is a locked exceptional entry: the task sleeps on the entry's wait
    queue and looks again each time it is woken (alone, nobody unlocks it: the wait never
    ends)."""
    sb = mapping.host.i_sb
    k = sb.k
    while True:
        entry = radix_tree_lookup(mapping, index)
        if (entry is None or not radix_tree_exceptional_entry(entry)
                or not slot_locked(mapping, index)):
            return entry
        k.branch("get_unlocked_mapping_entry:wait")
        wait_entry_unlocked(mapping, index, "get_unlocked_mapping_entry")


def dax_unlock_mapping_entry(mapping: address_space, index: int) -> None:
    """dax_unlock_mapping_entry() — fs/dax.c: WARN_ON_ONCE if there is no locked
    exceptional entry to unlock."""
    k = mapping.host.i_sb.k
    entry = radix_tree_lookup(mapping, index)
    if k.WARN_ON_ONCE(entry is None or not radix_tree_exceptional_entry(entry)
                      or not slot_locked(mapping, index), "dax_unlock_mapping_entry",
                      "!entry || !radix_tree_exceptional_entry(entry) || "
                      "!slot_locked(mapping, slot)"):
        k.branch("dax_unlock_mapping_entry:not_locked")
        return
    unlock_slot(mapping, index)
    dax_wake_mapping_entry_waiter(mapping, index, entry, False)


def put_locked_mapping_entry(mapping: address_space, index: int, entry: object) -> None:
    """put_locked_mapping_entry() — fs/dax.c (v4.13): a page (a hole page) is unlocked and
    its reference dropped; an exceptional entry is unlocked."""
    sb = mapping.host.i_sb
    if not radix_tree_exceptional_entry(entry):
        sb.k.branch("put_locked_mapping_entry:page")
        unlock_page(sb, entry)
        put_page(sb.k, entry)
    else:
        dax_unlock_mapping_entry(mapping, index)


def put_unlocked_mapping_entry(mapping: address_space, index: int, entry: object) -> None:
    """put_unlocked_mapping_entry() — fs/dax.c (v4.13): wake the next waiter of an
    exceptional entry (nothing for a page or NULL)."""
    if not radix_tree_exceptional_entry(entry):
        return
    # We have to wake up next waiter for the radix tree entry lock
    dax_wake_mapping_entry_waiter(mapping, index, entry, False)


def grab_mapping_entry(mapping: address_space, index: int, size_flag: int) -> object:
    """grab_mapping_entry() — fs/dax.c (v4.13), for a PTE entry (size_flag 0): the entry at
    index, locked: a hole page comes back locked with a reference, an exceptional entry with
    its lock bit set; with nothing there, a locked empty entry is inserted (the tree is
    preloaded first, with tree_lock dropped: -ENOMEM on failure). The PMD cases are left out
    (no PMD entries exist)."""
    sb = mapping.host.i_sb
    k = sb.k
    while True:  # restart:
        entry = get_unlocked_mapping_entry(mapping, index)
        # No entry for given index? Make sure radix tree is big enough.
        if entry is None:
            step(sb, "grab_mapping_entry:preload")
            err = radix_tree_preload(k)
            if err:
                k.branch("grab_mapping_entry:preload_failed")
                return err
            # We needed to drop the page_tree lock while calling radix_tree_preload() and
            # we didn't have an entry to lock.  See if another thread inserted an entry at
            # our index during this time.
            if radix_tree_lookup(mapping, index) is not None:
                k.branch("grab_mapping_entry:raced")
                continue
            entry = dax_radix_locked_entry(0, size_flag | RADIX_DAX_EMPTY)
            __radix_tree_insert(mapping, index, entry)
            # Good, we have inserted empty locked entry into the tree.
            mapping.nrexceptional += 1
            entry_locked(sb, index)
            k.branch("grab_mapping_entry:new_empty")
            return entry
        # Normal page in radix tree?
        if not radix_tree_exceptional_entry(entry):
            get_page(k, entry)
            lock_page(sb, entry)
            # Page got truncated? Retry...
            if entry.mapping is not mapping:
                k.branch("grab_mapping_entry:page_truncated")
                unlock_page(sb, entry)
                put_page(k, entry)
                continue
            k.branch("grab_mapping_entry:page")
            return entry
        entry = lock_slot(mapping, index)
        k.branch("grab_mapping_entry:exceptional")
        return entry


def dax_wake_mapping_entry_waiter(mapping: address_space, index: int, entry: object,
                                  wake_all: bool) -> None:
    """dax_wake_mapping_entry_waiter() — fs/dax.c: wake the tasks waiting for the entry's
    lock (one, or all) on its hashed wait queue, by the entry's key. "All tasks that could
    have seen our entry locked must be in the waitqueue": the callers check and queue under
    tree_lock."""
    wake_entry_waiters(mapping, index, wake_all)


def __dax_invalidate_mapping_entry(mapping: address_space, index: int, trunc: bool) -> int:
    """__dax_invalidate_mapping_entry() — fs/dax.c: delete the exceptional entry at index
    (unless, when not truncating, it is tagged DIRTY or TOWRITE); 1 if deleted."""
    k = mapping.host.i_sb.k
    ret = 0
    entry = get_unlocked_mapping_entry(mapping, index)
    if entry is None or not radix_tree_exceptional_entry(entry):
        k.branch("__dax_invalidate_mapping_entry:no_entry")
    elif not trunc and (radix_tree_tag_get(mapping, index, PAGECACHE_TAG_DIRTY)
                        or radix_tree_tag_get(mapping, index, PAGECACHE_TAG_TOWRITE)):
        k.branch("__dax_invalidate_mapping_entry:dirty")
    else:
        k.branch("__dax_invalidate_mapping_entry:deleted")
        radix_tree_delete(mapping, index)
        mapping.nrexceptional -= 1
        ret = 1
    put_unlocked_mapping_entry(mapping, index, entry)
    return ret


def dax_delete_mapping_entry(mapping: address_space, index: int) -> int:
    """dax_delete_mapping_entry() — fs/dax.c: truncate's deletion, which must find the
    entry (WARN_ON_ONCE otherwise)."""
    k = mapping.host.i_sb.k
    ret = __dax_invalidate_mapping_entry(mapping, index, True)
    k.WARN_ON_ONCE(not ret, "dax_delete_mapping_entry", "!ret")
    return ret


def dax_invalidate_mapping_entry_sync(mapping: address_space, index: int) -> int:
    """dax_invalidate_mapping_entry_sync() — fs/dax.c: delete the entry if clean."""
    return __dax_invalidate_mapping_entry(mapping, index, False)


def dax_load_hole(mapping: address_space, entry: object,
                  vmf: vm_fault) -> tuple[int, object]:
    """dax_load_hole() — fs/dax.c (v4.13): a read fault on a hole maps a zeroed page-cache
    page (found, or created in place of the locked empty entry) with finish_fault(), and
    takes the entry's reference; returns the fault result and the entry now held (the
    page)."""
    k = mapping.host.i_sb.k
    step(mapping.host.i_sb, "dax_fault:load_hole")
    # Hole page already exists? Return it...
    if not radix_tree_exceptional_entry(entry):
        k.branch("dax_load_hole:page_exists")
        pg = entry
    else:
        # This will replace locked radix tree entry with a hole page
        pg = find_or_create_page(mapping, vmf.pgoff)
        if pg is None:
            k.branch("dax_load_hole:oom")
            return VM_FAULT_OOM, entry
        k.branch("dax_load_hole:page_created")
    # finish_fault:
    vmf.page = pg
    ret = finish_fault(vmf)
    vmf.page = None
    entry = pg
    if not ret:
        # Grab reference for PTE that is now referencing the page
        get_page(k, pg)
        ret = VM_FAULT_NOPAGE
    return ret, entry


def copy_user_dax(bdev: block_device, dax_dev: block_device, sector: int, size: int,
                  to: page, vaddr: int) -> int:
    """copy_user_dax() — fs/dax.c: copy the block into the COW page."""
    k = bdev.k
    rc, pgoff = bdev_dax_pgoff(bdev, sector, size)
    if rc:
        return rc
    _, pfn = dax_direct_access(dax_dev, pgoff, size >> PAGE_SHIFT)
    if k.memory is not None:
        k.memory.copy_page(to.pfn, pfn_t_to_pfn(pfn))  # copy_user_page()
    return 0


def dax_insert_mapping_entry(mapping: address_space, vmf: vm_fault, entry: object,
                             sector: int, flags: int) -> object:
    """dax_insert_mapping_entry() — fs/dax.c (v4.13): put the block entry for `sector` in
    the tree, locked. Replacing a hole page: unmap it first (the page is locked, it cannot
    be faulted in again), remove it from the page cache and insert the new entry. Replacing
    an empty (or huge zero page) entry: swap it. A block entry already there is left alone.
    A write fault tags the entry DIRTY. Returns the new entry, or -errno."""
    k = mapping.host.i_sb.k
    index = vmf.pgoff
    hole_fill = False
    if vmf.flags & FAULT_FLAG_WRITE:
        pass  # __mark_inode_dirty(mapping->host, I_DIRTY_PAGES): no modelled effect
    # Replacing hole page with block mapping?
    if not radix_tree_exceptional_entry(entry):
        k.branch("dax_insert_mapping_entry:hole_fill")
        hole_fill = True
        # Unmap the page now before we remove it from page cache below. The page is
        # locked so it cannot be faulted in again.
        unmap_mapping_range(mapping, vmf.pgoff << PAGE_SHIFT, PAGE_SIZE, 0)
        error = radix_tree_preload(k)
        if error:
            k.branch("dax_insert_mapping_entry:preload_failed")
            return error
    elif dax_is_zero_entry(entry) and not (flags & RADIX_DAX_HZP):
        # replacing huge zero page with PMD block mapping
        k.branch("dax_insert_mapping_entry:huge_zero_page")
        unmap_mapping_range(mapping, (vmf.pgoff << PAGE_SHIFT) & ~((1 << 21) - 1), 1 << 21, 0)

    new_entry = dax_radix_locked_entry(sector, flags)
    sb = mapping.host.i_sb
    if hole_fill:
        __delete_from_page_cache(entry)
        # Drop pagecache reference
        put_page(k, entry)
        __radix_tree_insert(mapping, index, new_entry)
        mapping.nrexceptional += 1
        entry_locked(sb, index)
    elif dax_is_zero_entry(entry) or dax_is_empty_entry(entry):
        # Only swap our new entry into the radix tree if the current entry is a zero page
        # or an empty entry.  If a normal PTE or PMD entry is already in the tree, we leave
        # it alone.
        k.branch("dax_insert_mapping_entry:replace")
        ret = radix_tree_lookup(mapping, index)
        k.WARN_ON_ONCE(ret != entry, "dax_insert_mapping_entry", "ret != entry")
        __radix_tree_replace(mapping, index, new_entry)
    else:
        k.branch("dax_insert_mapping_entry:keep")
    if vmf.flags & FAULT_FLAG_WRITE:
        radix_tree_tag_set(mapping, index, PAGECACHE_TAG_DIRTY)
    if hole_fill:
        # We don't need hole page anymore, it has been replaced with locked radix tree
        # entry now.
        unlock_page(sb, entry)
        put_page(k, entry)
    return new_entry


def pgoff_address(pgoff: int, vma: vm_area_struct) -> int:
    """pgoff_address() — fs/dax.c: the VMA's address of a file page."""
    k = vma.vm_mm.kernel
    address = vma.vm_start + ((pgoff - vma.vm_pgoff) << PAGE_SHIFT)
    k.VM_BUG_ON(address < vma.vm_start or address >= vma.vm_end, "pgoff_address",
                "address < vma->vm_start || address >= vma->vm_end")
    return address


def dax_mapping_entry_mkclean(mapping: address_space, index: int, pfn: int) -> None:
    """dax_mapping_entry_mkclean() — fs/dax.c: in every shared VMA mapping the page, a
    present entry for `pfn` that is dirty or writable is cleared and flushed, then set
    again write-protected and clean (under i_mmap_rwsem read and the PTE lock)."""
    sb = mapping.host.i_sb
    k = sb.k
    i_mmap_lock_read(sb, mapping)
    for vma in vma_interval_tree_foreach(mapping, index, index):
        if not (vma.vm_flags & VM_SHARED):
            k.branch("dax_mapping_entry_mkclean:private")
            continue
        address = pgoff_address(index, vma)
        ptep = follow_pte_pmd(vma.vm_mm, address)
        if ptep is None:
            k.branch("dax_mapping_entry_mkclean:no_pte")
            continue
        if pfn != pte_pfn(ptep[0]):
            k.branch("dax_mapping_entry_mkclean:other_pfn")
            continue
        if not pte_dirty(ptep[0]) and not pte_write(ptep[0]):
            k.branch("dax_mapping_entry_mkclean:clean")
            continue
        k.branch("dax_mapping_entry_mkclean:wrprotect")
        pte = ptep_clear_flush(vma, address, ptep)
        pte_window(vma.vm_mm, address, "dax_mapping_entry_mkclean")
        pte = pte_wrprotect(pte)
        pte = pte_mkclean(pte)
        set_pte_at(vma.vm_mm, address, ptep, pte)
    i_mmap_unlock_read(sb, mapping)


def dax_writeback_one(bdev: block_device, dax_dev: block_device, mapping: address_space,
                      index: int, entry: object) -> int:
    """dax_writeback_one() — fs/dax.c (v4.13): write back one TOWRITE entry: recheck it
    under its lock (gone, reallocated elsewhere or already written back: nothing), clear
    TOWRITE, write-protect its mappings, flush the CPU cache over the block, clear DIRTY."""
    sb = mapping.host.i_sb
    k = sb.k
    ret = 0
    # A page got tagged dirty in DAX mapping? Something is seriously wrong.
    if k.WARN_ON(not radix_tree_exceptional_entry(entry), "dax_writeback_one",
                 "!radix_tree_exceptional_entry(entry)"):
        k.branch("dax_writeback_one:page")
        return -EIO
    # spin_lock_irq(&mapping->tree_lock): the step starts here, not at lock_slot() below,
    # which the C reaches under the same tree_lock (no task runs in between).
    step(sb, "fsync:writeback_one")
    entry2 = get_unlocked_mapping_entry(mapping, index)
    # Entry got punched out / reallocated?
    if entry2 is None or not radix_tree_exceptional_entry(entry2):
        k.branch("dax_writeback_one:gone")
    # Entry got reallocated elsewhere? No need to writeback.
    elif dax_radix_sector(entry2) != dax_radix_sector(entry):
        k.branch("dax_writeback_one:reallocated")
    elif k.WARN_ON_ONCE(dax_is_empty_entry(entry) or dax_is_zero_entry(entry),
                        "dax_writeback_one",
                        "dax_is_empty_entry(entry) || dax_is_zero_entry(entry)"):
        k.branch("dax_writeback_one:empty_or_zero")
        ret = -EIO
    # Another fsync thread may have already written back this entry
    elif not radix_tree_tag_get(mapping, index, PAGECACHE_TAG_TOWRITE):
        k.branch("dax_writeback_one:not_towrite")
    else:
        k.branch("dax_writeback_one:flush")
        # Lock the entry to serialize with page faults
        entry = lock_slot(mapping, index)
        radix_tree_tag_clear(mapping, index, PAGECACHE_TAG_TOWRITE)
        sector = dax_radix_sector(entry)
        size = PAGE_SIZE << dax_radix_order(entry)
        ret, pgoff = bdev_dax_pgoff(bdev, sector, size)
        if not ret:
            _, pfn = dax_direct_access(dax_dev, pgoff, size // PAGE_SIZE)
            dax_mapping_entry_mkclean(mapping, index, pfn_t_to_pfn(pfn))
            if k.memory is not None:
                k.memory.flush(pfn_t_to_pfn(pfn))  # dax_flush()
            # After we have flushed the cache, we can clear the dirty tag.
            radix_tree_tag_clear(mapping, index, PAGECACHE_TAG_DIRTY)
        put_locked_mapping_entry(mapping, index, entry)
        return ret
    # put_unlocked:
    put_unlocked_mapping_entry(mapping, index, entry2)
    return ret


def dax_writeback_mapping_range(mapping: address_space, bdev: block_device,
                                wbc: writeback_control) -> int:
    """dax_writeback_mapping_range() — fs/dax.c: for a data-integrity writeback, tag the
    DIRTY entries of the range TOWRITE, then write back each TOWRITE entry; the first error
    is recorded in the mapping and returned."""
    sb = mapping.host.i_sb
    k = sb.k
    ino = mapping.host
    ret = 0
    if k.WARN_ON_ONCE(ino.i_blkbits != PAGE_SHIFT, "dax_writeback_mapping_range",
                      "inode->i_blkbits != PAGE_SHIFT"):
        return -EIO
    if not mapping.nrexceptional or wbc.sync_mode != WB_SYNC_ALL:
        k.branch("dax_writeback_mapping_range:nothing")
        return 0
    dax_dev = sb.s_daxdev
    start_index = wbc.range_start >> PAGE_SHIFT
    end_index = wbc.range_end >> PAGE_SHIFT
    step(sb, "fsync:tag_towrite")
    tag_pages_for_writeback(mapping, start_index, end_index)
    done = False
    while not done:
        batch = tagged_from(mapping, start_index, PAGECACHE_TAG_TOWRITE, PAGEVEC_SIZE)
        if not batch:
            break
        for index, entry in batch:
            if index > end_index:
                done = True
                break
            ret = dax_writeback_one(bdev, dax_dev, mapping, index, entry)
            if ret < 0:
                k.branch("dax_writeback_mapping_range:error")
                mapping_set_error(mapping, ret)
                return ret
        start_index = batch[-1][0] + 1
    k.branch("dax_writeback_mapping_range:done")
    return ret if ret < 0 else 0


def dax_insert_mapping(mapping: address_space, bdev: block_device, dax_dev: block_device,
                       sector: int, size: int, entry: object, vma: vm_area_struct,
                       vmf: vm_fault) -> tuple[int, object]:
    """dax_insert_mapping() — fs/dax.c (v4.13): the block's pfn, its entry in the tree
    (dax_insert_mapping_entry), then vm_insert_mixed() for reads and writes alike. Returns
    the insert's result and the entry now held (C's *entryp)."""
    vaddr = vmf.address
    rc, pgoff = bdev_dax_pgoff(bdev, sector, size)
    if rc:
        return rc, entry
    _, pfn = dax_direct_access(dax_dev, pgoff, size >> PAGE_SHIFT)
    ret = dax_insert_mapping_entry(mapping, vmf, entry, sector, 0)
    if IS_ERR(ret):
        return ret, entry
    entry = ret
    return vm_insert_mixed(vma, vaddr, pfn), entry


def dax_pfn_mkwrite(vmf: vm_fault) -> int:
    """dax_pfn_mkwrite() — fs/dax.c (v4.13): the first write to a read-only DAX entry:
    without an exceptional entry, VM_FAULT_NOPAGE untouched; else tag it DIRTY, lock it,
    finish_mkwrite_fault() (a race that makes it fail is ignored), unlock it,
    VM_FAULT_NOPAGE."""
    f = vmf.vma.vm_file
    mapping = f.f_mapping
    k = mapping.host.i_sb.k
    index = vmf.pgoff
    entry = get_unlocked_mapping_entry(mapping, index)
    if entry is None or not radix_tree_exceptional_entry(entry):
        k.branch("dax_pfn_mkwrite:no_entry")
        if entry is not None:
            put_unlocked_mapping_entry(mapping, index, entry)
        return VM_FAULT_NOPAGE
    k.branch("dax_pfn_mkwrite:dirty")
    radix_tree_tag_set(mapping, index, PAGECACHE_TAG_DIRTY)
    entry = lock_slot(mapping, index)
    # If we race with somebody updating the PTE and finish_mkwrite_fault() fails, we don't
    # care. We need to return VM_FAULT_NOPAGE and retry the fault in either case.
    finish_mkwrite_fault(vmf)
    put_locked_mapping_entry(mapping, index, entry)
    return VM_FAULT_NOPAGE


def dax_iomap_sector(im: iomap, pos: int) -> int:
    """dax_iomap_sector() — fs/dax.c."""
    return im.blkno + (((pos & PAGE_MASK) - im.offset) >> 9)


def dax_iomap_actor(ino: inode, pos: int, length: int, data: iov_iter, im: iomap) -> int:
    """dax_iomap_actor() — fs/dax.c, for a write: the extent must be mapped; newly
    allocated blocks first have the mapping's entries and page tables over them invalidated
    ("Write can allocate block for an area which has a hole page mapped into page tables");
    then the data is copied page by page with non-temporal stores
    (dax_copy_from_iter → pmem). Returns the bytes written, or the error."""
    sb = ino.i_sb
    k = sb.k
    bdev = im.bdev
    dax_dev = im.dax_dev
    end = pos + length
    done = 0
    ret = 0
    if k.WARN_ON_ONCE(im.type != IOMAP_MAPPED, "dax_iomap_actor",
                      "iomap->type != IOMAP_MAPPED"):
        return -EIO
    # Write can allocate block for an area which has a hole page mapped into page tables.
    # We have to tear down these mappings so that data written by write(2) is visible in
    # mmap.
    if im.flags & IOMAP_F_NEW:
        k.branch("dax_iomap_actor:new_blocks")
        invalidate_inode_pages2_range(ino.i_mapping, pos >> PAGE_SHIFT,
                                      (end - 1) >> PAGE_SHIFT)
    step(sb, "write:copy")
    while pos < end:
        offset = pos & (PAGE_SIZE - 1)
        size = (length + offset + PAGE_SIZE - 1) & PAGE_MASK
        sector = dax_iomap_sector(im, pos)
        ret, pgoff = bdev_dax_pgoff(bdev, sector, size)
        if ret:
            break
        map_len, pfn = dax_direct_access(dax_dev, pgoff, size >> PAGE_SHIFT)
        map_len = (map_len << PAGE_SHIFT) - offset
        if map_len > end - pos:
            map_len = end - pos
        # dax_copy_from_iter(): page-granular, one token per page
        for i in range(map_len >> PAGE_SHIFT):
            token = data.tokens.pop(0)
            if k.memory is not None:
                k.memory.write_nt(pfn_t_to_pfn(pfn) + i, token)
        pos += map_len
        length -= map_len
        done += map_len
    return done if done else ret


def dax_iomap_rw(iocb: kiocb, it: iov_iter, ops: iomap_ops) -> int:
    """dax_iomap_rw() — fs/dax.c, for a write (the caller holds i_rwsem for write):
    iomap_apply() with IOMAP_WRITE over the extents until the data is written; the bytes
    written, or the error."""
    mapping = iocb.ki_filp.f_mapping
    ino = mapping.host
    sb = ino.i_sb
    pos = iocb.ki_pos
    ret = 0
    done = 0
    assert "i_rwsem:w" in sb.current.held, "lockdep_assert_held_exclusive(&inode->i_rwsem)"
    flags = IOMAP_WRITE
    while it.count():
        step(sb, "write:iomap_begin")
        ret = iomap_apply(ino, pos, it.count(), flags, ops, it, dax_iomap_actor)
        if ret <= 0:
            break
        pos += ret
        done += ret
    iocb.ki_pos += done
    return done if done else ret


def dax_fault_return(error: int) -> int:
    """dax_fault_return() — fs/dax.c."""
    if error == 0:
        return VM_FAULT_NOPAGE
    if error == -ENOMEM:
        return VM_FAULT_OOM
    return VM_FAULT_SIGBUS


def dax_iomap_pte_fault(vmf: vm_fault, ops: iomap_ops) -> int:
    """dax_iomap_pte_fault() — fs/dax.c (v4.13): beyond i_size → SIGBUS; grab the entry;
    map the page with ->iomap_begin (allocating for a shared write); a COW fault copies
    the block (or zeroes, for a hole) into the COW page and maps it; a mapped block is
    inserted (dax_insert_mapping; -EBUSY is success), a hole read loads the hole page;
    ->iomap_end; the entry is unlocked."""
    mapping = vmf.vma.vm_file.f_mapping
    ino = mapping.host
    sb = ino.i_sb
    k = sb.k
    vaddr = vmf.address
    pos = vmf.pgoff << PAGE_SHIFT
    im = iomap()
    flags = IOMAP_FAULT
    major = 0
    vmf_ret = 0
    fn = "dax_iomap_pte_fault"

    # Check whether offset isn't beyond end of file now. Caller is supposed to hold locks
    # serializing us with truncate / punch hole so this is a reliable test.
    if pos >= i_size_read(ino):
        k.branch("dax_iomap_pte_fault:beyond_eof")
        return VM_FAULT_SIGBUS

    if (vmf.flags & FAULT_FLAG_WRITE) and vmf.cow_page is None:
        flags |= IOMAP_WRITE

    step(sb, "dax_fault:grab_entry")
    entry = grab_mapping_entry(mapping, vmf.pgoff, 0)
    if IS_ERR(entry):
        k.branch("dax_iomap_pte_fault:grab_failed")
        return dax_fault_return(entry)

    # (A huge PMD that raced in: none are ever made.)

    step(sb, "dax_fault:iomap_begin")
    error = ops.iomap_begin(ino, pos, PAGE_SIZE, flags, im)
    if error:
        k.branch("dax_iomap_pte_fault:iomap_begin_failed")
        vmf_ret = dax_fault_return(error)
        put_locked_mapping_entry(mapping, vmf.pgoff, entry)  # unlock_entry:
        return vmf_ret

    finished = False  # "goto finish_iomap" taken
    if k.WARN_ON_ONCE(im.offset + im.length < pos + PAGE_SIZE, fn,
                      "iomap.offset + iomap.length < pos + PAGE_SIZE"):
        error = -EIO  # fs corruption?
    elif vmf.cow_page is not None:
        sector = dax_iomap_sector(im, pos)
        if im.type in (IOMAP_HOLE, IOMAP_UNWRITTEN):
            k.branch("dax_iomap_pte_fault:cow:hole")
            clear_user_highpage(k, vmf.cow_page)
        elif im.type == IOMAP_MAPPED:
            k.branch("dax_iomap_pte_fault:cow:mapped")
            error = copy_user_dax(im.bdev, im.dax_dev, sector, PAGE_SIZE, vmf.cow_page, vaddr)
        else:
            k.WARN_ON_ONCE(True, fn, "cow: iomap.type")
            error = -EIO
        if not error:
            step(sb, "dax_fault:finish_fault")
            vmf_ret = finish_fault(vmf)
            if not vmf_ret:
                k.branch("dax_iomap_pte_fault:cow:done_cow")
                vmf_ret = VM_FAULT_DONE_COW
            else:
                k.branch("dax_iomap_pte_fault:cow:finish_fault_failed")
            finished = True
    else:
        sector = dax_iomap_sector(im, pos)
        if im.type == IOMAP_MAPPED:
            if im.flags & IOMAP_F_NEW:
                k.branch("dax_iomap_pte_fault:mapped:new_block")
                major = VM_FAULT_MAJOR  # count_vm_event(PGMAJFAULT)
            else:
                k.branch("dax_iomap_pte_fault:mapped")
            step(sb, "dax_fault:insert")
            error, entry = dax_insert_mapping(mapping, im.bdev, im.dax_dev, sector, PAGE_SIZE,
                                              entry, vmf.vma, vmf)
            # -EBUSY is fine, somebody else faulted on the same PTE
            if error == -EBUSY:
                k.branch("dax_iomap_pte_fault:mapped:ebusy")
                error = 0
        elif im.type in (IOMAP_UNWRITTEN, IOMAP_HOLE) and not (vmf.flags & FAULT_FLAG_WRITE):
            k.branch("dax_iomap_pte_fault:hole_read")
            vmf_ret, entry = dax_load_hole(mapping, entry, vmf)
            finished = True
        else:
            k.branch("dax_iomap_pte_fault:unexpected_type")
            k.WARN_ON_ONCE(True, fn, "iomap.type")
            error = -EIO
    if not finished:
        # error_finish_iomap:
        vmf_ret = dax_fault_return(error) | major
    # finish_iomap:
    if ops.iomap_end is not None:
        copied = 0 if vmf_ret & VM_FAULT_ERROR else PAGE_SIZE
        # The fault is done by now and there's no way back (other thread may be already
        # happily using PTE we have installed). Just ignore error from ->iomap_end.
        ops.iomap_end(ino, pos, PAGE_SIZE, copied, flags, im)
    # unlock_entry:
    put_locked_mapping_entry(mapping, vmf.pgoff, entry)
    return vmf_ret


def dax_iomap_fault(vmf: vm_fault, pe_size: int, ops: iomap_ops) -> int:
    """dax_iomap_fault() — fs/dax.c: PTE-sized faults (the PMD path is not modelled, see the
    module docstring)."""
    assert pe_size == PE_SIZE_PTE, "only PTE faults are modelled"
    return dax_iomap_pte_fault(vmf, ops)


# --- fs/ext4/inode.c ------------------------------------------------------------------------------

def ext4_writepages(mapping: address_space, wbc: writeback_control) -> int:
    """ext4_writepages() — fs/ext4/inode.c, its DAX branch: dax_writeback_mapping_range()
    (under s_journal_flag_rwsem, read; not tracked)."""
    sb = mapping.host.i_sb
    return dax_writeback_mapping_range(mapping, sb.s_bdev, wbc)


def ext4_iomap_begin(ino: inode, offset: int, length: int, flags: int, im: iomap) -> int:
    """ext4_iomap_begin() — fs/ext4/inode.c: map [offset, offset + length); with
    IOMAP_WRITE, allocate the hole's blocks zeroed (EXT4_GET_BLOCKS_CREATE_ZERO, in a
    journal handle); fill the iomap: a hole, or mapped blocks (IOMAP_F_NEW when just
    allocated)."""
    sb = ino.i_sb
    k = sb.k
    blkbits = ino.i_blkbits
    first_block = offset >> blkbits
    last_block = (offset + length - 1) >> blkbits
    m = ext4_map_blocks_t(m_lblk=first_block, m_len=last_block - first_block + 1)
    if not flags & IOMAP_WRITE:
        k.branch("ext4_iomap_begin:lookup")
        ret = ext4_map_blocks(ino, m, 0)
    else:
        k.branch("ext4_iomap_begin:allocate")
        ret = ext4_map_blocks(ino, m, EXT4_GET_BLOCKS_CREATE_ZERO)
        if ret < 0:
            # -ENOSPC: ext4_should_retry_alloc() has no journal commit to free blocks
            k.branch("ext4_iomap_begin:error")
            return ret
        # Blocks beyond i_size for a write go on the orphan list (ext4_orphan_add): the
        # journal is not modelled.
    im.flags = 0
    im.bdev = sb.s_bdev
    im.dax_dev = sb.s_daxdev
    im.offset = first_block << blkbits
    if ret == 0:
        im.type = IOMAP_HOLE
        im.blkno = IOMAP_NULL_BLOCK
        im.length = m.m_len << blkbits
    else:
        if m.m_flags & EXT4_MAP_MAPPED:
            im.type = IOMAP_MAPPED
        else:
            k.WARN_ON_ONCE(True, "ext4_iomap_begin", "!(map.m_flags & EXT4_MAP_MAPPED)")
            return -EIO
        im.blkno = m.m_pblk << (blkbits - 9)
        im.length = m.m_len << blkbits
    if m.m_flags & EXT4_MAP_NEW:
        im.flags |= IOMAP_F_NEW
    return 0


def ext4_iomap_end(ino: inode, offset: int, length: int, written: int, flags: int,
                   im: iomap) -> int:
    """ext4_iomap_end() — fs/ext4/inode.c: after a write (not a fault), grow i_size to what
    was written (ext4_update_inode_size). The truncation of blocks allocated but not written
    is not reachable: the model's copies do not fail."""
    if not (flags & IOMAP_WRITE) or (flags & IOMAP_FAULT):
        return 0
    ino.i_sb.k.branch("ext4_iomap_end:write")
    step(ino.i_sb, "write:iomap_end")
    if offset + written > ino.i_size:
        ino.i_size = offset + written
        ino.i_disksize = max(ino.i_disksize, ino.i_size)
    return 0


ext4_iomap_ops = iomap_ops(iomap_begin=ext4_iomap_begin, iomap_end=ext4_iomap_end)


def ext4_punch_hole(ino: inode, offset: int, length: int) -> int:
    """ext4_punch_hole() — fs/ext4/inode.c: write back a dirty mapping's range first; under
    i_rwsem and i_mmap_sem (write), clip the hole to i_size, unmap and truncate the page
    cache over it (truncate_pagecache_range), then remove its blocks."""
    sb = ino.i_sb
    k = sb.k
    mapping = ino.i_mapping
    ret = 0
    # Write out all dirty pages to avoid race conditions. Then release them.
    if mapping_tagged(mapping, PAGECACHE_TAG_DIRTY):
        k.branch("ext4_punch_hole:writeback")
        step(sb, "punch:writeback")
        ret = filemap_write_and_wait_range(mapping, offset, offset + length - 1)
        if ret:
            return ret
    down_write(sb, ino.i_rwsem)  # inode_lock()
    # No need to punch hole beyond i_size
    if offset >= ino.i_size:
        k.branch("ext4_punch_hole:beyond_eof")
        up_write(sb, ino.i_rwsem)
        return ret
    # If the hole extends beyond i_size, set the hole to end after the page that contains
    # i_size
    if offset + length > ino.i_size:
        k.branch("ext4_punch_hole:clipped")
        length = ino.i_size + PAGE_SIZE - (ino.i_size & (PAGE_SIZE - 1)) - offset
    # Prevent page faults from reinstantiating pages we have released from page cache.
    down_write(sb, ino.i_mmap_sem)
    first_block_offset = (offset + PAGE_SIZE - 1) & PAGE_MASK
    last_block_offset = ((offset + length) & PAGE_MASK) - 1
    # Now release the pages and zero block aligned part of pages
    if last_block_offset > first_block_offset:
        truncate_pagecache_range(ino, first_block_offset, last_block_offset)
    # ext4_zero_partial_blocks(): nothing, the range is block-aligned
    first_block = (offset + PAGE_SIZE - 1) >> PAGE_SHIFT
    stop_block = (offset + length) >> PAGE_SHIFT
    if first_block < stop_block:
        k.branch("ext4_punch_hole:remove_blocks")
        step(sb, "punch:free_blocks")
        ret = ext4_ext_remove_space(ino, first_block, stop_block - 1)
    up_write(sb, ino.i_mmap_sem)
    up_write(sb, ino.i_rwsem)  # inode_unlock()
    return ret


def ext4_truncate(ino: inode) -> int:
    """ext4_truncate() — fs/ext4/inode.c (extents; i_size block-aligned, so no tail
    zeroing): remove every block from the end of the file on."""
    sb = ino.i_sb
    step(sb, "truncate:free_blocks")
    last_block = (ino.i_size + PAGE_SIZE - 1) >> PAGE_SHIFT  # ext4_ext_truncate()
    return ext4_ext_remove_space(ino, last_block, EXT_MAX_BLOCKS - 1)


def ext4_setattr_size(ino: inode, ia_size: int) -> int:
    """ext4_setattr() — fs/ext4/inode.c, for ATTR_SIZE (the caller holds i_rwsem): set
    i_size (and i_disksize); under i_mmap_sem (write) truncate the page cache from the new
    size and, for a shrink (or the same size), the blocks beyond it."""
    sb = ino.i_sb
    k = sb.k
    shrink = ia_size <= ino.i_size
    if ia_size != ino.i_size:
        k.branch("ext4_setattr:new_size")
        step(sb, "truncate:i_size")
        ino.i_disksize = ia_size
        ino.i_size = ia_size  # i_size_write()
    # pagecache_isize_extended(): nothing when the block size is PAGE_SIZE
    down_write(sb, ino.i_mmap_sem)
    truncate_pagecache(ino, ino.i_size)
    if shrink:
        k.branch("ext4_setattr:shrink")
        ext4_truncate(ino)
    up_write(sb, ino.i_mmap_sem)
    return 0


# --- fs/ext4/extents.c ----------------------------------------------------------------------------

def ext4_fallocate(f: file, mode: int, offset: int, length: int) -> int:
    """ext4_fallocate() — fs/ext4/extents.c: FALLOC_FL_PUNCH_HOLE goes to ext4_punch_hole()
    (other modes are not modelled)."""
    assert mode & FALLOC_FL_PUNCH_HOLE, "only hole punching is modelled"
    return ext4_punch_hole(file_inode(f), offset, length)


# --- fs/ext4/file.c -------------------------------------------------------------------------------

def ext4_dax_write_iter(iocb: kiocb, frm: iov_iter) -> int:
    """ext4_dax_write_iter() — fs/ext4/file.c: under i_rwsem (write), the write checks
    (nothing to trim), then dax_iomap_rw()."""
    ino = file_inode(iocb.ki_filp)
    sb = ino.i_sb
    down_write(sb, ino.i_rwsem)  # inode_lock()
    ret = frm.count()  # ext4_write_checks() → generic_write_checks()
    if ret > 0:
        # file_remove_privs(), file_update_time(): no modelled effect
        ret = dax_iomap_rw(iocb, frm, ext4_iomap_ops)
    up_write(sb, ino.i_rwsem)  # inode_unlock()
    # generic_write_sync(): not O_SYNC
    return ret


def ext4_file_write_iter(iocb: kiocb, frm: iov_iter) -> int:
    """ext4_file_write_iter() — fs/ext4/file.c: a DAX inode goes to ext4_dax_write_iter()."""
    return ext4_dax_write_iter(iocb, frm)


def ext4_dax_huge_fault(vmf: vm_fault, pe_size: int) -> int:
    """ext4_dax_huge_fault() — fs/ext4/file.c, which the series does not touch: the v4.13.9
    code in both models (v4.14.5's also wants VM_SHARED before it treats the fault as a
    write, so that a COW fault starts no journal handle: a v4.14 change outside the series,
    left out of the backport view). A write fault (FAULT_FLAG_WRITE, shared or COW alike)
    takes sb_start_pagefault, updates the file time and starts a journal handle (no
    modelled effect); the fault runs under i_mmap_sem (read)."""
    ino = file_inode(vmf.vma.vm_file)
    sb = ino.i_sb
    write = bool(vmf.flags & FAULT_FLAG_WRITE)
    if write:
        sb.k.branch("ext4_dax_huge_fault:write")
        down_read(sb, ino.i_mmap_sem)
    else:
        sb.k.branch("ext4_dax_huge_fault:read")
        down_read(sb, ino.i_mmap_sem)
    result = dax_iomap_fault(vmf, pe_size, ext4_iomap_ops)
    up_read(sb, ino.i_mmap_sem)
    return result


def ext4_dax_fault(vmf: vm_fault) -> int:
    """ext4_dax_fault() — fs/ext4/file.c."""
    return ext4_dax_huge_fault(vmf, PE_SIZE_PTE)


def ext4_dax_pfn_mkwrite(vmf: vm_fault) -> int:
    """ext4_dax_pfn_mkwrite() — fs/ext4/file.c (v4.13): under i_mmap_sem (read), beyond
    i_size is SIGBUS, else dax_pfn_mkwrite()."""
    ino = file_inode(vmf.vma.vm_file)
    sb = ino.i_sb
    down_read(sb, ino.i_mmap_sem)
    size = (i_size_read(ino) + PAGE_SIZE - 1) >> PAGE_SHIFT
    if vmf.pgoff >= size:
        sb.k.branch("ext4_dax_pfn_mkwrite:beyond_eof")
        ret = VM_FAULT_SIGBUS
    else:
        ret = dax_pfn_mkwrite(vmf)
    up_read(sb, ino.i_mmap_sem)
    return ret


ext4_dax_vm_ops = vm_operations_struct(
    fault=ext4_dax_fault,
    page_mkwrite=ext4_dax_fault,
    pfn_mkwrite=ext4_dax_pfn_mkwrite,
)


# --- fs/ext4/fsync.c ------------------------------------------------------------------------------

def ext4_sync_file(f: file, start: int, end: int, datasync: int) -> int:
    """ext4_sync_file() — fs/ext4/fsync.c (a journalled filesystem): write back and wait
    on the range; the journal commit and the cache flush of the device have no modelled
    effect (pmem's media is the persistence domain)."""
    return file_write_and_wait_range(f, start, end)


# --- system calls ---------------------------------------------------------------------------------

def sys_pwrite64(f: file, tokens: list[int], pos: int) -> int:
    """pwrite64(2) → vfs_write() → new_sync_write() → ->write_iter (fs/read_write.c):
    write one token per page at the page-aligned position; the bytes written or -errno."""
    if pos < 0:
        return -EINVAL
    iocb = kiocb(ki_filp=f, ki_pos=pos)
    return ext4_file_write_iter(iocb, iov_iter(list(tokens)))


def vfs_fallocate(f: file, mode: int, offset: int, length: int) -> int:
    """vfs_fallocate() — fs/open.c: the argument checks, then ->fallocate."""
    if offset < 0 or length <= 0:
        return -EINVAL
    if (mode & FALLOC_FL_PUNCH_HOLE) and not (mode & FALLOC_FL_KEEP_SIZE):
        return -EOPNOTSUPP
    return ext4_fallocate(f, mode, offset, length)


def sys_fallocate(f: file, mode: int, offset: int, length: int) -> int:
    """fallocate(2) (fs/open.c)."""
    return vfs_fallocate(f, mode, offset, length)


def sys_ftruncate(f: file, length: int) -> int:
    """ftruncate(2) → do_sys_ftruncate() → do_truncate() (fs/open.c): under i_rwsem
    (write), notify_change() → ext4_setattr()."""
    if length < 0:
        return -EINVAL
    ino = file_inode(f)
    sb = ino.i_sb
    down_write(sb, ino.i_rwsem)  # inode_lock()
    ret = ext4_setattr_size(ino, length)
    up_write(sb, ino.i_rwsem)
    return ret


def vfs_fsync_range(f: file, start: int, end: int, datasync: int) -> int:
    """vfs_fsync_range() — fs/sync.c: ->fsync."""
    return ext4_sync_file(f, start, end, datasync)


def sys_fsync(f: file) -> int:
    """fsync(2) → vfs_fsync() (fs/sync.c): the whole file."""
    return vfs_fsync_range(f, 0, LLONG_MAX, 0)


def sys_msync(mm: mm_struct, start: int, length: int, flags: int) -> int:
    """msync(2) — mm/msync.c: for MS_SYNC, vfs_fsync_range() (datasync) of the file range
    each shared file VMA in [start, start + length) maps, with mmap_sem (read) dropped
    around it; unmapped parts give -ENOMEM at the end; MS_ASYNC does nothing."""
    if flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC):
        return -EINVAL
    if start & ~PAGE_MASK:
        return -EINVAL
    if (flags & MS_ASYNC) and (flags & MS_SYNC):
        return -EINVAL
    length = (length + PAGE_SIZE - 1) & PAGE_MASK
    end = start + length
    unmapped_error = 0
    error = 0
    if end == start:
        return 0
    sb = mm.kernel.sb  # current: the task runs on the DAX file's kernel
    down_read(sb, mm.mmap_sem)
    vma = find_vma(mm, start)
    while True:
        if vma is None:
            error = -ENOMEM
            break  # goto out_unlock
        if start < vma.vm_start:
            start = vma.vm_start
            if start >= end:
                error = -ENOMEM
                break  # goto out_unlock
            unmapped_error = -ENOMEM
        f = vma.vm_file
        fstart = (start - vma.vm_start) + (vma.vm_pgoff << PAGE_SHIFT)
        fend = fstart + (min(end, vma.vm_end) - start) - 1
        start = vma.vm_end
        if (flags & MS_SYNC) and f is not None and (vma.vm_flags & VM_SHARED):
            mm.kernel.branch("sys_msync:fsync")
            up_read(sb, mm.mmap_sem)
            error = vfs_fsync_range(f, fstart, fend, 1)
            if error or start >= end:
                return error or unmapped_error  # goto out
            down_read(sb, mm.mmap_sem)
            vma = find_vma(mm, start)
        else:
            if start >= end:
                error = 0
                break  # goto out_unlock
            later = [v for v in mm.mmap if v.vm_start >= vma.vm_end]
            vma = later[0] if later else None
    up_read(sb, mm.mmap_sem)  # out_unlock:
    return error or unmapped_error


def __split_vma(mm: mm_struct, vma: vm_area_struct, addr: int, new_below: int) -> None:
    """__split_vma() — mm/mmap.c: split the VMA at addr; the new VMA is the part below
    (new_below) or above; both stay in the mm and in the file's i_mmap. vma_adjust() takes
    i_mmap_rwsem (write) first, then links the new VMA (__vma_link_file) and shrinks the old
    one inside that one critical section, so no unmap_mapping_range() ever finds a mapped
    page in a range no VMA of i_mmap covers."""
    f = vma.vm_file
    if f is not None:
        sb = f.f_inode.i_sb
        i_mmap_lock_write(sb, f.f_mapping)
    new = vm_area_struct(vma.vm_start, vma.vm_end, vma.vm_flags, vma.vm_page_prot,
                         vma.vm_pgoff, vma.vm_ops, mm, vma.anon_vma, vma.vm_file)
    if new_below:
        new.vm_end = addr
        vma.vm_pgoff += (addr - vma.vm_start) >> PAGE_SHIFT
        vma.vm_start = addr
    else:
        new.vm_start = addr
        new.vm_pgoff += (addr - vma.vm_start) >> PAGE_SHIFT
        vma.vm_end = addr
    mm.mmap.append(new)
    mm.mmap.sort(key=lambda v: v.vm_start)
    if f is not None:
        f.f_mapping.i_mmap.append(new)
        i_mmap_unlock_write(sb, f.f_mapping)


def do_munmap(mm: mm_struct, start: int, length: int) -> int:
    """do_munmap() — mm/mmap.c: split the VMAs at the range's ends, detach the VMAs inside
    it, zap their pages (unmap_region; the page tables themselves are not freed in the
    model) and unlink them from the file's i_mmap (free_pgtables → unlink_file_vma, under
    i_mmap_rwsem write)."""
    k = mm.kernel
    if start & ~PAGE_MASK:
        return -EINVAL
    length = (length + PAGE_SIZE - 1) & PAGE_MASK
    if length == 0:
        return -EINVAL
    vma = find_vma(mm, start)
    if vma is None:
        return 0
    end = start + length
    if vma.vm_start >= end:
        return 0
    if start > vma.vm_start:
        k.branch("do_munmap:split_start")
        __split_vma(mm, vma, start, 0)
    last = find_vma(mm, end)
    if last is not None and end > last.vm_start:
        k.branch("do_munmap:split_end")
        __split_vma(mm, last, end, 1)
    victims = [v for v in mm.mmap if start <= v.vm_start and v.vm_end <= end]
    for v in victims:  # detach_vmas_to_be_unmapped()
        mm.mmap.remove(v)
    for v in victims:  # unmap_region() → unmap_vmas() → unmap_single_vma()
        k.branch("do_munmap:zap")
        zap_page_range_single(v, v.vm_start, v.vm_end - v.vm_start)
    for v in victims:  # free_pgtables() → unlink_file_vma()
        f = v.vm_file
        if f is not None:
            sb = f.f_inode.i_sb
            i_mmap_lock_write(sb, f.f_mapping)
            f.f_mapping.i_mmap.remove(v)
            i_mmap_unlock_write(sb, f.f_mapping)
    return 0


def sys_munmap(mm: mm_struct, addr: int, length: int) -> int:
    """munmap(2) → vm_munmap() (mm/mmap.c): do_munmap() under mmap_sem (write), which
    keeps page faults of the mm out."""
    sb = mm.kernel.sb  # current: the task runs on the DAX file's kernel
    down_write(sb, mm.mmap_sem)
    ret = do_munmap(mm, addr, length)
    up_write(sb, mm.mmap_sem)
    return ret

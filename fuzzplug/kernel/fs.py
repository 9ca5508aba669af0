"""The file side of a DAX run: the pmem block device, the ext4 super block and inode, the
page-cache mapping (its radix tree of entries and tags), the file, and the locks.

Shared by both DAX version models (`fuzzplug.kernel.dax_v4_13`, `dax_v4_14`): everything
here is unchanged by the series "DAX common 4k zero page" and, for what is used, between
Linux v4.13.9 (kinmax/linux-4.13.19) and v4.14.5 (monkeygq/linux-4.14.5). The version
models hold every function whose code or callees the series touches.

Sources (read, not copied), v4.13.9:

- include/linux/fs.h (struct inode, address_space, file; PAGECACHE_TAG_*),
  include/linux/radix-tree.h and lib/radix-tree.c (exceptional entries, tags: a tag lives on
  a slot, survives __radix_tree_replace() and dies with radix_tree_delete());
- fs/iomap.c (iomap_apply), include/linux/iomap.h (IOMAP_* types and flags);
- fs/ext4/inode.c, extents.c, mballoc.c (ext4_map_blocks with EXT4_GET_BLOCKS_CREATE_ZERO:
  allocate, zero out, map; ext4_ext_remove_space), as a block map;
- drivers/dax/super.c (bdev_dax_pgoff, dax_flush), drivers/nvdimm/pmem.c
  (pmem_direct_access: pfn flags PFN_DEV, plus PFN_MAP when the device has ZONE_DEVICE
  pages; pmem_copy_from_iter), block/blk-lib.c (blkdev_issue_zeroout on pmem);
- include/linux/rwsem.h, pagemap.h (lock_page), mm/rmap.c (i_mmap_lock_*).

What is not modelled, and why it does not change what the models compare:

- The journal (jbd2) is nothing: handles always start, commits have no observable effect
  (metadata durability is not compared; data durability is the media, physmem).
- ext4's extent tree is a block map (logical block → physical block); an extent is a run
  of consecutive logical blocks on consecutive physical blocks. Blocks are 4 KiB
  (blocksize = PAGE_SIZE, as DAX requires). Block 0 holds the super block and is never
  allocated. The allocator hands out the lowest free blocks (ext4's goal search is not
  modelled; both versions allocate the same blocks in the same order).
- Unwritten extents: only fallocate without PUNCH_HOLE makes them; not an op.
- i_data_sem, sb_start_pagefault/sb_start_write (freeze protection), the tree_lock
  spinlock and the RCU walks do not drop anything a modelled step can observe; they are
  named in the docstrings but not tracked.

Locks and steps. A run has one task (`task_struct`, `super_block.current`). The sleeping
locks that issue #13 interleaves on — the inode's i_rwsem (inode_lock), ext4's i_mmap_sem,
the mapping's i_mmap_rwsem, DAX mapping-entry locks and page locks — are tracked: each
acquisition and release is recorded in the task's `steps`, together with the named steps
the version models mark with `step()`. A lock that the only task cannot take (it already
holds it in a conflicting mode, or an entry or page stays locked) would sleep forever in a
sequential run: that is `TaskHang`, which the op runner reports as a hang. The PTE lock is
taken and dropped inside the mm models' functions; where it is held is documented, not
tracked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from fuzzplug.runtime.footprint import S, W, touch
from fuzzplug.kernel.mm import pfn_to_page
from fuzzplug.runtime.physmem import ZEROES
from fuzzplug.kernel.state import Kernel, PageKind, page, vm_area_struct
from fuzzplug.kernel.types import (
    EINVAL,
    ENOMEM,
    PAGE_SHIFT,
    PAGE_SIZE,
    PFN_DEV,
    PFN_MAP,
    __pfn_to_pfn_t,
    _PAGE_DIRTY,
    _PAGE_RW,
    pfn_t,
    pte_clear_flags,
    pte_t,
)

ENOSPC = 28
EIO = 5
EEXIST = 17
EOPNOTSUPP = 95
LLONG_MAX = (1 << 63) - 1
ULONG_MAX = (1 << 64) - 1


class TaskHang(Exception):
    """The only task would sleep forever: a lock it cannot get, an entry or page that stays
    locked. Internal to the models, like `fuzzplug.kernel.state.Oops`: the op runner
    catches it and reports the call as hung; it never leaves the package."""

    def __init__(self, function: str, waits_for: str):
        super().__init__(f"{function}: waits for {waits_for}")
        self.function = function
        self.waits_for = waits_for


# --- the task, its locks and steps ------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Step:
    """One point of a kernel path where another task could run (issue #13): a named step
    starting, or a tracked lock taken or dropped; with the locks the task holds after it."""

    name: str
    held: tuple[str, ...]


@dataclass(slots=True)
class task_struct:
    """The running task: the tracked locks it holds (in acquisition order) and its steps."""

    held: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    def record(self, name: str) -> None:
        self.steps.append(Step(name, tuple(self.held)))


@dataclass(slots=True, eq=False)
class rw_semaphore:
    """`struct rw_semaphore` (mmap_sem, i_rwsem, i_mmap_sem, i_mmap_rwsem): readers or one
    writer, and the wait list (kernel/locking/rwsem-xadd.c, v4.13): the tasks that found it
    taken, in arrival order, each waiting to read or to write. A reader may not pass a
    waiting writer (rwsem_down_read_failed(): with a waiter queued, __down_read()'s count
    is negative, the reader queues behind it and __rwsem_mark_wake() wakes readers only
    from the front, up to the first writer). A writer takes the lock whenever it is free,
    before a writer queued earlier (the front writer is only woken; "other writers are able
    to steal it"), but not before the readers queued ahead of it (up_write() and up_read()
    grant the front readers the lock before they return). With one task nobody ever
    waits."""

    name: str
    readers: int = 0
    writer: bool = False
    wait_list: list = field(default_factory=list)  # (task_struct, "r" or "w"), FIFO


def _queued_ahead(sem: rw_semaphore, ts: "task_struct") -> list:
    """The waiters queued before the task (every waiter, if it is not queued)."""
    for i, (t, _) in enumerate(sem.wait_list):
        if t is ts:
            return sem.wait_list[:i]
    return sem.wait_list


def _wait_for(sb: "super_block", label: str, ready, function: str, waits_for: str,
              blocked_by: tuple[str, ...], sem: rw_semaphore | None = None,
              mode: str = "") -> None:
    """A sleeping lock's acquisition: with several tasks, a switch point where the task
    waits until `ready()` (until no other task has one of the holds `blocked_by`); alone, a
    lock it cannot take is a sleep that never ends. A task that finds a semaphore `sem`
    taken queues on its wait list (reading or writing, `mode`) until it gets it."""
    sched = sb.k.sched
    if sched is not None:
        ts = sb.current
        if sem is not None and not ready():
            sem.wait_list.append((ts, mode))  # list_add_tail(&waiter.list, &sem->wait_list)
            touch("lock", sem.name, W)
        sched.acquire(label, ready, blocked_by)
        assert ready(), f"{label}: resumed without the lock"
        if sem is not None and any(t is ts for t, _ in sem.wait_list):
            sem.wait_list[:] = [(t, m) for t, m in sem.wait_list if t is not ts]
            touch("lock", sem.name, W)
    elif not ready():
        raise TaskHang(function, waits_for)


def down_read(sb: "super_block", sem: rw_semaphore) -> None:
    ts = sb.current
    _wait_for(sb, f"down_read({sem.name})",
              lambda: not sem.writer and all(m != "w" for _, m in _queued_ahead(sem, ts)),
              "down_read", f"{sem.name} (held for write)", (f"{sem.name}:w",), sem, "r")
    sem.readers += 1
    touch("lock", sem.name, S)
    sb.current.held.append(f"{sem.name}:r")
    sb.current.record(f"down_read({sem.name})")


def up_read(sb: "super_block", sem: rw_semaphore) -> None:
    assert sem.readers > 0, f"up_read of {sem.name} not held"
    sem.readers -= 1
    touch("lock", sem.name, S)
    sb.current.held.remove(f"{sem.name}:r")
    sb.current.record(f"up_read({sem.name})")


def down_write(sb: "super_block", sem: rw_semaphore) -> None:
    ts = sb.current
    _wait_for(sb, f"down_write({sem.name})",
              lambda: (not sem.writer and not sem.readers
                       and all(m != "r" for _, m in _queued_ahead(sem, ts))),
              "down_write", f"{sem.name} (held)", (f"{sem.name}:w", f"{sem.name}:r"), sem, "w")
    sem.writer = True
    touch("lock", sem.name, W)
    sb.current.held.append(f"{sem.name}:w")
    sb.current.record(f"down_write({sem.name})")


def up_write(sb: "super_block", sem: rw_semaphore) -> None:
    assert sem.writer, f"up_write of {sem.name} not held"
    sem.writer = False
    touch("lock", sem.name, W)
    sb.current.held.remove(f"{sem.name}:w")
    sb.current.record(f"up_write({sem.name})")


def entry_locked(sb: "super_block", index: int) -> None:
    """A DAX entry's lock bit was set by this task (lock_slot, or a locked entry inserted)."""
    sb.current.held.append(f"entry_lock:{index}")
    sb.current.record(f"entry_lock({index})")


def entry_unlocked(sb: "super_block", index: int) -> None:
    """The task's lock on the entry at index is gone (unlock_slot, or the locked entry was
    replaced by a locked page)."""
    if f"entry_lock:{index}" in sb.current.held:
        sb.current.held.remove(f"entry_lock:{index}")
    sb.current.record(f"entry_unlock({index})")


def wait_entry_unlocked(mapping: "address_space", index: int, function: str) -> None:
    """prepare_to_wait_exclusive() on the entry's wait queue (dax_entry_waitqueue(): the
    queue is hashed, the key is the mapping and the index), then schedule() with tree_lock
    dropped: the task sleeps until dax_wake_mapping_entry_waiter() wakes it, then looks
    again. Alone, nobody ever unlocks the entry: the sleep never ends."""
    sb = mapping.host.i_sb
    sched = sb.k.sched
    if sched is None:
        raise TaskHang(function, f"the entry lock of index {index}")
    sched.sleep(("entry", index), f"{function}: sleep on entry {index}")


def wake_entry_waiters(mapping: "address_space", index: int, wake_all: bool) -> None:
    """__wake_up() of the entry's wait queue: one exclusive waiter with the entry's key (or
    all of them) woken. Alone, there is nobody to wake."""
    sched = mapping.host.i_sb.k.sched
    if sched is not None:
        sched.wake_up(("entry", index), wake_all)


def step(sb: "super_block", name: str) -> None:
    """Mark the start of a named step of a kernel path (see the lock/step table in the
    version models' docstrings): a switch point, where another task may run first."""
    sched = sb.k.sched
    if sched is not None:
        sched.point(name)
    sb.current.record(name)


# --- the block device (pmem) and the DAX device -----------------------------------------------

@dataclass(slots=True, eq=False)
class block_device:
    """The pmem block device behind the filesystem: its pages are the memory map's device
    range, block b at pfn `base_pfn + b`; `pfn_flags` as pmem_attach_disk() sets them;
    `k` the kernel it is attached to (whose Kernel.memory holds its data)."""

    k: Kernel
    base_pfn: int
    nr_blocks: int
    pfn_flags: int


def bdev_dax_pgoff(bdev: block_device, sector: int, size: int) -> tuple[int, int]:
    """bdev_dax_pgoff() — drivers/dax/super.c: (error, page offset in the device) of a
    sector (the partition starts at sector 0)."""
    phys_off = sector * 512
    pgoff = phys_off >> PAGE_SHIFT
    if phys_off % PAGE_SIZE or size % PAGE_SIZE:
        return -EINVAL, pgoff
    return 0, pgoff


def dax_direct_access(bdev: block_device, pgoff: int, nr_pages: int) -> tuple[int, pfn_t]:
    """dax_direct_access() → pmem_direct_access() — drivers/nvdimm/pmem.c: the number of
    pages available from pgoff and the pfn_t of the first (no bad blocks modelled)."""
    pfn = __pfn_to_pfn_t(bdev.base_pfn + pgoff, bdev.pfn_flags)
    return bdev.nr_blocks - pgoff, pfn


def pmem_pfn_flags(devmap: bool) -> int:
    """pmem->pfn_flags: PFN_DEV, and PFN_MAP when devm_memremap_pages() gave the device
    ZONE_DEVICE struct pages (CONFIG_ZONE_DEVICE with the arch's pte_devmap)."""
    return PFN_DEV | PFN_MAP if devmap else PFN_DEV


# --- radix-tree entries and tags (include/linux/radix-tree.h, lib/radix-tree.c) ------------------

RADIX_TREE_EXCEPTIONAL_ENTRY = 2
RADIX_TREE_EXCEPTIONAL_SHIFT = 2

PAGECACHE_TAG_DIRTY = 0
PAGECACHE_TAG_WRITEBACK = 1
PAGECACHE_TAG_TOWRITE = 2
TAG_NAMES = {PAGECACHE_TAG_DIRTY: "DIRTY", PAGECACHE_TAG_WRITEBACK: "WRITEBACK",
             PAGECACHE_TAG_TOWRITE: "TOWRITE"}


@dataclass(frozen=True, slots=True)
class exceptional_entry:
    """An exceptional radix-tree entry: the raw `void *` value, with bit 1
    (RADIX_TREE_EXCEPTIONAL_ENTRY) set. DAX keeps its entries so; the version models decode
    the other bits (lock, PMD, zero page, empty, sector)."""

    val: int

    def __repr__(self) -> str:
        return f"exceptional_entry({self.val:#x})"


def radix_tree_exceptional_entry(entry: object) -> bool:
    """radix_tree_exceptional_entry(): false for NULL and for a struct page."""
    return isinstance(entry, exceptional_entry)


# --- the inode, its mapping, the file -------------------------------------------------------------

@dataclass(slots=True, eq=False)
class address_space:
    """`struct address_space`: the radix tree (`page_tree`: index → page or exceptional
    entry), its tags (index → set of PAGECACHE_TAG_*), the file's VMAs (`i_mmap`, the
    interval tree as a list in mmap order) under `i_mmap_rwsem`, the counters, and the
    writeback error (errseq_t as a sequence number and the last error)."""

    host: "inode"
    page_tree: dict[int, object] = field(default_factory=dict)
    tags: dict[int, set[int]] = field(default_factory=dict)
    i_mmap: list[vm_area_struct] = field(default_factory=list)
    i_mmap_rwsem: rw_semaphore = field(default_factory=lambda: rw_semaphore("i_mmap_rwsem"))
    nrpages: int = 0
    nrexceptional: int = 0
    wb_err_seq: int = 0
    wb_err: int = 0
    as_eio: bool = False  # AS_EIO in mapping->flags

    def _check_invariants(self) -> list[str]:
        broken = []
        pages = sum(1 for e in self.page_tree.values() if isinstance(e, page))
        exceptional = sum(1 for e in self.page_tree.values() if radix_tree_exceptional_entry(e))
        if pages != self.nrpages:
            broken.append(f"nrpages {self.nrpages} != {pages} pages in the tree")
        if exceptional != self.nrexceptional:
            broken.append(f"nrexceptional {self.nrexceptional} != {exceptional} entries")
        assert all(index in self.page_tree for index in self.tags), "a tag on an empty slot"
        assert all(self.tags.values()), "an empty tag set is stored as absence"
        return broken


@dataclass(slots=True, eq=False)
class inode:
    """`struct inode` with `struct ext4_inode_info`: i_size, the block map (the extent tree:
    logical block → physical block), i_rwsem (inode_lock), and ext4's i_mmap_sem. S_DAX is
    set (the filesystem is mounted -o dax on pmem); i_blkbits is PAGE_SHIFT."""

    i_sb: "super_block"
    i_size: int = 0
    i_disksize: int = 0
    i_blkbits: int = PAGE_SHIFT
    i_blocks: dict[int, int] = field(default_factory=dict)
    i_rwsem: rw_semaphore = field(default_factory=lambda: rw_semaphore("i_rwsem"))
    i_mmap_sem: rw_semaphore = field(default_factory=lambda: rw_semaphore("i_mmap_sem"))
    i_mapping: address_space = field(init=False)

    def __post_init__(self) -> None:
        self.i_mapping = address_space(self)


@dataclass(slots=True, eq=False)
class file:
    """`struct file`: f_mapping, and f_wb_err (the errseq_t sample of the mapping's
    writeback error, here its sequence number)."""

    f_mapping: address_space
    f_wb_err: int = 0

    @property
    def f_inode(self) -> inode:
        return self.f_mapping.host


def file_inode(f: file) -> inode:
    return f.f_inode


def i_size_read(ino: inode) -> int:
    return ino.i_size


def dax_mapping(mapping: address_space) -> bool:
    """dax_mapping(): the host is S_DAX (always, in these runs)."""
    return True


@dataclass(slots=True, eq=False)
class super_block:
    """`struct super_block` of the ext4 filesystem: the kernel it runs in, its block device
    (s_bdev, which is also its DAX device), the free blocks, and the running task (see the
    module docstring: the one root every modelled path reaches, through vma->vm_file)."""

    k: Kernel
    s_bdev: block_device
    free_blocks: set[int] = field(default_factory=set)
    locked_pages: set[int] = field(default_factory=set)
    current: task_struct = field(default_factory=task_struct)
    first_data_block: int = 1

    @property
    def s_daxdev(self) -> block_device:
        return self.s_bdev


# --- page locks (include/linux/pagemap.h) ---------------------------------------------------------

def lock_page(sb: super_block, p: page) -> None:
    """lock_page(): with several tasks, a switch point where the task waits until the page
    is unlocked (unlock_page() wakes every waiter on the page: no wake-up is lost there);
    alone, a locked page stays locked."""
    pfn = p.pfn
    _wait_for(sb, f"lock_page({pfn:#x})", lambda: pfn not in sb.locked_pages, "lock_page",
              f"page {pfn:#x}", (f"page_lock:{pfn:#x}",))
    sb.locked_pages.add(p.pfn)
    sb.current.held.append(f"page_lock:{p.pfn:#x}")
    sb.current.record(f"lock_page({p.pfn:#x})")


def unlock_page(sb: super_block, p: page) -> None:
    assert p.pfn in sb.locked_pages, f"unlock_page({p.pfn:#x}) of an unlocked page"
    sb.locked_pages.discard(p.pfn)
    sb.current.held.remove(f"page_lock:{p.pfn:#x}")
    sb.current.record(f"unlock_page({p.pfn:#x})")


def PageLocked(sb: super_block, p: page) -> bool:
    return p.pfn in sb.locked_pages


def page_mapped(p: page) -> bool:
    return p._mapcount > 0


def page_index(mapping: address_space, p: page) -> int:
    """page->index of a page in the mapping's tree (the model's struct page has no index
    field; the tree holds it)."""
    for index, entry in mapping.page_tree.items():
        if entry is p:
            return index
    raise AssertionError(f"page {p.pfn:#x} is not in the mapping")


# --- the radix tree, as the mapping's dict --------------------------------------------------------

def radix_tree_lookup(mapping: address_space, index: int) -> object | None:
    return mapping.page_tree.get(index)


def __radix_tree_insert(mapping: address_space, index: int, entry: object) -> int:
    """Insert into an empty slot; -EEXIST if the slot is taken."""
    if index in mapping.page_tree:
        return -EEXIST
    mapping.page_tree[index] = entry
    return 0


def __radix_tree_replace(mapping: address_space, index: int, entry: object | None) -> None:
    """Replace the slot's content; its tags stay (NULL empties the slot and drops them)."""
    if entry is None:
        mapping.page_tree.pop(index, None)
        mapping.tags.pop(index, None)
    else:
        mapping.page_tree[index] = entry


def radix_tree_delete(mapping: address_space, index: int) -> object | None:
    mapping.tags.pop(index, None)
    return mapping.page_tree.pop(index, None)


def radix_tree_tag_set(mapping: address_space, index: int, tag: int) -> None:
    assert index in mapping.page_tree, "tagging an empty slot"
    mapping.tags.setdefault(index, set()).add(tag)


def radix_tree_tag_clear(mapping: address_space, index: int, tag: int) -> None:
    tags = mapping.tags.get(index)
    if tags is not None:
        tags.discard(tag)
        if not tags:
            del mapping.tags[index]


def radix_tree_tag_get(mapping: address_space, index: int, tag: int) -> bool:
    return tag in mapping.tags.get(index, ())


def radix_tree_clear_tags(mapping: address_space, index: int) -> None:
    mapping.tags.pop(index, None)


def mapping_tagged(mapping: address_space, tag: int) -> bool:
    return any(tag in tags for tags in mapping.tags.values())


def radix_tree_preload(k: Kernel) -> int:
    """radix_tree_preload() / radix_tree_maybe_preload(): may allocate tree nodes (GFP
    allocation, may sleep); 0 or -ENOMEM (fault injection)."""
    return -ENOMEM if k.should_fail_alloc("radix_tree_preload") else 0


def entries_from(mapping: address_space, start: int, nr: int) -> list[tuple[int, object]]:
    """The first `nr` (index, entry) pairs at or above `start`, in index order
    (find_get_entries() / pagevec_lookup_entries(); the temporary page references of the
    pagevec are taken and released around each batch and are not modelled)."""
    return sorted((i, e) for i, e in mapping.page_tree.items() if i >= start)[:nr]


def tagged_from(mapping: address_space, start: int, tag: int,
                nr: int) -> list[tuple[int, object]]:
    """find_get_entries_tag() — mm/filemap.c: like `entries_from`, tagged entries only."""
    return sorted((i, mapping.page_tree[i]) for i, tags in mapping.tags.items()
                  if i >= start and tag in tags)[:nr]


PAGEVEC_SIZE = 14


# --- the VMAs of a mapping (mm/interval_tree.c) ---------------------------------------------------

def vma_pages(vma: vm_area_struct) -> int:
    return (vma.vm_end - vma.vm_start) >> PAGE_SHIFT


def vma_interval_tree_foreach(mapping: address_space, first: int,
                              last: int) -> list[vm_area_struct]:
    """The mapping's VMAs whose file range [vm_pgoff, vm_pgoff + pages - 1] meets
    [first, last], in mmap order (the interval tree orders by start; a snapshot, as the
    callers hold i_mmap_rwsem)."""
    return [vma for vma in mapping.i_mmap
            if vma.vm_pgoff <= last and first <= vma.vm_pgoff + vma_pages(vma) - 1]


def i_mmap_lock_read(sb: super_block, mapping: address_space) -> None:
    down_read(sb, mapping.i_mmap_rwsem)


def i_mmap_unlock_read(sb: super_block, mapping: address_space) -> None:
    up_read(sb, mapping.i_mmap_rwsem)


def i_mmap_lock_write(sb: super_block, mapping: address_space) -> None:
    down_write(sb, mapping.i_mmap_rwsem)


def i_mmap_unlock_write(sb: super_block, mapping: address_space) -> None:
    up_write(sb, mapping.i_mmap_rwsem)


# --- PTE helpers the shared types do not have (arch/x86/include/asm/pgtable.h) --------------------

def pte_wrprotect(pte: pte_t) -> pte_t:
    return pte_clear_flags(pte, _PAGE_RW)


def pte_mkclean(pte: pte_t) -> pte_t:
    return pte_clear_flags(pte, _PAGE_DIRTY)


# --- the page allocator for page-cache pages (mm/page_alloc.c, __page_cache_alloc) ---------------

def __page_cache_alloc(sb: super_block, zero: bool) -> page | None:
    """__page_cache_alloc() → alloc_pages() — mm/page_alloc.c: an order-0 page, refcount
    1, no mapping, zeroed for __GFP_ZERO (prep_new_page()); None for fault injection or
    when RAM is used up. rmqueue_pcplist() takes the first page of the CPU's list, the page
    freed last (`fuzzplug.kernel.mm.free_hot_cold_page`); when the list is empty,
    rmqueue_bulk() refills it from the buddy lists, here the lowest RAM page of the memory
    map never handed out (a pristine RAM page stands for one). Page-cache pages come from
    the memory map's RAM range, anonymous pages from the mm models' pool, so hole pages do
    not shift the pfns of later COW copies."""
    k = sb.k
    if k.should_fail_alloc("__page_cache_alloc"):
        return None
    if k.pcp_list:
        p = k.pcp_list.pop(0)  # list_first_entry(), list_del()
        assert p._refcount == 0 and p.pfn not in sb.locked_pages, "a free page in use"
        p._refcount = 1  # post_alloc_hook(): set_page_refcounted()
        if zero and k.memory is not None:
            k.memory.clear_page(p.pfn)  # clear_highpage()
        return p
    lo, hi = k.memmap.ram
    for pfn in range(lo, hi + 1):
        p = pfn_to_page(k, pfn)
        if (p.kind is PageKind.RAM and p.pristine() and p.mapping is None
                and pfn not in sb.locked_pages):
            # A pristine RAM page stands for a page the buddy allocator still holds; its
            # one reference becomes the allocator's. A page once handed out is never
            # pristine again: when it is freed it comes back through the list above.
            if zero and k.memory is not None:
                k.memory.clear_page(pfn)
            return p
    return None


# --- I/O control blocks (include/linux/fs.h, writeback.h) -----------------------------------------

WB_SYNC_NONE = 0
WB_SYNC_ALL = 1


@dataclass(slots=True)
class writeback_control:
    """`struct writeback_control`: the sync mode and the byte range [range_start, range_end]."""

    sync_mode: int
    range_start: int
    range_end: int
    nr_to_write: int = LLONG_MAX


@dataclass(slots=True)
class kiocb:
    """`struct kiocb`: the file and the position of a read or write."""

    ki_filp: file
    ki_pos: int
    ki_flags: int = 0


# --- iomap (fs/iomap.c, include/linux/iomap.h) ----------------------------------------------------

IOMAP_HOLE = 0x01
IOMAP_DELALLOC = 0x02
IOMAP_MAPPED = 0x03
IOMAP_UNWRITTEN = 0x04
IOMAP_F_NEW = 0x01
IOMAP_NULL_BLOCK = -1
IOMAP_WRITE = 1 << 0
IOMAP_FAULT = 1 << 3


@dataclass(slots=True)
class iomap:
    """`struct iomap`: what ->iomap_begin maps at an offset."""

    blkno: int = 0
    offset: int = 0
    length: int = 0
    type: int = 0
    flags: int = 0
    bdev: block_device | None = None
    dax_dev: block_device | None = None


@dataclass(frozen=True, slots=True)
class iomap_ops:
    iomap_begin: Callable
    iomap_end: Callable | None


@dataclass(slots=True)
class iov_iter:
    """The source of a write(2): one token per page (the model's writes are page-granular),
    consumed from the front. `rw` is WRITE (reads are not modelled)."""

    tokens: list[int]

    def count(self) -> int:
        return len(self.tokens) * PAGE_SIZE


def iomap_apply(ino: inode, pos: int, length: int, flags: int, ops: iomap_ops, data: object,
                actor: Callable) -> int:
    """iomap_apply() — fs/iomap.c: ->iomap_begin, the actor over the part it mapped,
    ->iomap_end; the bytes the actor did, or the error."""
    k = ino.i_sb.k
    im = iomap()
    ret = ops.iomap_begin(ino, pos, length, flags, im)
    if ret:
        k.branch("iomap_apply:begin_failed")
        return ret
    if k.WARN_ON(im.offset > pos, "iomap_apply", "iomap.offset > pos"):
        return -EIO
    if im.offset + im.length < pos + length:
        k.branch("iomap_apply:shortened")
        length = im.offset + im.length - pos
    written = actor(ino, pos, length, data, im)
    if ops.iomap_end is not None:
        ret = ops.iomap_end(ino, pos, length, written if written > 0 else 0, flags, im)
    k.branch("iomap_apply:done")
    return written if written else ret


# --- ext4 block mapping (fs/ext4/inode.c ext4_map_blocks, extents.c, mballoc.c) -------------------

EXT4_GET_BLOCKS_CREATE_ZERO = 0x0001 | 0x0200  # CREATE | ZERO (fs/ext4/ext4.h)
EXT4_MAP_NEW = 1 << 5
EXT4_MAP_MAPPED = 1 << 4


@dataclass(slots=True)
class ext4_map_blocks_t:
    """`struct ext4_map_blocks`: in m_lblk/m_len, out m_pblk/m_len/m_flags."""

    m_lblk: int
    m_len: int
    m_pblk: int = 0
    m_flags: int = 0


def ext4_map_blocks(ino: inode, m: ext4_map_blocks_t, flags: int) -> int:
    """ext4_map_blocks() over the block map: a mapped run (consecutive logical blocks on
    consecutive physical blocks) from m_lblk gives its length (EXT4_MAP_MAPPED); a hole gives
    0 with m_len the hole's length, or, with EXT4_GET_BLOCKS_CREATE_ZERO, allocates the
    lowest free run (at most the hole's length; the allocator may give fewer), zeroes the
    new blocks through the block layer (they reach the media, ext4_issue_zeroout) and maps
    them (EXT4_MAP_NEW|MAPPED); -ENOSPC when no block is free."""
    sb = ino.i_sb
    k = sb.k
    lblk = m.m_lblk
    if lblk in ino.i_blocks:
        n = 1
        while (n < m.m_len and lblk + n in ino.i_blocks
               and ino.i_blocks[lblk + n] == ino.i_blocks[lblk] + n):
            n += 1
        m.m_pblk, m.m_len, m.m_flags = ino.i_blocks[lblk], n, EXT4_MAP_MAPPED
        k.branch("ext4_map_blocks:mapped")
        return n
    hole = 1
    while hole < m.m_len and lblk + hole not in ino.i_blocks:
        hole += 1
    if not flags & EXT4_GET_BLOCKS_CREATE_ZERO:
        m.m_len, m.m_flags = hole, 0
        k.branch("ext4_map_blocks:hole")
        return 0
    if not sb.free_blocks:
        k.branch("ext4_map_blocks:enospc")
        return -ENOSPC
    first = min(sb.free_blocks)
    n = 1
    while n < hole and first + n in sb.free_blocks:
        n += 1
    for i in range(n):
        sb.free_blocks.discard(first + i)
        ino.i_blocks[lblk + i] = first + i
        if k.memory is not None:  # blkdev_issue_zeroout(): non-temporal writes of zeroes
            k.memory.write_nt(sb.s_bdev.base_pfn + first + i, ZEROES)
    m.m_pblk, m.m_len, m.m_flags = first, n, EXT4_MAP_NEW | EXT4_MAP_MAPPED
    k.branch("ext4_map_blocks:allocated")
    return n


def ext4_ext_remove_space(ino: inode, start: int, end: int) -> int:
    """ext4_ext_remove_space() — fs/ext4/extents.c: unmap the logical blocks [start, end]
    and free their physical blocks (their media keeps its data, as freed blocks do)."""
    sb = ino.i_sb
    for lblk in sorted(b for b in ino.i_blocks if start <= b <= end):
        sb.free_blocks.add(ino.i_blocks.pop(lblk))
    return 0


# --- vm_operations_struct -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class vm_operations_struct:
    """`struct vm_operations_struct` of the DAX file: the callbacks the mm models call
    (Kernel.fault_handler and friends are set from it when the file is mapped). huge_fault
    is not modelled: the VMAs are smaller than a PMD, so dax_iomap_pmd_fault() falls back
    before it touches anything (v4.13 and v4.14 alike)."""

    fault: Callable
    page_mkwrite: Callable
    pfn_mkwrite: Callable

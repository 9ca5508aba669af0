"""One test per branch of the DAX version models (`fuzzplug.kernel.dax_v4_13`, `dax_v4_14`).

Each test boots a scene (`tests/dax_scenes.py`), runs ops as the dax_fault target will, and
asserts what the kernel does on that branch: the access's result and fault count, the PTE,
the mapping entry and its tags, the blocks and their data (visible and durable), the hole
pages, the events. `@covers(versions, ids)` names the branch ids a test is about (and the
test asserts they were taken); the last test checks that every branch id a model declares
is covered or listed in UNREACHABLE with the reason a sequential run cannot take it (most
are races that issue #13 will reach).
"""

from __future__ import annotations

import ast
import inspect

from dax_scenes import (
    A,
    A0,
    BOTH,
    DEV,
    PRIVATE,
    PRIVATE_2,
    RAM,
    SHARED,
    SHARED_2,
    V13,
    V14,
    ZERO,
    block_pfn,
    branches_of,
    load,
    machine,
    ok,
    pfn_of,
    pte,
    run,
    store,
)
from fuzzplug.kernel import dax_v4_13, dax_v4_14, fs
from fuzzplug.explore.daxfile import (
    AccessStatus,
    VmaSpec,
    file_view,
    hole_pages,
    leaks,
    mapping_view,
    observable_events,
)
from fuzzplug.kernel.state import Memmap
from fuzzplug.kernel.types import (
    _PAGE_DEVMAP,
    _PAGE_DIRTY,
    _PAGE_RW,
    _PAGE_SPECIAL,
    PAGE_SIZE,
    pte_dirty,
    pte_write,
)

COVERED: dict[str, dict[str, str]] = {"v4.13": {}, "v4.14": {}}


def covers(versions: str, *ids: str):
    """Name the branch ids a test is about, for "v4.13", "v4.14" or "both"."""
    names = ("v4.13", "v4.14") if versions == "both" else (versions,)

    def mark(fn):
        for version in names:
            for branch_id in ids:
                assert branch_id not in COVERED[version], (branch_id, version)
                COVERED[version][branch_id] = fn.__name__
        return fn

    return mark


def took(branches: list[str], *ids: str) -> bool:
    return all(i in branches for i in ids)


def entry(m, index: int) -> dict | None:
    return mapping_view(m)["entries"].get(index)


def tags(m, index: int) -> list[str]:
    return mapping_view(m)["tags"].get(index, [])


def page(m, lblk: int) -> dict | None:
    return file_view(m)["pages"].get(lblk)


# --- the fault path: reads -----------------------------------------------------------------------

@covers("both", "dax_iomap_pte_fault:beyond_eof")
@BOTH
def test_a_load_beyond_i_size_is_sigbus(model):
    """pos >= i_size: VM_FAULT_SIGBUS before any entry is grabbed; nothing mapped."""
    m = machine(model, layout=(11, None, 13, None), i_size=2)
    res, br = branches_of(m, "load", addr=A(3))
    assert res.ret.status is AccessStatus.SIGBUS and res.ret.faults == 1
    assert took(br, "dax_iomap_pte_fault:beyond_eof")
    assert pte(m, A(3)).val == 0 and mapping_view(m)["entries"] == {}


@covers("both", "dax_iomap_pte_fault:mapped", "ext4_dax_huge_fault:read",
        "grab_mapping_entry:new_empty", "ext4_iomap_begin:lookup", "ext4_map_blocks:mapped",
        "dax_insert_mapping_entry:replace", "iomap_apply:done")
@BOTH
def test_a_load_of_a_block_maps_it_read_only_with_a_clean_block_entry(model):
    """One fault: a locked empty entry, the block looked up, the empty entry replaced by the
    block's (sector 8 = block 1), vm_insert_mixed of the devmap pfn with the write-protected
    shared prot; the load returns the block's data."""
    m = machine(model)
    res, br = branches_of(m, "load", addr=A(0))
    assert ok(res.ret, faults=1) and res.ret.value == 11
    assert took(br, "dax_iomap_pte_fault:mapped", "ext4_dax_huge_fault:read",
                "grab_mapping_entry:new_empty", "ext4_iomap_begin:lookup",
                "ext4_map_blocks:mapped", "dax_insert_mapping_entry:replace")
    assert pfn_of(m, A(0)) == block_pfn(1)
    assert pte(m, A(0)).val & (_PAGE_DEVMAP | _PAGE_SPECIAL) == _PAGE_DEVMAP | _PAGE_SPECIAL
    assert not pte_write(pte(m, A(0))) and not pte_dirty(pte(m, A(0)))
    assert entry(m, 0) == {"kind": "block", "locked": False, "pmd": False, "sector": 8}
    assert tags(m, 0) == []
    assert leaks(m) == [] and observable_events(m) == []


@covers("v4.14", "dax_insert_mapping:read")
@V14
def test_v4_14_inserts_a_read_fault_with_vm_insert_mixed(model):
    """A read fault on a block: dax_insert_mapping → vm_insert_mixed (no mkwrite)."""
    m = machine(model)
    res, br = branches_of(m, "load", addr=A(0))
    assert took(br, "dax_insert_mapping:read") and "insert_pfn:out_mkwrite:mkwrite" not in br


@covers("both", "grab_mapping_entry:exceptional", "dax_insert_mapping_entry:keep")
@BOTH
def test_a_second_mapping_of_a_block_finds_its_entry_and_leaves_it(model):
    """A second shared VMA of the same file page: grab finds the block entry (locked),
    dax_insert_mapping_entry leaves it as it is; both VMAs map the block."""
    m = machine(model, vmas=(SHARED, SHARED_2))
    load(m, A(0))
    res, br = branches_of(m, "load", addr=A(8))
    assert ok(res.ret, faults=1) and res.ret.value == 11
    assert took(br, "grab_mapping_entry:exceptional", "dax_insert_mapping_entry:keep")
    assert pfn_of(m, A(8)) == pfn_of(m, A(0)) == block_pfn(1)
    assert entry(m, 0)["kind"] == "block" and leaks(m) == []


@covers("v4.13", "dax_iomap_pte_fault:hole_read", "ext4_map_blocks:hole",
        "dax_load_hole:page_created", "pagecache_get_page:created",
        "page_cache_tree_insert:dax_replace", "alloc_set_pte:file",
        "put_locked_mapping_entry:page")
@V13
def test_v4_13_a_load_of_a_hole_maps_a_zeroed_page_cache_page(model):
    """dax_load_hole: find_or_create_page replaces the locked empty entry with a new zeroed
    RAM page (page_cache_tree_insert's DAX branch, no WARN), finish_fault maps it as a
    normal read-only file page; the page holds the cache's and the PTE's references."""
    m = machine(model)
    res, br = branches_of(m, "load", addr=A(1))
    assert ok(res.ret, faults=1) and res.ret.value == 0
    assert took(br, "dax_iomap_pte_fault:hole_read", "ext4_map_blocks:hole",
                "dax_load_hole:page_created", "pagecache_get_page:created",
                "page_cache_tree_insert:dax_replace", "alloc_set_pte:file",
                "pte_alloc_one_map:allocated", "put_locked_mapping_entry:page")
    assert pfn_of(m, A(1)) == RAM
    assert not pte(m, A(1)).val & _PAGE_SPECIAL and not pte_write(pte(m, A(1)))
    assert entry(m, 1) == {"kind": "page", "pfn": RAM}
    assert mapping_view(m)["nrpages"] == 1 and mapping_view(m)["nrexceptional"] == 0
    assert hole_pages(m) == {RAM: {"refcount": 2, "mapcount": 1, "in_mapping": True}}
    assert m.k.snapshot()["counters"]["MM_FILEPAGES"] == 1
    assert leaks(m) == [] and observable_events(m) == []


@covers("v4.14", "dax_iomap_pte_fault:hole_read", "ext4_map_blocks:hole",
        "dax_load_hole:zero_page")
@V14
def test_v4_14_a_load_of_a_hole_maps_the_zero_page_with_a_zero_page_entry(model):
    """dax_load_hole: a zero-page entry (sector 0) in place of the empty one, then
    vm_insert_mixed of the zero pfn: a special read-only PTE; no page allocated."""
    m = machine(model)
    res, br = branches_of(m, "load", addr=A(1))
    assert ok(res.ret, faults=1) and res.ret.value == 0
    assert took(br, "dax_iomap_pte_fault:hole_read", "ext4_map_blocks:hole",
                "dax_load_hole:zero_page")
    assert pfn_of(m, A(1)) == ZERO and pte(m, A(1)).val & _PAGE_SPECIAL
    assert not pte_write(pte(m, A(1)))
    assert entry(m, 1) == {"kind": "zero", "locked": False, "pmd": False}
    assert hole_pages(m) == {} and mapping_view(m)["nrpages"] == 0
    assert leaks(m) == [] and observable_events(m) == []


@covers("v4.13", "dax_load_hole:page_exists", "grab_mapping_entry:page")
@V13
def test_v4_13_a_second_mapping_of_a_hole_maps_the_same_hole_page(model):
    """grab_mapping_entry returns the hole page locked with a reference; dax_load_hole maps
    it again; the page now has one reference per mapping plus the cache's."""
    m = machine(model, vmas=(SHARED, SHARED_2))
    load(m, A(1))
    res, br = branches_of(m, "load", addr=A(9))
    assert ok(res.ret, faults=1) and res.ret.value == 0
    assert took(br, "dax_load_hole:page_exists", "grab_mapping_entry:page")
    assert pfn_of(m, A(9)) == RAM
    assert hole_pages(m) == {RAM: {"refcount": 3, "mapcount": 2, "in_mapping": True}}
    assert leaks(m) == []


# --- the fault path: writes ----------------------------------------------------------------------

@covers("both", "dax_iomap_pte_fault:mapped:new_block", "ext4_iomap_begin:allocate",
        "ext4_map_blocks:allocated", "ext4_dax_huge_fault:write")
@BOTH
def test_a_store_to_a_hole_allocates_a_zeroed_block_and_dirties_its_entry(model):
    """A shared write fault allocates the lowest free block (3), zeroed on the media, inserts
    a DIRTY block entry; the store lands in the CPU cache (visible, not durable). v4.13 maps
    the block read-only and takes a second, write-protect fault (dax_pfn_mkwrite); v4.14
    inserts it writable and dirty at once."""
    m = machine(model)
    res, br = branches_of(m, "store", addr=A(1), val=5)
    assert took(br, "dax_iomap_pte_fault:mapped:new_block", "ext4_iomap_begin:allocate",
                "ext4_map_blocks:allocated", "ext4_dax_huge_fault:write")
    assert ok(res.ret, faults=2 if model is dax_v4_13 else 1)
    assert page(m, 1) == {"block": 3, "visible": 5, "durable": 0}
    assert entry(m, 1)["kind"] == "block" and tags(m, 1) == ["DIRTY"]
    assert pfn_of(m, A(1)) == block_pfn(3)
    assert pte(m, A(1)).val & (_PAGE_RW | _PAGE_DIRTY) == _PAGE_RW | _PAGE_DIRTY
    assert leaks(m) == []


@covers("v4.13", "dax_pfn_mkwrite:dirty")
@V13
def test_v4_13_the_first_store_to_a_read_only_block_is_a_pfn_mkwrite_fault(model):
    """Load, then store: the store's write-protect fault goes through ext4_dax_pfn_mkwrite →
    dax_pfn_mkwrite, which tags the entry DIRTY and makes the PTE writable and dirty
    (finish_mkwrite_fault → wp_page_reuse)."""
    m = machine(model)
    load(m, A(0))
    res, br = branches_of(m, "store", addr=A(0), val=7)
    assert ok(res.ret, faults=1)
    assert took(br, "dax_pfn_mkwrite:dirty", "wp_pfn_shared:pfn_mkwrite:done",
                "finish_mkwrite_fault:reuse")
    assert tags(m, 0) == ["DIRTY"] and pte_write(pte(m, A(0))) and pte_dirty(pte(m, A(0)))
    assert page(m, 0)["visible"] == 7 and page(m, 0)["durable"] == 11


@covers("v4.14", "dax_insert_mapping:mkwrite")
@V14
def test_v4_14_the_first_store_to_a_read_only_block_is_a_full_dax_fault_with_mkwrite(model):
    """Load, then store: pfn_mkwrite is ext4_dax_fault; the entry is kept and tagged DIRTY,
    vm_insert_mixed_mkwrite reuses the present entry and makes it young, dirty, writable."""
    m = machine(model)
    load(m, A(0))
    res, br = branches_of(m, "store", addr=A(0), val=7)
    assert ok(res.ret, faults=1)
    assert took(br, "dax_insert_mapping:mkwrite", "dax_insert_mapping_entry:keep",
                "insert_pfn:present:mkwrite:reuse", "wp_pfn_shared:pfn_mkwrite:done")
    assert tags(m, 0) == ["DIRTY"] and pte_write(pte(m, A(0))) and pte_dirty(pte(m, A(0)))
    assert page(m, 0)["visible"] == 7


@covers("v4.13", "dax_insert_mapping_entry:hole_fill")
@V13
def test_v4_13_a_store_to_a_read_hole_page_replaces_it_with_a_block(model):
    """Load of a hole, then store: do_wp_page → wp_page_shared → page_mkwrite
    (ext4_dax_fault) allocates a block; dax_insert_mapping_entry unmaps the hole page,
    deletes it from the page cache and frees it, and inserts the block entry; the block is
    mapped read-only, so a second fault (pfn_mkwrite) makes it writable: two faults."""
    m = machine(model)
    load(m, A(1))
    res, br = branches_of(m, "store", addr=A(1), val=6)
    assert ok(res.ret, faults=2)
    assert took(br, "dax_insert_mapping_entry:hole_fill", "unmap_mapping_range:vmas",
                "wp_page_shared:page_mkwrite:failed", "dax_pfn_mkwrite:dirty")
    assert pfn_of(m, A(1)) == block_pfn(3) and pte_write(pte(m, A(1)))
    assert hole_pages(m) == {RAM: {"refcount": 0, "mapcount": 0, "in_mapping": False}}
    assert mapping_view(m)["nrpages"] == 0 and entry(m, 1)["kind"] == "block"
    assert page(m, 1)["visible"] == 6 and leaks(m) == []


@covers("v4.14", "dax_insert_mapping_entry:zero_page")
@V14
def test_v4_14_a_store_to_a_read_zero_page_unmaps_it_and_maps_a_new_block_writable(model):
    """Load of a hole, then store: wp_pfn_shared → ext4_dax_fault allocates a block;
    dax_insert_mapping_entry unmaps the zero page's PTEs (unmap_mapping_range) and swaps the
    zero-page entry for the block's; vm_insert_mixed_mkwrite inserts it writable: one
    fault."""
    m = machine(model)
    load(m, A(1))
    res, br = branches_of(m, "store", addr=A(1), val=6)
    assert ok(res.ret, faults=1)
    assert took(br, "dax_insert_mapping_entry:zero_page", "unmap_mapping_range:vmas",
                "dax_insert_mapping:mkwrite")
    assert pfn_of(m, A(1)) == block_pfn(3) and pte_write(pte(m, A(1)))
    assert entry(m, 1)["kind"] == "block" and tags(m, 1) == ["DIRTY"]
    assert page(m, 1)["visible"] == 6 and m.memory.zero_page_stores == []


@covers("v4.13", "dax_iomap_pte_fault:mapped:ebusy")
@V13
def test_v4_13_without_pte_special_a_devmap_entry_is_a_normal_page_and_its_store_livelocks(model):
    """A hypothetical configuration (devmap without pte_special; no v4.13 architecture has
    it): vm_normal_page calls the devmap PTE a normal page, so the store goes through
    page_mkwrite, whose DAX fault finds the PTE present (-EBUSY, "somebody else faulted")
    and changes nothing: the store faults forever (LIVELOCK after the bound)."""
    m = machine(model, HAVE_PTE_SPECIAL=False)
    load(m, A(0))
    res, br = branches_of(m, "store", addr=A(0), val=7)
    assert res.ret.status is AccessStatus.LIVELOCK
    assert took(br, "dax_iomap_pte_fault:mapped:ebusy", "do_wp_page:page:shared")


# --- the fault path: COW of private mappings ---------------------------------------------------

@covers("both", "dax_iomap_pte_fault:cow:hole", "alloc_set_pte:cow",
        "dax_iomap_pte_fault:cow:done_cow", "pte_alloc_one_map:allocated")
@BOTH
def test_a_private_store_to_a_hole_maps_a_zeroed_cow_page_and_leaves_the_file_alone(model):
    """do_cow_fault → DAX: no IOMAP_WRITE (a COW page is there), the hole is cleared into
    the COW page, finish_fault maps it as a new anonymous page, dirty and writable:
    VM_FAULT_DONE_COW; the file keeps its hole; an empty entry stays in the tree."""
    m = machine(model, vmas=(PRIVATE,))
    res, br = branches_of(m, "store", addr=A(1), val=5)
    assert ok(res.ret, faults=1)
    assert took(br, "dax_iomap_pte_fault:cow:hole", "alloc_set_pte:cow",
                "dax_iomap_pte_fault:cow:done_cow", "do_cow_fault:done_cow",
                "pte_alloc_one_map:allocated")
    assert pfn_of(m, A(1)) == 0x1000 and pte_write(pte(m, A(1)))
    assert page(m, 1) is None and entry(m, 1)["kind"] == "empty"
    assert m.memory.load(0x1000) == 5 and leaks(m) == []


@covers("both", "dax_iomap_pte_fault:cow:mapped")
@BOTH
def test_a_private_store_to_a_block_copies_it_into_the_cow_page(model):
    """copy_user_dax copies the block's data into the COW page; the store lands there; the
    block is unchanged."""
    m = machine(model, vmas=(PRIVATE,))
    res, br = branches_of(m, "store", addr=A(0), val=5)
    assert ok(res.ret, faults=1) and took(br, "dax_iomap_pte_fault:cow:mapped")
    assert m.memory.load(0x1000) == 5 and page(m, 0) == {"block": 1, "visible": 11,
                                                          "durable": 11}
    assert load(m, A(0)).value == 5


@BOTH
def test_a_private_read_then_store_copies_what_was_read(model):
    """Load of a block through a private mapping (a read-only special entry), then store:
    do_wp_page copies (wp_page_copy, cow_user_page) the block's data before the store."""
    m = machine(model, vmas=(PRIVATE,))
    assert load(m, A(0)).value == 11
    assert ok(store(m, A(0), 5), faults=1)
    assert "wp_page_copy:alloc_copy" in m.k.branches
    assert load(m, A(0)).value == 5 and page(m, 0)["visible"] == 11


# --- the fault path: failures --------------------------------------------------------------------

@covers("both", "dax_iomap_pte_fault:grab_failed", "grab_mapping_entry:preload_failed")
@BOTH
def test_a_failing_radix_tree_preload_makes_the_fault_oom(model):
    """fail_alloc: the third allocation (after the PUD and PMD tables) is the tree preload
    of grab_mapping_entry: -ENOMEM → VM_FAULT_OOM; nothing inserted."""
    m = machine(model)
    run(m, "fail_alloc", nth=3)
    res, br = branches_of(m, "load", addr=A(0))
    assert res.ret.status is AccessStatus.OOM
    assert took(br, "dax_iomap_pte_fault:grab_failed", "grab_mapping_entry:preload_failed")
    assert mapping_view(m)["entries"] == {}


@covers("both", "dax_iomap_pte_fault:iomap_begin_failed", "ext4_iomap_begin:error",
        "ext4_map_blocks:enospc")
@BOTH
def test_a_store_to_a_hole_on_a_full_filesystem_is_sigbus(model):
    """A device of two blocks (the super block and the file's): ext4 cannot allocate
    (-ENOSPC) → VM_FAULT_SIGBUS; the empty entry stays, unlocked."""
    m = machine(model, layout=(11, None), memmap=Memmap(device=(DEV, DEV + 1)))
    res, br = branches_of(m, "store", addr=A(1), val=5)
    assert res.ret.status is AccessStatus.SIGBUS
    assert took(br, "dax_iomap_pte_fault:iomap_begin_failed", "ext4_iomap_begin:error",
                "ext4_map_blocks:enospc")
    assert entry(m, 1) == {"kind": "empty", "locked": False, "pmd": False}
    assert leaks(m) == []


@covers("both", "pte_alloc_one_map:oom", "dax_iomap_pte_fault:cow:finish_fault_failed")
@BOTH
def test_a_cow_fault_whose_page_table_allocation_fails_is_oom_and_frees_the_cow_page(model):
    """Allocations of a first COW fault: PUD, PMD, anon_vma_prepare()'s two (the
    anon_vma_chain, then the anon_vma), the COW page, the tree preload, then finish_fault's
    PTE table, made to fail: VM_FAULT_OOM, the COW page is freed."""
    m = machine(model, vmas=(PRIVATE,))
    run(m, "fail_alloc", nth=7)
    res, br = branches_of(m, "store", addr=A(1), val=5)
    assert res.ret.status is AccessStatus.OOM
    assert took(br, "pte_alloc_one_map:oom", "dax_iomap_pte_fault:cow:finish_fault_failed",
                "do_cow_fault:uncharge_out")
    assert m.k.pages[0x1000]._refcount == 0 and pte(m, A(1)).val == 0


@covers("v4.13", "dax_load_hole:oom", "pagecache_get_page:alloc_failed")
@V13
def test_v4_13_a_hole_read_whose_page_allocation_fails_is_oom(model):
    """The fourth allocation is the hole page: find_or_create_page gives NULL →
    VM_FAULT_OOM; the empty entry stays."""
    m = machine(model)
    run(m, "fail_alloc", nth=4)
    res, br = branches_of(m, "load", addr=A(1))
    assert res.ret.status is AccessStatus.OOM
    assert took(br, "dax_load_hole:oom", "pagecache_get_page:alloc_failed")
    assert entry(m, 1)["kind"] == "empty" and leaks(m) == []


@covers("v4.13", "pagecache_get_page:add_failed", "__add_to_page_cache_locked:preload_failed")
@V13
def test_v4_13_a_hole_page_that_cannot_be_added_to_the_cache_is_freed(model):
    """The fifth allocation is the tree preload of add_to_page_cache_lru: the new page is
    unlocked and freed, the fault is VM_FAULT_OOM."""
    m = machine(model)
    run(m, "fail_alloc", nth=5)
    res, br = branches_of(m, "load", addr=A(1))
    assert res.ret.status is AccessStatus.OOM
    assert took(br, "pagecache_get_page:add_failed", "__add_to_page_cache_locked:preload_failed")
    assert hole_pages(m) == {RAM: {"refcount": 0, "mapcount": 0, "in_mapping": False}}
    assert leaks(m) == []


@covers("v4.13", "dax_insert_mapping_entry:preload_failed")
@V13
def test_v4_13_a_hole_fill_whose_preload_fails_leaves_the_hole_page_unmapped_in_the_cache(model):
    """Load of a hole, then a store whose first allocation (the hole fill's tree preload,
    after the hole page was unmapped) fails: VM_FAULT_OOM; the hole page stays in the cache
    with no mapping."""
    m = machine(model)
    load(m, A(1))
    run(m, "fail_alloc", nth=1)
    res, br = branches_of(m, "store", addr=A(1), val=5)
    assert res.ret.status is AccessStatus.OOM
    assert took(br, "dax_insert_mapping_entry:preload_failed")
    assert pte(m, A(1)).val == 0 and entry(m, 1) == {"kind": "page", "pfn": RAM}
    assert hole_pages(m) == {RAM: {"refcount": 1, "mapcount": 0, "in_mapping": True}}
    assert leaks(m) == []


# --- write(2) ------------------------------------------------------------------------------------

@covers("both", "ext4_iomap_end:write", "dax_iomap_actor:new_blocks",
        "invalidate_inode_pages2_range:empty")
@BOTH
def test_a_write_over_an_unmapped_hole_allocates_and_its_data_is_durable_at_once(model):
    """pwrite64 of one page at a hole nobody mapped: a new block, the mapping has no entry
    (nothing to invalidate), non-temporal copy: visible and durable."""
    m = machine(model)
    res, br = branches_of(m, "write", page=1, pages=1, val=40)
    assert res.ret == PAGE_SIZE
    assert took(br, "ext4_iomap_end:write", "dax_iomap_actor:new_blocks",
                "invalidate_inode_pages2_range:empty")
    assert page(m, 1) == {"block": 3, "visible": 40, "durable": 40}


@covers("both", "iomap_apply:shortened")
@BOTH
def test_a_write_over_a_block_and_a_hole_goes_extent_by_extent(model):
    """Two pages from file page 0: the block (an extent of one), then the hole (allocated):
    iomap_apply shortens the first call to the extent; i_size grows past the end."""
    m = machine(model, layout=(11, None), i_size=2)
    res, br = branches_of(m, "write", page=0, pages=3, val=40)
    assert res.ret == 3 * PAGE_SIZE and took(br, "iomap_apply:shortened")
    assert [page(m, i)["visible"] for i in range(3)] == [40, 41, 42]
    assert file_view(m)["i_size"] == 3


@covers("both", "iomap_apply:begin_failed")
@BOTH
def test_a_write_on_a_full_filesystem_returns_enospc(model):
    """No free block: ->iomap_begin fails, write returns -ENOSPC."""
    m = machine(model, layout=(11, None), memmap=Memmap(device=(DEV, DEV + 1)))
    res, br = branches_of(m, "write", page=1, pages=1, val=40)
    assert res.ret == -fs.ENOSPC and took(br, "iomap_apply:begin_failed")


@covers("v4.13", "invalidate_inode_pages2_range:page",
        "invalidate_inode_pages2_range:page_mapped:range")
@V13
def test_v4_13_a_write_over_a_mapped_hole_unmaps_and_drops_the_hole_page(model):
    """Load of a hole (a hole page), then pwrite64 there: the new block's invalidation
    unmaps the hole page (the range from it) and deletes it from the cache (freed); the
    next load faults in the block and sees the write."""
    m = machine(model)
    load(m, A(1))
    res, br = branches_of(m, "write", page=1, pages=1, val=40)
    assert res.ret == PAGE_SIZE
    assert took(br, "invalidate_inode_pages2_range:page",
                "invalidate_inode_pages2_range:page_mapped:range")
    assert pte(m, A(1)).val == 0 and entry(m, 1) is None
    assert hole_pages(m) == {RAM: {"refcount": 0, "mapcount": 0, "in_mapping": False}}
    assert load(m, A(1)).value == 40 and pfn_of(m, A(1)) == block_pfn(3)


@V14
def test_v4_14_a_write_over_a_mapped_hole_deletes_the_zero_page_entry_and_unmaps_it(model):
    """Load of a hole (the zero page), then pwrite64 there: the clean zero-page entry is
    deleted, then the range is unmapped from the page tables (DAX: entries first, page
    tables after); the next load sees the write."""
    m = machine(model)
    load(m, A(1))
    res, br = branches_of(m, "write", page=1, pages=1, val=40)
    assert took(br, "__dax_invalidate_mapping_entry:deleted", "unmap_mapping_range:vmas")
    assert pte(m, A(1)).val == 0 and entry(m, 1) is None
    assert load(m, A(1)).value == 40


@V13
def test_v4_13_a_write_over_an_empty_entry_deletes_it(model):
    """A private COW store leaves an empty entry at a hole; pwrite64 there deletes it
    (__dax_invalidate_mapping_entry, clean) and the COW page stays mapped."""
    m = machine(model, vmas=(PRIVATE,))
    store(m, A(1), 5)
    res, br = branches_of(m, "write", page=1, pages=1, val=40)
    assert took(br, "__dax_invalidate_mapping_entry:deleted")
    assert entry(m, 1) is None and pfn_of(m, A(1)) == 0x1000
    assert load(m, A(1)).value == 5


# --- fallocate(PUNCH_HOLE) -----------------------------------------------------------------------

@covers("both", "ext4_punch_hole:remove_blocks", "truncate_inode_pages_range:exceptional",
        "__dax_invalidate_mapping_entry:deleted", "unmap_mapping_range:vmas")
@BOTH
def test_a_punch_unmaps_removes_the_entry_and_frees_the_block(model):
    """Load of a block, then punch it: the PTE is unmapped, the entry deleted
    (dax_delete_mapping_entry), the block freed; a load reads zeroes again."""
    m = machine(model)
    load(m, A(0))
    res, br = branches_of(m, "punch_hole", page=0, pages=1)
    assert res.ret == 0
    assert took(br, "ext4_punch_hole:remove_blocks", "truncate_inode_pages_range:exceptional",
                "__dax_invalidate_mapping_entry:deleted", "unmap_mapping_range:vmas")
    assert pte(m, A(0)).val == 0 and entry(m, 0) is None and page(m, 0) is None
    assert 1 in m.sb.free_blocks
    assert load(m, A(0)).value == 0 and leaks(m) == []


@covers("both", "ext4_punch_hole:writeback", "filemap_write_and_wait_range:write")
@BOTH
def test_a_punch_of_a_dirty_mapping_writes_it_back_first(model):
    """A store to page 2, then a punch of page 0: the mapping is tagged DIRTY, so the
    punched range is written back first (filemap_write_and_wait_range over it; page 2 is
    outside the range and stays dirty)."""
    m = machine(model)
    store(m, A(2), 7)
    res, br = branches_of(m, "punch_hole", page=0, pages=1)
    assert took(br, "ext4_punch_hole:writeback", "filemap_write_and_wait_range:write")
    assert tags(m, 2) == ["DIRTY"] and page(m, 2)["durable"] == 13


@covers("both", "ext4_punch_hole:beyond_eof")
@BOTH
def test_a_punch_beyond_i_size_does_nothing(model):
    """offset >= i_size: nothing unmapped or freed."""
    m = machine(model)
    res, br = branches_of(m, "punch_hole", page=4, pages=1)
    assert res.ret == 0 and took(br, "ext4_punch_hole:beyond_eof")
    assert page(m, 0) is not None and page(m, 2) is not None


@covers("both", "ext4_punch_hole:clipped", "truncate_inode_pages_range:empty")
@BOTH
def test_a_punch_past_i_size_is_clipped_to_it(model):
    """A punch of pages 2..9 of a 4-page file removes pages 2 and 3 only; no entry there."""
    m = machine(model)
    res, br = branches_of(m, "punch_hole", page=2, pages=8)
    assert res.ret == 0 and took(br, "ext4_punch_hole:clipped", "truncate_inode_pages_range:empty")
    assert page(m, 2) is None and page(m, 0) is not None


@covers("v4.13", "truncate_inode_pages_range:page")
@V13
def test_v4_13_a_punch_over_a_hole_page_unmaps_and_frees_it(model):
    """Load of a hole (a hole page), then a punch of it: unmap, then truncate_inode_page
    deletes it from the cache; it is freed."""
    m = machine(model)
    load(m, A(1))
    res, br = branches_of(m, "punch_hole", page=1, pages=1)
    assert took(br, "truncate_inode_pages_range:page")
    assert pte(m, A(1)).val == 0 and entry(m, 1) is None
    assert hole_pages(m) == {RAM: {"refcount": 0, "mapcount": 0, "in_mapping": False}}


@BOTH
def test_a_punch_keeps_a_private_cow_copy_and_a_truncate_does_not(model):
    """A private COW of page 0; a punch of page 0 keeps the COW page mapped (even_cows=0:
    zap_details.check_mapping); a truncate to 0 unmaps it (even_cows=1)."""
    m = machine(model, vmas=(PRIVATE,))
    store(m, A(0), 5)
    run(m, "punch_hole", page=0, pages=1)
    assert "zap_pte_range:present:other_mapping" in m.k.branches
    assert pfn_of(m, A(0)) == 0x1000 and load(m, A(0)).value == 5
    run(m, "truncate", pages=0)
    assert pte(m, A(0)).val == 0


# --- ftruncate ------------------------------------------------------------------------------------

@covers("both", "ext4_setattr:new_size", "ext4_setattr:shrink")
@BOTH
def test_a_truncate_down_unmaps_removes_entries_and_frees_blocks_beyond(model):
    """Load pages 0 and 2, truncate to 1 page: page 2's PTE, entry and block are gone; a
    load of page 2 is SIGBUS; page 0 stays."""
    m = machine(model)
    load(m, A(0))
    load(m, A(2))
    res, br = branches_of(m, "truncate", pages=1)
    assert res.ret == 0 and took(br, "ext4_setattr:new_size", "ext4_setattr:shrink")
    assert pte(m, A(2)).val == 0 and entry(m, 2) is None and page(m, 2) is None
    assert pfn_of(m, A(0)) == block_pfn(1)
    assert run(m, "load", addr=A(2)).ret.status is AccessStatus.SIGBUS


@BOTH
def test_a_truncate_up_grows_i_size_and_keeps_everything(model):
    """Truncate to 6 pages: i_size grows, nothing unmapped, no block allocated."""
    m = machine(model, vmas=(VmaSpec(A0, 6),))
    load(m, A(0))
    res, br = branches_of(m, "truncate", pages=6)
    assert "ext4_setattr:shrink" not in br and file_view(m)["i_size"] == 6
    assert pfn_of(m, A(0)) == block_pfn(1) and load(m, A(5)).value == 0


# --- fsync and msync -----------------------------------------------------------------------------

@covers("both", "file_write_and_wait_range:write", "dax_writeback_one:flush",
        "dax_writeback_mapping_range:done", "dax_mapping_entry_mkclean:wrprotect")
@BOTH
def test_fsync_flushes_a_store_and_write_protects_its_pte(model):
    """Store, fsync: the entry's TOWRITE is set and cleared, its PTE made read-only and
    clean, the cache line written back (durable), DIRTY cleared."""
    m = machine(model)
    store(m, A(0), 7)
    res, br = branches_of(m, "fsync")
    assert res.ret == 0
    assert took(br, "file_write_and_wait_range:write", "dax_writeback_one:flush",
                "dax_writeback_mapping_range:done", "dax_mapping_entry_mkclean:wrprotect")
    assert page(m, 0) == {"block": 1, "visible": 7, "durable": 7}
    assert tags(m, 0) == [] and not pte_write(pte(m, A(0))) and not pte_dirty(pte(m, A(0)))


@covers("both", "file_write_and_wait_range:nothing")
@BOTH
def test_fsync_of_a_mapping_without_entries_writes_nothing(model):
    """No exceptional entry: nothing to write back."""
    m = machine(model)
    res, br = branches_of(m, "fsync")
    assert res.ret == 0 and took(br, "file_write_and_wait_range:nothing")


@covers("both", "dax_mapping_entry_mkclean:private", "dax_mapping_entry_mkclean:no_pte")
@BOTH
def test_mkclean_skips_private_mappings_and_mappings_without_the_page(model):
    """Store through the shared VMA; a private VMA also maps file page 0 (read), a second
    shared VMA does not: fsync write-protects the shared PTE only."""
    m = machine(model, vmas=(SHARED, PRIVATE_2, VmaSpec(A0 + 16 * PAGE_SIZE, 4)))
    store(m, A(0), 7)
    load(m, A(8))
    res, br = branches_of(m, "fsync")
    assert took(br, "dax_mapping_entry_mkclean:private", "dax_mapping_entry_mkclean:no_pte")
    assert page(m, 0)["durable"] == 7


@covers("both", "dax_mapping_entry_mkclean:clean")
@BOTH
def test_mkclean_leaves_a_clean_read_only_pte_alone(model):
    """Store through one shared VMA, load through another: fsync write-protects the first
    and leaves the second (read-only, clean) as it is."""
    m = machine(model, vmas=(SHARED, SHARED_2))
    store(m, A(0), 7)
    load(m, A(8))
    before = pte(m, A(8))
    res, br = branches_of(m, "fsync")
    assert took(br, "dax_mapping_entry_mkclean:clean", "dax_mapping_entry_mkclean:wrprotect")
    assert pte(m, A(8)) == before


@BOTH
def test_a_store_after_fsync_faults_again_and_dirties_the_entry_again(model):
    """fsync write-protected the PTE: the next store takes a write-protect fault that tags
    the entry DIRTY again (v4.13 dax_pfn_mkwrite, v4.14 the DAX fault with mkwrite)."""
    m = machine(model)
    store(m, A(0), 7)
    run(m, "fsync")
    assert ok(store(m, A(0), 8), faults=1)
    assert tags(m, 0) == ["DIRTY"] and page(m, 0) == {"block": 1, "visible": 8, "durable": 7}


@covers("both", "sys_msync:fsync")
@BOTH
def test_msync_of_a_shared_mapping_flushes_its_range(model):
    """msync(MS_SYNC) of page 0's address: vfs_fsync_range of file page 0 only."""
    m = machine(model)
    store(m, A(0), 7)
    store(m, A(2), 8)
    res, br = branches_of(m, "msync", addr=A(0), len=PAGE_SIZE)
    assert res.ret == 0 and took(br, "sys_msync:fsync")
    assert page(m, 0)["durable"] == 7 and page(m, 2)["durable"] == 13


@BOTH
def test_msync_of_a_private_mapping_or_of_unmapped_memory_flushes_nothing(model):
    """A private VMA is not synced (its stores are in COW pages anyway); an unmapped range
    is -ENOMEM."""
    m = machine(model, vmas=(PRIVATE,))
    store(m, A(0), 7)
    assert run(m, "msync", addr=A(0), len=PAGE_SIZE).ret == 0
    assert run(m, "msync", addr=A(20), len=PAGE_SIZE).ret == -12
    assert page(m, 0)["durable"] == 11


# --- munmap ------------------------------------------------------------------------------------

@covers("both", "do_munmap:zap", "do_munmap:split_start", "do_munmap:split_end")
@BOTH
def test_munmap_of_a_middle_page_splits_the_vma_and_zaps_it(model):
    """munmap of page 1 of a 4-page VMA: the VMA is split in three, the middle one zapped
    and unlinked from the file's i_mmap; the other pages stay mapped."""
    m = machine(model)
    load(m, A(0))
    load(m, A(1))
    res, br = branches_of(m, "munmap", addr=A(1), len=PAGE_SIZE)
    assert res.ret == 0
    assert took(br, "do_munmap:zap", "do_munmap:split_start", "do_munmap:split_end")
    assert [(v.vm_start, v.vm_end, v.vm_pgoff) for v in m.k.mm.mmap] == [
        (A(0), A(1), 0), (A(2), A(4), 2)]
    assert len(m.mapping.i_mmap) == 2 and pte(m, A(1)).val == 0
    assert pfn_of(m, A(0)) == block_pfn(1)
    assert run(m, "load", addr=A(1)).ret.status is AccessStatus.SIGSEGV
    assert load(m, A(2)).value == 13
    assert leaks(m) == []


@covers("both", "unmap_mapping_range:no_vmas")
@BOTH
def test_an_unmap_of_a_file_nobody_maps_finds_no_vma(model):
    """Load of a hole, munmap of the whole VMA, then pwrite64 over the hole: the
    invalidation's unmap_mapping_range finds no VMA."""
    m = machine(model)
    load(m, A(1))
    run(m, "munmap", addr=A0, len=4 * PAGE_SIZE)
    res, br = branches_of(m, "write", page=1, pages=1, val=40)
    assert took(br, "unmap_mapping_range:no_vmas") and m.k.mm.mmap == []
    assert leaks(m) == []


# --- the list is complete ----------------------------------------------------------------------

_PAGE_CACHE = "v4.14 never puts a page in a DAX mapping (a hole read maps the zero page)"
_RACE = "a race: only another task (issue #13) can change the state between the two points"

UNREACHABLE: dict[str, dict[str, str]] = {}
UNREACHABLE["v4.13"] = {
    "__add_to_page_cache_locked:insert_failed":
        "DAX adds a hole page only in place of its own locked empty entry",
    "page_cache_tree_insert:eexist":
        "DAX adds a hole page only in place of its own locked empty entry",
    "page_cache_tree_insert:empty_slot":
        "DAX adds a hole page only in place of its own locked empty entry",
    "pagecache_get_page:found":
        "dax_load_hole creates a page only when its entry is exceptional (find_get_entry "
        "returns that entry, not a page)",
    "__delete_from_page_cache:still_mapped": "every caller unmaps the page first",
    "alloc_set_pte:busy": _RACE + " (a fault installs the PTE before finish_fault)",
    "dax_insert_mapping_entry:huge_zero_page":
        "no PMD entry exists (the VMAs are smaller than a PMD)",
    "dax_iomap_pte_fault:unexpected_type":
        "a write fault asks ext4 to allocate, which maps the page or fails",
    "dax_mapping_entry_mkclean:other_pfn": _RACE + " (the block reallocated while mapped)",
    "dax_pfn_mkwrite:no_entry": _RACE + " (truncate or punch between the unmap and the fault)",
    "ext4_dax_pfn_mkwrite:beyond_eof": _RACE + " (truncate unmaps beyond the new size first)",
    "dax_unlock_mapping_entry:not_locked": "every unlock follows its lock in one task",
    "dax_writeback_mapping_range:error": "only the writeback errors below make one",
    "dax_writeback_mapping_range:nothing":
        "fsync writes back only with exceptional entries, punch only with a DIRTY tag",
    "dax_writeback_one:page": "no page is ever tagged in a DAX mapping",
    "dax_writeback_one:empty_or_zero": "only block entries are tagged DIRTY",
    "dax_writeback_one:gone": _RACE,
    "dax_writeback_one:reallocated": _RACE,
    "dax_writeback_one:not_towrite": _RACE + " (another fsync wrote it back)",
    "filemap_write_and_wait_range:nothing":
        "punch writes back only a mapping tagged DIRTY, whose tagged entry is exceptional",
    "get_unlocked_mapping_entry:wait":
        "no entry is left locked between ops; only another task can hold one",
    "grab_mapping_entry:page_truncated": _RACE,
    "grab_mapping_entry:raced": _RACE,
    "invalidate_complete_page2:dirty": "hole pages are never dirtied (read-only, replaced)",
    "invalidate_inode_pages2_range:busy_entry":
        "write(2) invalidates only over new blocks, whose entries are never dirty",
    "__dax_invalidate_mapping_entry:dirty":
        "write(2) invalidates only over new blocks, whose entries are never dirty",
    "__dax_invalidate_mapping_entry:no_entry":
        "truncation and invalidation pass the entries they found",
    "invalidate_inode_pages2_range:page_mapped:page":
        "the first mapped page's unmap covers the rest of the range",
    "truncate_inode_page:mapped": "truncate and punch unmap the range first",
    "truncate_inode_pages_range:page_locked": "no page is left locked between ops",
    "truncate_inode_pages_range:second_pass":
        "the first pass leaves nothing; only a concurrent fault refills the range",
}
UNREACHABLE["v4.14"] = {
    **{k: v for k, v in UNREACHABLE["v4.13"].items()
       if k not in ("page_cache_tree_insert:eexist", "page_cache_tree_insert:empty_slot",
                    "__add_to_page_cache_locked:insert_failed", "pagecache_get_page:found",
                    "dax_pfn_mkwrite:no_entry", "ext4_dax_pfn_mkwrite:beyond_eof",
                    "grab_mapping_entry:page_truncated")},
    **{k: _PAGE_CACHE for k in (
        "page_cache_tree_insert:eexist", "page_cache_tree_insert:empty_slot",
        "page_cache_tree_insert:replace_exceptional", "pagecache_get_page:found",
        "pagecache_get_page:created", "pagecache_get_page:alloc_failed",
        "pagecache_get_page:add_failed", "__add_to_page_cache_locked:insert_failed",
        "__add_to_page_cache_locked:preload_failed", "alloc_set_pte:file",
        "grab_mapping_entry:page", "invalidate_inode_pages2_range:page",
        "invalidate_inode_pages2_range:page_mapped:range", "truncate_inode_pages_range:page")},
    "dax_load_hole:sigbus": "dax_insert_mapping_entry returns no error in v4.14",
    "dax_iomap_pte_fault:mapped:ebusy":
        "a write fault inserts with mkwrite (a present entry is reused) and a read fault "
        "reaches the insert only with no entry present",
}


def _declared(module) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "branch" and node.args
                and isinstance(node.args[0], ast.Constant)):
            found.add(node.args[0].value)
    return found


def test_every_branch_id_of_each_dax_model_has_a_test_or_a_stated_reason():
    """Per version: the DAX model's ids and the shared fs ids are covered by a test above or
    listed as unreachable in a sequential run, with the reason; no id is both, none stale."""
    for model in (dax_v4_13, dax_v4_14):
        declared = _declared(model) | _declared(fs)
        covered, unreachable = set(COVERED[model.VERSION]), set(UNREACHABLE[model.VERSION])
        assert sorted(declared - covered - unreachable) == [], model.VERSION
        assert sorted((covered | unreachable) - declared) == [], model.VERSION
        assert sorted(covered & unreachable) == [], model.VERSION

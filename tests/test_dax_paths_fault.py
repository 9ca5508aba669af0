"""The DAX fault path (reads, writes, COW of private mappings, failures), a test a branch."""

from __future__ import annotations

from dax_path_checks import covers, entry, page, tags, took
from dax_scenes import (
    A,
    BOTH,
    DEV,
    PRIVATE,
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
from fuzzplug.kernel import dax_v4_13
from fuzzplug.explore.daxfile import (
    AccessStatus,
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
    pte_dirty,
    pte_write,
)


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

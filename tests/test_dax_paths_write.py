"""write(2) to a DAX file: new blocks, extent by extent, and what it invalidates."""

from __future__ import annotations

from dax_path_checks import covers, entry, page, took
from dax_scenes import (
    A,
    BOTH,
    DEV,
    PRIVATE,
    RAM,
    V13,
    V14,
    block_pfn,
    branches_of,
    load,
    machine,
    pfn_of,
    pte,
    store,
)
from fuzzplug.kernel import fs
from fuzzplug.explore.daxfile import file_view, hole_pages
from fuzzplug.kernel.state import Memmap
from fuzzplug.kernel.types import PAGE_SIZE


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

"""fallocate(PUNCH_HOLE) and ftruncate of a DAX file: what is unmapped, removed and freed."""

from __future__ import annotations

from dax_path_checks import covers, entry, page, tags, took
from dax_scenes import (
    A,
    A0,
    BOTH,
    PRIVATE,
    RAM,
    V13,
    block_pfn,
    branches_of,
    load,
    machine,
    pfn_of,
    pte,
    run,
    store,
)
from fuzzplug.explore.daxfile import AccessStatus, VmaSpec, file_view, hole_pages, leaks


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

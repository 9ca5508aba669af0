"""Durability: what reaches the media (survives a power failure) and when, in both versions.

A store through a mapping lands in the CPU cache (`fuzzplug.runtime.physmem`); only the
write-back of its mapping entry (fsync, msync, a punch's writeback) flushes it; write(2) is
non-temporal and durable at once. The series must not change any of this: v4.13 tags the
entry dirty in dax_pfn_mkwrite, v4.14 in the DAX fault itself.
"""

from __future__ import annotations

from dax_scenes import A, A0, BOTH, PRIVATE, SHARED, SHARED_2, block_pfn, load, machine, run, store
from fuzzplug.explore.daxview import file_view
from fuzzplug.kernel.types import PAGE_SIZE


def durable(m, lblk: int) -> int | None:
    page = file_view(m)["pages"].get(lblk)
    return None if page is None else page["durable"]


def visible(m, lblk: int) -> int | None:
    page = file_view(m)["pages"].get(lblk)
    return None if page is None else page["visible"]


@BOTH
def test_a_store_then_fsync_puts_the_data_in_the_block(model):
    """Store to a block, fsync: the block's media holds the store."""
    m = machine(model)
    store(m, A(0), 7)
    assert durable(m, 0) == 11
    run(m, "fsync")
    assert durable(m, 0) == 7 and visible(m, 0) == 7


@BOTH
def test_a_store_after_a_load_then_fsync_is_durable(model):
    """Load first (a read-only entry), then store (the write-protect fault must dirty the
    entry: v4.13 dax_pfn_mkwrite, v4.14 the DAX fault), then fsync."""
    m = machine(model)
    load(m, A(0))
    store(m, A(0), 7)
    run(m, "fsync")
    assert durable(m, 0) == 7


@BOTH
def test_a_store_to_a_hole_then_fsync_is_durable_in_its_new_block(model):
    """Store to a hole (a new zeroed block), fsync: the new block holds the store."""
    m = machine(model)
    load(m, A(1))
    store(m, A(1), 6)
    assert durable(m, 1) == 0
    run(m, "fsync")
    assert durable(m, 1) == 6


@BOTH
def test_a_store_without_fsync_is_visible_but_not_durable(model):
    """The store is in the CPU cache: a load and the file's visible data show it, the media
    does not."""
    m = machine(model)
    store(m, A(2), 9)
    assert load(m, A(2)).value == 9 and visible(m, 2) == 9 and durable(m, 2) == 13


@BOTH
def test_msync_of_the_stored_range_makes_it_durable(model):
    """msync(MS_SYNC) over the store's page flushes it."""
    m = machine(model)
    store(m, A(0), 7)
    run(m, "msync", addr=A0, len=PAGE_SIZE)
    assert durable(m, 0) == 7


@BOTH
def test_a_write_is_durable_without_fsync(model):
    """pwrite64 copies with non-temporal stores: on the media at once."""
    m = machine(model)
    run(m, "write", page=0, pages=2, val=40)
    assert durable(m, 0) == 40 and durable(m, 1) == 41


@BOTH
def test_a_write_over_a_stored_page_replaces_the_dirty_cache_line(model):
    """Store (dirty line), then pwrite64 of the same page: the non-temporal write drops the
    line; the media and a load show the write."""
    m = machine(model)
    store(m, A(0), 7)
    run(m, "write", page=0, pages=1, val=40)
    assert durable(m, 0) == 40 and load(m, A(0)).value == 40


@BOTH
def test_a_private_store_never_reaches_the_file(model):
    """A MAP_PRIVATE store goes to a COW page; fsync leaves the file as it was."""
    m = machine(model, vmas=(PRIVATE,))
    store(m, A(0), 7)
    run(m, "fsync")
    assert durable(m, 0) == 11 and visible(m, 0) == 11


@BOTH
def test_a_store_then_munmap_then_fsync_is_still_durable(model):
    """The entry stays dirty after the mapping is gone; fsync flushes it (mkclean finds no
    VMA to write-protect)."""
    m = machine(model)
    store(m, A(0), 7)
    run(m, "munmap", addr=A0, len=4 * PAGE_SIZE)
    run(m, "fsync")
    assert durable(m, 0) == 7


@BOTH
def test_a_second_store_after_fsync_needs_a_second_fsync(model):
    """fsync write-protects the entry; the next store faults, dirties it again, and is
    durable only after the next fsync."""
    m = machine(model)
    store(m, A(0), 7)
    run(m, "fsync")
    store(m, A(0), 8)
    assert durable(m, 0) == 7
    run(m, "fsync")
    assert durable(m, 0) == 8


@BOTH
def test_stores_through_two_shared_mappings_are_both_flushed(model):
    """Two shared VMAs store to pages 0 and 1; one fsync flushes both blocks."""
    m = machine(model, vmas=(SHARED, SHARED_2))
    store(m, A(0), 7)
    store(m, A(9), 8)
    run(m, "fsync")
    assert durable(m, 0) == 7 and durable(m, 1) == 8
    assert m.memory.cache == {}
    assert file_view(m)["pages"][1]["block"] == 3 and block_pfn(3) not in m.memory.cache

"""The data model of physical memory (`fuzzplug.runtime.physmem`): RAM, pmem media, CPU cache."""

from __future__ import annotations

from fuzzplug.runtime.physmem import ZEROES, PhysMemory
from fuzzplug.kernel.state import Memmap

MEMMAP = Memmap(ram=(0x10, 0x1F), device=(0x80, 0x8F), zero=0x1)
PMEM, RAM = 0x81, 0x10


def test_a_page_never_written_reads_as_zeroes():
    """RAM and pmem alike."""
    mem = PhysMemory(MEMMAP)
    assert mem.load(RAM) == ZEROES and mem.load(PMEM) == ZEROES


def test_a_store_to_pmem_is_visible_at_once_but_durable_only_after_a_flush():
    """The store sits in the CPU cache: loads see it, the media does not until written back."""
    mem = PhysMemory(MEMMAP)
    mem.store(PMEM, 5)
    assert mem.load(PMEM) == 5 and mem.durable(PMEM) == ZEROES
    assert mem.flush(PMEM) is True
    assert mem.durable(PMEM) == 5 and mem.cache == {}
    assert mem.flush(PMEM) is False


def test_a_non_temporal_write_reaches_the_media_and_drops_a_dirty_line():
    """write(2) on DAX (copy_from_iter_flushcache): media updated, the older dirty line gone."""
    mem = PhysMemory(MEMMAP)
    mem.store(PMEM, 5)
    mem.write_nt(PMEM, 6)
    assert mem.load(PMEM) == 6 and mem.durable(PMEM) == 6 and mem.cache == {}


def test_a_copy_reads_through_the_cache_and_a_clear_writes_zeroes():
    """copy_user_page() sees the dirty line; clear_user_highpage() zeroes."""
    mem = PhysMemory(MEMMAP)
    mem.store(PMEM, 3)
    mem.copy_page(RAM, PMEM)
    assert mem.load(RAM) == 3
    mem.clear_page(RAM)
    assert mem.load(RAM) == ZEROES


def test_a_store_to_the_zero_page_is_kept_and_reported():
    """Every later reader of the zero page would see it."""
    mem = PhysMemory(MEMMAP)
    mem.store(MEMMAP.zero, 4)
    assert mem.load(MEMMAP.zero) == 4 and mem.zero_page_stores == [4]

"""fsync and msync of a DAX file: writeback, cache flushes and write-protected PTEs."""

from __future__ import annotations

from dax_path_checks import covers, page, tags, took
from dax_scenes import (
    A,
    A0,
    BOTH,
    PRIVATE,
    PRIVATE_2,
    SHARED,
    SHARED_2,
    branches_of,
    load,
    machine,
    ok,
    pte,
    run,
    store,
)
from fuzzplug.explore.daxfile import VmaSpec
from fuzzplug.kernel.types import PAGE_SIZE, pte_dirty, pte_write


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

"""The series' intended effects, seen on both models; and the divergences beyond them that the
models already show (candidates for the dax_fault target's known findings).

Intended (each rests on a sentence of the series, see the dax_fault design note):
a hole read maps the shared zero page and allocates no page (v4.13 allocates a page-cache
page); a write fault on a block gets its writable, dirty entry from the mkwrite insertion
in one fault (v4.13 takes a second, write-protect fault through dax_pfn_mkwrite); the
filesystem's pfn_mkwrite is the DAX fault handler; a zero page that gives way to a block is
unmapped. What a user reads and what reaches the file are the same in both.
"""

from __future__ import annotations

from dax_scenes import (
    A,
    BOTH,
    MODELS,
    PRIVATE_2,
    RAM,
    SHARED,
    SHARED_2,
    ZERO,
    block_pfn,
    load,
    machine,
    ok,
    pfn_of,
    pte,
    run,
    store,
)
from fuzzplug.kernel import dax_v4_13, dax_v4_14
from fuzzplug.explore.daxfile import Access, AccessStatus, run_op
from fuzzplug.explore.daxview import (
    file_view,
    hole_pages,
    leaks,
    mapping_view,
    observable_events,
)
from fuzzplug.kernel.state import Arch
from fuzzplug.kernel.types import PAGE_SIZE, pte_dirty, pte_write, pte_young


def both(fn, *args, **kwargs):
    """Boot the same scene on v4.13 and v4.14 and run `fn(m)` on each: (v4.13, v4.14)."""
    out = []
    for model in MODELS:
        m = machine(model, *args, **kwargs)
        out.append((m, fn(m)))
    return out


# --- intended effects -----------------------------------------------------------------------------

def test_a_hole_read_maps_the_zero_pfn_in_v4_14_and_a_new_page_cache_page_in_v4_13():
    """Same value (zeroes), same fault count; v4.13 allocates and caches a page (one more
    MM_FILEPAGES), v4.14 maps the zero pfn with a zero-page entry and allocates nothing."""
    (m13, a13), (m14, a14) = both(lambda m: load(m, A(1)))
    assert a13 == a14 and a13.value == 0
    assert pfn_of(m13, A(1)) == RAM and pfn_of(m14, A(1)) == ZERO
    assert hole_pages(m13) == {RAM: {"refcount": 2, "mapcount": 1, "in_mapping": True}}
    assert hole_pages(m14) == {}
    assert mapping_view(m13)["entries"][1] == {"kind": "page", "pfn": RAM}
    assert mapping_view(m14)["entries"][1]["kind"] == "zero"
    assert m13.k.snapshot()["counters"]["MM_FILEPAGES"] == 1
    assert m14.k.snapshot()["counters"]["MM_FILEPAGES"] == 0


def test_a_write_fault_on_a_block_is_one_fault_in_v4_14_and_two_in_v4_13_with_the_same_end():
    """A store to a block nobody has mapped: v4.13 maps it read-only, then the write-protect
    fault (dax_pfn_mkwrite) makes it writable; v4.14 inserts it young, dirty and writable at
    once. The entry (dirty), the PTE and the data end the same."""
    (m13, a13), (m14, a14) = both(lambda m: store(m, A(0), 5))
    assert ok(a13, faults=2) and ok(a14, faults=1)
    assert pte(m13, A(0)) == pte(m14, A(0))
    e = pte(m14, A(0))
    assert pte_write(e) and pte_dirty(e) and pte_young(e) and pfn_of(m14, A(0)) == block_pfn(1)
    assert mapping_view(m13) == mapping_view(m14)
    assert file_view(m13) == file_view(m14)


def test_v4_14_routes_pfn_mkwrite_to_the_dax_fault_handler():
    """ext4_dax_vm_ops: v4.13 pfn_mkwrite = ext4_dax_pfn_mkwrite, v4.14 = ext4_dax_fault."""
    assert dax_v4_13.ext4_dax_vm_ops.pfn_mkwrite is dax_v4_13.ext4_dax_pfn_mkwrite
    assert dax_v4_14.ext4_dax_vm_ops.pfn_mkwrite is dax_v4_14.ext4_dax_fault
    assert not hasattr(dax_v4_14, "dax_pfn_mkwrite") and not hasattr(dax_v4_14,
                                                                    "ext4_dax_pfn_mkwrite")


def test_a_store_after_a_hole_read_unmaps_the_zero_page_in_v4_14():
    """Load then store at a hole, with a second shared VMA that also read it: v4.14 unmaps
    the zero page from both VMAs when the block replaces it (v4.13 unmaps and frees the hole
    page); both end with the block writable in the storing VMA and unmapped in the other;
    the other VMA then reads the new data."""
    def scene(m):
        load(m, A(1))
        load(m, A(9))
        return store(m, A(1), 6)

    (m13, a13), (m14, a14) = both(scene, vmas=(SHARED, SHARED_2))
    assert ok(a13, faults=2) and ok(a14, faults=1)
    for m in (m13, m14):
        assert pfn_of(m, A(1)) == block_pfn(3) and pte(m, A(9)).val == 0
        assert load(m, A(9)).value == 6
    assert m14.memory.zero_page_stores == []
    assert hole_pages(m13) == {RAM: {"refcount": 0, "mapcount": 0, "in_mapping": False}}


def test_a_write_over_a_hole_a_vma_maps_unmaps_it_in_both():
    """pwrite64 over a hole that a VMA read: v4.13 unmaps the hole page and drops it from
    the cache; v4.14 deletes the zero-page entry and unmaps the zero page; the next load
    sees the written data in both."""
    def scene(m):
        load(m, A(1))
        return run(m, "write", page=1, pages=1, val=40).ret

    (m13, r13), (m14, r14) = both(scene)
    assert r13 == r14 == PAGE_SIZE
    for m in (m13, m14):
        assert pte(m, A(1)).val == 0 and 1 not in mapping_view(m)["entries"]
        assert load(m, A(1)).value == 40
    assert hole_pages(m13)[RAM]["refcount"] == 0 and hole_pages(m14) == {}


def test_what_users_read_and_what_the_file_holds_are_the_same_in_both():
    """A mixed sequence through a shared and a private VMA (loads, stores, write, punch,
    truncate, fsync): every load returns the same value and the file (visible and durable
    data) ends the same."""
    ops = [("load", {"addr": A(1)}), ("store", {"addr": A(1), "val": 5}),
           ("load", {"addr": A(8)}), ("store", {"addr": A(9), "val": 6}),
           ("write", {"page": 2, "pages": 2, "val": 40}), ("load", {"addr": A(10)}),
           ("fsync", {}), ("store", {"addr": A(0), "val": 7}),
           ("punch_hole", {"page": 2, "pages": 1}), ("load", {"addr": A(2)}),
           ("truncate", {"pages": 3}), ("load", {"addr": A(3)})]
    seen = []
    for model in MODELS:
        m = machine(model, vmas=(SHARED, PRIVATE_2))
        values = []
        for name, args in ops:
            res = run_op(m, name, **args)
            assert res.stop is None
            values.append(res.ret.value if hasattr(res.ret, "value") else res.ret)
        assert leaks(m) == []
        seen.append((values, file_view(m)))
    assert seen[0] == seen[1]


# --- divergences beyond the intended effects (candidate known findings) ---------------------------

def test_v4_14_ignores_a_failed_zero_page_insert_and_retries_where_v4_13_reports_oom():
    """The PTE-table allocation of a hole read fails once: v4.13's finish_fault returns
    VM_FAULT_OOM (the OOM path); v4.14's dax_load_hole ignores vm_insert_mixed()'s -ENOMEM,
    returns VM_FAULT_NOPAGE, and the retried access succeeds (2 faults)."""
    m13 = machine(dax_v4_13)
    run(m13, "fail_alloc", nth=6)  # PUD, PMD, preload, the hole page, its preload, PTE table
    m14 = machine(dax_v4_14)
    run(m14, "fail_alloc", nth=4)  # PUD, PMD, preload, PTE table
    a13, a14 = load(m13, A(1)), load(m14, A(1))
    assert a13.status is AccessStatus.OOM and ok(a14, faults=2) and a14.value == 0


def test_v4_14_strands_a_ppc64_hpte_with_set_pte_at_and_the_store_then_faults_forever():
    """ppc64 hash: the store after a load reuses the present read-only entry in insert_pfn's
    mkwrite path and stores it with set_pte_at(), whose check warns on a present entry
    (DEBUG_VM) and whose set_pte_filter() drops H_PAGE_HASHPTE: the HPTE the load hashed in
    is left with no linux PTE tracking it, and update_mmu_cache()'s preload adds a second
    HPTE for the address (with or without DEBUG_VM). The re-executed store finds the stale
    read-only HPTE first and every hash fault updates only the tracked one: a LIVELOCK after
    the one page fault. v4.13's write-protect fault uses ptep_set_access_flags(), which
    keeps the hash bits, and its store completes. (Upstream cae85cb8add3, "mm/memory.c: fix
    modifying of page protection by insert_pfn()".)"""
    stale = [("bad_hpte", "set_pte_at"), ("bad_hpte", "__hash_page_4K")]
    for debug_vm, warn in ((True, [("warn", "set_pte_at")]), (False, [])):
        m13, m14 = (machine(model, arch=Arch.ppc64, DEBUG_VM=debug_vm) for model in MODELS)
        load(m13, A(0))
        load(m14, A(0))
        e13, e14 = len(m13.k.events), len(m14.k.events)
        assert ok(store(m13, A(0), 5), faults=1)
        assert observable_events(m13, e13) == []
        assert store(m14, A(0), 5) == Access(AccessStatus.LIVELOCK, None, 1)
        assert observable_events(m14, e14) == warn + stale + [("bad_hpte", "hash_page")]

"""The page allocator of the DAX runs hands freed page-cache pages out again
(`fuzzplug.kernel.mm.free_hot_cold_page`, `fuzzplug.kernel.fs.__page_cache_alloc`): v4.13's
hole pages, freed when a block replaces the hole or the hole is punched, are reused, the
page freed last first, as the kernel's per-cpu list gives them."""

from __future__ import annotations

from dax_scenes import RAM, A, V13, load, machine, ok, pfn_of, run, store
from fuzzplug.explore.daxfile import AccessStatus
from fuzzplug.explore.daxview import check_invariants, hole_pages, leaks, mapping_view
from fuzzplug.kernel import dax_v4_13
from fuzzplug.kernel.mm import pfn_to_page, put_page
from fuzzplug.kernel.state import Config, EventKind, Kernel, Memmap, VmOps
from fuzzplug.kernel.types import pgprot_t

ONE_RAM_PAGE = Memmap(ram=(RAM, RAM))
TWO_RAM_PAGES = Memmap(ram=(RAM, RAM + 1))
HOLES = (None, None, None, None)


@V13
def test_a_hole_page_freed_by_a_store_is_the_next_hole_page(model):
    """With one RAM page: a hole read takes it, a store to that hole frees it, and the next
    hole read gets the same page back, zeroed, with a fresh struct page state."""
    m = machine(model, layout=HOLES, memmap=ONE_RAM_PAGE)
    assert ok(load(m, A(0))) and pfn_of(m, A(0)) == RAM
    assert ok(store(m, A(0), 0x55))
    assert hole_pages(m) == {RAM: {"refcount": 0, "mapcount": 0, "in_mapping": False}}
    assert [p.pfn for p in m.k.pcp_list] == [RAM]
    access = load(m, A(1))
    assert ok(access) and access.value == 0 and pfn_of(m, A(1)) == RAM
    assert m.k.pcp_list == []
    p = m.k.pages[RAM]
    assert (p._refcount, p._mapcount, p.mapping, p.dirty) == (2, 1, m.mapping, False)
    assert mapping_view(m)["entries"][1] == {"kind": "page", "pfn": RAM}
    assert leaks(m) == [] and check_invariants(m) == []


@V13
def test_without_reuse_the_second_hole_read_would_find_ram_used_up(model):
    """The same run with the freed page kept off the list (no reuse): the second
    hole read is OOM. The reuse is what makes the test above pass."""
    m = machine(model, layout=HOLES, memmap=ONE_RAM_PAGE)
    load(m, A(0))
    store(m, A(0), 0x55)
    m.k.pcp_list.clear()
    assert load(m, A(1)).status is AccessStatus.OOM


@V13
def test_the_page_freed_last_is_handed_out_first(model):
    """Two hole pages freed by a punch of both holes, page 0 then page 1: the next hole
    read gets page 1's (list_add at the head, list_first_entry on allocation)."""
    m = machine(model, layout=HOLES, memmap=TWO_RAM_PAGES)
    load(m, A(0))
    load(m, A(1))
    first, second = pfn_of(m, A(0)), pfn_of(m, A(1))
    assert {first, second} == {RAM, RAM + 1}
    run(m, "punch_hole", page=0, pages=2)
    assert [p.pfn for p in m.k.pcp_list] == [second, first]
    load(m, A(2))
    assert pfn_of(m, A(2)) == second


@V13
def test_a_reused_page_is_zeroed_because_the_hole_read_asks_for_gfp_zero(model):
    """dax_load_hole() allocates with __GFP_ZERO: whatever a freed page held, the next hole
    read of it loads zero."""
    m = machine(model, layout=HOLES, memmap=ONE_RAM_PAGE)
    load(m, A(0))
    m.memory.store(RAM, 0x77)  # the page's data, as a kernel user of a freed page might leave it
    run(m, "punch_hole", page=0, pages=1)
    assert m.memory.load(RAM) == 0x77
    assert load(m, A(1)).value == 0


@V13
def test_under_debug_vm_a_page_freed_while_mapped_is_a_bad_page_and_not_reused(model):
    """free_pages_check() under DEBUG_VM: when the last reference of a page still mapped
    goes (references dropped by hand here: no modelled path does it), bad_page() prints
    "BUG: Bad page state" and the page stays off the free list."""
    m = machine(model, layout=HOLES, memmap=ONE_RAM_PAGE, DEBUG_VM=True)
    load(m, A(0))
    p = m.k.pages[RAM]
    while p._refcount > 1:
        put_page(m.k, p)
    p.mapping = None
    put_page(m.k, p)
    assert m.k.pcp_list == []
    assert any(e.kind is EventKind.WARN and e.function == "bad_page" for e in m.k.events)


def test_an_insert_pfn_kernel_has_no_free_list_and_reuses_nothing():
    """The insert_pfn target's kernels have no free list (RAM pages are the mapped
    object's): put_page to zero leaves the page where it was, flags and all."""
    k = Kernel(Config(), Memmap(), vm_start=0x100000, vm_end=0x104000, vm_flags=0,
               vm_ops=VmOps(0), vm_pgoff=0, vm_page_prot=pgprot_t(0))
    p = pfn_to_page(k, 0x10)
    p.referenced = True
    put_page(k, p)
    assert k.pcp_list is None and p._refcount == 0 and p.referenced


def test_the_dax_models_run_on_a_kernel_with_a_free_list():
    """Booting a DAX scene gives the kernel its (empty) free list."""
    assert machine(dax_v4_13).k.pcp_list == []

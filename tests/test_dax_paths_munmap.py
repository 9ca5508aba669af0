"""munmap of a DAX mapping, and the unmapping of a file that nobody maps."""

from __future__ import annotations

from dax_path_checks import covers, took
from dax_scenes import A, A0, BOTH, block_pfn, branches_of, load, machine, pfn_of, pte, run
from fuzzplug.explore.daxfile import AccessStatus, leaks
from fuzzplug.kernel.types import PAGE_SIZE


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

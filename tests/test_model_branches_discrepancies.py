"""The smaller discrepancies: a memmap-hole pfn, filemap_page_mkwrite(), exec-only loads."""

from __future__ import annotations

import model_cases as mc
from fuzzplug.kernel.types import (
    _PAGE_DEVMAP,
    _PAGE_NX,
    _PAGE_SPECIAL,
    VM_FAULT_NOPAGE,
    VM_FAULT_SIGSEGV,
)
from model_branch_helpers import (
    A0,
    BOTH,
    DEV,
    RAM,
    RO,
    covers,
    entry,
    in_a_row,
    observable,
    page_state,
)


@covers("vm_normal_page:check_pfn:memmap_hole")
@BOTH
def test_a_non_special_pte_of_a_pfn_in_a_memmap_hole_is_trusted_and_oopses(model):
    """check_pfn tests only pfn > highest_memmap_pfn: a pfn below it without a struct page
    is handed to pfn_to_page(), whose pointer is into unmapped vmemmap: the zap oopses
    (no bad-PTE report)."""
    k = mc.zap_of_a_normal_entry_in_a_memmap_hole(model)
    c = mc.last_call(k)
    assert c.ret == "BUG"
    assert c.branches[-1] == "vm_normal_page:check_pfn:memmap_hole"
    assert observable(c.events) == [("bug", "vm_normal_page")]


@covers("filemap_page_mkwrite:not_this_file")
@BOTH
def test_filemap_page_mkwrite_of_a_page_not_of_the_file_returns_nopage_without_dirtying(model):
    """page->mapping != inode->i_mapping (a ZONE_DEVICE page has none in v4.13): unlock,
    VM_FAULT_NOPAGE; wp_page_shared() drops its reference; nothing dirtied, entry as it was."""
    k = mc.write_fault_on_a_device_page_with_page_mkwrite(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_NOPAGE
    assert in_a_row(c.branches, "filemap_page_mkwrite:not_this_file",
                    "do_page_mkwrite:error_or_nopage", "wp_page_shared:page_mkwrite:failed")
    assert not mc.page_at(k, DEV).dirty
    assert page_state(k, DEV) == (1, 0)
    assert mc.pte_at(k, A0) == entry(DEV, RO | _PAGE_DEVMAP)


@covers("filemap_page_mkwrite:dirty")
@BOTH
def test_filemap_page_mkwrite_of_a_page_of_the_file_dirties_it_and_returns_it_locked(model):
    """page->mapping is the file's: set_page_dirty(), VM_FAULT_LOCKED."""
    k = mc.write_fault_on_a_shared_file_page_with_page_mkwrite(model)
    c = mc.last_call(k)
    assert in_a_row(c.branches, "filemap_page_mkwrite:dirty", "do_page_mkwrite:locked")
    assert mc.page_at(k, RAM).dirty


@BOTH
def test_arm64_refuses_a_load_of_an_exec_only_vma_where_x86_lets_it_through(model):
    """arm64's __do_page_fault() wants VM_READ|VM_WRITE for a load; x86's access_error()
    takes VM_EXEC too, and the entry it maps is PAGE_READONLY_EXEC (no NX)."""
    k = mc.read_of_an_exec_only_vma_on_arm64(model)
    c = mc.last_call(k)
    assert c.ret == VM_FAULT_SIGSEGV
    assert c.branches == ("mmu_access:arm64:translation_fault", "do_user_fault:access_error")
    k = mc.read_of_an_exec_only_vma_on_x86(model)
    assert mc.last_call(k).ret == VM_FAULT_NOPAGE
    assert mc.pte_at(k, A0) == entry(DEV, RO & ~_PAGE_NX | _PAGE_SPECIAL | _PAGE_DEVMAP)

"""Branch by branch, the v5.0-era models of the insert_pfn_pmd chain: each test drives one
branch of a modelled kernel function and asserts its effect (the function and file are
named in each docstring)."""

from __future__ import annotations

from fuzzplug.kernel import (
    v5_0,
    v5_0_c6f3c5ee40c1,
    v5_0_c6f3c5ee40c1_fce86ff5802b,
    v5_0_c6f3c5ee40c1_v1,
)
from fuzzplug.kernel.huge_state import HUGE_ZERO_PFN, HugeKernel, dax_file, dax_region
from fuzzplug.kernel.huge_types import PMD_SIZE, PUD_SIZE, pfn_t_pmd, pmd_mkhuge, pmd_pfn
from fuzzplug.kernel.huge_v5_0 import check_mm, do_user_access, exit_mmap
from fuzzplug.kernel.huge_arch import set_pmd_at
from fuzzplug.kernel.huge_state import pmd_offset
from fuzzplug.kernel.state import Arch, Config, EventKind, Oops
from fuzzplug.kernel.types import (
    _PAGE_DIRTY,
    _PAGE_RW,
    PAGE_READONLY,
    PAGE_SHARED,
    VM_FAULT_NOPAGE,
    VM_FAULT_OOM,
    VM_FAULT_SIGBUS,
    VM_MAYREAD,
    VM_MAYWRITE,
    VM_READ,
    VM_SHARED,
    VM_WRITE,
    pfn_t,
)

START, END = 0x40000000, 0xC0000000
ADDR = 0x40201000  # page aligned, not PMD aligned
FLAGS = VM_READ | VM_WRITE | VM_SHARED | VM_MAYREAD | VM_MAYWRITE


def fsdax(model, arch=Arch.x86_64, debug=False, **file) -> HugeKernel:
    return HugeKernel(Config(arch=arch, DEBUG_VM=debug), model, vm_start=START, vm_end=END,
                      vm_flags=FLAGS, vm_pgoff=0, vm_page_prot=PAGE_READONLY,
                      file=dax_file(nr_pages=(END - START) >> 12, **file))


def devdax(model, align=PMD_SIZE, arch=Arch.x86_64, debug=False) -> HugeKernel:
    return HugeKernel(Config(arch=arch, DEBUG_VM=debug), model, vm_start=START, vm_end=END,
                      vm_flags=FLAGS, vm_pgoff=0, vm_page_prot=PAGE_SHARED,
                      region=dax_region(align=align))


def kinds(k: HugeKernel, kind: EventKind) -> list[str]:
    return [e.function for e in k.events if e.kind is kind]


def test_a_read_fault_on_fs_dax_maps_a_read_only_huge_pmd():
    """fs/dax.c dax_iomap_pmd_fault → mm/huge_memory.c insert_pfn_pmd: a read-only,
    devmap huge entry of the file's pfn at the PMD."""
    k = fsdax(v5_0)
    assert do_user_access(k, ADDR, False) == VM_FAULT_NOPAGE
    entry = k.mm5.pmds[ADDR >> 21]
    assert "dax_iomap_pmd_fault:insert" in k.branches
    assert not entry.val & _PAGE_RW
    assert "DEVMAP" in entry.to_json()["flags"] and "PSE" in entry.to_json()["flags"]


def test_v5_0_overwrites_a_present_pmd_with_set_pmd_at():
    """v5.0 insert_pfn_pmd (mm/huge_memory.c): the write fault stores a new entry over the
    present one; ppc64's set_pmd_at warns under DEBUG_VM."""
    k = fsdax(v5_0, Arch.ppc64_radix, debug=True)
    do_user_access(k, ADDR, False)
    do_user_access(k, ADDR, True)
    assert "insert_pfn_pmd:present" not in k.branches
    assert kinds(k, EventKind.WARN) == ["set_pmd_at", "set_pte_at"]
    assert k.mm5.pmds[ADDR >> 21].val & _PAGE_RW


def test_v5_0_on_ppc64_hash_deposits_twice_and_check_mm_reports_it():
    """v5.0 insert_pfn_pmd's second pgtable_trans_huge_deposit and mm_inc_nr_ptes; at exit
    kernel/fork.c check_mm prints "BUG: non-zero pgtables_bytes on freeing mm"."""
    k = fsdax(v5_0, Arch.ppc64)
    do_user_access(k, ADDR, False)
    do_user_access(k, ADDR, True)
    assert "pgtable_trans_huge_deposit:hash:slot_overwritten" in k.branches
    exit_mmap(k.mm5)
    assert kinds(k, EventKind.ALERT) == ["check_mm"]
    assert k.mm5.pgtables_bytes == 4096


def test_the_v1_posting_updates_a_present_pmd_and_leaks_the_preallocated_table():
    """v1 insert_pfn_pmd: the same-pfn write goes through pmdp_set_access_flags and
    returns without depositing or freeing the table vmf_insert_pfn_pmd preallocated."""
    k = fsdax(v5_0_c6f3c5ee40c1_v1, Arch.ppc64)
    do_user_access(k, ADDR, False)
    do_user_access(k, ADDR, True)
    assert "insert_pfn_pmd:present:write:same_pfn" in k.branches
    assert len(k.mm5.pgtables_live) == 2 and k.mm5.pgtables_bytes == 4096
    exit_mmap(k.mm5)
    assert kinds(k, EventKind.ALERT) == []
    assert len(k.mm5.pgtables_live) == 1  # the leaked table


def test_c6f3c5ee40c1_frees_the_table_it_did_not_deposit():
    """c6f3c5ee40c1 insert_pfn_pmd: `if (pgtable) pte_free(mm, pgtable)` at out_unlock."""
    k = fsdax(v5_0_c6f3c5ee40c1, Arch.ppc64)
    do_user_access(k, ADDR, False)
    do_user_access(k, ADDR, True)
    assert len(k.mm5.pgtables_live) == 1
    exit_mmap(k.mm5)
    assert len(k.mm5.pgtables_live) == 0 and k.mm5.pgtables_bytes == 0


def test_c6f3c5ee40c1_on_x86_debug_vm_hits_the_alignment_vm_bug():
    """arch/x86/mm/pgtable.c pmdp_set_access_flags: VM_BUG_ON(address & ~HPAGE_PMD_MASK)
    on the page-aligned fault address c6f3c5ee40c1's callers pass."""
    k = fsdax(v5_0_c6f3c5ee40c1, Arch.x86_64, debug=True)
    do_user_access(k, ADDR, False)
    try:
        do_user_access(k, ADDR, True)
        raised = False
    except Oops as oops:
        raised = oops.function == "pmdp_set_access_flags"
    assert raised
    assert kinds(k, EventKind.BUG) == ["pmdp_set_access_flags"]


def test_fce86ff5802b_passes_the_pmd_aligned_address():
    """fce86ff5802b vmf_insert_pfn_pmd: `addr = vmf->address & PMD_MASK`; no VM_BUG_ON, the
    entry becomes young, dirty and writable."""
    k = fsdax(v5_0_c6f3c5ee40c1_fce86ff5802b, Arch.x86_64, debug=True)
    do_user_access(k, ADDR, False)
    assert do_user_access(k, ADDR, True) == VM_FAULT_NOPAGE
    entry = k.mm5.pmds[ADDR >> 21]
    assert entry.val & _PAGE_RW and entry.val & _PAGE_DIRTY
    assert kinds(k, EventKind.BUG) == []


def test_a_pfn_mismatch_over_a_present_pmd_warns_unless_it_is_the_huge_zero_pmd():
    """c6f3c5ee40c1 insert_pfn_pmd: `WARN_ON_ONCE(!is_huge_zero_pmd(*pmd))` for a write of
    another pfn; the entry is left alone."""
    k = devdax(v5_0_c6f3c5ee40c1)
    pmd = pmd_offset(k.mm5, ADDR)
    set_pmd_at(k.mm5, ADDR & ~(PMD_SIZE - 1), pmd, pmd_mkhuge(pfn_t_pmd(pfn_t(0x12345 << 9),
                                                                         PAGE_READONLY)))
    before = pmd[0]
    do_user_access(k, ADDR, True, unlocked_none=True)
    assert "insert_pfn_pmd:present:write:pfn_mismatch" in k.branches
    assert kinds(k, EventKind.WARN) == ["insert_pfn_pmd"]
    assert pmd[0] == before


def test_a_hole_read_maps_the_huge_zero_pmd_and_a_write_unmaps_it_first():
    """fs/dax.c dax_pmd_load_hole (the huge zero page), then dax_insert_entry's
    unmap_mapping_pages before the mapped entry is inserted."""
    k = fsdax(v5_0_c6f3c5ee40c1)
    k.file.holes = set(range(1024))
    do_user_access(k, ADDR, False)
    assert pmd_pfn(k.mm5.pmds[ADDR >> 21]) == HUGE_ZERO_PFN
    do_user_access(k, ADDR, True)
    assert "dax_insert_entry:unmap_zero_page" in k.branches
    assert pmd_pfn(k.mm5.pmds[ADDR >> 21]) != HUGE_ZERO_PFN
    assert k.file.inode_dirty


def test_device_dax_with_1g_alignment_maps_a_huge_pud_on_x86_and_sigbus_on_ppc64():
    """drivers/dax/device.c __dev_dax_pud_fault (x86-64 only; the stub elsewhere), then
    __dev_dax_pmd_fault's `fault_size < align`: SIGBUS."""
    k = devdax(v5_0, PUD_SIZE)
    assert do_user_access(k, ADDR, False) == VM_FAULT_NOPAGE
    assert ADDR >> 30 in k.mm5.puds
    k = devdax(v5_0, PUD_SIZE, Arch.ppc64_radix)
    assert do_user_access(k, ADDR, False) == VM_FAULT_SIGBUS
    assert kinds(k, EventKind.SIGNAL) == ["do_page_fault"]


def test_a_failed_table_preallocation_is_vm_fault_oom_on_ppc64_hash():
    """vmf_insert_pfn_pmd: pte_alloc_one() fails → VM_FAULT_OOM, nothing inserted."""
    k = fsdax(v5_0, Arch.ppc64)
    k.fail_nth_alloc(2)  # the PMD table, then the preallocated page table
    assert do_user_access(k, ADDR, False) == VM_FAULT_OOM
    assert k.mm5.pmds == {}


def test_check_mm_is_silent_when_the_accounting_is_zero():
    """kernel/fork.c check_mm: no report for pgtables_bytes == 0."""
    k = fsdax(v5_0)
    check_mm(k.mm5)
    assert kinds(k, EventKind.ALERT) == []


def test_a_map_sync_write_fault_inserts_through_dax_insert_pfn_mkwrite_after_fsync():
    """fs/dax.c dax_iomap_pmd_fault: a synchronous write (VM_SYNC, IOMAP_F_DIRTY) returns
    VM_FAULT_NEEDDSYNC; ext4_dax_huge_fault → dax_finish_sync_fault fsyncs and
    dax_insert_pfn_mkwrite inserts the entry writable."""
    k = fsdax(v5_0_c6f3c5ee40c1_fce86ff5802b, inode_dirty=True)
    k.vm_sync = True
    assert do_user_access(k, ADDR, True) == VM_FAULT_NOPAGE
    assert ["dax_iomap_pmd_fault:needdsync", "ext4_dax_huge_fault:dax_finish_sync_fault",
            "dax_insert_pfn_mkwrite:pmd"] == [b for b in k.branches if b.startswith(
                ("dax_iomap_pmd_fault:needdsync", "ext4_dax_huge_fault:", "dax_insert_pfn_mkwrite"))]
    assert not k.file.inode_dirty
    assert k.mm5.pmds[ADDR >> 21].val & _PAGE_RW


def test_a_fault_on_a_present_writable_pmd_sets_it_young_at_the_aligned_address():
    """mm/memory.c __handle_mm_fault → mm/huge_memory.c huge_pmd_set_accessed:
    pmdp_set_access_flags at `vmf->address & HPAGE_PMD_MASK` (no VM_BUG_ON on x86 with
    DEBUG_VM, even in c6f3c5ee40c1)."""
    from fuzzplug.kernel.huge_v5_0 import handle_mm_fault
    from fuzzplug.kernel.types import FAULT_FLAG_WRITE

    k = devdax(v5_0_c6f3c5ee40c1, debug=True)
    do_user_access(k, ADDR, False)
    assert handle_mm_fault(k.vma, ADDR, FAULT_FLAG_WRITE) == 0
    assert "__handle_mm_fault:pmd:huge_pmd_set_accessed" in k.branches
    assert k.mm5.pmds[ADDR >> 21].val & _PAGE_DIRTY
    assert kinds(k, EventKind.BUG) == []


def test_a_private_device_dax_mapping_is_sigbus():
    """drivers/dax/device.c check_vma: "fail, attempted private mapping"."""
    k = devdax(v5_0)
    k.vma.vm_flags &= ~VM_SHARED
    assert do_user_access(k, ADDR, False) == VM_FAULT_SIGBUS
    assert "check_vma:private_mapping" in k.branches

"""Branch by branch, the v5.0-era architecture hooks of huge entries
(`fuzzplug/kernel/huge_arch.py`): each test drives one branch and asserts its effect."""

from __future__ import annotations

import pytest

from fuzzplug.kernel import v5_0
from fuzzplug.kernel.huge_arch import (
    arch_needs_pgtable_deposit,
    mmu_access_huge,
    pgtable_trans_huge_deposit,
    pgtable_trans_huge_withdraw,
    pmdp_huge_get_and_clear_full,
    pmdp_set_access_flags,
    pudp_set_access_flags,
    set_pmd_at,
)
from fuzzplug.kernel.huge_state import HugeKernel, dax_region, pmd_offset, pud_offset
from fuzzplug.kernel.huge_types import (
    PMD_SIZE,
    pfn_t_pmd,
    pfn_t_pud,
    pmd_mkdevmap,
    pmd_mkdirty,
    pmd_mkhuge,
    pmd_mkwrite,
    pmd_mkyoung,
    pmd_t,
    pud_mkhuge,
)
from fuzzplug.kernel.state import Arch, Config, EventKind, Oops
from fuzzplug.kernel.types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_RW,
    H_PAGE_HASHPTE,
    PAGE_READONLY,
    VM_READ,
    VM_SHARED,
    VM_WRITE,
    pfn_t,
)

ADDR = 0x40200000


def kernel(arch: Arch, debug: bool = False) -> HugeKernel:
    return HugeKernel(Config(arch=arch, DEBUG_VM=debug), v5_0, vm_start=0x40000000,
                      vm_end=0xC0000000, vm_flags=VM_READ | VM_WRITE | VM_SHARED,
                      vm_pgoff=0, vm_page_prot=PAGE_READONLY,
                      region=dax_region(align=PMD_SIZE))


def huge(pfn: int = 0x100200) -> pmd_t:
    return pmd_mkdevmap(pmd_mkhuge(pfn_t_pmd(pfn_t(pfn), PAGE_READONLY)))


def warns(k: HugeKernel) -> list[str]:
    return [e.function for e in k.events if e.kind is EventKind.WARN]


@pytest.mark.parametrize("arch,needs", [(Arch.x86_64, False), (Arch.ppc64, True),
                                        (Arch.ppc64_radix, False)])
def test_only_the_hash_mmu_needs_a_deposited_table(arch, needs):
    """asm/book3s/64/pgtable.h arch_needs_pgtable_deposit(): !radix_enabled(); the generic
    one (x86-64) is false."""
    assert arch_needs_pgtable_deposit(kernel(arch)) is needs


def test_x86_set_pmd_at_over_a_present_entry_is_a_silent_store():
    """arch/x86 set_pmd_at(): native_set_pmd, no check."""
    k = kernel(Arch.x86_64, debug=True)
    pmd = pmd_offset(k.mm5, ADDR)
    set_pmd_at(k.mm5, ADDR, pmd, huge())
    set_pmd_at(k.mm5, ADDR, pmd, huge(0x100400))
    assert warns(k) == [] and pmd[0] == huge(0x100400)


def test_ppc64_set_pmd_at_over_a_present_entry_warns_only_under_debug_vm():
    """pgtable-book3s64.c set_pmd_at() and pgtable.c set_pte_at(): two DEBUG_VM WARNs."""
    for debug, expected in ((False, []), (True, ["set_pmd_at", "set_pte_at"])):
        k = kernel(Arch.ppc64_radix, debug)
        pmd = pmd_offset(k.mm5, ADDR)
        set_pmd_at(k.mm5, ADDR, pmd, huge())
        set_pmd_at(k.mm5, ADDR, pmd, huge())
        assert warns(k) == expected


def test_hash_set_pmd_at_strips_the_hash_bit_and_reports_the_stranded_hptes():
    """set_pte_filter() strips _PAGE_HPTEFLAGS; the old entry's HPTEs stay unflushed."""
    k = kernel(Arch.ppc64)
    pmd = pmd_offset(k.mm5, ADDR)
    pmd._store(pmd_t(huge().val | H_PAGE_HASHPTE))
    set_pmd_at(k.mm5, ADDR, pmd, pmd_t(huge().val | H_PAGE_HASHPTE))
    assert not pmd[0].val & H_PAGE_HASHPTE
    assert [e.function for e in k.events if e.kind is EventKind.BAD_HPTE] == ["set_pmd_at"]


def test_x86_pmdp_set_access_flags_bugs_on_an_unaligned_address_under_debug_vm():
    """arch/x86/mm/pgtable.c: VM_BUG_ON(address & ~HPAGE_PMD_MASK)."""
    k = kernel(Arch.x86_64, debug=True)
    pmd = pmd_offset(k.mm5, ADDR)
    pmd._store(huge())
    with pytest.raises(Oops):
        pmdp_set_access_flags(k.vma, ADDR + 0x1000, pmd, pmd_mkdirty(huge()), 1)
    k = kernel(Arch.x86_64, debug=False)
    pmd = pmd_offset(k.mm5, ADDR)
    pmd._store(huge())
    assert pmdp_set_access_flags(k.vma, ADDR + 0x1000, pmd, pmd_mkdirty(huge()), 1) == 1
    assert pmd[0].val & _PAGE_DIRTY


def test_x86_pmdp_set_access_flags_stores_only_a_changed_entry_when_dirty():
    """arch/x86/mm/pgtable.c: `if (changed && dirty) set_pmd()`; returns changed."""
    k = kernel(Arch.x86_64)
    pmd = pmd_offset(k.mm5, ADDR)
    pmd._store(huge())
    assert pmdp_set_access_flags(k.vma, ADDR, pmd, pmd_mkdirty(huge()), 0) == 1
    assert "pmdp_set_access_flags:x86_64:unchanged_or_clean" in k.branches
    assert pmd[0] == huge()


def test_ppc64_pmdp_set_access_flags_ors_the_access_bits_and_never_changes_the_pfn():
    """__ptep_set_access_flags(): DIRTY, ACCESSED, RW ORed into the old entry."""
    k = kernel(Arch.ppc64_radix)
    pmd = pmd_offset(k.mm5, ADDR)
    pmd._store(huge())
    entry = pmd_mkwrite(pmd_mkdirty(pmd_mkyoung(huge(0x100400))))
    assert pmdp_set_access_flags(k.vma, ADDR + 0x1000, pmd, entry, 1) == 1
    assert pmd[0].val >> 12 & 0xFFFFFFF == 0x100200
    assert pmd[0].val & (_PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED) == \
        _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED


def test_x86_pudp_set_access_flags_bugs_on_an_unaligned_address_under_debug_vm():
    """arch/x86/mm/pgtable.c pudp_set_access_flags: VM_BUG_ON(address & ~HPAGE_PUD_MASK)."""
    k = kernel(Arch.x86_64, debug=True)
    pud = pud_offset(k.mm5, 0x40000000)
    pud._store(pud_mkhuge(pfn_t_pud(pfn_t(0x100000), PAGE_READONLY)))
    with pytest.raises(Oops):
        pudp_set_access_flags(k.vma, 0x40001000, pud, pud[0], 1)


def test_a_second_hash_deposit_overwrites_the_slot_and_a_generic_one_queues():
    """pgtable-hash64.c hash__pgtable_trans_huge_deposit: `*pgtable_slot = pgtable`;
    mm/pgtable-generic.c: a FIFO list."""
    k = kernel(Arch.ppc64)
    pmd = pmd_offset(k.mm5, ADDR)
    pgtable_trans_huge_deposit(k.mm5, pmd, 1)
    pgtable_trans_huge_deposit(k.mm5, pmd, 2)
    assert k.mm5.pmd_huge_pte[pmd.index] == [2]
    assert pgtable_trans_huge_withdraw(k.mm5, pmd) == 2
    k = kernel(Arch.ppc64_radix)
    pmd = pmd_offset(k.mm5, ADDR)
    pgtable_trans_huge_deposit(k.mm5, pmd, 1)
    pgtable_trans_huge_deposit(k.mm5, pmd, 2)
    assert [pgtable_trans_huge_withdraw(k.mm5, pmd) for _ in range(3)] == [1, 2, None]


def test_hash_get_and_clear_of_a_pmd_without_a_deposited_table_oopses():
    """pgtable-hash64.c hash__pmdp_huge_get_and_clear: memset of the NULL deposited table."""
    k = kernel(Arch.ppc64)
    pmd = pmd_offset(k.mm5, ADDR)
    pmd._store(huge())
    with pytest.raises(Oops):
        pmdp_huge_get_and_clear_full(k.mm5, ADDR, pmd, 0)


def test_the_mmu_serves_a_permitted_access_and_faults_a_refused_store():
    """x86's walker sets ACCESSED and DIRTY; a store through a read-only entry faults."""
    k = kernel(Arch.x86_64)
    pmd = pmd_offset(k.mm5, ADDR)
    pmd._store(huge())
    assert mmu_access_huge(k, ADDR, True, pmd) is False
    assert mmu_access_huge(k, ADDR, False, pmd) is True
    assert pmd[0].val & _PAGE_ACCESSED and not pmd[0].val & _PAGE_DIRTY


def test_the_hash_mmu_hashes_a_huge_pmd_only_with_a_deposited_table():
    """hugepage-hash64.c __hash_page_thp: H_PAGE_HASHPTE set; the slot array is in the
    deposited table, without one the hash fault oopses."""
    k = kernel(Arch.ppc64)
    pmd = pmd_offset(k.mm5, ADDR)
    pmd._store(huge())
    with pytest.raises(Oops):
        mmu_access_huge(k, ADDR, False, pmd)
    pgtable_trans_huge_deposit(k.mm5, pmd, 1)
    assert mmu_access_huge(k, ADDR, False, pmd) is True
    assert pmd[0].val & H_PAGE_HASHPTE

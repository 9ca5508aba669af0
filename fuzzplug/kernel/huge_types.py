"""Huge page-table entries of the v5.0 era: `pmd_t` and `pud_t` and their header helpers.

A huge PMD maps 2 MiB, a huge PUD 1 GiB. The raw layout is the PTE's (`fuzzplug.kernel.types`:
x86-64's bit positions for every architecture), plus x86-64's _PAGE_PSE (bit 7), the "this
entry is a leaf, not a table" bit (pmd_mkhuge/pud_mkhuge). ppc64 book3s64 marks a huge PMD
with _PAGE_PTE and H_PAGE_THP_HUGE instead; the model spells both as PSE, as `types` spells
each architecture's young and dirty bits as ACCESSED and DIRTY. Values are immutable, as in
C where `pmd_t` and `pud_t` are passed by value.

Sources (read, not copied), Linux v5.0 (tree VVvector/linux-5.0.1, under linux-5.0.1/):
arch/x86/include/asm/pgtable.h (pmd_mkhuge, pmd_mkdevmap, pmd_mkyoung, pmd_mkdirty,
pmd_mkwrite, pmd_pfn, pmd_write, pmd_trans_huge, pmd_devmap and the pud_ twins),
include/linux/pfn_t.h (pfn_t_pmd, pfn_t_pud, pfn_t_devmap), include/linux/huge_mm.h
(is_huge_zero_pmd), mm/huge_memory.c (maybe_pmd_mkwrite, maybe_pud_mkwrite).
"""

from __future__ import annotations

from dataclasses import dataclass

from fuzzplug.kernel.types import (
    _PAGE_ACCESSED,
    _PAGE_DEVMAP,
    _PAGE_DIRTY,
    _PAGE_PRESENT,
    _PAGE_RW,
    H_PAGE_HASHPTE,
    PAGE_SHIFT,
    PTE_BIT_NAMES,
    PTE_PFN_MASK,
    VM_WRITE,
    pfn_t,
    pfn_t_to_pfn,
    pgprot_t,
)

PMD_SHIFT = 21
PUD_SHIFT = 30
PMD_SIZE = 1 << PMD_SHIFT
PUD_SIZE = 1 << PUD_SHIFT
PMD_MASK = ~(PMD_SIZE - 1)
PUD_MASK = ~(PUD_SIZE - 1)
HPAGE_PMD_MASK = PMD_MASK
HPAGE_PUD_MASK = PUD_MASK
HPAGE_PMD_NR = 1 << (PMD_SHIFT - PAGE_SHIFT)
PG_PMD_COLOUR = HPAGE_PMD_NR - 1  # fs/dax.c: the page offset within a PMD

_PAGE_PSE = 1 << 7  # x86 _PAGE_BIT_PSE; ppc64 _PAGE_PTE|H_PAGE_THP_HUGE

HUGE_BIT_NAMES = tuple((bit, "PSE" if bit == _PAGE_PSE else name)
                       for bit, name in PTE_BIT_NAMES)
"""The names of an entry's bits: the PTE's, with bit 7 read as PSE (a huge entry's PAT bit
is bit 12 on x86, which the model never sets)."""


def huge_flag_names(val: int) -> str:
    names = [name for bit, name in HUGE_BIT_NAMES if val & bit]
    return "|".join(names) if names else "0"


@dataclass(frozen=True, slots=True)
class pmd_t:
    """`pmd_t`: a raw PMD entry (huge when PSE is set; the model has no other kind)."""

    val: int

    def __repr__(self) -> str:
        if not self.val:
            return "pmd_t(none)"
        return f"pmd_t(pfn={pmd_pfn(self):#x} {huge_flag_names(self.val & ~PTE_PFN_MASK)})"

    def to_json(self) -> dict:
        return {"pfn": pmd_pfn(self), "flags": huge_flag_names(self.val & ~PTE_PFN_MASK)}


@dataclass(frozen=True, slots=True)
class pud_t:
    """`pud_t`: a raw PUD entry (huge when PSE is set)."""

    val: int

    def __repr__(self) -> str:
        if not self.val:
            return "pud_t(none)"
        return f"pud_t(pfn={pud_pfn(self):#x} {huge_flag_names(self.val & ~PTE_PFN_MASK)})"

    def to_json(self) -> dict:
        return {"pfn": pud_pfn(self), "flags": huge_flag_names(self.val & ~PTE_PFN_MASK)}


PMD_NONE = pmd_t(0)
PUD_NONE = pud_t(0)


# --- pmd ---------------------------------------------------------------------------------
def pfn_t_pmd(pfn: pfn_t, prot: pgprot_t) -> pmd_t:
    return pmd_t((pfn_t_to_pfn(pfn) << PAGE_SHIFT) & PTE_PFN_MASK | prot.val)


def pmd_pfn(pmd: pmd_t) -> int:
    return (pmd.val & PTE_PFN_MASK) >> PAGE_SHIFT


def pmd_none(pmd: pmd_t) -> bool:
    return not pmd.val


def pmd_present(pmd: pmd_t) -> bool:
    return bool(pmd.val & _PAGE_PRESENT)


def pmd_mkhuge(pmd: pmd_t) -> pmd_t:
    return pmd_t(pmd.val | _PAGE_PSE)


def pmd_mkdevmap(pmd: pmd_t) -> pmd_t:
    return pmd_t(pmd.val | _PAGE_DEVMAP)


def pmd_mkyoung(pmd: pmd_t) -> pmd_t:
    return pmd_t(pmd.val | _PAGE_ACCESSED)


def pmd_mkdirty(pmd: pmd_t) -> pmd_t:
    return pmd_t(pmd.val | _PAGE_DIRTY)


def pmd_mkwrite(pmd: pmd_t) -> pmd_t:
    return pmd_t(pmd.val | _PAGE_RW)


def pmd_write(pmd: pmd_t) -> bool:
    return bool(pmd.val & _PAGE_RW)


def pmd_devmap(pmd: pmd_t) -> bool:
    return bool(pmd.val & _PAGE_DEVMAP)


def pmd_trans_huge(pmd: pmd_t) -> bool:
    """x86: PSE set and not devmap (a devmap PMD is pmd_devmap(), not pmd_trans_huge())."""
    return bool(pmd.val & _PAGE_PSE) and not pmd_devmap(pmd)


def pmd_same(a: pmd_t, b: pmd_t) -> bool:
    """x86 pmd_same(): the raw values; book3s64's ignores the hash bits (H_PAGE_HASHPTE...),
    which `fuzzplug.kernel.huge_arch` applies there."""
    return a.val == b.val


def pmd_hashed(pmd: pmd_t) -> bool:
    """ppc64 hash: the PMD has HPTEs in the hash page table (H_PAGE_HASHPTE)."""
    return bool(pmd.val & H_PAGE_HASHPTE)


def maybe_pmd_mkwrite(pmd: pmd_t, vma) -> pmd_t:
    """mm/huge_memory.c maybe_pmd_mkwrite(): writable iff the VMA has VM_WRITE."""
    if vma.vm_flags & VM_WRITE:
        pmd = pmd_mkwrite(pmd)
    return pmd


# --- pud ---------------------------------------------------------------------------------
def pfn_t_pud(pfn: pfn_t, prot: pgprot_t) -> pud_t:
    return pud_t((pfn_t_to_pfn(pfn) << PAGE_SHIFT) & PTE_PFN_MASK | prot.val)


def pud_pfn(pud: pud_t) -> int:
    return (pud.val & PTE_PFN_MASK) >> PAGE_SHIFT


def pud_none(pud: pud_t) -> bool:
    return not pud.val


def pud_present(pud: pud_t) -> bool:
    return bool(pud.val & _PAGE_PRESENT)


def pud_mkhuge(pud: pud_t) -> pud_t:
    return pud_t(pud.val | _PAGE_PSE)


def pud_mkdevmap(pud: pud_t) -> pud_t:
    return pud_t(pud.val | _PAGE_DEVMAP)


def pud_mkyoung(pud: pud_t) -> pud_t:
    return pud_t(pud.val | _PAGE_ACCESSED)


def pud_mkdirty(pud: pud_t) -> pud_t:
    return pud_t(pud.val | _PAGE_DIRTY)


def pud_mkwrite(pud: pud_t) -> pud_t:
    return pud_t(pud.val | _PAGE_RW)


def pud_write(pud: pud_t) -> bool:
    return bool(pud.val & _PAGE_RW)


def pud_devmap(pud: pud_t) -> bool:
    return bool(pud.val & _PAGE_DEVMAP)


def pud_trans_huge(pud: pud_t) -> bool:
    return bool(pud.val & _PAGE_PSE) and not pud_devmap(pud)


def pud_same(a: pud_t, b: pud_t) -> bool:
    return a.val == b.val


def maybe_pud_mkwrite(pud: pud_t, vma) -> pud_t:
    """mm/huge_memory.c maybe_pud_mkwrite(): writable iff the VMA has VM_WRITE."""
    if vma.vm_flags & VM_WRITE:
        pud = pud_mkwrite(pud)
    return pud

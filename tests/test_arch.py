"""The architecture hooks (`fuzzplug.kernel.arch`) per architecture, with and without DEBUG_VM.

Expected behaviour, from Linux v4.13.9:
- x86-64: set_pte_at() stores without checks; ptep_set_access_flags() (arch/x86/mm/pgtable.c)
  stores only when the entry changed and `dirty` is set, and returns whether it changed.
- ppc64 (book3s64): set_pte_at() does VM_WARN_ON(pte_present(*ptep) && !pte_protnone(*ptep))
  (arch/powerpc/mm/pgtable.c); __ptep_set_access_flags() only ORs DIRTY/ACCESSED/RW/
  SOFT_DIRTY of the new entry into the old one, whatever `dirty` says.
- arm64 (arch/arm64/include/asm/pgtable.h, mm/fault.c, CONFIG_ARM64_HW_AFDBM): set_pte_at()
  sets PTE_RDONLY on a present entry unless it is dirty and writable, and with DEBUG_VM,
  over a valid entry, VM_WARN_ONCEs "racy access flag clearing" (new entry old) and "racy
  dirty state clearing" (old writable, new clean); ptep_set_access_flags() merges only
  AF/WRITE/DIRTY and leaves PTE_RDONLY the more permissive of old and new.
- track_pfn_insert() (arch/x86/mm/pat.c): with PAT on x86, the prot's cache bits become
  those of the pfn's memtype (RAM and reserved device memory WB, unreserved MMIO UC-);
  elsewhere nothing.
"""

from __future__ import annotations

import pytest

import model_cases as mc
from fuzzplug.kernel import arch, v4_13
from fuzzplug.kernel.state import EventKind, Kernel
from fuzzplug.kernel.types import (
    _PAGE_ACCESSED,
    _PAGE_ARM64_RDONLY,
    _PAGE_DIRTY,
    _PAGE_NX,
    _PAGE_PAT,
    _PAGE_PCD,
    _PAGE_PRESENT,
    _PAGE_PROTNONE,
    _PAGE_PWT,
    _PAGE_RW,
    _PAGE_SOFT_DIRTY,
    _PAGE_SPECIAL,
    _PAGE_USER,
    PAGE_SHIFT,
    PFN_DEV,
    PFN_MAP,
    pgprot_t,
    pte_t,
)

ARCHES = ("x86_64", "ppc64", "arm64")
PFN = mc.MMIO
RO = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX
RW = RO | _PAGE_RW
PRESENT_OVER_PRESENT = "pte_present(*ptep) && !pte_protnone(*ptep)"


def kernel(arch_name: str, debug_vm: int = 0, **config) -> Kernel:
    return mc.boot(v4_13, mc.SHARED_RW_MIXED, arch=arch_name, DEBUG_VM=debug_vm, **config)


def ptep(k: Kernel):
    p = v4_13.get_locked_pte(k.mm, mc.A0)
    assert p is not None
    return p


def e(bits: int, pfn: int = PFN) -> pte_t:
    return pte_t(pfn << PAGE_SHIFT | bits)


def warnings(k: Kernel) -> list[tuple[str, str, bool]]:
    return [(ev.function, ev.get("condition"), ev.get("printed")) for ev in k.events
            if ev.kind is EventKind.WARN]


def arch_events(k: Kernel) -> list[tuple[str, dict]]:
    return [(ev.function, dict(ev.detail)) for ev in k.events if ev.kind is EventKind.ARCH]


# --- set_pte_at ---

@pytest.mark.parametrize("debug_vm", [0, 1], ids=["no_debug_vm", "debug_vm"])
@pytest.mark.parametrize("arch_name", ARCHES)
def test_set_pte_at_over_a_present_entry_warns_on_ppc64_with_debug_vm_only(arch_name, debug_vm):
    """Overwrite a present entry with a young, dirty, writable one (so arm64's own checks stay
    quiet): only ppc64 under DEBUG_VM warns; the entry is stored everywhere."""
    k = kernel(arch_name, debug_vm)
    p = ptep(k)
    arch.set_pte_at(k.mm, mc.A0, p, e(RO))
    arch.set_pte_at(k.mm, mc.A0, p, e(RW | _PAGE_DIRTY))
    expected = [("set_pte_at", PRESENT_OVER_PRESENT, True)] if (
        arch_name == "ppc64" and debug_vm) else []
    assert warnings(k) == expected
    assert p[0].val & ~_PAGE_ARM64_RDONLY == e(RW | _PAGE_DIRTY).val
    assert k.tainted == bool(expected)


def test_ppc64_set_pte_at_warns_every_time_it_overwrites_a_present_entry():
    """VM_WARN_ON is not a _ONCE: each overwrite is printed."""
    k = kernel("ppc64", 1)
    p = ptep(k)
    for _ in range(3):
        arch.set_pte_at(k.mm, mc.A0, p, e(RO))
    assert warnings(k) == [("set_pte_at", PRESENT_OVER_PRESENT, True)] * 2


def test_ppc64_set_pte_at_over_a_none_or_protnone_entry_does_not_warn():
    """The check excludes none entries and NUMA-hinting (protnone) entries."""
    k = kernel("ppc64", 1)
    p = ptep(k)
    arch.set_pte_at(k.mm, mc.A0, p, e(_PAGE_PROTNONE | _PAGE_ACCESSED))
    arch.set_pte_at(k.mm, mc.A0, p, e(RO))
    assert warnings(k) == []
    assert p[0] == e(RO)


@pytest.mark.parametrize("arch_name", ["x86_64", "ppc64"])
def test_set_pte_at_stores_the_entry_unchanged_and_records_old_and_new(arch_name):
    """x86 and ppc64 store the value as given (the raw layout is x86's)."""
    k = kernel(arch_name)
    p = ptep(k)
    new = e(RO | _PAGE_SPECIAL | _PAGE_DIRTY | _PAGE_SOFT_DIRTY)
    arch.set_pte_at(k.mm, mc.A0, p, new)
    assert p[0] == new
    assert arch_events(k) == [("set_pte_at", {"addr": mc.A0, "old": 0, "new": new.val})]


@pytest.mark.parametrize("bits, rdonly", [
    (RO, True),  # clean, read-only
    (RW, True),  # clean, writable: hardware DBM makes it dirty on the first write
    (RO | _PAGE_DIRTY, True),  # dirty, read-only
    (RW | _PAGE_DIRTY, False),  # dirty and writable: the only hardware-writable case
    (RW | _PAGE_DIRTY | _PAGE_ARM64_RDONLY, False),  # a stale RDONLY is cleared
], ids=["clean_ro", "clean_rw", "dirty_ro", "dirty_rw", "dirty_rw_stale_rdonly"])
def test_arm64_set_pte_at_computes_pte_rdonly_from_dirty_and_write(bits, rdonly):
    """pte_sw_dirty(pte) && pte_write(pte) clears PTE_RDONLY, anything else sets it."""
    k = kernel("arm64")
    p = ptep(k)
    arch.set_pte_at(k.mm, mc.A0, p, e(bits))
    assert bool(p[0].val & _PAGE_ARM64_RDONLY) is rdonly
    assert p[0].val & ~_PAGE_ARM64_RDONLY == e(bits).val & ~_PAGE_ARM64_RDONLY


def test_arm64_set_pte_at_leaves_a_non_present_entry_alone():
    """The RDONLY computation is under pte_present(): a none entry stays none."""
    k = kernel("arm64")
    p = ptep(k)
    arch.set_pte_at(k.mm, mc.A0, p, e(RO))
    arch.set_pte_at(k.mm, mc.A0, p, pte_t(0))
    assert p[0] == pte_t(0)


def test_arm64_has_no_soft_dirty_bit():
    """arm64's pte_mkdirty() sets PTE_DIRTY only (v4.13 has no soft-dirty on arm64)."""
    k = kernel("arm64")
    p = ptep(k)
    arch.set_pte_at(k.mm, mc.A0, p, e(RW | _PAGE_DIRTY | _PAGE_SOFT_DIRTY))
    assert p[0] == e(RW | _PAGE_DIRTY)


def test_arm64_debug_vm_warns_once_on_racy_access_flag_clearing():
    """Valid over valid, new entry not young: VM_WARN_ONCE; the second time it is not
    printed; the entry is stored anyway."""
    k = kernel("arm64", 1)
    p = ptep(k)
    arch.set_pte_at(k.mm, mc.A0, p, e(RO))
    old_entry = e(_PAGE_PRESENT | _PAGE_USER | _PAGE_NX)
    arch.set_pte_at(k.mm, mc.A0, p, old_entry)
    arch.set_pte_at(k.mm, mc.A0, p, old_entry)
    assert warnings(k) == [("set_pte_at", "racy access flag clearing", True),
                           ("set_pte_at", "racy access flag clearing", False)]
    assert p[0].val & _PAGE_ACCESSED == 0


def test_arm64_debug_vm_warns_once_on_racy_dirty_state_clearing():
    """Old entry writable, new one clean (and young): "racy dirty state clearing"."""
    k = kernel("arm64", 1)
    p = ptep(k)
    arch.set_pte_at(k.mm, mc.A0, p, e(RW))
    arch.set_pte_at(k.mm, mc.A0, p, e(RW))
    assert warnings(k) == [("set_pte_at", "racy dirty state clearing", True)]


def test_arm64_race_checks_stay_quiet_for_a_young_dirty_entry_or_over_an_invalid_one():
    """A young dirty entry over a writable one is fine; over a none entry nothing is
    checked, even for an old entry."""
    k = kernel("arm64", 1)
    p = ptep(k)
    arch.set_pte_at(k.mm, mc.A0, p, e(_PAGE_PRESENT | _PAGE_USER | _PAGE_RW))  # over none
    arch.set_pte_at(k.mm, mc.A0, p, e(RW | _PAGE_DIRTY))  # young and dirty
    assert warnings(k) == []


def test_arm64_race_checks_compile_away_without_debug_vm():
    """Without DEBUG_VM the VM_WARN_ONCEs are not there."""
    k = kernel("arm64", 0)
    p = ptep(k)
    arch.set_pte_at(k.mm, mc.A0, p, e(RW))
    arch.set_pte_at(k.mm, mc.A0, p, e(_PAGE_PRESENT | _PAGE_USER))
    assert warnings(k) == []


# --- ptep_set_access_flags ---

def _access(arch_name: str, old: pte_t, new: pte_t, dirty: int) -> tuple[int, pte_t, Kernel]:
    k = kernel(arch_name)
    p = ptep(k)
    p._store(old)  # the starting entry as the hardware left it (no hook, no RDONLY fix-up)
    changed = arch.ptep_set_access_flags(k.vma, mc.A0, p, new, dirty)
    return changed, p[0], k


@pytest.mark.parametrize("dirty", [1, 0])
def test_x86_ptep_set_access_flags_stores_only_a_changed_entry_and_only_when_dirty(dirty):
    """changed = !pte_same; `if (changed && dirty) *ptep = entry`; returns changed."""
    old, new = e(RO), e(RW | _PAGE_DIRTY)
    changed, now, _ = _access("x86_64", old, new, dirty)
    assert changed == 1
    assert now == (new if dirty else old)


def test_x86_ptep_set_access_flags_of_the_same_entry_returns_0():
    """pte_same: nothing to do."""
    changed, now, k = _access("x86_64", e(RW), e(RW), 1)
    assert (changed, now) == (0, e(RW))
    assert arch_events(k)[-1][1]["changed"] == 0


def test_ppc64_ptep_set_access_flags_only_adds_access_bits():
    """Only DIRTY/ACCESSED/RW/SOFT_DIRTY of the new entry are ORed in: a new cache bit, a
    dropped ACCESSED and another pfn are not applied; `dirty` does not matter."""
    old = e(_PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED)
    new = e(_PAGE_PRESENT | _PAGE_USER | _PAGE_RW | _PAGE_DIRTY | _PAGE_SOFT_DIRTY | _PAGE_PCD,
            pfn=PFN + 1)
    changed, now, _ = _access("ppc64", old, new, 0)
    assert changed == 1
    assert now == e(_PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_RW | _PAGE_DIRTY
                    | _PAGE_SOFT_DIRTY)


def test_ppc64_ptep_set_access_flags_of_the_same_entry_returns_0():
    """!pte_same decides; equal entries are left alone."""
    changed, now, _ = _access("ppc64", e(RO), e(RO), 1)
    assert (changed, now) == (0, e(RO))


def test_arm64_ptep_set_access_flags_makes_a_read_only_entry_writable_and_clears_rdonly():
    """Old RDONLY, new writable and dirty (so its RDONLY is clear): the merged entry has
    WRITE and DIRTY and no RDONLY; returns 1 whatever `dirty` says."""
    old = e(RO | _PAGE_ARM64_RDONLY)
    changed, now, _ = _access("arm64", old, e(RW | _PAGE_DIRTY), 0)
    assert changed == 1
    assert now == e(RW | _PAGE_DIRTY)


def test_arm64_ptep_set_access_flags_keeps_the_more_permissive_rdonly_and_never_removes_bits():
    """Old writable-dirty (RDONLY clear), new read-only and old: bits are only ORed in, and
    PTE_RDONLY stays clear (the lower of the two)."""
    old = e(RW | _PAGE_DIRTY)
    changed, now, _ = _access("arm64", old, e(_PAGE_PRESENT | _PAGE_USER | _PAGE_NX), 1)
    assert changed == 1
    assert now == old


def test_arm64_ptep_set_access_flags_keeps_rdonly_when_both_are_read_only():
    """Old RDONLY and new clean: RDONLY stays; ACCESSED is merged in."""
    old = e(_PAGE_PRESENT | _PAGE_USER | _PAGE_NX | _PAGE_ARM64_RDONLY)
    changed, now, _ = _access("arm64", old, e(RO), 1)
    assert changed == 1
    assert now == e(RO | _PAGE_ARM64_RDONLY)


def test_arm64_ptep_set_access_flags_only_merges_access_write_and_dirty():
    """Any other bit of the new entry (a cache bit, the pfn) is not applied."""
    old = e(RO | _PAGE_ARM64_RDONLY)
    changed, now, _ = _access("arm64", old, e(RO | _PAGE_PCD, pfn=PFN + 1), 1)
    assert changed == 1
    assert now == old


# --- the other hooks ---

@pytest.mark.parametrize("arch_name", ARCHES)
def test_update_mmu_cache_never_changes_the_entry(arch_name):
    """x86 and arm64 do nothing; ppc64 preloads the hash table: no PTE change anywhere."""
    k = kernel(arch_name)
    p = ptep(k)
    p._store(e(RO))
    arch.update_mmu_cache(k.vma, mc.A0, p)
    assert p[0] == e(RO)
    assert arch_events(k) == [("update_mmu_cache", {"addr": mc.A0, "old": e(RO).val,
                                                    "new": e(RO).val})]


@pytest.mark.parametrize("arch_name", ARCHES)
def test_the_clearing_hooks_return_the_old_entry_and_leave_none(arch_name):
    """ptep_get_and_clear_full and ptep_clear_flush: an exchange with zero."""
    k = kernel(arch_name)
    p = ptep(k)
    p._store(e(RW | _PAGE_DIRTY))
    assert arch.ptep_get_and_clear_full(k.mm, mc.A0, p, 0) == e(RW | _PAGE_DIRTY)
    assert p[0] == pte_t(0)
    p._store(e(RO))
    assert arch.ptep_clear_flush(k.vma, mc.A0, p) == e(RO)
    assert k.mm.pgtable == {}


# --- track_pfn_insert ---

CACHE_BITS = _PAGE_PWT | _PAGE_PCD | _PAGE_PAT


@pytest.mark.parametrize("pfn, flags, expected_cache", [
    (mc.MMIO, PFN_DEV, _PAGE_PCD),  # no memtype reservation: UC-
    (mc.RAM, 0, 0),  # RAM: its page's memtype, WB by default
    (mc.DEV, PFN_DEV | PFN_MAP, 0),  # ZONE_DEVICE: reserved WB by devm_memremap_pages
], ids=["mmio_uc_minus", "ram_wb", "zone_device_wb"])
def test_track_pfn_insert_on_x86_with_pat_replaces_the_cache_bits_by_the_memtype(
        pfn, flags, expected_cache):
    """(prot & ~_PAGE_CACHE_MASK) | cachemode2protval(lookup_memtype(pfn))."""
    k = kernel("x86_64", PAT=1)
    prot = pgprot_t(RO | CACHE_BITS)
    out = arch.track_pfn_insert(k.vma, prot, mc.pfn_of(pfn, flags))
    assert out == pgprot_t(RO | expected_cache)


@pytest.mark.parametrize("arch_name, pat", [("x86_64", 0), ("ppc64", 1), ("arm64", 1)])
def test_track_pfn_insert_is_a_no_op_without_pat_or_off_x86(arch_name, pat):
    """!pat_enabled() returns at once; other architectures have the generic empty stub."""
    k = kernel(arch_name, PAT=pat)
    prot = pgprot_t(RO | _PAGE_PWT)
    assert arch.track_pfn_insert(k.vma, prot, mc.pfn_of(mc.MMIO, PFN_DEV)) == prot

"""The architecture hooks (`fuzzplug.kernel.arch`) per architecture, with and without DEBUG_VM.

Expected behaviour, from Linux v4.13.9:
- x86-64: set_pte_at() stores without checks; ptep_set_access_flags() (arch/x86/mm/pgtable.c)
  stores only when the entry changed and `dirty` is set, and returns whether it changed.
- ppc64 (book3s64), hash and radix MMUs: set_pte_at() does
  VM_WARN_ON(pte_present(*ptep) && !pte_protnone(*ptep)) (arch/powerpc/mm/pgtable.c) and
  then set_pte_filter(), which strips _PAGE_HPTEFLAGS on hash and is the identity on radix;
  __ptep_set_access_flags() only ORs bits of the new entry into the old one, whatever
  `dirty` says: DIRTY/ACCESSED/RW/EXEC/SOFT_DIRTY on hash (keeping the hash bits), the same
  without SOFT_DIRTY on radix (asm/book3s/64/hash.h, radix.h). pte_update() on hash flushes
  the HPTE of an entry with H_PAGE_HASHPTE; update_mmu_cache() preloads one for a young
  entry from a data fault.
- arm64 (arch/arm64/include/asm/pgtable.h, mm/fault.c, CONFIG_ARM64_HW_AFDBM): set_pte_at()
  sets PTE_RDONLY on a present entry unless it is dirty and writable, and with DEBUG_VM,
  over a valid entry, VM_WARN_ONCEs "racy access flag clearing" (new entry old) and "racy
  dirty state clearing" (old writable, new clean); ptep_set_access_flags() merges only
  AF/WRITE/DIRTY and leaves PTE_RDONLY the more permissive of old and new.
- track_pfn_insert() (arch/x86/mm/pat.c): with PAT on x86, the prot's cache bits become
  those of lookup_memtype(): the ISA range [640 KiB, 1 MiB) is untracked (WB), RAM at or
  above 1 MiB has its page's memtype (WB), memremap'd device memory a WB reservation, and
  anything else (MMIO, RAM below 640 KiB) no reservation (UC-); elsewhere nothing.
- pte_none(), pte_dirty() and the swap-entry decoding of each architecture; the MMU's own
  access is tested through the models in test_model_branches_mmu.py, and here the hash MMU's
  translation again after a hash fault (the CPU re-executes the instruction after
  do_hash_page's return from the interrupt, arch/powerpc/kernel/exceptions-64s.S).
"""

from __future__ import annotations

import pytest

import model_cases as mc
from fuzzplug.kernel import arch, v4_13
from fuzzplug.kernel.state import EventKind, Kernel, Memmap, hpte
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
    H_PAGE_F_GIX_SHIFT,
    H_PAGE_HASHPTE,
    PAGE_SHIFT,
    PAGE_SIZE,
    PFN_DEV,
    PFN_MAP,
    pgprot_t,
    pte_t,
)

ARCHES = ("x86_64", "ppc64", "arm64", "ppc64_radix")
PPC64 = ("ppc64", "ppc64_radix")
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
        arch_name in PPC64 and debug_vm) else []
    assert warnings(k) == expected
    assert p[0].val & ~_PAGE_ARM64_RDONLY == e(RW | _PAGE_DIRTY).val
    assert k.tainted == bool(expected)


@pytest.mark.parametrize("arch_name", PPC64)
def test_ppc64_set_pte_at_warns_every_time_it_overwrites_a_present_entry(arch_name):
    """VM_WARN_ON is not a _ONCE: each overwrite is printed (hash and radix alike)."""
    k = kernel(arch_name, 1)
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


@pytest.mark.parametrize("arch_name", ["x86_64", "ppc64", "ppc64_radix"])
def test_set_pte_at_stores_the_entry_unchanged_and_records_old_and_new(arch_name):
    """x86 and ppc64 store the value as given (the raw layout is x86's; it has no hash
    bits for hash's set_pte_filter() to strip)."""
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


@pytest.mark.parametrize("arch_name, soft_dirty", [("ppc64", _PAGE_SOFT_DIRTY),
                                                    ("ppc64_radix", 0)])
def test_ppc64_ptep_set_access_flags_only_adds_access_bits_and_radix_not_soft_dirty(
        arch_name, soft_dirty):
    """hash__ptep_set_access_flags() ORs DIRTY/ACCESSED/READ/WRITE/EXEC/SOFT_DIRTY of the new
    entry in; radix__ptep_set_access_flags() DIRTY/ACCESSED/RW/EXEC only (no SOFT_DIRTY,
    until 66b2ca086210 in v6.4). A new cache bit, a dropped ACCESSED and another pfn are not
    applied; `dirty` does not matter."""
    old = e(_PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX)
    new = e(_PAGE_PRESENT | _PAGE_USER | _PAGE_RW | _PAGE_DIRTY | _PAGE_SOFT_DIRTY | _PAGE_PCD,
            pfn=PFN + 1)
    changed, now, _ = _access(arch_name, old, new, 0)
    assert changed == 1
    assert now == e(_PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_RW | _PAGE_DIRTY
                    | soft_dirty)  # NX gone: _PAGE_EXEC of the new entry ORed in


@pytest.mark.parametrize("arch_name", PPC64)
def test_ppc64_ptep_set_access_flags_of_the_same_entry_returns_0(arch_name):
    """!pte_same decides; equal entries are left alone."""
    changed, now, _ = _access(arch_name, e(RO), e(RO), 1)
    assert (changed, now) == (0, e(RO))


def test_ppc64_hash_ptep_set_access_flags_keeps_the_hash_bits_and_ignores_them_in_pte_same():
    """hash__pte_same() ignores _PAGE_HPTEFLAGS: an entry that differs only there is not a
    change; a real change keeps the old entry's H_PAGE_HASHPTE and slot (no flush: the HPTE
    stays, tracked)."""
    hashed = e(RO | H_PAGE_HASHPTE | 2 << H_PAGE_F_GIX_SHIFT)
    changed, now, _ = _access("ppc64", hashed, e(RO), 1)
    assert (changed, now) == (0, hashed)
    changed, now, _ = _access("ppc64", hashed, e(RO | _PAGE_RW | _PAGE_DIRTY), 1)
    assert changed == 1
    assert now == e(RO | _PAGE_RW | _PAGE_DIRTY | H_PAGE_HASHPTE | 2 << H_PAGE_F_GIX_SHIFT)


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

@pytest.mark.parametrize("arch_name", ["x86_64", "arm64", "ppc64_radix"])
def test_update_mmu_cache_does_nothing_without_a_hash_table(arch_name):
    """x86, arm64 and ppc64 radix (`if (radix_enabled()) return;`): no change anywhere."""
    k = kernel(arch_name)
    p = ptep(k)
    p._store(e(RO))
    arch.update_mmu_cache(k.vma, mc.A0, p)
    assert p[0] == e(RO)
    assert arch_events(k) == [("update_mmu_cache", {"addr": mc.A0, "old": e(RO).val,
                                                    "new": e(RO).val})]
    assert k.htab == {}


@pytest.mark.parametrize("trap, young, hashed", [(0x300, True, True), (0x400, True, False),
                                                 (0xC00, True, False), (0x300, False, False)],
                         ids=["data_fault", "exec_fault_of_nx", "syscall", "old_entry"])
def test_ppc64_hash_update_mmu_cache_preloads_a_young_entry_from_a_data_fault(trap, young,
                                                                               hashed):
    """Only a young entry, and only from a data (0x300) or instruction (0x400) fault; an
    instruction fault asks for _PAGE_EXEC, which an NX entry refuses. The preload inserts a
    read-only HPTE (clean entry) and records H_PAGE_HASHPTE and the slot."""
    k = kernel("ppc64")
    k.trap = trap
    p = ptep(k)
    bits = RO if young else RO & ~_PAGE_ACCESSED
    p._store(e(bits))
    arch.update_mmu_cache(k.vma, mc.A0, p)
    vpn = mc.A0 >> PAGE_SHIFT
    if hashed:
        assert k.htab == {(vpn, 0): hpte(PFN, rw=False)}
        assert p[0] == e(bits | H_PAGE_HASHPTE)
    else:
        assert k.htab == {} and p[0] == e(bits)


def test_ppc64_hash_set_pte_filter_strips_the_hash_bits_and_the_hpte_is_left_behind():
    """set_pte_at() over a hashed entry (DEBUG_VM=0: no warning): the stored entry has no
    _PAGE_HPTEFLAGS, the HPTE stays in the table with nothing tracking it, and a BAD_HPTE
    event says so."""
    k = kernel("ppc64")
    p = ptep(k)
    p._store(e(RO))
    arch.update_mmu_cache(k.vma, mc.A0, p)
    arch.set_pte_at(k.mm, mc.A0, p, p[0])
    assert p[0] == e(RO)
    assert warnings(k) == []
    assert [(ev.function, ev.get("condition")) for ev in k.events
            if ev.kind is EventKind.BAD_HPTE] == [("set_pte_at", arch.STALE_HPTE)]
    assert k.untracked_hptes() == [(mc.A0 >> PAGE_SHIFT, 0)]


def _hashed_read_only(k: Kernel):
    """A read-only, young entry hashed in by the preload of a data fault: slot 0, read-only."""
    p = ptep(k)
    p._store(e(RO))
    arch.update_mmu_cache(k.vma, mc.A0, p)
    return p


def test_ppc64_hash_a_store_the_tracked_hpte_refuses_is_hashed_then_translated_again():
    """A protection fault on the HPTE the (writable) entry tracks: __hash_page_4K() updates
    it to read/write, returns 0, and the re-executed store hits it: the access completes,
    one MMU event at the entry's pfn."""
    k = kernel("ppc64")
    p = _hashed_read_only(k)
    p._store(pte_t(p[0].val | _PAGE_RW))
    k.branches.clear()
    assert arch.mmu_access(k, mc.A0, True) is None
    assert k.branches == ["__hash_page_4K:updatepp", "mmu_access:ppc64:hash_page",
                          "mmu_access:ppc64:hpte_hit"]
    assert k.htab == {(mc.A0 >> PAGE_SHIFT, 0): hpte(PFN, rw=True)}
    assert [ev.get("pfn") for ev in k.events if ev.kind is EventKind.MMU] == [PFN]


def test_ppc64_hash_a_store_a_stale_hpte_refuses_never_completes():
    """set_pte_at() over the hashed entry strands its read-only HPTE in slot 0; the writable
    entry's preload hashes a read/write one into slot 1. A store finds slot 0 first, is
    refused, and each hash fault updates slot 1 and returns 0: the re-executed store faults
    on slot 0 again. mmu_access() says the access never completes (ACCESS_LIVELOCK, a
    BAD_HPTE event), without reaching do_page_fault() and without an MMU event; a load is
    served by the stale HPTE."""
    k = kernel("ppc64")
    p = _hashed_read_only(k)
    arch.set_pte_at(k.mm, mc.A0, p, e(RW | _PAGE_DIRTY))
    arch.update_mmu_cache(k.vma, mc.A0, p)
    vpn = mc.A0 >> PAGE_SHIFT
    assert k.htab == {(vpn, 0): hpte(PFN, rw=False), (vpn, 1): hpte(PFN, rw=True)}
    k.events.clear()
    k.branches.clear()
    assert arch.mmu_access(k, mc.A0, True) is arch.ACCESS_LIVELOCK
    assert k.branches.count("mmu_access:ppc64:hash_page") == arch.HASH_FAULTS_PER_ACCESS
    assert k.branches[-1] == "mmu_access:ppc64:livelock"
    assert [(ev.function, ev.get("condition"), ev.get("pfn")) for ev in k.events
            if ev.kind is EventKind.BAD_HPTE] == [("hash_page", arch.FAULTS_FOREVER_ON_STALE,
                                                   PFN)]
    assert not [ev for ev in k.events if ev.kind is EventKind.MMU]
    assert arch.mmu_access(k, mc.A0, False) is None
    assert k.branches[-1] == "mmu_access:ppc64:hpte_hit"


def test_ppc64_radix_set_pte_filter_is_the_identity():
    """radix: whatever the entry carries is stored as given, and there is no hash table."""
    k = kernel("ppc64_radix")
    p = ptep(k)
    arch.set_pte_at(k.mm, mc.A0, p, e(RO | H_PAGE_HASHPTE))
    assert p[0] == e(RO | H_PAGE_HASHPTE)

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


@pytest.mark.parametrize("clear", ["ptep_get_and_clear_full", "ptep_clear_flush"])
def test_ppc64_hash_pte_update_flushes_the_tracked_hpte_and_only_that_one(clear):
    """pte_update() of an entry with H_PAGE_HASHPTE: hpte_need_flush() for the slot it
    names; an HPTE in another slot (untracked) stays."""
    k = kernel("ppc64")
    p = ptep(k)
    vpn = mc.A0 >> PAGE_SHIFT
    k.htab[vpn, 0] = hpte(PFN, rw=False)  # left behind earlier
    k.htab[vpn, 1] = hpte(PFN, rw=True)
    p._store(e(RW | _PAGE_DIRTY | H_PAGE_HASHPTE | 1 << H_PAGE_F_GIX_SHIFT))
    if clear == "ptep_get_and_clear_full":
        arch.ptep_get_and_clear_full(k.mm, mc.A0, p, 0)
    else:
        arch.ptep_clear_flush(k.vma, mc.A0, p)
    assert k.htab == {(vpn, 0): hpte(PFN, rw=False)}


# --- each architecture's reading of an entry ---

@pytest.mark.parametrize("arch_name, bits, none", [
    ("x86_64", _PAGE_DIRTY | _PAGE_ACCESSED, True),  # _PAGE_KNL_ERRATUM_MASK
    ("x86_64", _PAGE_SPECIAL, False),
    ("ppc64_radix", _PAGE_DIRTY | _PAGE_ACCESSED, True),  # RADIX_PTE_NONE_MASK
    ("ppc64", _PAGE_DIRTY | _PAGE_ACCESSED, False),
    ("ppc64", H_PAGE_HASHPTE | 1 << H_PAGE_F_GIX_SHIFT, True),  # H_PTE_NONE_MASK
    ("x86_64", H_PAGE_HASHPTE, False),
    ("arm64", _PAGE_ACCESSED, False),  # !pte_val(pte)
], ids=["x86_knl_erratum", "x86_special", "radix_rc", "hash_rc", "hash_bits", "x86_bit52",
        "arm64_af"])
def test_pte_none_ignores_what_each_architecture_ignores(arch_name, bits, none):
    """pte_none() of x86-64 ignores DIRTY|ACCESSED (the Knights Landing erratum), radix the
    same (its R/C writeback), hash the hash bits, arm64 nothing."""
    k = kernel(arch_name)
    assert arch.pte_none(k, pte_t(bits)) is none
    assert arch.pte_none(k, pte_t(0))


def test_an_insert_over_an_entry_x86_calls_none_succeeds_and_a_zap_leaves_it():
    """A zero-pfn entry with only ACCESSED (vm_insert_pfn_prot() of pfn 0 with that prot,
    no special bit, no PAT) is none to x86: the zap skips it, an insert overwrites it."""
    k = mc.boot(v4_13, mc.SHARED_RW_PFNMAP, HAVE_PTE_SPECIAL=0)
    assert v4_13.vm_insert_pfn_prot(k.vma, mc.A0, 0, pgprot_t(_PAGE_ACCESSED)) == 0
    assert mc.pte_at(k, mc.A0) == pte_t(_PAGE_ACCESSED)
    v4_13.zap_page_range_single(k.vma, mc.A0, PAGE_SIZE)
    assert mc.pte_at(k, mc.A0) == pte_t(_PAGE_ACCESSED)
    assert v4_13.vm_insert_pfn(k.vma, mc.A0, PFN) == 0
    assert mc.pte_at(k, mc.A0) == e(RO)


def test_arm64_pte_dirty_counts_the_hardware_dirty_state():
    """pte_sw_dirty || pte_hw_dirty: PTE_WRITE without PTE_RDONLY is dirty; x86 reads only
    _PAGE_DIRTY."""
    hw_dirty = e(RW)  # no RDONLY, no DIRTY
    assert arch.pte_dirty(kernel("arm64"), hw_dirty)
    assert not arch.pte_dirty(kernel("arm64"), e(RW | _PAGE_ARM64_RDONLY))
    assert not arch.pte_dirty(kernel("x86_64"), hw_dirty)


@pytest.mark.parametrize("arch_name, bits, pfn, swp_type", [
    ("x86_64", _PAGE_USER | _PAGE_SPECIAL, 0x40, 1),
    ("x86_64", _PAGE_USER | _PAGE_SPECIAL, 0x43, 25),
    ("x86_64", _PAGE_USER | _PAGE_SPECIAL | _PAGE_SOFT_DIRTY, 0x43, 29),  # SWP_HWPOISON
    ("x86_64", _PAGE_USER | _PAGE_SPECIAL | _PAGE_PAT, 0x40, 1),  # _PAGE_SWP_SOFT_DIRTY
    ("ppc64", _PAGE_USER | _PAGE_SPECIAL | _PAGE_RW, 0x43, 2),  # _PAGE_WRITE
    ("ppc64_radix", _PAGE_SPECIAL | _PAGE_SOFT_DIRTY, 0x43, 8),  # _PAGE_PRIVILEGED
    ("arm64", _PAGE_USER | _PAGE_SPECIAL, 0x43, 20),  # MT_NORMAL | PTE_USER
    ("arm64", _PAGE_USER | _PAGE_PCD, 0x40, 16),  # MT_DEVICE_nGnRnE
], ids=["x86_special", "x86_pfn_low_bits", "x86_soft_dirty_hwpoison", "x86_swp_soft_dirty",
        "ppc64_write", "radix_privileged", "arm64_user", "arm64_device"])
def test_a_non_present_entry_decodes_as_each_architecture_decodes_a_swap_entry(
        arch_name, bits, pfn, swp_type):
    """x86-64: type in bits 9-13 after clearing _PAGE_SWP_SOFT_DIRTY (bit 7); book3s64:
    bits 0-4 (_PAGE_EXEC, _WRITE, _READ, _PRIVILEGED, _SAO); arm64: bits 2-7 (AttrIndx,
    NS, PTE_USER, PTE_RDONLY)."""
    from fuzzplug.kernel.types import swp_type as type_of

    assert type_of(arch.pte_to_swp_entry(kernel(arch_name), e(bits, pfn))) == swp_type

# --- track_pfn_insert ---

CACHE_BITS = _PAGE_PWT | _PAGE_PCD | _PAGE_PAT


@pytest.mark.parametrize("ram, pfn, flags, devmap, expected_cache", [
    ((0x10, 0x1F), mc.MMIO, PFN_DEV, 1, _PAGE_PCD),  # no memtype reservation: UC-
    ((0x10, 0x1F), mc.RAM, 0, 1, _PAGE_PCD),  # RAM below 640 KiB: not RAM to PAT, UC-
    ((0xA0, 0xFF), 0xA0, 0, 1, 0),  # the ISA range: untracked, WB
    ((0x100, 0x1FF), 0x100, 0, 1, 0),  # RAM from 1 MiB: its page's memtype, WB
    ((0x10, 0x1F), mc.DEV, PFN_DEV | PFN_MAP, 1, 0),  # ZONE_DEVICE: devm_memremap_pages WB
    ((0x10, 0x1F), mc.DEV, PFN_DEV, 0, 0),  # device memory without pages: memremap() WB
], ids=["mmio_uc_minus", "low_ram_uc_minus", "isa_range_wb", "ram_wb", "zone_device_wb",
        "memremapped_device_wb"])
def test_track_pfn_insert_on_x86_with_pat_replaces_the_cache_bits_by_the_memtype(
        ram, pfn, flags, devmap, expected_cache):
    """(prot & ~_PAGE_CACHE_MASK) | cachemode2protval(lookup_memtype(pfn))."""
    k = kernel("x86_64", PAT=1, DEVMAP=devmap)
    k.memmap = Memmap(ram=ram, device=k.memmap.device, zero=k.memmap.zero)
    prot = pgprot_t(RO | CACHE_BITS)
    out = arch.track_pfn_insert(k.vma, prot, mc.pfn_of(pfn, flags))
    assert out == pgprot_t(RO | expected_cache)


@pytest.mark.parametrize("arch_name, pat", [("x86_64", 0), ("ppc64", 1), ("arm64", 1),
                                           ("ppc64_radix", 1)])
def test_track_pfn_insert_is_a_no_op_without_pat_or_off_x86(arch_name, pat):
    """!pat_enabled() returns at once; other architectures have the generic empty stub."""
    k = kernel(arch_name, PAT=pat)
    prot = pgprot_t(RO | _PAGE_PWT)
    assert arch.track_pfn_insert(k.vma, prot, mc.pfn_of(mc.MMIO, PFN_DEV)) == prot

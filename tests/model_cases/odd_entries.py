"""Cases of non-present entries decoded as swap entries, and of the smaller discrepancies."""

from __future__ import annotations

from fuzzplug.kernel.types import PAGE_SHIFT, PFN_DEV, pfn_pte, pgprot_t, pte_t

from .registry import case
from .scene import (
    A0,
    DEV_PFN,
    MMIO,
    SHARED_RW_MIXED,
    boot,
    call,
    install_pte,
    pfn_of,
    user_fault,
    zap,
)


# --- non-present entries decoded as swap entries ---

def _hand_made_swap_entry(model, bits: int, pfn: int, **config):
    k = boot(model, SHARED_RW_MIXED, **config)
    install_pte(k, model, A0, pte_t(pfn << PAGE_SHIFT | bits))
    user_fault(k, model, A0)
    zap(k, model, A0)
    return k


@case()
def fault_and_zap_of_a_hwpoison_swap_entry(model):
    """Hand-made on x86-64: a non-present entry with SPECIAL (bit 9), SOFT_DIRTY (bit 11)
    and a pfn whose two low bits are set (bits 12-13): swap type 1 + 4 + 24 = 29 =
    SWP_HWPOISON (what v4.14's mkwrite reuse of an insert-made non-present entry makes).
    A user load, then the zap."""
    from fuzzplug.kernel.types import _PAGE_SOFT_DIRTY, _PAGE_SPECIAL, _PAGE_USER

    return _hand_made_swap_entry(model, _PAGE_USER | _PAGE_SPECIAL | _PAGE_SOFT_DIRTY,
                                 MMIO + 3)


@case()
def fault_and_zap_of_a_migration_swap_entry(model):
    """Hand-made on x86-64: bits 9, 10 and 11 and a pfn with both low bits set: swap type
    31 = SWP_MIGRATION_WRITE (no modelled path makes it: bit 10 is unused on x86). A user
    load, then the zap."""
    from fuzzplug.kernel.types import (
        _PAGE_ARM64_RDONLY,
        _PAGE_SOFT_DIRTY,
        _PAGE_SPECIAL,
        _PAGE_USER,
    )

    return _hand_made_swap_entry(
        model, _PAGE_USER | _PAGE_SPECIAL | _PAGE_ARM64_RDONLY | _PAGE_SOFT_DIRTY, MMIO + 3)


@case()
def fault_and_zap_of_an_entry_with_no_swap_type(model):
    """Hand-made on arm64: a non-present entry with PTE_USER and PTE_RDONLY (and the
    MT_NORMAL AttrIndx every user prot carries): swap type 4 + 16 + 32 = 52, above every
    type: a non_swap_entry that is neither migration nor hwpoison. A user load, then the
    zap."""
    from fuzzplug.kernel.types import _PAGE_ARM64_RDONLY, _PAGE_USER

    return _hand_made_swap_entry(model, _PAGE_USER | _PAGE_ARM64_RDONLY, MMIO, arch="arm64")


@case("v4.14")
def mkwrite_reuse_of_a_non_present_entry_makes_a_hwpoison_entry(model):
    """vm_insert_pfn_prot() of MMIO+3 with a prot without _PAGE_PRESENT (swap type 1 + 24 =
    25), then vm_insert_mixed_mkwrite() of the same pfn: the reuse path's pte_mkdirty() adds
    SOFT_DIRTY (type 29, SWP_HWPOISON); then a user load and the zap."""
    from fuzzplug.kernel.types import _PAGE_USER

    k = boot(model, SHARED_RW_MIXED)
    call(k, model, "vm_insert_pfn_prot", A0, MMIO + 3, pgprot_t(_PAGE_USER))
    call(k, model, "vm_insert_mixed_mkwrite", A0, pfn_of(MMIO + 3, PFN_DEV))
    user_fault(k, model, A0)
    zap(k, model, A0)
    return k


# --- the smaller discrepancies ---

@case()
def zap_of_a_normal_entry_in_a_memmap_hole(model):
    """Hand-made: a non-special entry for an MMIO pfn (below highest_memmap_pfn, no struct
    page) in a VM_MIXEDMAP with pte_special; then the zap."""
    k = boot(model, SHARED_RW_MIXED)
    install_pte(k, model, A0, pfn_pte(MMIO, k.vma.vm_page_prot))
    zap(k, model, A0)
    return k


@case()
def write_fault_on_a_device_page_with_page_mkwrite(model):
    """A config no real kernel has (devmap without pte_special), with page_mkwrite:
    vm_insert_mixed() of ZONE_DEVICE memory (unrefcounted), then a user store; do_wp_page()
    sees a normal page, and filemap_page_mkwrite() finds it is no page of the file."""
    k = boot(model, SHARED_RW_MIXED, vm_ops="page_mkwrite", HAVE_PTE_SPECIAL=0, DEVMAP=1)
    call(k, model, "vm_insert_mixed", A0, DEV_PFN)
    user_fault(k, model, A0, write=True)
    return k

"""insert_pfn's intended delta: the seed's rules (`INTENDED_RULES`) and the fixes' (`FIX_RULES`),
each from its commit message, the rules of a pair (`rules_between`), and the promise of
vm_insert_mixed_mkwrite() checked on a side (`promise_diffs`). How the rules are applied,
op by op, is in `compare`."""

from __future__ import annotations

from dataclasses import dataclass

from fuzzplug.core.opslang import Op
from fuzzplug.kernel.state import Kernel
from fuzzplug.kernel.types import (
    PAGE_SHIFT,
    U64,
    VM_WRITE,
    pte_dirty,
    pte_pfn,
    pte_t,
    pte_write,
    pte_young,
)
from fuzzplug.targets.insert_pfn.chain import CAE, F2C, SEED, commits_between


@dataclass(frozen=True, slots=True)
class IntendedRule:
    """One entry of the intended delta: the op it covers, what it allows or demands, the
    kernel source that justifies it, and the commit whose intent it is."""

    name: str
    op: str
    says: str
    source: str
    commit: str = SEED


INTENDED_RULES: tuple[IntendedRule, ...] = (
    IntendedRule(
        name="mkwrite_is_insert_then_write_fault",
        op="vm_insert_mixed_mkwrite",
        says="v4.14's vm_insert_mixed_mkwrite(vma, addr, pfn) is compared with v4.13's "
             "vm_insert_mixed(vma, addr, pfn) followed, when that succeeded (0 or -EBUSY), "
             "by the user write access at addr through the MMU, which on DAX's read-only "
             "entry faults and is served by do_wp_page() with the VMA's pfn_mkwrite "
             "(dax_pfn_mkwrite → finish_mkwrite_fault → wp_page_reuse). "
             "Returns, observable events and the state after the op must then be equal.",
        source="b2770da64254 commit message: \"If 'mkwrite' is set insert_pfn() will do the "
               "work that was previously done by wp_page_reuse() as part of the "
               "dax_pfn_mkwrite() call path\"; fs/dax.c v4.13 dax_insert_mapping() → "
               "vm_insert_mixed(), dax_pfn_mkwrite() → finish_mkwrite_fault(); mm/memory.c "
               "v4.13 do_wp_page() → wp_pfn_shared()."),
    IntendedRule(
        name="ebusy_is_success",
        op="vm_insert_mixed_mkwrite",
        says="For that op the return is compared as its DAX caller sees it: 0 and -EBUSY "
             "are both VM_FAULT_NOPAGE (v4.14 returns 0 where v4.13's vm_insert_mixed() "
             "returned -EBUSY for the same present entry), -ENOMEM is VM_FAULT_OOM, any "
             "other error VM_FAULT_SIGBUS.",
        source="fs/dax.c v4.13 and v4.14 dax_iomap_pte_fault(): \"-EBUSY is fine, somebody "
               "else faulted on the same PTE\"; the only callers of vm_insert_mixed_mkwrite() "
               "are DAX's (v4.14 fs/dax.c)."),
    IntendedRule(
        name="mkwrite_promise",
        op="vm_insert_mixed_mkwrite",
        says="When v4.14's vm_insert_mixed_mkwrite() returns 0, or reuses a present entry "
             "for the requested pfn whatever it returns (cae85cb8add3 returns -EBUSY there), "
             "the PTE at addr maps the requested pfn and is young and dirty, and writable "
             "when the VMA has VM_WRITE; anything less is divergent (intended effect "
             "missing), whatever v4.13 did. And it never makes an entry writable on a VMA "
             "without VM_WRITE (maybe_mkwrite; an entry a driver already made writable "
             "stays as it was). For a pair that starts at v4.14 or later (both sides have "
             "vm_insert_mixed_mkwrite), the promise is the pre side's as much as the post "
             "side's: only a promise the post side breaks where the pre side kept it counts.",
        source="b2770da64254: \"a PTE entry can be marked as dirty and writeable as it is "
               "first inserted\"; insert_pfn() out_mkwrite: pte_mkyoung, pte_mkdirty, "
               "maybe_mkwrite (include/linux/mm.h: RW iff VM_WRITE); cae85cb8add3: \"Use "
               "ptep_set_access_flags() instead to modify the pfn which is built to deal "
               "with modifying existing PTE\" (the reuse still upgrades the entry)."),
)
"""The seed's intended delta (b2770da64254): it applies to every pair that spans
v4.13 → v4.14."""

FIX_RULES: tuple[IntendedRule, ...] = (
    IntendedRule(
        name="zero_pfn_mismatch_is_silent",
        op="vm_insert_mixed_mkwrite",
        commit=F2C,
        says="On a present entry for another pfn both sides still return -EBUSY and leave "
             "the entry alone; the mismatch WARN_ON_ONCE no longer fires when the mapped pfn "
             "is the zero pfn. Nothing else changes. The warning is the same one, its "
             "condition spelt anew (WARN_ON_ONCE(!is_zero_pfn(pte_pfn(*pte))) inside the "
             "mismatch test): the two are compared as one, and, being a WARN_ON_ONCE, it "
             "prints on the post side at a mismatch with another pfn where the pre side "
             "had already spent its once on zero-pfn mismatches. Applies where the pre side "
             "runs the code the fix replaced (its mismatch WARN) and both take the mismatch "
             "path.",
        source="f2c57d91b0d9 commit message: \"So just restrict the warning only to the "
               "case when the PFN in PTE is not zero page\"; \"the race is otherwise "
               "harmless\"; its code comment: \"If they don't match, we are likely racing "
               "with block allocation and mapping invalidation so just skip the update\"."),
    IntendedRule(
        name="reuse_stores_with_ptep_set_access_flags",
        op="vm_insert_mixed_mkwrite",
        commit=CAE,
        says="On a present entry for the requested pfn, the upgraded entry (young, dirty, "
             "maybe writable) is stored with ptep_set_access_flags(), update_mmu_cache() "
             "only when that changed the entry, instead of set_pte_at() and "
             "update_mmu_cache(). Allowed to differ, in that op and at that address only: "
             "(1) the bits of the entry that the architecture's ptep_set_access_flags() "
             "keeps as they were where set_pte_at() rewrites them (ppc64 hash: "
             "H_PAGE_HASHPTE and the slot bits F_SECOND/F_GIX, which set_pte_filter() "
             "strips; ppc64 radix: _PAGE_SOFT_DIRTY, which radix__ptep_set_access_flags() "
             "does not OR in; x86-64 and arm64: none); (2) which HPTEs that page has and "
             "their permission (ppc64 hash), never the pfn they translate to; "
             "(3) the pre side's reports from the old store: set_pte_at()'s VM_WARN_ON and "
             "stale-HPTE report, and the second HPTE of update_mmu_cache()'s preload "
             "(__hash_page_4K). The entry's difference is carried over later ops for as long "
             "as neither side changes that page's translation; anything else a later op "
             "shows is compared as usual. Applies where the pre side runs the code the fix "
             "replaced (the reuse through set_pte_at).",
        source="cae85cb8add3 commit message: \"on some architectures set_pte_at() cannot "
               "cope with a situation where there is already some (different) valid entry "
               "present. Use ptep_set_access_flags() instead to modify the pfn which is built "
               "to deal with modifying existing PTE.\"; the reported warning: "
               "\"VM_WARN_ON(pte_hw_valid(*ptep) && !pte_protnone(*ptep))\"; the arch hooks: "
               "arch/powerpc/mm/pgtable.c set_pte_at()/set_pte_filter(), asm/book3s/64/hash.h "
               "hash__ptep_set_access_flags(), asm/book3s/64/radix.h "
               "radix__ptep_set_access_flags(), arch/x86/mm/pgtable.c and "
               "arch/arm64/mm/fault.c ptep_set_access_flags()."),
    IntendedRule(
        name="reuse_returns_ebusy",
        op="vm_insert_mixed_mkwrite",
        commit=CAE,
        says="On that reuse path the raw return is -EBUSY where it was 0: the fix jumps to "
             "out_unlock with retval still -EBUSY. Only that (0 on the pre side, -EBUSY on "
             "the post side, both sides reusing the entry); DAX, the only caller, sees "
             "VM_FAULT_NOPAGE either way. Not stated in the message: its code does it, and "
             "it changes nothing a caller sees.",
        source="cae85cb8add3 as posted for stable 4.14 (AUTOSEL, linux-mm archive): the "
               "present case ends in \"goto out_unlock\" after ptep_set_access_flags(), with "
               "retval = -EBUSY from before the pte_none() test (upstream's insert_pfn() of "
               "v5.1 returns VM_FAULT_NOPAGE on both paths); fs/dax.c dax_iomap_pte_fault(): "
               "\"-EBUSY is fine\"."),
)
"""The fixes' intended deltas, each from its commit message: they apply to every pair that
spans the fix."""

RULES = INTENDED_RULES + FIX_RULES
RULED_OPS = frozenset(rule.op for rule in RULES)
# __vm_insert_mixed's choice of path (insert_page or insert_pfn) is part of every signature.
PATH_BRANCHES = ("vm_insert_mixed:",)


def rules_between(pre: str, post: str) -> tuple[IntendedRule, ...]:
    """The intended delta of a pair: the rules of the commits between them."""
    commits = commits_between(pre, post)
    return tuple(rule for rule in RULES if rule.commit in commits)


def _entry_at(k: Kernel, op: Op) -> pte_t:
    return k.mm.pgtable.get(_vpn(op), pte_t(0))


def _vpn(op: Op) -> int:
    return (op.get("addr", 0) & U64) >> PAGE_SHIFT


def promise_diffs(k: Kernel, op: Op, raw_ret: int | None, before: pte_t,
                  reused: bool = False) -> list[str]:
    """Rule `mkwrite_promise`, checked on a side after a mkwrite insert: writable only
    through maybe_mkwrite (never on a VMA without VM_WRITE, unless the entry already was),
    and after a 0 return, or a reuse of the present entry whatever the return, the
    requested pfn, young, dirty, and writable with VM_WRITE."""
    entry = _entry_at(k, op)
    if (not k.vma.vm_flags & VM_WRITE and pte_write(entry) and not pte_write(before)
            and entry.val):
        return ["promise:pte.RW_without_VM_WRITE"]
    if raw_ret != 0 and not reused:
        return []
    missing = []
    if not entry.val:
        return ["promise:pte.presence"]
    if pte_pfn(entry) != op["pfn"] & ((1 << 40) - 1):
        missing.append("promise:pte.pfn")
    if not pte_young(entry):
        missing.append("promise:pte.ACCESSED")
    if not pte_dirty(entry):
        missing.append("promise:pte.DIRTY")
    if k.vma.vm_flags & VM_WRITE and not pte_write(entry):
        missing.append("promise:pte.RW")
    return missing

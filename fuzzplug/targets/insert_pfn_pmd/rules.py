"""insert_pfn_pmd's intended delta: each commit's rules, from its commit message only
(docs/targets/insert_pfn_pmd.md quotes the messages), and the rules of a pair
(`rules_between`). How they are applied, op by op, is in `compare`."""

from __future__ import annotations

from dataclasses import dataclass

from fuzzplug.targets.insert_pfn_pmd.chain import C6F, CHAIN, FCE, V1


@dataclass(frozen=True, slots=True)
class IntendedRule:
    """One entry of the intended delta: what it allows, the message that states it, and
    the commit whose intent it is."""

    name: str
    says: str
    source: str
    commit: str


PRESENT_UPDATE = IntendedRule(
    name="present_entry_updated_with_access_flags",
    says="When the post side, on a PMD (PUD) holding a valid entry, updates it for a write "
         "of the same pfn through pmdp_set_access_flags() (pudp_set_access_flags()) where "
         "the pre side stored a new entry with set_pmd_at() (set_pud_at()): the pre side's "
         "reports of that store (ppc64's DEBUG_VM WARNs in set_pmd_at()/set_pte_at(), the "
         "hash HPTEs it strands) may be missing on the post side, the entry's bits other "
         "than its pfn and presence may differ (then, and after while both sides keep those "
         "entries), and so may the page-table accounting and the live page-table pages the "
         "second deposit made (then, and after while the difference stays the same).",
    source="\"With some architectures like ppc64, set_pmd_at() cannot cope with a situation "
           "where there is already some (different) valid entry present. Use "
           "pmdp_set_access_flags() instead to modify the pfn which is built to deal with "
           "modifying existing PMD entries. [...] We also do similar update w.r.t "
           "insert_pfn_pud\" (the v1 posting and c6f3c5ee40c1)",
    commit=V1)
PGTABLES_BYTES_GONE = IntendedRule(
    name="no_pgtables_bytes_report",
    says="check_mm()'s \"BUG: non-zero pgtables_bytes on freeing mm\" printed by the pre "
         "side only, at exit, while the pre side's pgtables_bytes exceeds the post side's "
         "by what present_entry_updated_with_access_flags allowed.",
    source="\"Without this patch we also see the below message in kernel log \"BUG: "
           "non-zero pgtables_bytes on freeing mm:\"\" (c6f3c5ee40c1)",
    commit=C6F)
LEAK_FIXED = IntendedRule(
    name="pgtable_leak_fixed",
    says="On the present-entry path, the table vmf_insert_pfn_pmd() preallocated is freed "
         "on the post side where the pre side left it allocated: fewer live page-table "
         "pages on the post side, then, and after while the difference stays the same.",
    source="\"Changes from v1: * Fix the pgtable leak\" (the v2 posting, c6f3c5ee40c1)",
    commit=C6F)
ALIGNED = IntendedRule(
    name="aligned_address_no_vm_bug",
    says="pmdp_set_access_flags()'s (pudp_set_access_flags()'s) VM_BUG_ON(address & "
         "~HPAGE_PMD_MASK) fires on the pre side and not on the post side, which passes "
         "the aligned address; the pre task is dead after it, so nothing later is compared.",
    source="\"That helper enforces a pmd aligned @address argument via VM_BUG_ON() "
           "assertion. Update the implementation to take a 'struct vm_fault' argument "
           "directly and apply the address alignment fixup internally to fix crash "
           "signatures like: kernel BUG at arch/x86/mm/pgtable.c:515!\" (fce86ff5802b)",
    commit=FCE)

RULES_OF = {V1: (PRESENT_UPDATE,), C6F: (PRESENT_UPDATE, PGTABLES_BYTES_GONE, LEAK_FIXED),
            FCE: (ALIGNED,)}
"""Each commit's rules. c6f3c5ee40c1 restates v1's message, so a pair from v5.0 to it
without v1 in between has v1's rule too."""


def rules_between(pre: str, post: str) -> tuple[IntendedRule, ...]:
    """The rules of the commits that make `post` from `pre` (in order, without repeats). The
    chain's v1 and c6f3c5ee40c1 are two postings of one change: a pair that spans both
    (v5.0 to c6f3c5ee40c1 or later) has c6f3c5ee40c1's rules, its leak rule included only
    if the pair starts at v1 (from v5.0 there is no v1 leak to fix)."""
    out: list[IntendedRule] = []
    commits = CHAIN.commits_between(pre, post)
    for commit in commits:
        for rule in RULES_OF[commit]:
            if rule is LEAK_FIXED and V1 in commits:
                continue
            if rule not in out:
                out.append(rule)
    return tuple(out)

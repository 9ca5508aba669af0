"""What the mm models' insert_pfn() mkwrite path reports, as the fixes' rules read it.

mm/memory.c's insert_pfn() with `mkwrite` (b2770da64254) and its two upstream fixes
(f2c57d91b0d9, cae85cb8add3) are the same code for every target that calls it; the rules a
target states for those fixes speak of the branch ids, warnings and store the models record
on that path. They are named once here, for every target on the kernel models.
"""

from __future__ import annotations

from fuzzplug.kernel.state import Arch

REUSE = "insert_pfn:present:mkwrite:reuse"
MISMATCH = "insert_pfn:present:mkwrite:pfn_mismatch"
MISMATCH_ZERO_PFN = "insert_pfn:present:mkwrite:pfn_mismatch:zero_pfn"
REUSE_STORED = ("insert_pfn:present:mkwrite:reuse:changed",
                "insert_pfn:present:mkwrite:reuse:unchanged")
"""The branches of insert_pfn()'s mkwrite path on a present entry (the mm models' ids): a
side that reuses the entry without REUSE_STORED runs the set_pte_at() store that
cae85cb8add3 replaced."""
SEED_WARN = ("warn", "insert_pfn", "pte_pfn(*pte) != pfn_t_to_pfn(pfn)")
F2C_WARN = ("warn", "insert_pfn", "!is_zero_pfn(pte_pfn(*pte))")
"""The mismatch WARN_ON_ONCE of b2770da64254, and the same warning as f2c57d91b0d9
restricts it (not for the zero pfn)."""
OLD_STORE_REPORTS = ("set_pte_at", "__hash_page_4K")
"""Functions whose reports come from the store cae85cb8add3 replaced: set_pte_at() (its
VM_WARN_ON, its filter's stale HPTE) and update_mmu_cache()'s hash preload."""
STORE_KEEPS = {
    Arch.x86_64: frozenset(),
    Arch.arm64: frozenset(),
    Arch.ppc64: frozenset({"HASHPTE", "F_SECOND", "F_GIX0", "F_GIX1", "F_GIX2"}),
    Arch.ppc64_radix: frozenset({"SOFT_DIRTY"}),
}
"""Per architecture, the PTE bits ptep_set_access_flags() leaves as they were where
set_pte_at() rewrites them (rule reuse_stores_with_ptep_set_access_flags)."""

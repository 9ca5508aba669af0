"""dax_fault's intended delta: the series' stated effects, each with the sentence it rests on.

The series is "DAX common 4k zero page" (Ross Zwisler, v5 posted 2017-07-24; merged for
v4.14): patch 1 b2770da64254 ("mm: add vm_insert_mixed_mkwrite()"), patch 2 ("dax: relocate
some dax functions"), patch 3 91d25ba8a6b0 ("dax: use common 4k zero page for dax mmap
reads"), patch 4 ("dax: remove DAX code from page_cache_tree_insert()"), patch 5 ("dax:
move all DAX radix tree defs to fs/dax.c"). The sentences are quoted from the commit
messages as posted (the linux-mm archive), with the wording Jan Kara asked for and Ross
Zwisler accepted in the v3 3/5 thread (2017-07-19/20), and from the v4.14 code comments.

Everything not allowed here is divergent: SIGBUS/SIGSEGV/OOM/LIVELOCK, load values, what
the file holds (visible and durable), tags, blocks, WARN/BUG/bad-PTE events, leaks, and the
final PTEs, struct pages, counters and mapping entries outside rules 1 and 2. How each rule
is applied is in `fuzzplug.targets.dax_fault.target` (`normalised_view`, `compare_op`).

After v4.14 the chain (`chain.py`) has the two upstream fixes of patch 1; their rules
(`FIX_RULES`) are the insert_pfn target's of the same names, stated as what a DAX fault shows
of them. A pair's intended delta is the rules of the commits between its versions
(`rules_between`): the series' rules on a pair that spans v4.13 → v4.14 only.
"""

from __future__ import annotations

from dataclasses import dataclass

from fuzzplug.targets.dax_fault.chain import CAE, F2C, SERIES, commits_between


@dataclass(frozen=True, slots=True)
class IntendedRule:
    """One entry of the intended delta: what it allows, the sentence it rests on, and the
    commit of the chain whose intent it is (the series' rules: its first patch's id)."""

    name: str
    allows: str
    source: str
    commit: str = SERIES


HOLE_READ_ZERO_PAGE = IntendedRule(
    name="hole_read_zero_page",
    allows="A read fault on a hole: v4.14 maps the shared zero pfn (a special PTE, or a "
           "refcounted insert_page() of the zero page without pte_special) and puts a "
           "zero-page DAX entry in the tree, where v4.13 allocates a zeroed page-cache page, "
           "adds it to the mapping and maps it as a normal file page. Allowed to differ: "
           "the PTE's pfn and SPECIAL/DEVMAP bits when it maps the hole page or the zero "
           "page; the entry's kind (page vs zero entry); nrpages and nrexceptional by those "
           "entries; the hole pages (RAM) and the zero page's struct pages and data; "
           "MM_FILEPAGES by the normal PTEs that map them. The load's value and everything "
           "else must be equal.",
    source="91d25ba8a6b0 (patch 3): \"When servicing mmap() reads from file holes the "
           "current DAX code allocates a page cache page of all zeroes and places the "
           "struct page pointer in the mapping->page_tree radix tree. [...] Solve these "
           "issues by following the lead of the DAX PMD code and using a common 4k zero "
           "page instead. As with the PMD code we will now insert a DAX exceptional entry "
           "into the radix tree instead of a struct page pointer.\"")

HOLE_REPLACEMENT = IntendedRule(
    name="hole_replacement",
    allows="When a block replaces such a hole (a write fault, write(2), punch or "
           "truncate), v4.13 unmaps, deletes and frees the hole page and v4.14 unmaps the "
           "zero page and replaces or deletes the zero entry: the same fields as "
           "hole_read_zero_page may differ (the freed hole page's struct page stays "
           "different); the PTEs, entries and data after the op must be equal.",
    source="91d25ba8a6b0: \"If this page is ever written to we will re-fault and change "
           "the mapping to point to real DAX storage instead\" (v4.14 dax_load_hole(), "
           "fs/dax.c) and dax_insert_mapping_entry()'s \"we are replacing a zero page with "
           "block mapping\" (v4.14 fs/dax.c).")

MKWRITE_ONE_FAULT = IntendedRule(
    name="mkwrite_one_fault",
    allows="A store that needs a writable, dirty block entry (the first store to a block, "
           "or to a hole) takes exactly one fault fewer in v4.14: the write fault inserts "
           "the entry young, dirty and writable at once, where v4.13 inserted it "
           "read-only and took a second, write-protect fault through dax_pfn_mkwrite(). "
           "The store's status and the state after it must be equal.",
    source="b2770da64254 (patch 1): \"a PTE entry can be marked as dirty and writeable as "
           "it is first inserted, rather than waiting for a follow-up dax_pfn_mkwrite() => "
           "finish_mkwrite_fault() call\" and \"If 'mkwrite' is set insert_pfn() will do "
           "the work that was previously done by wp_page_reuse() as part of the "
           "dax_pfn_mkwrite() call path\".")

PFN_MKWRITE_IS_THE_FAULT_HANDLER = IntendedRule(
    name="pfn_mkwrite_is_the_fault_handler",
    allows="The write-protect fault on a read-only DAX entry runs the whole DAX fault "
           "(grab the entry, iomap_begin, insert with mkwrite) instead of dax_pfn_mkwrite(): "
           "branch ids, steps and lock sequences differ (they are never compared, only "
           "hashed into signatures); returns, events and the end state must be equal.",
    source="91d25ba8a6b0, in the wording Jan Kara asked for and Ross Zwisler accepted "
           "(v3 3/5 thread, 2017-07-20): \"We get rid of dax_pfn_mkwrite() helper and use "
           "dax_iomap_fault() to handle write-protection faults instead.\"; Ross Zwisler in "
           "the same thread: \"this mkwrite fault path is exactly the path we would have "
           "taken if the initial read to real storage hadn't happened, and we end up in "
           "the same end state - with a dirty DAX radix tree entry and a writeable PTE.\"")

FEWER_ALLOCATIONS = IntendedRule(
    name="fewer_allocations",
    allows="v4.14 makes no page-cache allocation for holes, so neither the page's "
           "allocation nor its tree preloads (add_to_page_cache, and the hole fill when a "
           "block replaces it), and uses no memory for them. (a) When v4.13 cannot get a "
           "hole page (RAM used up, or an injected failure at that allocation), v4.14 has "
           "no allocation to fail: v4.13's read fault ends OOM where v4.14's maps the zero "
           "page, and leaves an unlocked empty entry and no PTE (nor the PTE table, if it "
           "had none) where v4.14 has its zero entry and zero-page PTE. That op's return, "
           "fault count and OOM signal may differ; from then on, each of those leftovers "
           "for as long as it lasts (the two entries as the failure left them; no PTE "
           "on v4.13 at that address where v4.14 has the zero page's; the PTE table "
           "v4.13 lacks and v4.14 has) is matched: the entries compare equal and v4.13's "
           "empty entry is left out of nrexceptional, v4.14's PTE (with its HPTEs) and "
           "table are left out; everything else is compared, op by op, to the end. (b) When a failure armed at a site whose count v4.13's hole "
           "allocations shift (__page_cache_alloc, radix_tree_preload, or the N-th "
           "allocation at any site) fires on one side only or at different sites, after "
           "v4.13 made such an allocation since it was armed, the two kernels failed "
           "different allocations by construction: the run is intended up to that op and "
           "not compared after it. A failure armed at any other site counts the same "
           "allocations on both sides and is compared like everything else.",
    source="91d25ba8a6b0: \"1) It consumes memory unnecessarily. For every 4k page that "
           "is read via a DAX mmap() over a hole, we allocate a new page cache page.\" and "
           "\"2) It is slower than using a common zero page because each page fault has "
           "more work to do. Instead of just inserting a common zero page we have to "
           "allocate a page cache page, zero it, and then insert it.\"")

WARN_ON_PAGE_IN_DAX_TREE = IntendedRule(
    name="warn_on_page_in_dax_tree",
    allows="Nothing: v4.14 WARNs (and grab_mapping_entry() returns -EIO) when it finds a "
           "struct page in a DAX tree. No modelled path puts one there; if the WARN fires "
           "it is a divergence like any other (listed so that the rule table holds every "
           "stated effect).",
    source="91d25ba8a6b0: \"Note that we do still pretty aggressively check for regular "
           "pages in the DAX radix tree [...] If we ever find a regular page in our radix "
           "tree now that most likely means that someone besides DAX is inserting pages "
           "[...] we want to find that out early and fail loudly.\"")

INTENDED_RULES: tuple[IntendedRule, ...] = (
    HOLE_READ_ZERO_PAGE, HOLE_REPLACEMENT, MKWRITE_ONE_FAULT,
    PFN_MKWRITE_IS_THE_FAULT_HANDLER, FEWER_ALLOCATIONS, WARN_ON_PAGE_IN_DAX_TREE)
APPLICABLE_RULES = (HOLE_READ_ZERO_PAGE, HOLE_REPLACEMENT, MKWRITE_ONE_FAULT, FEWER_ALLOCATIONS)
"""The rules that allow a compared difference, and so make a verdict `intended` when they
do. pfn_mkwrite_is_the_fault_handler is why branch ids and steps are never compared (it
allows nothing that is: a store after a load of a block is `same`); the WARN rule allows
nothing."""

# --- the fixes of the series' patch 1 (the chain after v4.14) ---------------------------------
# Each fix changes insert_pfn() alone (mm/memory.c); its intent is the insert_pfn target's
# FIX_RULES of the same name (fuzzplug/targets/insert_pfn/rules.py), stated here as what a
# DAX fault, the only caller of vm_insert_mixed_mkwrite(), shows of it. Each applies to a
# pair that spans its commit, where the pre side runs the code the fix replaced.

ZERO_PFN_MISMATCH_IS_SILENT = IntendedRule(
    name="zero_pfn_mismatch_is_silent",
    commit=F2C,
    allows="In an op whose write fault finds, in insert_pfn()'s mkwrite path, a present "
           "entry for another pfn on both sides (the PTE still maps the zero page while a "
           "block was allocated under it: the race with write(2), fstests generic/344): "
           "the pre side's WARN_ON_ONCE(pte_pfn(*pte) != pfn_t_to_pfn(pfn)) may be absent "
           "on the post side when the mapped pfn is the zero pfn. The warning is one "
           "warning with its condition spelt anew (WARN_ON_ONCE(!is_zero_pfn(...)) inside "
           "the mismatch test): the two are compared as one, and a post-side print at a "
           "mismatch with another pfn, where the pre side had spent its once on the zero "
           "pfn, is allowed too. Both sides still return -EBUSY, which the DAX fault calls "
           "done: returns, fault counts, the file and the state must be equal.",
    source="f2c57d91b0d9 commit message: \"So just restrict the warning only to the case "
           "when the PFN in PTE is not zero page\"; \"the race is otherwise harmless\"; its "
           "code comment: \"If they don't match, we are likely racing with block "
           "allocation and mapping invalidation so just skip the update\"; the insert_pfn "
           "target's rule of the same name.")

REUSE_STORES_WITH_PTEP_SET_ACCESS_FLAGS = IntendedRule(
    name="reuse_stores_with_ptep_set_access_flags",
    commit=CAE,
    allows="In an access whose fault reuses, in insert_pfn()'s mkwrite path, a present "
           "entry for the requested pfn (a store after a load of a block: the "
           "write-protect fault is the DAX fault), the upgraded entry is stored with "
           "ptep_set_access_flags(), update_mmu_cache() only when that changed it, instead "
           "of set_pte_at() and update_mmu_cache(). Allowed to differ, in that op and at "
           "the access's address only: (1) the entry's bits the architecture's "
           "ptep_set_access_flags() keeps where set_pte_at() rewrites them (ppc64 hash: "
           "H_PAGE_HASHPTE and the slot bits; ppc64 radix: _PAGE_SOFT_DIRTY; x86-64 and "
           "arm64: none); (2) that page's HPTEs (ppc64 hash); (3) the pre side's reports "
           "from the old store: set_pte_at()'s VM_WARN_ON and stale-HPTE report, and the "
           "second HPTE of update_mmu_cache()'s preload (__hash_page_4K). The entry's "
           "difference is carried over later ops for as long as neither side changes that "
           "address's PTE or HPTEs; anything else a later op shows is compared as usual.",
    source="cae85cb8add3 commit message: \"on some architectures set_pte_at() cannot cope "
           "with a situation where there is already some (different) valid entry present. "
           "Use ptep_set_access_flags() instead to modify the pfn which is built to deal "
           "with modifying existing PTE.\"; the insert_pfn target's rule of the same name, "
           "with its architecture hooks.")

REUSE_RETURNS_EBUSY = IntendedRule(
    name="reuse_returns_ebusy",
    commit=CAE,
    allows="Nothing a DAX fault shows: the reuse path's raw return is -EBUSY where it was "
           "0, and dax_iomap_pte_fault(), vm_insert_mixed_mkwrite()'s only caller, calls "
           "both VM_FAULT_NOPAGE (listed so that the fix's rules are the insert_pfn "
           "target's; a difference it would make is compared like any other).",
    source="cae85cb8add3 as posted for stable 4.14 (the present case ends in \"goto "
           "out_unlock\" with retval = -EBUSY); fs/dax.c dax_iomap_pte_fault(): \"-EBUSY "
           "is fine\"; the insert_pfn target's rule of the same name.")

FIX_RULES: tuple[IntendedRule, ...] = (
    ZERO_PFN_MISMATCH_IS_SILENT, REUSE_STORES_WITH_PTEP_SET_ACCESS_FLAGS, REUSE_RETURNS_EBUSY)
"""The fixes' intended deltas, each from its commit message: they apply to every pair that
spans the fix."""

RULES = INTENDED_RULES + FIX_RULES


def rules_between(pre: str, post: str) -> tuple[IntendedRule, ...]:
    """The intended delta of a pair: the rules of the commits between them (the series'
    when the pair spans v4.13 → v4.14)."""
    commits = commits_between(pre, post)
    return tuple(rule for rule in RULES if rule.commit in commits)

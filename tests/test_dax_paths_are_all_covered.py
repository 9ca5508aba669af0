"""Every branch id of each DAX model has a test (tests/test_dax_paths_*.py) or a stated reason."""

from __future__ import annotations

import ast
import inspect

# The branch-path modules: importing them runs their @covers, which fill COVERED.
import test_dax_paths_fault  # noqa: F401
import test_dax_paths_fsync  # noqa: F401
import test_dax_paths_munmap  # noqa: F401
import test_dax_paths_punch_and_truncate  # noqa: F401
import test_dax_paths_write  # noqa: F401
from dax_path_checks import COVERED
from fuzzplug.kernel import dax_v4_13, dax_v4_14, fs


_PAGE_CACHE = "v4.14 never puts a page in a DAX mapping (a hole read maps the zero page)"
_RACE = "a race: only another task (issue #13) can change the state between the two points"

UNREACHABLE: dict[str, dict[str, str]] = {}
UNREACHABLE["v4.13"] = {
    "__add_to_page_cache_locked:insert_failed":
        "DAX adds a hole page only in place of its own locked empty entry",
    "page_cache_tree_insert:eexist":
        "DAX adds a hole page only in place of its own locked empty entry",
    "page_cache_tree_insert:empty_slot":
        "DAX adds a hole page only in place of its own locked empty entry",
    "pagecache_get_page:found":
        "dax_load_hole creates a page only when its entry is exceptional (find_get_entry "
        "returns that entry, not a page)",
    "__delete_from_page_cache:still_mapped": "every caller unmaps the page first",
    "alloc_set_pte:busy": _RACE + " (a fault installs the PTE before finish_fault)",
    "dax_insert_mapping_entry:huge_zero_page":
        "no PMD entry exists (the VMAs are smaller than a PMD)",
    "dax_iomap_pte_fault:unexpected_type":
        "a write fault asks ext4 to allocate, which maps the page or fails",
    "dax_mapping_entry_mkclean:other_pfn": _RACE + " (the block reallocated while mapped)",
    "dax_pfn_mkwrite:no_entry": _RACE + " (truncate or punch between the unmap and the fault)",
    "ext4_dax_pfn_mkwrite:beyond_eof": _RACE + " (truncate unmaps beyond the new size first)",
    "dax_unlock_mapping_entry:not_locked": "every unlock follows its lock in one task",
    "dax_writeback_mapping_range:error": "only the writeback errors below make one",
    "dax_writeback_mapping_range:nothing":
        "fsync writes back only with exceptional entries, punch only with a DIRTY tag",
    "dax_writeback_one:page": "no page is ever tagged in a DAX mapping",
    "dax_writeback_one:empty_or_zero": "only block entries are tagged DIRTY",
    "dax_writeback_one:gone": _RACE,
    "dax_writeback_one:reallocated": _RACE,
    "dax_writeback_one:not_towrite": _RACE + " (another fsync wrote it back)",
    "filemap_write_and_wait_range:nothing":
        "punch writes back only a mapping tagged DIRTY, whose tagged entry is exceptional",
    "get_unlocked_mapping_entry:wait":
        "no entry is left locked between ops; only another task can hold one",
    "grab_mapping_entry:page_truncated": _RACE,
    "grab_mapping_entry:raced": _RACE,
    "invalidate_complete_page2:dirty": "hole pages are never dirtied (read-only, replaced)",
    "invalidate_inode_pages2_range:busy_entry":
        "write(2) invalidates only over new blocks, whose entries are never dirty",
    "__dax_invalidate_mapping_entry:dirty":
        "write(2) invalidates only over new blocks, whose entries are never dirty",
    "__dax_invalidate_mapping_entry:no_entry":
        "truncation and invalidation pass the entries they found",
    "invalidate_inode_pages2_range:page_mapped:page":
        "the first mapped page's unmap covers the rest of the range",
    "truncate_inode_page:mapped": "truncate and punch unmap the range first",
    "truncate_inode_pages_range:page_locked": "no page is left locked between ops",
    "truncate_inode_pages_range:second_pass":
        "the first pass leaves nothing; only a concurrent fault refills the range",
}
UNREACHABLE["v4.14"] = {
    **{k: v for k, v in UNREACHABLE["v4.13"].items()
       if k not in ("page_cache_tree_insert:eexist", "page_cache_tree_insert:empty_slot",
                    "__add_to_page_cache_locked:insert_failed", "pagecache_get_page:found",
                    "dax_pfn_mkwrite:no_entry", "ext4_dax_pfn_mkwrite:beyond_eof",
                    "grab_mapping_entry:page_truncated")},
    **{k: _PAGE_CACHE for k in (
        "page_cache_tree_insert:eexist", "page_cache_tree_insert:empty_slot",
        "page_cache_tree_insert:replace_exceptional", "pagecache_get_page:found",
        "pagecache_get_page:created", "pagecache_get_page:alloc_failed",
        "pagecache_get_page:add_failed", "__add_to_page_cache_locked:insert_failed",
        "__add_to_page_cache_locked:preload_failed", "alloc_set_pte:file",
        "grab_mapping_entry:page", "invalidate_inode_pages2_range:page",
        "invalidate_inode_pages2_range:page_mapped:range", "truncate_inode_pages_range:page")},
    "dax_load_hole:sigbus": "dax_insert_mapping_entry returns no error in v4.14",
    "dax_iomap_pte_fault:mapped:ebusy":
        "a write fault inserts with mkwrite (a present entry is reused) and a read fault "
        "reaches the insert only with no entry present",
}


def _declared(module) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "branch" and node.args
                and isinstance(node.args[0], ast.Constant)):
            found.add(node.args[0].value)
    return found


def test_every_branch_id_of_each_dax_model_has_a_test_or_a_stated_reason():
    """Per version: the DAX model's ids and the shared fs ids are covered by a test above or
    listed as unreachable in a sequential run, with the reason; no id is both, none stale."""
    for model in (dax_v4_13, dax_v4_14):
        declared = _declared(model) | _declared(fs)
        covered, unreachable = set(COVERED[model.VERSION]), set(UNREACHABLE[model.VERSION])
        assert sorted(declared - covered - unreachable) == [], model.VERSION
        assert sorted((covered | unreachable) - declared) == [], model.VERSION
        assert sorted(covered & unreachable) == [], model.VERSION

"""The DAX models are siblings: their diff is the series "DAX common 4k zero page" and nothing else.

Patch 2 moves dax_wake_mapping_entry_waiter() above slot_locked() and dax_load_hole() below
dax_insert_mapping() (where dax_pfn_mkwrite() was); patch 3 rewrites dax_load_hole(),
dax_insert_mapping_entry() and dax_insert_mapping(), drops dax_pfn_mkwrite() and ext4's
ext4_dax_pfn_mkwrite(), routes pfn_mkwrite to ext4_dax_fault, and adds the WARNs for pages in
a DAX tree; patch 4 edits page_cache_tree_insert(); patch 5 moves the RADIX_DAX definitions
(RADIX_DAX_HZP becomes RADIX_DAX_ZERO_PAGE). The mm model underneath changes from v4_13 to
v4_14 (patch 1).
"""

from __future__ import annotations

import ast
import inspect
from types import ModuleType

from fuzzplug.kernel import dax_v4_13, dax_v4_14

REMOVED = ("dax_pfn_mkwrite", "ext4_dax_pfn_mkwrite")
CHANGED = ("page_cache_tree_insert", "dax_is_zero_entry", "get_unlocked_mapping_entry",
           "put_locked_mapping_entry", "put_unlocked_mapping_entry", "grab_mapping_entry",
           "__dax_invalidate_mapping_entry", "dax_load_hole", "dax_insert_mapping_entry",
           "dax_writeback_one", "dax_insert_mapping", "dax_iomap_pte_fault")


def _body(model: ModuleType) -> list[ast.stmt]:
    return ast.parse(inspect.getsource(model)).body


def _functions(model: ModuleType) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in _body(model) if isinstance(n, ast.FunctionDef)}


def _order(model: ModuleType) -> list[str]:
    return [n.name for n in _body(model) if isinstance(n, ast.FunctionDef)]


def _without_docstring(fn: ast.FunctionDef) -> list[str]:
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return [ast.dump(s) for s in body]


def test_v4_14_has_v4_13s_functions_in_order_with_the_series_moves_and_removals():
    """Patch 2's moves, patch 3's removals, nothing else reordered."""
    expected = [f for f in _order(dax_v4_13)
                if f not in REMOVED + ("dax_wake_mapping_entry_waiter", "dax_load_hole")]
    expected.insert(expected.index("slot_locked"), "dax_wake_mapping_entry_waiter")
    expected.insert(expected.index("dax_insert_mapping") + 1, "dax_load_hole")
    assert _order(dax_v4_14) == expected


def test_every_function_the_series_does_not_touch_is_identical():
    """Same ast (signature, docstring, body) outside the series' functions."""
    before, after = _functions(dax_v4_13), _functions(dax_v4_14)
    differing = sorted(name for name in after if name not in CHANGED
                       and ast.dump(before[name]) != ast.dump(after[name]))
    assert differing == []


def test_each_function_the_series_changes_differs_in_its_code():
    """The list above is not stale: each changed function's body differs."""
    before, after = _functions(dax_v4_13), _functions(dax_v4_14)
    same = [n for n in CHANGED if _without_docstring(before[n]) == _without_docstring(after[n])]
    assert same == []


def _module_level(model: ModuleType) -> list[str]:
    body = _body(model)[1:]  # without the module docstring
    return [ast.dump(n) for n in body if not isinstance(n, ast.FunctionDef)]


def test_module_level_differences_are_the_mm_model_version_and_the_series_definitions():
    """Imports of the mm model (v4_13 → v4_14, with vm_insert_mixed_mkwrite and without
    finish_mkwrite_fault), the zero pfn's pfn_t helper, VERSION, RADIX_DAX_HZP →
    RADIX_DAX_ZERO_PAGE, and ext4_dax_vm_ops.pfn_mkwrite."""
    before, after = _module_level(dax_v4_13), _module_level(dax_v4_14)
    assert len(before) == len(after)
    differing = [(a, b) for a, b in zip(before, after) if a != b]
    described = []
    for a, b in differing:
        if "v4_13" in a and "v4_14" in b:
            described.append("mm model")
        elif "VERSION" in a:
            described.append("VERSION")
        elif "RADIX_DAX_HZP" in a and "RADIX_DAX_ZERO_PAGE" in b:
            described.append("RADIX_DAX_ZERO_PAGE")
        elif "ext4_dax_vm_ops" in a:
            described.append("ext4_dax_vm_ops")
        elif "__pfn_to_pfn_t" in b and "__pfn_to_pfn_t" not in a:
            described.append("pfn_t import")
        else:
            described.append(f"unexplained: {a[:80]}")
    assert sorted(described) == sorted(["mm model", "mm model", "VERSION",
                                        "RADIX_DAX_ZERO_PAGE", "ext4_dax_vm_ops",
                                        "pfn_t import"])


def test_the_models_run_on_their_own_mm_model():
    """dax_v4_13 on v4_13 (vm_insert_mixed only), dax_v4_14 on v4_14 (with the mkwrite
    twin), and each names its version."""
    assert (dax_v4_13.VERSION, dax_v4_14.VERSION) == ("v4.13", "v4.14")
    assert dax_v4_13.mm_model.VERSION == "v4.13" and dax_v4_14.mm_model.VERSION == "v4.14"
    assert dax_v4_14.vm_insert_mixed_mkwrite is dax_v4_14.mm_model.vm_insert_mixed_mkwrite
    assert not hasattr(dax_v4_13, "vm_insert_mixed_mkwrite")

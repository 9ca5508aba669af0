"""docs/models.md's index names every function the kernel models define, each with the
version and module of every definition, and nothing else (`tests/models_index.py`)."""

from __future__ import annotations

import ast
import re

import models_index


def _rows(block: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"^\| `([^`]+)` \| (.*) \|$", block, re.M)}


def test_the_index_in_docs_models_md_is_the_one_the_models_generate():
    """The page's index block is exactly what `python tests/models_index.py` writes."""
    current = models_index.page_block(models_index.PAGE.read_text())
    assert current, "docs/models.md has no index markers"
    assert current == models_index.block(), "run: python tests/models_index.py"


def test_every_function_defined_under_fuzzplug_kernel_has_a_row_naming_each_of_its_modules():
    """Each model function (top level or an architecture's method) is a row, and the row
    names every module that defines it, with that module's version."""
    rows = _rows(models_index.page_block(models_index.PAGE.read_text()))
    missing, unplaced = [], []
    for path in sorted(models_index.KERNEL.glob("*.py")):
        tree = ast.parse(path.read_text())
        version = models_index._version(tree)
        names = [n.name for n in ast.walk(tree)
                 if isinstance(n, ast.FunctionDef) and models_index._is_model_function(n.name)]
        for name in names:
            if name not in rows:
                missing.append(f"{path.name}:{name}")
            elif f"`{path.name}`" not in rows[name] or f"{version}:" not in rows[name]:
                unplaced.append(f"{path.name}:{name} ({version})")
    assert rows and not missing and not unplaced, (missing, unplaced)


def test_the_index_leaves_out_python_helpers_and_keeps_kernel_double_underscore_names():
    """`_hook` and `__init__` are not kernel functions; `__handle_mm_fault` is one."""
    assert not models_index._is_model_function("_hook")
    assert not models_index._is_model_function("__init__")
    assert not models_index._is_model_function("to_json")
    assert models_index._is_model_function("__handle_mm_fault")
    assert models_index._is_model_function("__hash_page_4K")
    rows = _rows(models_index.block())
    assert "__handle_mm_fault" in rows and "__init__" not in rows

"""Semantic coverage: the branch ids a model declares.

Every branch of a modelled C function records a stable id with `k.branch("function:...")`.
The ids a model declares are read from its source (and from the shared helpers it calls
that have branches: fuzzplug.kernel.mm, and fuzzplug.kernel.arch for the MMU step and the
hash MMU), so a test can check that the suite reaches every one of them.
"""

from __future__ import annotations

import ast
import inspect
from functools import cache
from types import ModuleType

from fuzzplug.kernel import arch as _shared_arch
from fuzzplug.kernel import mm as _shared_mm


def _ids_in(module: ModuleType) -> frozenset[str]:
    tree = ast.parse(inspect.getsource(module))
    found = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "branch" and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return frozenset(found)


@cache
def declared_branch_ids(model: ModuleType) -> frozenset[str]:
    """Every branch id the model module declares, plus those of the shared mm helpers and
    architecture code."""
    return _ids_in(model) | _ids_in(_shared_mm) | _ids_in(_shared_arch)

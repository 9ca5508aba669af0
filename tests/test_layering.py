"""The layers of the model world: the kernel folder holds models of kernel code only, and
imports go one way — runtime below the models, the models, the exploration layer above
them, then the differential core and the targets."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fuzzplug"

# What each floor may import of fuzzplug (its own floor included). Standard library and
# third-party imports are not fuzzplug's and not checked here.
MAY_IMPORT = {
    "runtime": ("fuzzplug.runtime",),
    "kernel": ("fuzzplug.runtime", "fuzzplug.kernel"),
    "explore": ("fuzzplug.runtime", "fuzzplug.kernel", "fuzzplug.explore", "fuzzplug.core"),
}
# The machinery that used to sit among the models: none of it may come back.
MACHINERY = {"sched", "footprint", "physmem", "dpor", "clone", "observe", "configop",
             "daxfile"}


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    """Every fuzzplug module a source file imports: (line, module, only for type checking)."""
    tree = ast.parse(path.read_text())
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.If) and isinstance(node.test, ast.Name)
                and node.test.id == "TYPE_CHECKING"):
            typing_only |= {id(n) for child in node.body for n in ast.walk(child)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        out += [(node.lineno, name, id(node) in typing_only) for name in names
                if name == "fuzzplug" or name.startswith("fuzzplug.")]
    return out


def test_no_kernel_model_imports_the_differential_core_or_anything_above_it():
    """A module of fuzzplug/kernel/ imports only other models and the runtime below them,
    lazy imports inside functions included."""
    found = [f"{path.relative_to(ROOT)}:{line}: {name}"
             for path in sorted((PACKAGE / "kernel").rglob("*.py"))
             for line, name, _ in _imports(path)
             if not name.startswith(MAY_IMPORT["kernel"])]
    assert found == [], "\n".join(found)


def test_the_runtime_imports_no_model_and_the_exploration_layer_no_target():
    """fuzzplug/runtime/ imports only itself (a model type named for type checking aside);
    fuzzplug/explore/ imports the runtime, the models and the core, never a target or an
    engine."""
    found = []
    for floor in ("runtime", "explore"):
        for path in sorted((PACKAGE / floor).rglob("*.py")):
            for line, name, typing_only in _imports(path):
                allowed = MAY_IMPORT[floor] + (("fuzzplug.kernel",) if typing_only else ())
                if not name.startswith(allowed):
                    found.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert found == [], "\n".join(found)


def test_the_kernel_folder_holds_models_of_kernel_code_only():
    """Every module of fuzzplug/kernel/ but the package's own cites the Linux code it models
    (a kernel source file in its docstring), and none of the machinery is among them."""
    modules = sorted(p for p in (PACKAGE / "kernel").rglob("*.py") if p.name != "__init__.py")
    assert len(modules) >= 8
    assert {p.stem for p in modules} & MACHINERY == set()
    uncited = []
    for path in modules:
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if not any(part in doc for part in ("mm/", "fs/", "arch/", "include/linux")):
            uncited.append(path.name)
    assert uncited == []

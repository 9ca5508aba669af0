"""The plugin boundary: the generic core names no target and imports none, and a target
reaches the core only through `fuzzplug.targets`' protocols (required members and optional
capabilities, each with its fallback)."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzplug.core.advice import Advice
from fuzzplug.core.known import KnownList
from fuzzplug.core.opslang import Op
from fuzzplug.engines.domain import domain_for, schema_domain
from fuzzplug.engines.stepper import ReplayStepper, stepper_for
from fuzzplug.errors import InputError
from fuzzplug.farm.files import MAX_LEN, TIMEOUT, FarmOptions, farm_options, options_text
from fuzzplug.selftest.mutants import mutants_for
from fuzzplug.targets import (
    BUILTIN,
    Advised,
    FarmTuned,
    KnownCauses,
    Mutable,
    SceneChecked,
    SmallDomain,
    Steppable,
    Target,
    Traced,
    _entry_points,
    advice_of,
    check_scene,
    load_target,
    target_names,
)

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fuzzplug"
GENERIC = ("core", "engines", "triage", "selftest", "farm", "commands")
"""The generic packages; with the shell's modules (cli, io, log, errors...) the core."""
MODEL_WORLD = ("kernel", "runtime", "explore")
"""The kernel models, the runtime they run on and the layer that explores them: shared by
the targets that run on the kernel models, outside the generic core (`test_layering.py`)."""


def _own_folders() -> dict[str, tuple[str, Path | None]]:
    """Each installed target: (its package, its own folder under fuzzplug/ if built in)."""
    out = {}
    for name, spec in _entry_points().items():
        module = spec.partition(":")[0]
        parts = module.split(".")
        if parts[:2] == ["fuzzplug", "targets"] and len(parts) > 2:
            out[name] = (".".join(parts[:3]), PACKAGE / "targets" / parts[2])
        else:
            out[name] = (parts[0], None)
    return out


def _generic_sources() -> list[Path]:
    """Every module of fuzzplug outside the kernel models and the targets' own folders."""
    own = [folder for _, folder in _own_folders().values() if folder is not None]
    return sorted(p for p in PACKAGE.rglob("*.py")
                  if not any(p.is_relative_to(PACKAGE / world) for world in MODEL_WORLD)
                  and not any(p.is_relative_to(folder) for folder in own))


def test_no_generic_module_names_an_installed_target_or_its_package():
    """Outside `fuzzplug/targets/<name>/` and the model world (kernel, runtime, explore), no
    source text (code, comments, docstrings) names a target or its package;
    `targets/__init__.py`'s BUILTIN table is the one allowed mention."""
    targets = _own_folders()
    assert targets, "no target installed"
    words = [re.compile(rf"\b{re.escape(name)}\b") for name in targets]
    words += [re.compile(rf"\b{re.escape(package)}\b") for package, _ in targets.values()
              if package != "fuzzplug"]
    found = []
    for path in _generic_sources():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if path == PACKAGE / "targets" / "__init__.py" and line.startswith("BUILTIN = "):
                continue
            if any(w.search(line) for w in words):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == [], "\n".join(found)


def test_the_builtin_table_names_every_builtin_target_once():
    """BUILTIN maps each built-in target to `fuzzplug.targets.<name>:TARGET`, a package."""
    for name, spec in BUILTIN.items():
        assert spec == f"fuzzplug.targets.{name}:TARGET"
        assert (PACKAGE / "targets" / name / "__init__.py").is_file()


def test_the_generic_packages_import_no_target_package_or_kernel_model():
    """No `import` statement of a generic module names `fuzzplug.targets.<x>` or the model
    world (`fuzzplug.kernel`, `fuzzplug.runtime`, `fuzzplug.explore`; lazy imports inside
    functions included)."""
    found = []
    for path in _generic_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.startswith(("fuzzplug.kernel", "fuzzplug.runtime", "fuzzplug.explore",
                                    "fuzzplug.targets.")):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert found == [], "\n".join(found)


IMPORT_THE_CORE = """
import importlib, json, pkgutil, sys
import fuzzplug, fuzzplug.cli, fuzzplug.io, fuzzplug.log, fuzzplug.errors, fuzzplug.targets
for package in {generic!r}:
    module = importlib.import_module("fuzzplug." + package)
    for info in pkgutil.walk_packages(module.__path__, module.__name__ + "."):
        importlib.import_module(info.name)
fuzzplug.cli.build_parser()
fuzzplug.targets.target_names()
print(json.dumps(sorted(sys.modules)))
"""


def test_importing_the_core_imports_no_target_module():
    """In a fresh interpreter, importing every generic module, building the CLI parser and
    listing the targets leaves no target module and no kernel model in `sys.modules`."""
    result = subprocess.run([sys.executable, "-c", IMPORT_THE_CORE.format(generic=GENERIC)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout)
    assert "fuzzplug.engines.exhaustive" in modules and "fuzzplug.commands.fuzz" in modules
    packages = [package for package, _ in _own_folders().values() if package != "fuzzplug"]
    leaked = [m for m in modules
              if m.startswith(("fuzzplug.kernel", "fuzzplug.runtime", "fuzzplug.explore"))
              or any(m == p or m.startswith(p + ".") for p in packages)]
    assert leaked == []


def test_every_package_of_fuzzplug_says_what_it_holds():
    """Every folder of fuzzplug with Python modules is a package whose `__init__.py` has a
    docstring (a room a newcomer recognises)."""
    for folder in sorted({p.parent for p in PACKAGE.rglob("*.py")}):
        init = folder / "__init__.py"
        assert init.is_file(), folder
        assert ast.get_docstring(ast.parse(init.read_text())), init


# --- the Target protocol's capabilities --------------------------------------------------------

class Bare:
    """A target with the required members only."""

    name = "bare"
    description = "required members only"
    schema = load_target("insert_pfn").schema

    def evaluate(self, ops):
        return load_target("insert_pfn").evaluate(ops)

    def branch_ids(self):
        return {}

    def known_findings(self):
        return {}

    def seeds_dir(self):
        return None


CAPABILITIES = (SmallDomain, Steppable, Mutable, FarmTuned, KnownCauses, SceneChecked, Traced,
                Advised)


def test_insert_pfn_has_every_optional_capability():
    """The built-in target implements the protocol and all eight capabilities."""
    target = load_target("insert_pfn")
    for protocol in (Target, *CAPABILITIES):
        assert isinstance(target, protocol), protocol.__name__


def test_a_target_with_the_required_members_only_gets_every_fallback():
    """A target without capabilities gets every fallback."""
    bare = Bare()
    assert isinstance(bare, Target)
    for protocol in CAPABILITIES:
        assert not isinstance(bare, protocol), protocol.__name__
    assert KnownList.of(bare).causes == {}
    assert advice_of(bare) == Advice()
    ops = (Op.make(bare.schema, "vma", start=0x100800),)
    assert check_scene(bare, ops) == (ops, [])
    assert domain_for(bare).values == schema_domain(bare.schema).values
    assert isinstance(stepper_for(bare, ()), ReplayStepper)
    assert farm_options(bare) == FarmOptions(max_len=MAX_LEN, timeout=TIMEOUT)
    with pytest.raises(InputError, match="has no mutants"):
        mutants_for(bare)


def test_a_targets_farm_options_reach_the_options_file():
    """A target's own max_len and timeout are what `fuzzplug options` writes."""
    tuned = Bare()
    tuned.farm_options = FarmOptions(max_len=64, timeout=3)
    text = options_text("x.dict", farm_options(tuned))
    assert "max_len = 64\n" in text and "timeout = 3\n" in text


def test_insert_pfn_declares_the_branch_ids_of_its_model_and_the_shared_mm_and_arch_code():
    """branch_ids(): per version, the ids of that version's module, of kernel/mm.py and of
    kernel/arch.py (the MMU step and ppc64's hash MMU), read from their source, as the AST
    scan always gave them."""
    from fuzzplug.core.semcov import declared_branch_ids
    from fuzzplug.kernel import arch, mm, v4_13, v4_14

    ids = load_target("insert_pfn").branch_ids()
    assert ids == {"v4.13": declared_branch_ids(v4_13, mm, arch),
                   "v4.14": declared_branch_ids(v4_14, mm, arch)}
    assert declared_branch_ids(mm, arch) <= ids["v4.13"] & ids["v4.14"]
    assert "insert_pfn:present:mkwrite:reuse" in ids["v4.14"] - ids["v4.13"]


def test_target_names_lists_the_builtin_targets():
    """Every built-in target is listed without installed metadata."""
    assert set(BUILTIN) <= set(target_names())

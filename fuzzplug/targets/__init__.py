"""Targets: what fuzzplug fuzzes, as plugins.

A target is an object that satisfies `Target`, published under the entry-point group
`fuzzplug.targets` (name = the target's name, value = `module:ATTRIBUTE`). Loading is lazy:
`target_names()` reads only the entry-point metadata, `load_target(name)` imports one target.
fuzzplug's own targets are also known without installed metadata (a source checkout, a
PyInstaller-packed harness), through `BUILTIN`.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from fuzzplug.errors import TargetError

if TYPE_CHECKING:
    from fuzzplug.opslang import Op, Schema
    from fuzzplug.oracle import Outcome

GROUP = "fuzzplug.targets"
BUILTIN = {"insert_pfn": "fuzzplug.targets.insert_pfn:TARGET"}


@runtime_checkable
class Target(Protocol):
    """A differential target: an op language, two models, and an oracle over them."""

    name: str
    description: str
    schema: "Schema"

    def evaluate(self, ops: "tuple[Op, ...]") -> "Outcome":
        """Run `ops` on both models and compare; deterministic."""
        ...

    def branch_ids(self) -> dict[str, frozenset[str]]:
        """Every branch id each model declares, by model version."""
        ...

    def known_findings(self) -> dict[str, dict]:
        """Triaged signatures, suppressed by default: signature → record."""
        ...

    def seeds_dir(self) -> Path | None:
        """The checked-in seed scenarios (`*.ops`) of the target, if it ships any."""
        ...


def _entry_points() -> dict[str, str]:
    found = dict(BUILTIN)
    for ep in entry_points(group=GROUP):
        found[ep.name] = ep.value
    return found


def target_names() -> list[str]:
    """The names of every target, without importing any."""
    return sorted(_entry_points())


def plugin_package(name: str) -> str:
    """The top-level package a target's entry point lives in (for instrumentation);
    `fuzzplug` for unknown names (load_target reports those)."""
    spec = _entry_points().get(name, "fuzzplug")
    return spec.partition(":")[0].split(".")[0]


_loaded: dict[str, Target] = {}


def load_target(name: str) -> Target:
    """Import the target `name`; `TargetError` if unknown or if its plugin fails."""
    if name in _loaded:
        return _loaded[name]
    spec = _entry_points().get(name)
    if spec is None:
        raise TargetError(f"unknown target {name!r}; known targets: "
                          f"{', '.join(target_names())}")
    module_name, _, attr = spec.partition(":")
    try:
        obj = importlib.import_module(module_name)
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
    except Exception as exc:  # a third party's plugin: any failure is its load failure
        raise TargetError(f"target {name!r} failed to load from {spec}: {exc}") from exc
    if not isinstance(obj, Target):
        raise TargetError(f"target {name!r} ({spec}) does not implement fuzzplug's Target "
                          "protocol (name, description, schema, evaluate, branch_ids, "
                          "known_findings, seeds_dir)")
    _loaded[name] = obj
    return obj

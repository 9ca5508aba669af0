"""The registry of cases: `@case` registers a case function in `CASES`, with the model
versions it runs on."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Callable

from fuzzplug.kernel.state import Kernel


@dataclass(frozen=True)
class Case:
    """A named scenario and the model versions it runs on."""

    name: str
    run: Callable[[ModuleType], Kernel]
    versions: tuple[str, ...]

    def runs_on(self, version: str) -> bool:
        """Whether the case runs on `version`: one it names, or a fixed version of the chain
        when it names v4.14 (a fix changes insert_pfn only; the entry points are v4.14's)."""
        return version in self.versions or (version in FIXED and "v4.14" in self.versions)

    def __call__(self, model: ModuleType) -> Kernel:
        assert self.runs_on(model.VERSION), f"{self.name} does not run on {model.VERSION}"
        return self.run(model)


CASES: list[Case] = []
BOTH = ("v4.13", "v4.14")
FIXED = ("v4.14+f2c57d91b0d9", "v4.14+f2c57d91b0d9+cae85cb8add3")
"""The versions of the chain after the seed: v4.14 with each upstream fix applied in turn."""


def case(*versions: str) -> Callable[[Callable[[ModuleType], Kernel]], Case]:
    """Register a case function; it runs on `versions` (both models by default)."""

    def register(fn: Callable[[ModuleType], Kernel]) -> Case:
        c = Case(fn.__name__, fn, versions or BOTH)
        CASES.append(c)
        return c

    return register


def by_name(name: str) -> Case:
    for c in CASES:
        if c.name == name:
            return c
    raise KeyError(name)

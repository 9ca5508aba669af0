"""Mutants of a model: plausible bugs, each a small named source edit (the machinery).

A target with mutants implements `fuzzplug.targets.Mutable`: its `mutants()`, the module
they edit (`mutant_module`, usually the post-patch model) and `with_mutant_module(module)`,
a copy of the target running another module in that one's place. A `Mutant` is a list of
exact text replacements in that module's source; each replaced text must occur exactly
once, so a mutant that no longer applies fails loudly instead of silently testing nothing.
The mutated source is compiled into a fresh module registered in `sys.modules` under its
own name (`fuzzplug.mutants.<target>.<mutant>`, a name no real module has), so its imports
work and tracebacks and `inspect.getsource` show the mutated text. `apply_mutant(target,
name)` returns the target's copy running that module; the harness calls it when
FUZZPLUG_MUTANT is set.

Each mutant names the bug it stands for and a *witness*: a scenario on which the mutant
diverges with a signature the unmutated model does not produce there (checked by
`tests/test_selftest.py`, without the known list, which changes as findings are triaged;
the selftest itself applies it). A mutant the oracle cannot tell apart from the model is marked
`equivalent`, with the reason; `fuzzplug selftest` counts it apart from the kill rate.
"""

from __future__ import annotations

import importlib.util
import inspect
import linecache
import os
import sys
import types
from dataclasses import dataclass

from fuzzplug.errors import InputError


@dataclass(frozen=True, slots=True)
class Mutant:
    """One plausible bug: its name, what it is, the source edits, and how it shows."""

    name: str
    bug: str
    edits: tuple[tuple[str, str], ...]
    """(exact text of the mutated module, its replacement), each text occurring once."""
    witness: str = ""
    """A scenario (text form) on which the mutant diverges with a new signature."""
    equivalent: str = ""
    """Why the oracle cannot tell the mutant from the model ("" when it can)."""
    gap: str = ""
    """A known gap of the oracle that lets the mutant survive (to be closed, not excused)."""


def mutants_for(target) -> tuple[Mutant, ...]:
    """The mutants of a target (an object, or its name), from its `Mutable` capability;
    `InputError` for a target that has none."""
    from fuzzplug.targets import Mutable, load_target

    if isinstance(target, str):
        target = load_target(target)
    if not isinstance(target, Mutable):
        raise InputError(f"target {target.name!r} has no mutants (it does not implement "
                         "fuzzplug.targets.Mutable: mutants, mutant_module, "
                         "with_mutant_module)")
    return tuple(target.mutants())


def get_mutant(target, name: str) -> Mutant:
    """The mutant `name` of a target (an object, or its name); `InputError` if unknown."""
    mutants = mutants_for(target)
    for mutant in mutants:
        if mutant.name == name:
            return mutant
    target_name = target if isinstance(target, str) else target.name
    names = ", ".join(m.name for m in mutants)
    raise InputError(f"unknown mutant {name!r} of target {target_name!r}; known: {names}")


def mutate_source(source: str, mutant: Mutant) -> str:
    """The source with the mutant's edits applied; each text must occur exactly once."""
    for old, new in mutant.edits:
        count = source.count(old)
        if count != 1:
            raise AssertionError(f"mutant {mutant.name}: the text to replace occurs {count} "
                                 f"times (expected once): {old[:60]!r}")
        source = source.replace(old, new)
    return source


def applicable(mutants: tuple[Mutant, ...], model: types.ModuleType) -> tuple[Mutant, ...]:
    """The mutants whose edits apply to `model`'s source (each text once): all of them to
    the model they were written for, fewer to a later version where a commit rewrote the
    text they edit."""
    source = inspect.getsource(model)
    out = []
    for mutant in mutants:
        try:
            mutate_source(source, mutant)
        except AssertionError:
            continue
        out.append(mutant)
    return tuple(out)


_modules: dict[tuple[str, str, str], types.ModuleType] = {}


def mutated_module(model: types.ModuleType, mutant: Mutant,
                   target_name: str) -> types.ModuleType:
    """The model's source with the mutant applied, compiled into a fresh module."""
    key = (model.__name__, target_name, mutant.name)
    if key in _modules:
        return _modules[key]
    spec = importlib.util.find_spec(model.__name__)
    source = spec.loader.get_source(model.__name__)
    mutated = mutate_source(source, mutant)
    name = f"fuzzplug.mutants.{target_name}.{mutant.name}"
    filename = f"<mutant {mutant.name} of {model.__name__}>"
    linecache.cache[filename] = (len(mutated), None, mutated.splitlines(True), filename)
    module = types.ModuleType(name, model.__doc__)
    module.__file__ = filename
    sys.modules[name] = module
    exec(compile(mutated, filename, "exec"), module.__dict__)  # noqa: S102 - our own source
    module.VERSION = f"{model.VERSION}+{mutant.name}"
    _instrument_under_atheris(module)
    _modules[key] = module
    return module


def _instrument_under_atheris(module: types.ModuleType) -> None:
    """In the harness (FUZZPLUG_MUTANT set, atheris loaded), when its feedback mode
    instruments the models, instrument the mutant's functions, as instrument_imports does
    for imported modules: the mutant is compiled, not imported, so the import hook never
    sees it."""
    if not os.environ.get("FUZZPLUG_MUTANT") or "atheris" not in sys.modules:
        return
    import atheris

    from fuzzplug.engines import feedback

    if not feedback.instrumented_packages(
            feedback.effective_mode(atheris, feedback.requested_mode())):
        return  # semantic feedback: nothing is instrumented, the mutant neither

    for value in list(vars(module).values()):
        if isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
            atheris.instrument_func(value)


def apply_mutant(target, name: str):
    """A copy of `target` that runs the mutant `name` of its `mutant_module` in that
    module's place (`Target.with_mutant_module`); the copy's `mutant` is the name."""
    mutant = get_mutant(target, name)
    clone = target.with_mutant_module(mutated_module(target.mutant_module, mutant,
                                                     target.name))
    clone.mutant = name
    return clone

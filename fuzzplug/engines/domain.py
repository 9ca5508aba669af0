"""Small op domains: a few scenes and a few values per argument, for the engines.

The Hypothesis engine draws ops from a domain and the exhaustive checker enumerates it. A
`Domain` lists scenes (each a tuple of scene ops, the setup) and, for each call op, the values
each argument ranges over; the calls of the domain are the product of those values.

`domain_for(target)` returns the target's own domain (`Target.small_domain()`, the optional
capability `fuzzplug.targets.SmallDomain`) or else one derived from the schema's `ArgSpec`s
(`schema_domain`).

A domain may also declare reductions for the exhaustive checker, each a proof about
particular model code: an op equivalence (`equivalence`: maps a call to the representative
of its class under a scene, where every member behaves identically in every state), inert
calls (`inert`: never diverge, never change the state) and a state symmetry (`renaming`,
which only the target's own stepper understands). They are applied only to a target for
which `applies_to` says the proofs hold: the models they were proven for, never a mutant.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from fuzzplug.core.opslang import ArgKind, ArgSpec, Op, Schema

Scene = tuple[Op, ...]
Equivalence = Callable[[Scene, Op], Op]


@dataclass(frozen=True, slots=True)
class Domain:
    """Scenes and per-argument values of a target's ops, with an optional op equivalence."""

    target: str
    scenes: tuple[Scene, ...]
    """Each scene: the scene ops (a missing scene op takes its defaults)."""
    values: Mapping[str, tuple[tuple[str, tuple[int, ...]], ...]]
    """Call op name → ((arg name, values), ...) in spec order; ops not listed are left out."""
    description: str = ""
    equivalence: Equivalence | None = None
    applies_to: Callable[[object], bool] | None = None
    """Whether the declared reductions (equivalence, inert calls, renaming) were proven for
    the models a given target runs (a mutant's are not); None: never."""
    scene_names: tuple[str, ...] = field(default=())
    renaming: object | None = None
    """A symmetry of the models over every scene of the domain, in the form the target's
    stepper takes (`fuzzplug.targets.Steppable`); the engines only pass it on."""
    inert: Callable[[Scene, Op], bool] | None = None
    """Calls that, for the models the proofs hold for, never diverge from any state and
    leave it unchanged (or both tasks dead); the exhaustive checker runs them from the
    initial state only (a sequence through one behaves as the same sequence without it)."""

    def calls(self) -> tuple[Op, ...]:
        """Every call op of the domain, in a fixed order (op order, then argument values)."""
        out = []
        for name, args in self.values.items():
            names = [arg for arg, _ in args]
            for combo in itertools.product(*(vals for _, vals in args)):
                out.append(Op(name, tuple(zip(names, combo))))
        return tuple(out)

    def equivalence_applies(self, target) -> bool:
        """Whether the declared equivalence was proven for this target's models."""
        if self.equivalence is None or self.applies_to is None:
            return False
        return self.applies_to(target)

    def reduced_calls(self, scene: Scene, target) -> tuple[Op, ...]:
        """The calls with one representative per equivalence class (when it applies)."""
        calls = self.calls()
        if not self.equivalence_applies(target):
            return calls
        seen: dict[Op, None] = {}
        for op in calls:
            seen.setdefault(self.equivalence(scene, op), None)
        return tuple(seen)

    def renaming_for(self, target) -> object | None:
        """The declared state symmetry, when its proof applies to the models."""
        return self.renaming if self.equivalence_applies(target) else None

    def is_inert(self, scene: Scene, op: Op, target) -> bool:
        """Whether `op` is inert in `scene` (only when the proof applies to the models)."""
        return (self.inert is not None and self.equivalence_applies(target)
                and self.inert(scene, op))

    def scene_name(self, index: int) -> str:
        if index < len(self.scene_names):
            return self.scene_names[index]
        return f"scene{index}"


# --- a domain from the schema alone ----------------------------------------------------------

def _arg_values(arg: ArgSpec) -> tuple[int, ...]:
    """A few values of an argument: its default first, then a couple of neighbours."""
    if arg.kind is ArgKind.CHOICE:
        rest = [v for v in range(len(arg.names)) if v != arg.default]
        return (arg.default, *rest)
    if arg.kind is ArgKind.FLAGS:
        return tuple(dict.fromkeys((arg.default, 0, arg.mask)))
    if arg.kind is ArgKind.RANGE:
        return (arg.default,)
    if arg.addr:
        return tuple(dict.fromkeys((arg.default, arg.default + 0x1000)))
    return tuple(dict.fromkeys((arg.default, 0, 1)))


def schema_domain(schema: Schema) -> Domain:
    """A domain derived from the schema: the default scene and, for each CHOICE argument of
    a scene op, one scene per other choice; each call argument over a few values
    (`_arg_values`)."""
    scene_specs = [s for s in schema.ops if s.scene]
    scenes: list[Scene] = [()]
    names = ["defaults"]
    for spec in scene_specs:
        for arg in spec.args:
            if arg.kind is not ArgKind.CHOICE:
                continue
            for value in range(len(arg.names)):
                if value == arg.default:
                    continue
                scenes.append((Op.make(schema, spec.name, **{arg.name: value}),))
                names.append(f"{spec.name}.{arg.name}={arg.names[value]}")
    values = {spec.name: tuple((arg.name, _arg_values(arg)) for arg in spec.args)
              for spec in schema.ops if not spec.scene}
    return Domain(schema.name, tuple(scenes), values,
                  description="derived from the schema: defaults and a few neighbours",
                  scene_names=tuple(names))


def domain_for(target) -> Domain:
    """The target's small domain: its own `small_domain()` if it has one, else one derived
    from its schema (built once per schema)."""
    from fuzzplug.targets import SmallDomain

    if isinstance(target, SmallDomain):
        domain = target.small_domain()
        if domain is not None:
            return domain
    key = (target.name, id(target.schema))
    if key not in _cache:
        _cache[key] = schema_domain(target.schema)
    return _cache[key]


_cache: dict[tuple[str, int], Domain] = {}

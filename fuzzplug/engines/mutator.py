"""libFuzzer mutations at the level of ops: `FUZZPLUG_MUTATOR=ops` (the default) or `bytes`.

libFuzzer mutates bytes. The op language's binary form is made so that a small byte change
is a small change of the sequence (`fuzzplug.core.opslang`), but a deep state needs calls
that agree with each other (the same address, the pfn the fault maps there, a scene where
the path exists), and random bytes rarely make three of them agree. This mutator, given to
atheris as `custom_mutator` and `custom_crossover`, works on the decoded sequence instead:

- half of the mutations are libFuzzer's own (`atheris.Mutate`: byte flips, the op
  dictionary, its crossover), so nothing the byte level finds is lost;
- the other half make one op-level change: insert a call (one of the target's small
  domain, `fuzzplug.engines.domain`, or a call with values taken from the sequence),
  delete, duplicate or swap calls, set one argument of one op to a value that another op
  of the sequence uses for an argument of the same name (so two calls meet on one page or
  one pfn), to its default or to a nearby value (an address a page away), flip one flag,
  or take a scene of the domain;
- crossover (`custom_crossover`) joins the scene and first calls of one input to the last
  calls of another; for a target that interleaves tasks, a share `TASK_CROSS_SHARE` of
  the crossovers is the target's crossover of tasks instead (a task's program of one
  input beside a task's program of the other, `ScheduleMutable.cross_tasks`);
- for a target that interleaves tasks (`fuzzplug.targets.ScheduleMutable`), a share
  `SCHEDULE_SHARE` of the op-level changes is the target's change of the schedule (a
  change point moved by one step, two priorities swapped...), the rest as above.

With both hooks given, libFuzzer draws each mutation from {custom mutator, custom
crossover} (libFuzzer's MutationDispatcher), so about half of all mutations are crossovers,
a quarter op-level changes and a quarter libFuzzer's own; and it turns `-len_control` off
(the mutator bounds the length itself).

Every output is the canonical encoding of a valid sequence, at most `max_size` bytes (ops
are dropped from the end until it fits). Nothing
here raises on any input: atheris would end the run on an exception.

The mutator is deterministic for a given (input, seed), as libFuzzer expects.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from fuzzplug.core.opslang import ArgKind, Op, Schema, U64_MAX, decode, encode

MODES = ("ops", "bytes")
DEFAULT_MODE = "ops"
ENV = "FUZZPLUG_MUTATOR"
BYTE_SHARE = 0.5
"""The share of mutations left to libFuzzer's own byte mutator."""
SCHEDULE_SHARE = 0.25
"""The share of op-level changes left to the target's schedule mutation, if it has one."""
TASK_CROSS_SHARE = 0.5
"""The share of crossovers left to the target's crossover of tasks, if it has one."""
PAGE = 0x1000
DECODE_CACHE = 1 << 11
"""Decoded inputs remembered per generation (`DecodeCache`: two generations). An entry
takes about 3 KiB (random inputs of up to 256 bytes, 13 ops on average, of a target with
tasks), so the cache about 12 MiB at most."""


class DecodeCache:
    """`decode(schema, data)`, remembered, and shared by the mutator and the harness: the
    harness decodes every input it runs, and the mutator mostly mutates inputs that ran
    (the corpus); libFuzzer mostly runs inputs the mutator just made, whose ops the mutator
    built before encoding them (`remember`). Two generations of `limit` entries each: when
    the current one is full it becomes the old one, and a hit in the old one is carried
    over, so the inputs in use stay (the corpus) and the rest ages out."""

    def __init__(self, schema: Schema, limit: int = DECODE_CACHE):
        self.schema = schema
        self.limit = limit
        self._new: dict[bytes, tuple[Op, ...]] = {}
        self._old: dict[bytes, tuple[Op, ...]] = {}

    def decode(self, data: bytes) -> tuple[Op, ...]:
        ops = self._new.get(data)
        if ops is None:
            ops = self._old.get(data)
            if ops is None:
                ops = decode(self.schema, data)
            self._put(data, ops)
        return ops

    def remember(self, data: bytes, ops: tuple[Op, ...]) -> None:
        """Record that `data` decodes to `ops`: the caller encoded a valid sequence `ops`
        into `data` (`encode`'s round trip: `decode(encode(ops)) == ops`)."""
        self._put(data, ops)

    def _put(self, data: bytes, ops: tuple[Op, ...]) -> None:
        if len(self._new) >= self.limit:
            self._old = self._new
            self._new = {}
        self._new[data] = ops


class OpMutator:
    """Op-level mutation and crossover over a schema, with a domain's calls and scenes as
    a source of good ops (both optional)."""

    def __init__(self, schema: Schema, byte_mutate: Callable[[bytes, int], bytes] | None,
                 calls: tuple[Op, ...] = (), scenes: tuple[tuple[Op, ...], ...] = (),
                 byte_share: float = BYTE_SHARE, decoded: DecodeCache | None = None,
                 schedule: Callable[[list[Op], random.Random], list[Op] | None] | None = None,
                 cross: Callable[[list[Op], list[Op], random.Random],
                                 list[Op] | None] | None = None):
        self.schema = schema
        self.byte_mutate = byte_mutate
        self.calls = calls
        self.scenes = scenes
        self.byte_share = byte_share if byte_mutate is not None else 0.0
        self.decoded = decoded if decoded is not None else DecodeCache(schema)
        self.schedule = schedule
        self.cross = cross
        self.call_names = tuple(s.name for s in schema.ops if not s.scene)
        self.scene_names = tuple(s.name for s in schema.ops if s.scene)

    # --- atheris' entry points ---------------------------------------------------------------

    def mutate(self, data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        if rng.random() < self.byte_share:
            return self.byte_mutate(data, max_size)
        scene, calls = self._split(self._decode(data))
        for _ in range(4):  # a change that changes nothing is retried
            new_scene, new_calls = self._mutate_ops(rng, list(scene), list(calls))
            if (new_scene, new_calls) != (scene, calls):
                return self._fit(new_scene, new_calls, max_size)
        return self._fit(new_scene, new_calls, max_size)

    def crossover(self, data1: bytes, data2: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        scene1, calls1 = self._split(self._decode(data1))
        scene2, calls2 = self._split(self._decode(data2))
        if self.cross is not None and rng.random() < TASK_CROSS_SHARE:
            crossed = self.cross(calls1, calls2, rng)
            if crossed is not None:
                return self._fit(scene1 if rng.random() < 0.75 else scene2, crossed,
                                 max_size)
        head = calls1[:rng.randint(0, len(calls1))]
        tail = calls2[rng.randint(0, len(calls2)):] if calls2 else []
        return self._fit(scene1 if rng.random() < 0.75 else scene2, head + tail, max_size)

    def generations(self, seeds: list[bytes], n: int, rng: random.Random, keep: float,
                    max_size: int = 512) -> list[bytes]:
        """`n` inputs as libFuzzer would have this mutator make them from `seeds`, generation
        after generation: each a crossover (half the time) or a mutation of a pool input, and
        kept in the pool with probability `keep` (for benchmarks and equality tests)."""
        pool = list(seeds)
        out = []
        for _ in range(n):
            a = rng.choice(pool)
            if rng.random() < 0.5:
                data = self.crossover(a, rng.choice(pool), max_size, rng.randrange(1 << 30))
            else:
                data = self.mutate(a, max_size, rng.randrange(1 << 30))
            out.append(data)
            if rng.random() < keep:
                pool.append(data)
        return out

    # --- the op-level changes ----------------------------------------------------------------

    def _decode(self, data: bytes) -> tuple[Op, ...]:
        """`decode`, remembered: libFuzzer mutates the same corpus inputs again and again."""
        return self.decoded.decode(data)

    def _split(self, ops: tuple[Op, ...]) -> tuple[list[Op], list[Op]]:
        scene = [op for op in ops if op.name in self.scene_names]
        return scene, [op for op in ops if op.name not in self.scene_names]

    def _mutate_ops(self, rng: random.Random, scene: list[Op],
                    calls: list[Op]) -> tuple[list[Op], list[Op]]:
        if self.schedule is not None and rng.random() < SCHEDULE_SHARE:
            changed = self.schedule(list(calls), rng)
            if changed is not None:
                return scene, changed
        choice = rng.random()
        if choice < 0.30 or not calls:  # insert a call
            calls.insert(rng.randint(0, len(calls)), self._new_call(rng, scene + calls))
        elif choice < 0.40:  # delete a call
            del calls[rng.randrange(len(calls))]
        elif choice < 0.48:  # duplicate a call (the retry after VM_FAULT_NOPAGE, a re-insert)
            i = rng.randrange(len(calls))
            calls.insert(rng.randint(i, len(calls)), calls[i])
        elif choice < 0.55 and len(calls) > 1:  # swap two calls
            i, j = rng.sample(range(len(calls)), 2)
            calls[i], calls[j] = calls[j], calls[i]
        elif choice < 0.85:  # change one argument of one call
            i = rng.randrange(len(calls))
            calls[i] = self._tweak(rng, calls[i], scene + calls)
        elif not self.scene_names:  # a schema without scene ops: change a call instead
            i = rng.randrange(len(calls))
            calls[i] = self._tweak(rng, calls[i], calls)
        elif choice < 0.93 or not self.scenes:  # change one argument of the scene
            name = rng.choice(self.scene_names)
            present = [k for k, op in enumerate(scene) if op.name == name]
            if present:
                scene[present[0]] = self._tweak(rng, scene[present[0]], scene)
            else:
                scene.append(self._tweak(rng, self._default(name), scene))
        else:  # take a scene of the domain
            scene = list(rng.choice(self.scenes))
        return scene, calls

    def _default(self, name: str) -> Op:
        return Op(name, self.schema._defaults[name])

    def _new_call(self, rng: random.Random, context: list[Op]) -> Op:
        if self.calls and rng.random() < 0.5:
            op = rng.choice(self.calls)
            return self._tweak(rng, op, context) if rng.random() < 0.3 else op
        op = self._default(rng.choice(self.call_names))
        for _ in range(rng.randint(0, 2)):
            op = self._tweak(rng, op, context)
        return op

    def _tweak(self, rng: random.Random, op: Op, context: list[Op]) -> Op:
        """`op` with one argument changed, within its spec."""
        spec = self.schema.spec(op.name)
        if not spec.args:
            return op
        k = rng.randrange(len(spec.args))
        arg = spec.args[k]
        value = op.args[k][1]
        if arg.kind is ArgKind.FLAGS:
            value ^= 1 << rng.randrange(len(arg.names))
        elif arg.kind is ArgKind.CHOICE:
            value = rng.randrange(len(arg.names))
        else:
            used = [v for o in context for name, v in o.args if name == arg.name]
            pick = rng.random()
            if used and pick < 0.5:
                value = rng.choice(used)
            elif pick < 0.7 or arg.kind is ArgKind.RANGE:
                value = arg.default
            else:
                step = PAGE if arg.addr else 1
                value = (value + step * rng.choice((-2, -1, 1, 2, 16))) & U64_MAX
        return Op(op.name, op.args[:k] + ((arg.name, value),) + op.args[k + 1:])

    def _fit(self, scene: list[Op], calls: list[Op], max_size: int) -> bytes:
        """The canonical bytes of the sequence, ops dropped from the end (calls, then scene
        ops) until it fits."""
        ops = scene + calls[:max(0, self.schema.max_ops - len(scene))]
        while True:
            data = encode(self.schema, ops, check=False)  # valid by construction
            if len(data) <= max_size:
                self.decoded.remember(data, tuple(ops))  # what libFuzzer runs next
                return data
            if not ops:
                return data[:max_size]
            ops.pop()


def check_mutator(mode: str) -> str:
    """`mode` if it is a mutator mode; `InputError` naming the modes otherwise."""
    from fuzzplug.errors import InputError

    if mode not in MODES:
        raise InputError(f"mutator {mode!r}: expected one of {', '.join(MODES)}")
    return mode


def requested_mutator(environ: dict | None = None) -> str:
    """The mutator `FUZZPLUG_MUTATOR` asks for (unset or empty: `ops`)."""
    import os

    from fuzzplug.errors import InputError

    env = os.environ if environ is None else environ
    mode = env.get(ENV) or DEFAULT_MODE
    if mode not in MODES:
        raise InputError(f"{ENV}={mode!r}: expected one of {', '.join(MODES)}")
    return mode


def setup_kwargs(atheris, target, mode: str | None = None,
                 decoded: DecodeCache | None = None) -> dict:
    """The keyword arguments of `atheris.Setup` for the mutator `mode` (default: the
    environment's): `custom_mutator` and `custom_crossover` for `ops`, none for `bytes`.
    `decoded`: the harness's decode cache, shared with the mutator."""
    import sys

    mode = requested_mutator() if mode is None else mode
    sys.stderr.write(f"INFO: fuzzplug mutator: {mode}\n")
    if mode == "bytes":
        return {}
    from fuzzplug.engines.domain import domain_for

    from fuzzplug.targets import ScheduleMutable

    domain = domain_for(target)
    tasks = isinstance(target, ScheduleMutable)
    schedule = target.mutate_schedule if tasks else None
    cross = target.cross_tasks if tasks else None

    def byte_mutate(data: bytes, max_size: int) -> bytes:
        return atheris.Mutate(data, max_size)  # looked up late: Fuzz() installs the real one

    mutator = OpMutator(target.schema, byte_mutate, domain.calls(), domain.scenes,
                        decoded=decoded, schedule=schedule, cross=cross)
    return {"custom_mutator": mutator.mutate, "custom_crossover": mutator.crossover}

"""What libFuzzer sees of a run: semantic features, Python bytecode edges, or both.

The harness's feedback mode is `FUZZPLUG_FEEDBACK` (`fuzzplug fuzz --feedback MODE`,
`fuzzplug selftest --feedback MODE`); an environment variable, because libFuzzer's `-fork`,
`-jobs` and `-merge` re-execute the harness with the parent's environment, so every worker
runs in the same mode:

- `semantic` (the default): no bytecode instrumentation. After each evaluation the target
  names the *features* of the run (`fuzzplug.targets.Featured`: the models' branch ids and
  their succession per side, the return of each op per side, the verdict and signature, a
  coarse class of the states reached), and each feature hits one libFuzzer counter.
  libFuzzer keeps an input when it hits a counter no input hit before (or a counter's hit
  count reaches a new bucket; each feature is hit once per run, so only colliding features
  make counts above one): an input is kept for reaching new model behaviour or a new kind
  of state, not for a new path through the decoder, the oracle or the logging code.
- `bytecode`: atheris' instrumentation of every fuzzplug module and of the target's
  package (Python bytecode edges and comparisons), and no semantic counters: the harness as
  it was before semantic feedback.
- `both`: the semantic counters, and atheris' instrumentation of the models only
  (`fuzzplug.kernel`, the target's modules), not of the decoder, the generic oracle or the
  tool around them (`TOOL_MODULES`).

The counters (atheris 2.3 and 3.0, read from their native sources `counters.cc`, `core.cc`,
`atheris.cc`): `atheris._reserve_counter()` hands out the index of a new 8-bit counter, and
`atheris._trace_branch(i)` increments counter `i`. Before `atheris.Fuzz()` both are
stand-ins (`_trace_branch` does nothing, `_reserve_counter` queues a "pending" counter and
returns a 1-based number); `Fuzz()` replaces the module attributes with the real ones. So
`SemanticCounters` reserves its block and looks `_trace_branch` up at its first use, inside
the first call of TestOneInput (libFuzzer's empty input), and atheris registers the new
counters with libFuzzer at the start of the next call (`UpdateCounterArrays`): every seed
is measured. atheris allocates `-max_counters` counters (default 2**20) for everything
reserved, instrumentation and ours together; a reservation past that wraps around
(`counters[i % max_counters]`), sharing counters and losing feedback, never failing. The
semantic block is `COUNTERS` (2**16) counters: libFuzzer scans and clears every registered
counter on every execution, so the block is small, and features are hashed onto it.

The mapping is stable across processes (libFuzzer's fork and merge modes compare the
feature numbers that different processes report): a feature is a str, an int, or a tuple
of those, and its counter is `zlib.crc32(repr(feature)) % COUNTERS` (Python's own `hash()`
of a string changes with every process). Two features may share a counter (a collision):
an input whose only new feature collides with a known one is not kept. A target reaching
a few thousand features has about one in forty sharing its counter (`tests/test_feedback.py`
bounds it for the built-in target).

Without `atheris._reserve_counter` or `atheris._trace_branch` (another atheris, a stub),
semantic mode falls back to bytecode mode, with one warning (`semantic_feedback_unavailable`).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import zlib
from collections.abc import Hashable, Iterable, Iterator

from fuzzplug.errors import InputError

ENV = "FUZZPLUG_FEEDBACK"
MODES = ("semantic", "bytecode", "both")
DEFAULT_MODE = "semantic"
COUNTERS = 1 << 16
"""Counters reserved for semantic features."""
CACHE_LIMIT = 1 << 16
"""Features remembered with their counter index; the cache is emptied when it grows past
this (a target whose features are unbounded must not grow the harness without bound). A
feature kept with its own tuple and strings takes about 300 bytes (measured on the seeds
of a target with tasks), so this is about 20 MiB at most; emptying it costs only the
hashing again (a feature's counter is a function of the feature)."""


def requested_mode(environ: dict | None = None) -> str:
    """The mode `FUZZPLUG_FEEDBACK` asks for (unset or empty: the default);
    `InputError` for anything else."""
    env = os.environ if environ is None else environ
    mode = env.get(ENV) or DEFAULT_MODE
    if mode not in MODES:
        raise InputError(f"{ENV}={mode!r}: expected one of {', '.join(MODES)}")
    return mode


def check_mode(mode: str) -> str:
    """`mode` if it is a feedback mode; `InputError` naming the modes otherwise."""
    if mode not in MODES:
        raise InputError(f"feedback mode {mode!r}: expected one of {', '.join(MODES)}")
    return mode


def semantic_available(atheris) -> bool:
    """Whether this atheris has the counter functions semantic feedback needs."""
    return callable(getattr(atheris, "_reserve_counter", None)) and callable(
        getattr(atheris, "_trace_branch", None))


_warned: set[str] = set()


def effective_mode(atheris, mode: str) -> str:
    """`mode`, or `bytecode` when it needs the counter functions and this atheris lacks
    them (logged once per process: `semantic_feedback_unavailable`)."""
    check_mode(mode)
    if mode == "bytecode" or semantic_available(atheris):
        return mode
    if mode not in _warned:
        _warned.add(mode)
        from fuzzplug.log import get_logger

        get_logger().warning("semantic_feedback_unavailable", requested=mode,
                             fallback="bytecode",
                             atheris_version=getattr(atheris, "__version__", None),
                             reason="atheris has no _reserve_counter/_trace_branch")
    return "bytecode"


TOOL_MODULES = ("fuzzplug.errors", "fuzzplug.io", "fuzzplug.log", "fuzzplug.core.opslang",
                "fuzzplug.core.oracle", "fuzzplug.core.features", "fuzzplug.core.findings",
                "fuzzplug.farm.files", "fuzzplug.engines.harness", "fuzzplug.engines.mutator",
                "fuzzplug.engines.domain", "fuzzplug.selftest.mutants", "fuzzplug.targets")
"""The tool around the models that a harness runs: imported before the instrumented block
in `both` mode, so that atheris, which instruments whole top-level packages
(`instrument_imports` keeps only the first component of a name), instruments the models
(`fuzzplug.kernel`, the target's own modules) and not these."""


def instrumented_packages(mode: str, plugin_package: str = "fuzzplug") -> list[str]:
    """The top-level packages atheris instruments in `mode`: none in semantic mode;
    fuzzplug and the target's package otherwise (in `both` less `TOOL_MODULES`)."""
    if mode == "semantic":
        return []
    return sorted({"fuzzplug", plugin_package})


@contextlib.contextmanager
def instrumentation(atheris, mode: str, plugin_package: str = "fuzzplug") -> Iterator[None]:
    """The import block of a harness: `atheris.instrument_imports` over the packages
    `mode` instruments (in `both` the tool's own modules imported first, uninstrumented),
    or nothing in semantic mode."""
    include = instrumented_packages(mode, plugin_package)
    if not include:
        yield
        return
    if mode == "both":
        for name in TOOL_MODULES:
            importlib.import_module(name)
    with atheris.instrument_imports(include=include):
        yield


def counter_of(feature: Hashable, size: int = COUNTERS) -> int:
    """The counter (within the block) a feature hits: stable in every process."""
    if type(feature) is int:
        return feature % size
    if type(feature) is str:
        return zlib.crc32(feature.encode()) % size
    return zlib.crc32(repr(feature).encode()) % size


class SemanticCounters:
    """A block of libFuzzer counters for semantic features, reserved at first use.

    `hit(features)` increments, once per distinct feature, the counter each feature maps
    to (`counter_of`). The atheris module is passed in (tests pass a fake)."""

    def __init__(self, atheris, size: int = COUNTERS):
        self.atheris = atheris
        self.size = size
        self.base: int | None = None
        self._trace = None
        self._index: dict[Hashable, int] = {}

    def reserve(self) -> None:
        """Reserve the block (contiguous: nothing else reserves in between) and take the
        live `_trace_branch`; call inside TestOneInput, after `atheris.Fuzz()` began."""
        reserve = self.atheris._reserve_counter
        base = reserve()
        for _ in range(self.size - 1):
            reserve()
        self.base = base
        self._trace = self.atheris._trace_branch

    def hit(self, features: Iterable[Hashable]) -> None:
        self.hit_counters(self.counters(features))

    def counters(self, features: Iterable[Hashable]) -> tuple[int, ...]:
        """The counters `features` hit, each distinct feature once (`hit` = `hit_counters`
        of these: a harness that has seen an input replays its counters)."""
        if self._trace is None:
            self.reserve()
        index = self._index
        out = []
        for feature in features if isinstance(features, (set, frozenset)) else set(features):
            counter = index.get(feature)
            if counter is None:
                if len(index) >= CACHE_LIMIT:
                    index.clear()
                counter = index[feature] = self.base + counter_of(feature, self.size)
            out.append(counter)
        return tuple(out)

    def hit_counters(self, counters: tuple[int, ...]) -> None:
        """Increment each counter of `counters` (from `counters(features)`)."""
        if self._trace is None:
            self.reserve()
        trace = self._trace
        for counter in counters:
            trace(counter)

    @property
    def features_seen(self) -> int:
        """Distinct features met so far (since the cache was last emptied)."""
        return len(self._index)


def counters_for(atheris, mode: str) -> SemanticCounters | None:
    """The semantic counters a harness in `mode` hits, or None in bytecode mode; says the
    mode on stderr, as libFuzzer says its own settings (`INFO: ...`)."""
    sys.stderr.write(f"INFO: fuzzplug feedback: {mode} ({FEEDS[mode]})\n")
    return None if mode == "bytecode" else SemanticCounters(atheris)


FEEDS = {"semantic": f"{COUNTERS} counters for the target's features, nothing instrumented",
         "bytecode": "atheris instruments fuzzplug and the target's package",
         "both": f"{COUNTERS} counters for the target's features, and the models instrumented"}

"""A cooperative time slice for a long evaluation.

An engine that gives an evaluation a share of time (the confirmer's slices,
`fuzzplug.engines.confirmer`; the end phase's shares, `fuzzplug.engines.finish`) opens a
slice around it (`until`). A target's long loop (a search of the other version's
interleavings, say) asks `passed()` between two pieces of its work and, once the slice
is over, stops with `Interrupted` at a point it can go on from (its search paused and
kept in the target's cache), instead of being cut by the engine's alarm
(`finish.within`), which loses the work under way. Outside a slice `passed()` is False.
A slice decides only *when* an evaluation ends, never what it gives: the work it keeps is
the same work an uninterrupted evaluation does, in the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

_passed: Callable[[], bool] | None = None


class Interrupted(Exception):
    """An evaluation stopped at its slice's end, its work kept to go on with."""


@contextmanager
def until(passed: Callable[[], bool]) -> Iterator[None]:
    """A slice that is over when `passed()` is true (slices nest; the inner one counts)."""
    global _passed
    previous, _passed = _passed, passed
    try:
        yield
    finally:
        _passed = previous


def passed() -> bool:
    """Whether the current slice is over (False outside any slice)."""
    return _passed is not None and _passed()

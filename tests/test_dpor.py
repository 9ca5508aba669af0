"""The races of a run (`dpor.races`), found through the keyed index, are those of the
readable scan (`dpor._races_readable`, `dpor._dependent_earlier`): a search backtracks
exactly where it did."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fuzzplug.explore import dpor
from fuzzplug.runtime.footprint import ANY, R, S, W
from fuzzplug.runtime.sched import StepEvent

_KINDS = st.sampled_from(["pte", "entry", "lock", "*"])
_KEYS = st.sampled_from([0, 1, "i_mmap_sem", ANY])
_TOUCH = st.tuples(_KINDS, _KEYS, st.sampled_from([R, W, S]))
_HOLDS = st.lists(st.sampled_from(["i_mmap_sem:w", "i_mmap_sem:r", "ptl"]), max_size=2)
_STEP = st.tuples(st.integers(0, 2), st.lists(_TOUCH, max_size=5), _HOLDS, _HOLDS)


def _trace(steps) -> list[StepEvent]:
    trace = []
    for tid, touches, held, blocked_by in steps:
        e = StepEvent(tid, "step", (0, 1, 2), 0, held=tuple(held),
                      blocked_by=tuple(blocked_by))
        for kind, key, mode in touches:
            e.fp.touch(kind, key, mode)
        trace.append(e)
    return trace


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(_STEP, max_size=14))
def test_the_index_finds_the_dependent_steps_and_races_the_scan_finds(steps):
    """At every step of a random trace the keyed index names the dependent earlier steps
    the readable scan names, and the races of the trace are the readable ones, in order."""
    trace = _trace(steps)
    index = dpor._Index()
    flat: dict = {}
    for j, e in enumerate(trace):
        assert index.dependent_earlier(trace, j) == dpor._dependent_earlier(trace, j, flat)
        index.add(j, e.fp)
        for kind, keys in e.fp.cells.items():
            flat.setdefault(kind, []).extend((j, key, mode) for key, mode in keys.items())
    assert dpor.races(trace) == dpor._races_readable(trace)


def test_a_write_to_one_pte_depends_on_the_earlier_steps_on_it_or_on_every_pte():
    """A step that writes PTE 1 depends on an earlier read of PTE 1 and a read of every
    PTE, not on a write of PTE 2 nor on another taking of a read lock it takes too."""
    fps = [[("pte", 1, R)], [("pte", 2, W)], [("pte", ANY, R)], [("lock", "m", S)],
           [("pte", 1, W), ("lock", "m", S)]]
    trace = _trace([(j % 2, touches, [], []) for j, touches in enumerate(fps)])
    index = dpor._Index()
    for j in range(4):
        index.add(j, trace[j].fp)
    assert index.dependent_earlier(trace, 4) == {0, 2}

"""dax_fault's semantic features (the target's `Featured` capability): the generic ones, and
for an input of several tasks, how its tasks communicated.

A race is one task's step reading what another task's step wrote, in an order the
one-task runs never show. Snowboard (Gong et al., SOSP 2021) fuzzes the kernel's
concurrency by its *potential memory communications*, pairs of a write and a read of one
location by two threads; Krace (Xu et al., S&P 2020) counts *alias coverage*, the pairs of
instructions of two threads that touched one location in an order not seen before. Here
the footprints of the run's steps (`fuzzplug.runtime.footprint`: the cells each step read
and wrote, recorded by the state itself) give them exactly: walking the steps of a run in
order and remembering, per cell, the task and the step that last wrote it, each access to
a cell that another task's step wrote last is a communication

    ("comm", side, writer site, reader site, cell kind, mode)

`side` 0 (pre) or 1 (post): both sides run the input's schedule; a *site* is the switch
point the step started at (`StepEvent.label`: `dax_fault:grab_entry`, `invalidate:entries`,
`get_locked_pte: ptl:0x0`...) with its numbers abstracted (`#`), so the set is bounded by
the models' switch points squared times the cell kinds (`pte`, `entry`, `page`, `block`,
`mem`, `lock`, `wq`, `inode`...); `mode` is `r` for a read of the other task's value, `w`
for an overwrite of it. libFuzzer keeps an input whose tasks communicate in a new way, even
when no new branch and no new outcome came with it: the generic/344 race is reached by
schedules that first make task 1's write(2) drop the zero entry before task 0's fault
looks it up (`("comm", 1, "invalidate:entries", "dax_fault:grab_entry", "entry", "r")`),
then move a change point by a step.

The features only feed libFuzzer: they never change a verdict (the evaluation is the same
with or without them: `tests/test_dax_pct.py`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Hashable, Iterable

from fuzzplug.core.features import outcome_features
from fuzzplug.core.opslang import Op
from fuzzplug.core.oracle import Outcome
from fuzzplug.runtime.footprint import ANY, R

_NUMBER = re.compile(r"0x[0-9a-fA-F]+|\d+")


@functools.lru_cache(maxsize=4096)
def site(label: str) -> str:
    """A switch point's label with its numbers (addresses, pfns, tables) as `#`
    (remembered: a run's steps start at a few dozen labels)."""
    return _NUMBER.sub("#", label)


def communications(trace) -> set[tuple[str, str, str, str]]:
    """The (writer site, reader site, cell kind, mode) of every access of a step to a cell
    another task's step wrote last, over the steps of one run in order (see the module
    docstring). A read of a whole kind (`ANY`: an iteration over a container) reads every
    cell of that kind written so far; the wait-anything read of a resumed spinning access
    (kind `*`) is not a communication."""
    last: dict[tuple[str, object], tuple[int, str]] = {}
    by_kind: dict[str, set] = {}
    found: set[tuple[str, str, str, str]] = set()
    for event in trace:
        tid = event.tid
        here = site(event.label)
        for kind, keys in event.fp.cells.items():
            if kind == "*":
                continue
            for key, mode in keys.items():
                cells = by_kind.get(kind, ()) if key == ANY else ((kind, key),)
                tag = "r" if mode == R else "w"
                for cell in cells:
                    writer = last.get(cell)
                    if writer is not None and writer[0] != tid:
                        found.add((writer[1], here, kind, tag))
                if mode == R:
                    continue
                if key == ANY:  # every cell of the kind written so far (a clear)
                    for cell in cells:
                        last[cell] = (tid, here)
                else:
                    last[(kind, key)] = (tid, here)
                    by_kind.setdefault(kind, set()).add((kind, key))
    return found


def features(schema, ops: tuple[Op, ...], outcome: Outcome) -> Iterable[Hashable]:
    """The generic features of the outcome (`fuzzplug.core.features.outcome_features`), and
    for a run of several tasks, each side's communications (`communications` of the
    steps `MachineRecord.trace` kept)."""
    calls = [op for op in ops if not schema.spec(op.name).scene]
    yield from outcome_features(calls, outcome)
    for side, record in enumerate((outcome.pre, outcome.post)):
        trace = getattr(record.kernel, "trace", None)
        if trace:
            for comm in communications(trace):
                yield ("comm", side, *comm)

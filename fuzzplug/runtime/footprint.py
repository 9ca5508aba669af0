"""What a step of a task reads and writes: its footprint, recorded by the state itself.

Issue #13 interleaves tasks at their switch points (`fuzzplug.runtime.sched`). Two steps of
different tasks *commute* when neither writes a piece of state the other reads or writes:
running them in either order from the same state ends in the same state, and each leaves
the other enabled or not as it found it. The exhaustive checker's partial-order reduction
(`fuzzplug.explore.dpor`) runs only one order of each pair of commuting steps, so it needs,
for every step, the *cells* of state it touched and how (its footprint).

A cell is a pair `(kind, key)`: `("pte", vpn)`, `("entry", index)` (a radix-tree slot with
its tags and its DAX lock bit), `("page", pfn)` (a struct page), `("block", lblk)` (the
block map), `("mem", pfn)` (page data: RAM, pmem media and the dirty cache line),
`("inode", "i_size")`, `("lock", "i_mmap_sem")`... `ANY` as the key stands for every cell
of the kind (an iteration over a container, its length). Modes: `R` read, `W` write, and
`S` for the shared side of a reader-writer lock (taking or dropping a read lock: two of
them commute, either against a write-lock operation does not).

Nobody declares a footprint by hand: the state records it. `track_container` swaps a
container (dict, set or list) for a tracked subclass that reports every lookup and change
to `RECORDER`, and `track_fields` gives an object a tracked class whose listed fields are
properties that report reads and writes (the kernel objects' other fields, such as the
configuration, never change during a run). The machine that owns the containers says
which are tracked (`fuzzplug.explore.daxtrack.track`); locks and wait queues report their
own cells (`fuzzplug.kernel.fs`, `fuzzplug.runtime.sched`). Recording is on only while a
task's step runs (`RECORDER.fp` is its footprint); the scheduler's own looks at the state
(enabledness, the checks between steps) record nothing.

That the recording is complete is checked, not assumed: `tests/test_footprint.py` runs
two-task programs and, for every step, compares every cell's value before and after it
(`fuzzplug.explore.daxtrack.cell_values`): each cell that changed is in the step's recorded
writes. Reads cannot be checked that way; that the reduction loses nothing is checked by
comparing it with the unreduced search (`tests/test_dax_tasks.py`).
"""

from __future__ import annotations

from itertools import repeat
from typing import Callable

ANY = "*"
R, W, S = "r", "w", "s"
EVERYTHING = ("*", ANY)
"""A read of every cell (a task that waited for anything at all to change, resumed)."""


class Footprint:
    """The cells one step touched: kind → key → mode."""

    __slots__ = ("cells",)

    def __init__(self) -> None:
        self.cells: dict[str, dict[object, str]] = {}

    def touch(self, kind: str, key: object, mode: str) -> None:
        cells = self.cells
        keys = cells.get(kind)
        if keys is None:
            cells[kind] = {key: mode}
            return
        old = keys.get(key)
        if old is None:
            keys[key] = mode
        elif old != mode and old != W:
            keys[key] = W

    def writes(self) -> set[tuple[str, object]]:
        out = set()
        for kind, keys in self.cells.items():
            out.update((kind, key) for key, mode in keys.items() if mode != R)
        return out

    def touched(self) -> set[tuple[str, object]]:
        out = set()
        for kind, keys in self.cells.items():
            out.update(zip(repeat(kind), keys))
        return out

    def has_writes(self) -> bool:
        return any(mode != R for keys in self.cells.values() for mode in keys.values())

    def to_json(self) -> dict:
        return {kind: {str(key): mode for key, mode in sorted(keys.items(), key=str)}
                for kind, keys in sorted(self.cells.items())}

    def __repr__(self) -> str:
        return f"Footprint({self.to_json()})"


def _conflict(a: str, b: str) -> bool:
    return not (a == b and a in (R, S))


def dependent(a: Footprint, b: Footprint) -> bool:
    """Whether two steps may not commute: they touch a common cell (or `ANY` of its kind)
    and not both only read it (or both only take and drop a read lock)."""
    if ("*" in a.cells and b.has_writes()) or ("*" in b.cells and a.has_writes()):
        return True
    small, large = (a, b) if len(a.cells) <= len(b.cells) else (b, a)
    for kind, ka in small.cells.items():
        kb = large.cells.get(kind)
        if not kb:
            continue
        any_b = kb.get(ANY)
        any_a = ka.get(ANY)
        for key, ma in ka.items():
            if key == ANY:
                if any(_conflict(ma, mb) for mb in kb.values()):
                    return True
                continue
            mb = kb.get(key)
            if mb is not None and _conflict(ma, mb):
                return True
            if any_b is not None and _conflict(ma, any_b):
                return True
        if any_a is not None and any(_conflict(any_a, mb) for mb in kb.values()):
            return True
    return False


class Recorder:
    """Where tracked state reports to: the footprint of the step running now, or None."""

    __slots__ = ("fp",)

    def __init__(self) -> None:
        self.fp: Footprint | None = None

    def touch(self, kind: str, key: object, mode: str) -> None:
        fp = self.fp
        if fp is not None:
            fp.touch(kind, key, mode)


RECORDER = Recorder()
"""The one recorder: one task runs at a time, and the two sides of a run, or the runs of a
search, never interleave."""


def touch(kind: str, key: object, mode: str) -> None:
    """Report an access that no tracked container sees (locks, wait queues)."""
    fp = RECORDER.fp
    if fp is not None:
        fp.touch(kind, key, mode)


# --- tracked containers ---------------------------------------------------------------------

class TrackedDict(dict):
    """A dict that reports its accesses as cells `(kind, key)`. With `mutable_values`, a
    lookup counts as a write (the caller may change the value in place: a set of tags);
    `on_store` is called with each value stored (to track the objects a dict holds)."""

    __slots__ = ("kind", "mutable_values", "on_store")

    def _r(self, key):
        fp = RECORDER.fp
        if fp is not None:
            fp.touch(self.kind, key, W if self.mutable_values else R)

    def _w(self, key):
        fp = RECORDER.fp
        if fp is not None:
            fp.touch(self.kind, key, W)

    # The lookups and stores the models make most record inline (`_r`, `_w`): one call
    # fewer per access of a step.
    def __getitem__(self, key):
        fp = RECORDER.fp
        if fp is not None:
            fp.touch(self.kind, key, W if self.mutable_values else R)
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        fp = RECORDER.fp
        if fp is not None:
            fp.touch(self.kind, key, W if self.mutable_values else R)
        return dict.get(self, key, default)

    def __contains__(self, key):
        fp = RECORDER.fp
        if fp is not None:
            fp.touch(self.kind, key, W if self.mutable_values else R)
        return dict.__contains__(self, key)

    def __setitem__(self, key, value):
        fp = RECORDER.fp
        if fp is not None:
            fp.touch(self.kind, key, W)
        if self.on_store is not None:
            self.on_store(value)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key):
        self._w(key)
        dict.__delitem__(self, key)

    def pop(self, key, *default):
        self._w(key)
        return dict.pop(self, key, *default)

    def setdefault(self, key, default=None):
        self._w(key)
        if self.on_store is not None and key not in self:
            self.on_store(default)
        return dict.setdefault(self, key, default)

    def __iter__(self):
        self._r(ANY)
        return dict.__iter__(self)

    def keys(self):
        self._r(ANY)
        return dict.keys(self)

    def values(self):
        self._r(ANY)
        return dict.values(self)

    def items(self):
        self._r(ANY)
        return dict.items(self)

    def __len__(self):
        self._r(ANY)
        return dict.__len__(self)

    def __eq__(self, other):
        self._r(ANY)
        return dict.__eq__(self, other)

    def __ne__(self, other):
        self._r(ANY)
        return dict.__ne__(self, other)

    __hash__ = None

    def copy(self):
        self._r(ANY)
        return dict(dict.items(self))

    def clear(self):
        self._w(ANY)
        dict.clear(self)

    def update(self, *args, **kwargs):
        self._w(ANY)
        dict.update(self, *args, **kwargs)

    def popitem(self):
        self._w(ANY)
        return dict.popitem(self)


class TrackedSet(set):
    """A set that reports its accesses as cells `(kind, member)`."""

    __slots__ = ("kind",)

    def _r(self, key):
        fp = RECORDER.fp
        if fp is not None:
            fp.touch(self.kind, key, R)

    def _w(self, key):
        fp = RECORDER.fp
        if fp is not None:
            fp.touch(self.kind, key, W)

    def __contains__(self, key):
        fp = RECORDER.fp
        if fp is not None:
            fp.touch(self.kind, key, R)
        return set.__contains__(self, key)

    def add(self, key):
        self._w(key)
        set.add(self, key)

    def discard(self, key):
        self._w(key)
        set.discard(self, key)

    def remove(self, key):
        self._w(key)
        set.remove(self, key)

    def __iter__(self):
        self._r(ANY)
        return set.__iter__(self)

    def __len__(self):
        self._r(ANY)
        return set.__len__(self)

    def __eq__(self, other):
        self._r(ANY)
        return set.__eq__(self, other)

    def __ne__(self, other):
        self._r(ANY)
        return set.__ne__(self, other)

    __hash__ = None

    def copy(self):
        self._r(ANY)
        return set(set.__iter__(self))

    def pop(self):
        self._w(ANY)
        return set.pop(self)

    def clear(self):
        self._w(ANY)
        set.clear(self)

    def update(self, *others):
        self._w(ANY)
        set.update(self, *others)


class TrackedList(list):
    """A list that reports every access as the cell `(kind, ANY)`; `on_store` is called
    with each value put in it (to track the objects it holds)."""

    __slots__ = ("kind", "on_store")

    def _r(self):
        fp = RECORDER.fp
        if fp is not None:
            fp.touch(self.kind, ANY, R)

    def _w(self):
        fp = RECORDER.fp
        if fp is not None:
            fp.touch(self.kind, ANY, W)

    def __iter__(self):
        fp = RECORDER.fp
        if fp is not None:
            fp.touch(self.kind, ANY, R)
        return list.__iter__(self)

    def __len__(self):
        fp = RECORDER.fp
        if fp is not None:
            fp.touch(self.kind, ANY, R)
        return list.__len__(self)

    def __getitem__(self, i):
        fp = RECORDER.fp
        if fp is not None:
            fp.touch(self.kind, ANY, R)
        return list.__getitem__(self, i)

    def __contains__(self, x):
        self._r()
        return list.__contains__(self, x)

    def __eq__(self, other):
        self._r()
        return list.__eq__(self, other)

    __hash__ = None

    def index(self, *args):
        self._r()
        return list.index(self, *args)

    def _stored(self, values):
        if self.on_store is not None:
            for value in values:
                self.on_store(value)

    def __setitem__(self, i, v):
        self._w()
        self._stored(v if isinstance(i, slice) else (v,))
        list.__setitem__(self, i, v)

    def __delitem__(self, i):
        self._w()
        list.__delitem__(self, i)

    def append(self, x):
        self._w()
        self._stored((x,))
        list.append(self, x)

    def extend(self, xs):
        self._w()
        xs = list(xs)
        self._stored(xs)
        list.extend(self, xs)

    def insert(self, i, x):
        self._w()
        self._stored((x,))
        list.insert(self, i, x)

    def remove(self, x):
        self._w()
        list.remove(self, x)

    def pop(self, *args):
        self._w()
        return list.pop(self, *args)

    def sort(self, *args, **kwargs):
        self._w()
        list.sort(self, *args, **kwargs)

    def clear(self):
        self._w()
        list.clear(self)


def track_container(container, kind: str, *, mutable_values: bool = False,
                    on_store: Callable | None = None):
    """A tracked copy of a dict, set or list, reporting as `kind` (the caller puts it in
    place of the original); `on_store` (dicts and lists) is called with every value the
    container holds and every value stored in it later."""
    if isinstance(container, dict):
        out = TrackedDict(container)
        out.kind, out.mutable_values, out.on_store = kind, mutable_values, on_store
        if on_store is not None:
            for value in dict.values(out):
                on_store(value)
        return out
    if isinstance(container, set):
        out = TrackedSet(container)
        out.kind = kind
        return out
    if isinstance(container, list):
        out = TrackedList(container)
        out.kind, out.on_store = kind, on_store
        if on_store is not None:  # the objects it holds already (the VMAs mapped at boot)
            for value in list.__iter__(out):
                on_store(value)
        return out
    raise TypeError(f"cannot track a {type(container).__name__}")


# --- tracked fields ----------------------------------------------------------------------------

_tracked_classes: dict[tuple, type] = {}


def _field_property(base: type, name: str, cell: Callable[[object], tuple[str, object]]):
    slot = None
    for klass in base.__mro__:
        if name in klass.__dict__:
            slot = klass.__dict__[name]
            break
    if isinstance(cell, tuple):  # a constant cell: no call to find it at each access
        kind, key = cell
        if slot is not None and hasattr(slot, "__get__") and hasattr(slot, "__set__"):
            def get(obj, slot=slot):
                fp = RECORDER.fp
                if fp is not None:
                    fp.touch(kind, key, R)
                return slot.__get__(obj)

            def set_(obj, value, slot=slot):
                fp = RECORDER.fp
                if fp is not None:
                    fp.touch(kind, key, W)
                slot.__set__(obj, value)
        else:  # a plain instance attribute
            def get(obj):
                fp = RECORDER.fp
                if fp is not None:
                    fp.touch(kind, key, R)
                return obj.__dict__[name]

            def set_(obj, value):
                fp = RECORDER.fp
                if fp is not None:
                    fp.touch(kind, key, W)
                obj.__dict__[name] = value
    elif slot is not None and hasattr(slot, "__get__") and hasattr(slot, "__set__"):
        def get(obj, slot=slot):
            fp = RECORDER.fp
            if fp is not None:
                fp.touch(*cell(obj), R)
            return slot.__get__(obj)

        def set_(obj, value, slot=slot):
            fp = RECORDER.fp
            if fp is not None:
                fp.touch(*cell(obj), W)
            slot.__set__(obj, value)
    else:  # a plain instance attribute
        def get(obj):
            fp = RECORDER.fp
            if fp is not None:
                fp.touch(*cell(obj), R)
            return obj.__dict__[name]

        def set_(obj, value):
            fp = RECORDER.fp
            if fp is not None:
                fp.touch(*cell(obj), W)
            obj.__dict__[name] = value
    return property(get, set_)


def track_fields(obj: object,
                 fields: dict[str, Callable[[object], tuple[str, object]] | tuple[str, object]]
                 ) -> None:
    """Give `obj` a tracked class: each listed field reports its reads and writes as the cell
    its function gives, or as the cell it names when that is the same for every object
    (the object's layout is unchanged, so this is a class swap)."""
    base = type(obj)
    if getattr(base, "_tracked_base", None) is not None:
        return
    key = (base, tuple(sorted(fields)))
    cls = _tracked_classes.get(key)
    if cls is None:
        namespace: dict[str, object] = {"_tracked_base": base}
        if hasattr(base, "__slots__"):
            namespace["__slots__"] = ()
        for name, cell in fields.items():
            namespace[name] = _field_property(base, name, cell)
        cls = type(f"Tracked_{base.__name__}", (base,), namespace)
        _tracked_classes[key] = cls
    obj.__class__ = cls

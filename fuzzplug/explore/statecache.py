"""The states of a run of several tasks, named for a stateful search (`fuzzplug.explore.dpor`).

A run of tasks cannot be forked (a task is a greenlet stopped inside the models' calls), so
the search stays replay-based; what it gains from states is *not to go on* from a state it
has already explored: the run stops there (a cache hit), or where the state repeats one
earlier in the same run (a cycle). For that, two states must get one key exactly when their
futures are the same, as far as a run's outcome can tell:

- the machine: every cell's value (`daxtrack.cell_values`, the cells the footprints name,
  checked complete by `tests/test_footprint.py`), with the tasks named by their ids (not by
  object identity), and the scheduler's own state: who waits in which wait queue and in
  which order, and what each fault under way has seen of the others
  (`sched.Watch`);
- each task: where it stands (done, its call, the switch point, woken or not) and what its
  *stack* holds, which no key can read. It is keyed by what determines it instead: a task
  is deterministic, so what it holds is a function of what it held at its last *reset
  point* and of the values it read since. A reset point is a switch point where the task
  declares everything its future depends on besides the machine (`sched.Pending.resume`:
  the start of a call, with what its finished calls returned and printed; a user access's
  retry, with its fault count and its locals that live on; a SPIN, with the values it waits
  to see change), to which the call's printed events and branch ids so far are added (the
  outcome shows them). Between reset points the key is the reset's and, for each step since,
  its switch point and the value of every cell the step touched when it began: what it
  read. Two tasks with the same key hold the same stack up to values that no later step
  reads.

What the key leaves out is the past that the outcome no longer shows: which interleaving
took the machine there, a lock taken and dropped, a cell written and written back. Keys are
digests (BLAKE2b, 128 bits) of a canonical text, so that a cache entry costs the same
whatever the state's size, and the cache is bounded by memory (`StateCache`: least recently
used entries dropped first; a forgotten state is explored again, never wrongly skipped).

The readable key is `state_key`. The search computes `fast_state_key` instead, over the
same parts: the machine's values from its cell cache (`daxtrack.CellCache`, which reads a
kind of cell again only after a step wrote one of its cells), each kind's text made and
digested once per distinct value (`_recent`), each watch's part once per change. Two
states get one fast key exactly when they get one readable key;
`tests/test_statecache.py` checks it over every state of searches of the known races'
shapes, with the cell cache compared with `cell_values` at every reading, and that the
searches are the readable path's run for run.

Exact re-encodings (two states get one key only if they had one before):

- a fault's watch is keyed by its task, not by its place in the scheduler's list (the
  order the faults began in, which nothing reads), and its `before` only on the cells
  written since the fault began (`_watch_before`: elsewhere it equals the machine's values);
- an empty wait queue is no queue (the scheduler makes one at the first sleep on a key and
  never drops it; a wake-up finds nobody on either).

Abstractions (two states that had two keys may get one), each with why the outcome cannot
tell them apart:

- a task that has ended is keyed by its finished calls alone: it has no future, and its
  history since its last reset point is no part of its calls' records;
- an access's fault count, finished or retrying, is not keyed (`daxtasks.done`): the
  outcome keeps the first run's counts, which no comparison of outcomes reads (rule
  mkwrite_one_fault, which is named from them, only annotates a `same` verdict);
- the calls' branch ids are keyed only among those the comparison of outcomes reads
  (`StateCache.branches`, `tasks.COMPARED_BRANCHES`): the others are a finding's record,
  never a difference, and no model reads branch ids (`Kernel.branch` appends them; only
  the observers read the list), so they change no future either. The search's outcomes
  are then one per class of outcomes equal but for those;
- a step's reads of locks and wait queues are keyed by the cells it touched, not their
  values: the lock and wait-queue functions (`fuzzplug.kernel.fs`, `sched.Scheduler`)
  return nothing to the task (no try-lock among them: `trylock_page()` reads the
  page-lock cells, which are data), the step ran so the lock was free for it, and what
  they change is in the machine's part of the key;
- the zero page's reference count: see below.

The zero page's reference count. Without pte_special, vm_normal_page() hands the zero page
to do_wp_page(), and wp_page_shared() takes and drops a reference on it around
page_mkwrite, once per fault: the count read by one task's step depends on how many faults
of other tasks are between their get_page() and put_page(). Kept in what each step read,
it made every interleaving of the zero-page livelock pair's retried faults a new history,
so the livelock never closed as a cycle. The machine's part of the key keeps the count;
a step's read of it (`step_record`) and a fault's `before` do not
(`without_zero_refcount`). That loses nothing while the count decides nothing a task
keeps: the only readers of a page's `_refcount` in the models are get_page() and
put_page() (`fuzzplug.kernel.mm`; `page_count()` has no caller; the free path tests
only RAM pages, the anonymous flag only anonymous ones, neither the zero page), which
return nothing and branch only to a VM_BUG_ON, which a run shows (its BUG event stops the
call: the task's key changes at once). `tests/test_statecache.py` records every reader of
the zero page's count during the livelock pair's search and fails on any other; and the
search checks, at every state where no task is inside a call's steps since its last reset
point, that the count is one plus the page's mappings (`check_zero_refcount`: no path
leaked or dropped a reference).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from hashlib import blake2b
from operator import is_

from fuzzplug.explore.daxtasks import done
from fuzzplug.explore.daxtrack import CellCache, cell_values
from fuzzplug.explore.observe import observables
from fuzzplug.runtime.footprint import ANY, Footprint
from fuzzplug.runtime.sched import Wait

ENTRY_BYTES = 420
"""What one cache entry costs: its 16-byte key, the entry, its sleep set, the ordered
dictionary's slot (418 bytes an entry, measured with tracemalloc over 50,000 entries).
Its summary and `via` sets (`dpor.SUMMARIES`) are shared (`StateCache.intern`): few are
distinct (159 for the 12,649 states of a load and a store of the hole against two stores
of it, v4.13; 170 for the 12,152 of the zero-page livelock pair, v4.14), 10 to 30 bytes an
entry."""
DEFAULT_BYTES = 256 * 2**20
"""The cache's default bound in memory (per search)."""


def digest(value) -> bytes:
    return blake2b(repr(value).encode(), digest_size=16).digest()


def _value_text(kind: str, value) -> str:
    if kind == "entry" and value is not None:  # (entry, tags): the tags as a sorted tuple
        return repr((value[0], tuple(sorted(value[1]))))
    return repr(value)


def _kind_text(kind: str, cells: dict) -> str:
    """One kind's cells as a canonical text (sorted by key: the order of insertion is
    history, not state)."""
    items = list(cells.items())
    try:
        items.sort(key=lambda kv: kv[0])
    except TypeError:
        items.sort(key=lambda kv: repr(kv[0]))
    return "".join(f"{k!r}={_value_text(kind, v)};" for k, v in items)


_RECENT_TEXTS = 8
_recent: dict[str, list] = {}
"""Per kind, the last `_RECENT_TEXTS` distinct values (of any machine) whose text was made,
with their texts, most recent first."""


def _recent_entry(kind: str, cells: dict) -> list:
    """The entry of `_recent` for these values of the kind: [values, text, digest of the
    kind's part of `machine_text` (made when first asked)]."""
    recent = _recent.get(kind)
    if recent is None:
        recent = _recent[kind] = []
    for i, entry in enumerate(recent):  # the same object first: no comparison of values
        if entry[0] is cells:
            break
    else:
        for i, entry in enumerate(recent):
            if entry[0] == cells:
                break
        else:
            i = -1
    if i > 0:
        recent.insert(0, recent.pop(i))
    elif i < 0:
        entry = [cells, _kind_text(kind, cells), None]
        recent.insert(0, entry)
        del recent[_RECENT_TEXTS:]
    if CellCache.check:
        assert entry[1] == _kind_text(kind, cells), f"equal values of {kind} with other texts"
    return entry


def _kind_text_of(kind: str, cells: dict, memo: CellCache | None) -> str:
    """`_kind_text`, kept for the values of a kind seen last (`_recent`): the machine's
    cell cache (`daxtrack.CellCache`) gives a kind no step wrote as the same object, and a
    run's machine starts from the values of the runs before it. Values equal as Python
    values have equal texts (they are ints, strings, enums, frozen records, and tuples and
    sets of those: no two of them are equal with other reprs), which `CellCache.check`
    checks at every use."""
    if memo is None:
        return _kind_text(kind, cells)
    return _recent_entry(kind, cells)[1]


def _kind_digest(kind: str, cells: dict) -> bytes:
    """The digest of the kind's part of `machine_text` (`_recent`)."""
    entry = _recent_entry(kind, cells)
    if entry[2] is None:
        entry[2] = blake2b(f"{kind}:{entry[1]}".encode(), digest_size=16).digest()
    return entry[2]


def machine_text(vals: dict, memo: CellCache | None = None) -> str:
    return "|".join(f"{kind}:{_kind_text_of(kind, vals[kind], memo)}" for kind in sorted(vals))


def by_tid(vals: dict, sched) -> dict:
    """`cell_values` with the tasks waiting on a semaphore named by their ids, not by the
    objects' identities (which differ from run to run)."""
    return {**vals, "lock": _locks_by_tid(vals["lock"], sched)}


def _locks_by_tid(lock_values: dict, sched) -> dict:
    tid_of = {id(t.ts): t.tid for t in sched.tasks}
    locks = {}
    for name, value in lock_values.items():
        if isinstance(value, tuple) and len(value) == 3:  # a semaphore
            readers, writer, waiting = value
            value = (readers, writer, tuple((tid_of.get(i, -1), mode) for i, mode in waiting))
        locks[name] = value
    return locks


def _page_kinds(page_values: dict, m) -> dict:
    # A page's kind too (a freed page may come back as another kind): not a field a step
    # writes, so not in the cells' values; a page stored in its place is a write.
    return {pfn: (value, dict.__getitem__(m.k.pages, pfn).kind)
            for pfn, value in page_values.items()}


def _queues(wq_values: dict) -> dict:
    # An empty wait queue is no queue: the scheduler creates one at the first sleep on its
    # key and never removes it, and a wake-up finds nobody on either.
    return {key: n for key, n in wq_values.items() if n}


def snapshot(sched) -> dict:
    """Every cell's value (kind → key → value), the tasks in lock wait lists by id. With
    the machine's cell cache (`daxtrack.CellCache`), each kind derived again only when its
    values were read again, so that a kind no step wrote is the same object from state to
    state (`machine_text` keeps its text)."""
    m = sched.machine
    memo = m.cells
    if memo is None:
        vals = cell_values(m)
        return {**vals, "lock": _locks_by_tid(vals["lock"], sched),
                "page": _page_kinds(vals["page"], m), "wq": _queues(vals["wq"])}
    vals = memo.values()
    vals["lock"] = memo.derived("lock", vals["lock"], lambda v: _locks_by_tid(v, sched))
    vals["page"] = memo.derived("page", vals["page"], lambda v: _page_kinds(v, m))
    vals["wq"] = memo.derived("wq", vals["wq"], _queues)
    return vals


def cell_value(vals: dict, kind: str, key, memo: CellCache | None = None) -> str:
    if kind == "*":
        return machine_text(vals, memo)
    cells = vals.get(kind, {})
    return _kind_text_of(kind, cells, memo) if key == ANY else _value_text(kind, cells.get(key))


def without_zero_refcount(vals: dict, zero_pfn: int, memo: CellCache | None = None) -> dict:
    """`vals` (a `snapshot` or `cell_values`) with the zero page's reference count left
    out: what a step's read of the zero page is keyed by (`step_record`) and what a
    fault's `before` compares (`_watch_before`). The machine's part of the key keeps it.
    Why that loses nothing: module docstring, "The zero page's reference count". With the
    machine's cell cache, the pages' values are derived again only when read again."""
    pages = vals.get("page", {})
    if pages.get(zero_pfn) is None:
        return vals
    if memo is None:
        return {**vals, "page": _pages_without_zero_refcount(pages, zero_pfn)}
    tag = ("no zero refcount", isinstance(pages[zero_pfn][0][0], tuple))  # of a snapshot?
    return {**vals, "page": memo.derived(tag, pages,
                                         lambda v: _pages_without_zero_refcount(v, zero_pfn))}


def _pages_without_zero_refcount(pages: dict, zero_pfn: int) -> dict:
    return {**pages, zero_pfn: _without_refcount(pages[zero_pfn])}


def _without_refcount(value: tuple) -> tuple:
    """A page cell's value, `(page.state(), in the mapping)` (`cell_values`) or that and
    the page's kind (`snapshot`), with None for the reference count."""
    first = value[0]
    if isinstance(first[0], tuple):  # ((state, in the mapping), kind)
        return (_without_refcount(first), *value[1:])
    return ((None, *first[1:]), *value[1:])


def check_zero_refcount(sched) -> None:
    """The balance the keys rely on (`without_zero_refcount`): when no task is inside a
    call's steps since its last reset point (each has ended, or stands at a reset point),
    the zero page holds one reference of its own and one per mapping of it. A model that
    broke it (a reference leaked or dropped twice by a path) fails the search here rather
    than have its states merged. Not after a call that stopped (a BUG ends a task where it
    stands, with what its stack held)."""
    m = sched.machine
    zero = dict.get(m.k.pages, m.k.memmap.zero)
    if zero is None:
        return
    stopped = any(r.result.stop is not None for records in sched.call_records
                  for r in records)  # a BUG may have left a reference on a dead stack
    if not stopped and all(t.done or (t.pending is not None and t.pending.resume is not None)
                           for t in sched.tasks):
        assert zero._refcount == 1 + zero._mapcount, (
            f"the zero page's reference count {zero._refcount} is not one plus its "
            f"{zero._mapcount} mappings between calls: the state cache's keys assume it")


SYNC_KINDS = frozenset({"lock", "wq"})
"""The cells of synchronisation (`daxfile._SYNC_KINDS`): a fault's watch never compares
their values (`_watch_before`)."""


def _watch_before(w, zero_pfn: int, memo: CellCache | None = None) -> bytes | None:
    """The part of a watch's `before` (the cells' values when the fault began) that the
    machine's current values do not give: the cells written since then. Every write since
    the fault began is among them: the faulting task's own steps' cells are in
    `w.touched` (a superset: the step that began the watch counts whole), every other
    task's writes in `w.written`; any other cell has the value it had then, which the
    machine's part of the key holds. So this is an exact re-encoding of `before`, not an
    abstraction: two states with equal machine values and equal such parts have equal
    `before`s. Cells of synchronisation are left out: the fault compares data cells only
    (`daxfile.user_access` filters them out of the cells it compares)."""
    if w.before is None:
        return None
    before = without_zero_refcount(w.before, zero_pfn, memo)
    changed = {c for c in w.touched | w.written if c[0] not in SYNC_KINDS}
    if any(kind == "*" for kind, _ in changed):
        return digest(machine_text({k: v for k, v in before.items()
                                    if k not in SYNC_KINDS}, memo))
    whole = {kind for kind, key in changed if key == ANY}
    return digest(tuple(sorted((kind, repr(key), cell_value(before, kind, key))
                               for kind, key in changed if key == ANY or kind not in whole)))


_CELL_TEXT: dict = {}
"""Each cell's `repr` (cells are few: the machines of a search are small)."""


def _cell_text(c: tuple) -> str:
    t = _CELL_TEXT.get(c)
    if t is None:
        t = _CELL_TEXT[c] = repr(c)
    return t


def _watch_key(w, zero_pfn: int, memo: CellCache | None) -> tuple:
    """A watch as the scheduler's part of the key holds it. With the machine's cell cache
    (`fast_state_key`), its task and that tuple's digest, kept while the watch is the same
    (its `before`, the same object) and its sets have the same sizes: `Scheduler.run` only
    ever adds to them, so then they are the same sets."""
    if memo is None or w.before is None:
        return (w.tid, tuple(sorted(map(repr, w.touched))), w.others,
                tuple(sorted(map(repr, w.written))), _watch_before(w, zero_pfn))

    return memo.derived(("watch", w.tid, len(w.touched), len(w.written), w.others),
                        w.before, lambda _: (w.tid, _fast_watch_digest(w, zero_pfn, memo)))


def _fast_watch_digest(w, zero_pfn: int, memo: CellCache) -> bytes:
    """The watch's part of `_watch_key`, as one digest of the same sets and values: the
    cells' texts sorted and joined by separators no text holds (texts are reprs, which
    escape control characters), each value's text made once per fault (`before` does not
    change while the fault runs)."""
    touched, written = w.touched, w.written
    changed = {c for c in touched | written if c[0] not in SYNC_KINDS}
    if any(kind == "*" for kind, _ in changed):
        since = repr(_watch_before(w, zero_pfn, memo))
    else:
        before = without_zero_refcount(w.before, zero_pfn, memo)
        texts = memo.derived(("before texts", w.tid), w.before, lambda _: {})
        whole = {kind for kind, key in changed if key == ANY}
        parts = []
        for c in changed:
            kind, key = c
            if key == ANY or kind not in whole:
                t = texts.get(c)
                if t is None:
                    t = texts[c] = f"{kind}\x00{key!r}\x00{cell_value(before, kind, key, memo)}"
                parts.append(t)
        parts.sort()
        since = "\x01".join(parts)
    # The sets only grow while the fault runs (`sched.Watch`): one size, one text.
    touched_text = memo.derived(("touched text", w.tid, len(touched)), w.before,
                                lambda _: "\x01".join(sorted(map(_cell_text, touched))))
    written_text = memo.derived(("written text", w.tid, len(written)), w.before,
                                lambda _: "\x01".join(sorted(map(_cell_text, written))))
    text = "\x02".join((str(w.tid), str(w.others), touched_text, written_text, since))
    return blake2b(text.encode(), digest_size=16).digest()


def _scheduler_key(sched, memo: CellCache | None = None) -> tuple:
    """Who waits on which wait queue, in order, and the watches of the faults under way,
    by task (a task has at most one fault under way; the order of the scheduler's list is
    the order in which the faults began, which nothing reads: `Scheduler.run` updates
    every watch alike)."""
    queues = tuple(sorted((repr(key), tuple((w.tid, w.woken) for w in q))
                          for key, q in sched.waitqueues.items() if q))
    if not sched.watches:
        return queues, ()
    zero = sched.machine.k.memmap.zero
    watches = tuple(sorted(_watch_key(w, zero, memo) for w in sched.watches))
    return queues, watches


_last_machine: tuple | None = None
"""The last state's kinds, their values and their digests (`fast_state_key`), of any run:
the runs of a search start from values they share (`daxtrack.CellCache.start`), and a
kind's values are never changed once read, so the same object has the same digest."""

_NO_SCHEDULER = None
"""The digest of `_scheduler_key` with nobody waiting and no fault under way (the most
frequent), made once."""


def base_of(sched, task, branches: frozenset[str] | None = None) -> bytes | None:
    """A task's key at a reset point (`Pending.resume`), else None (keyed by its history).
    A task that has ended is at a reset point with no future: what the outcome shows of it
    is its finished calls, and its history is no part of its state. `branches`: the branch
    ids the key holds of the calls (`StateCache.branches`)."""
    memo = sched.machine.cells
    if memo is None:
        return _base_of(sched, task, branches)
    # Kept while the task has not moved: the same switch point (the same `Pending`), the
    # same calls finished, the same logs.
    return memo.derived(("base", task.tid, task.done, len(sched.call_records[task.tid]),
                         len(task.events), len(task.branches)), task.pending,
                        lambda _: _base_of(sched, task, branches))


def _base_of(sched, task, branches: frozenset[str] | None) -> bytes | None:
    p = task.pending
    finished = tuple(done(r, branches) for r in sched.call_records[task.tid])
    if task.done:
        return digest(("ended", finished))
    if p is None or p.resume is None:
        return None
    if p.resume[0] == "call":  # its logs so far are those of the calls it finished
        return digest(("reset", p.resume, finished))
    e0, b0 = sched.call_marks[task.tid]
    taken = set(task.branches[b0:])
    if branches is not None:
        taken &= branches
    return digest(("reset", p.resume, finished, tuple(observables(task.events[e0:])),
                   tuple(sorted(taken))))


_WAIT_VALUE = {w: w.value for w in Wait}
"""Each `Wait`'s value (an enum's `.value` is a property: looked up once here)."""


def position(task) -> tuple:
    p = task.pending
    if task.done or p is None:
        return ("done", task.call)
    kind = p.kind
    return (task.call, _WAIT_VALUE[kind], p.label,
            p.waiter.woken if kind is Wait.SLEEP else None)


def state_key(sched, vals: dict, hist: list[bytes]) -> bytes:
    """The key of the state the scheduler stands in (see the module docstring): `vals` its
    `snapshot`, `hist[tid]` each task's key since its last reset point."""
    return digest((machine_text(vals), _scheduler_key(sched),
                   tuple((position(t), hist[t.tid]) for t in sched.tasks)))


def fast_state_key(sched, vals: dict, hist: list[bytes]) -> bytes:
    """`state_key` by another digest of the same parts, for a machine with a cell cache
    (`daxtrack.CellCache`): two states get one fast key exactly when they get one key
    (`tests/test_statecache.py` checks it on every state of searches), as the parts are
    the same and each is encoded unambiguously (digests of a fixed length; each kind's
    digest names its kind). It is cheaper: the digest of a kind's text is made once per
    distinct value (`_kind_digest`), a watch's part once per change (`_watch_key`), and
    nothing is formatted twice."""
    global _last_machine
    memo = sched.machine.cells
    kinds = sorted(vals)
    parts = [vals[kind] for kind in kinds]
    last = _last_machine
    if last is not None and last[0] == kinds:
        if all(map(is_, last[1], parts)):
            machine = last[3]
        else:  # a kind whose values are the same object has the same digest
            digests = [d if seen is cells else _kind_digest(kind, cells)
                       for kind, cells, seen, d in zip(kinds, parts, last[1], last[2])]
            machine = b"".join(digests)
            _last_machine = (kinds, parts, digests, machine)
    else:
        digests = [_kind_digest(kind, cells) for kind, cells in zip(kinds, parts)]
        machine = b"".join(digests)
        _last_machine = (kinds, parts, digests, machine)
    h = blake2b(machine, digest_size=16)
    global _NO_SCHEDULER
    if sched.watches or any(sched.waitqueues.values()):
        h.update(digest(_scheduler_key(sched, memo)))
    else:
        if _NO_SCHEDULER is None:
            _NO_SCHEDULER = digest(_scheduler_key(sched, memo))
        h.update(_NO_SCHEDULER)
    h.update(digest(tuple((position(t), hist[t.tid]) for t in sched.tasks)))
    return h.digest()


def step_record(base: bytes, label: str, vals: dict, fp: Footprint,
                memo: CellCache | None = None) -> bytes:
    """A task's key after a step from `label`, its key before being `base` and `vals` the
    cells' values when the step began (the zero page's reference count left out,
    `without_zero_refcount`): the values of the cells it touched. `memo`: the machine's
    cell cache (`daxtrack.CellCache`), which keeps the texts of whole kinds."""
    if memo is None:
        read = sorted((kind, repr(key),
                       cell_value(vals, kind, key, memo) if kind not in SYNC_KINDS
                       else None)
                      for kind, keys in fp.cells.items() for key in keys)
        return digest((base, label, tuple(read)))
    read = []
    for kind, keys in fp.cells.items():
        if kind in SYNC_KINDS:
            read.extend((kind, repr(key), None) for key in keys)
            continue
        texts = _value_texts(kind, vals, memo)
        for key in keys:
            text = texts.get(key) if key != ANY else None
            if text is None:
                text = cell_value(vals, kind, key, memo)
                if key != ANY:
                    texts[key] = text
            read.append((kind, repr(key), text))
    read.sort()
    return digest((base, label, tuple(read)))


def _value_texts(kind: str, vals: dict, memo: CellCache) -> dict:
    """The texts of the kind's cells' values made so far (`cell_value`), kept while the
    kind's values are the same object (the cell cache never changes them once read:
    `daxtrack.CellCache`). A key equal to another (1 and True) finds the same value in the
    kind's dictionary, so the same text."""
    cells = vals.get(kind)
    if cells is None:
        return {}
    return memo.derived(("value texts", kind), cells, lambda _: {})


@dataclass(slots=True)
class Entry:
    """An explored state: the tasks asleep when it was explored (a later visit is covered
    when at least those sleep), and what every step of its explored subtree touched, per
    task (`dpor`: the races a run stopped there would have shown)."""

    sleep: frozenset
    summary: frozenset  # of (tid, kind, key, mode)
    via: frozenset = frozenset()  # the keys of the states its future goes through (`dpor`)


class StateCache:
    """The explored states of one search, bounded by memory (`max_bytes`: at most
    `max_bytes // ENTRY_BYTES` entries, the least recently used dropped first)."""

    def __init__(self, max_bytes: int | None = None, branches: frozenset[str] | None = None):
        max_bytes = DEFAULT_BYTES if max_bytes is None else max_bytes
        # The branch ids of the calls the keys hold: those the comparison of outcomes reads
        # (None: all of them). The outcomes the search records are then one per class of
        # outcomes equal but for the other branch ids (module docstring).
        self.branches = branches
        self.max_entries = max(1, max_bytes // ENTRY_BYTES)
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()
        self._summaries: dict[frozenset, frozenset] = {}
        self.hits = 0
        self.cycles = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._entries)

    def intern(self, summary: frozenset) -> frozenset:
        return self._summaries.setdefault(summary, summary)

    def get(self, key: bytes) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def peek(self, key: bytes) -> Entry | None:
        """The entry of `key`, if cached, leaving the order of use as it is."""
        return self._entries.get(key)

    def put(self, key: bytes, sleep: frozenset, summary: frozenset,
            via: frozenset = frozenset()) -> None:
        """Record an explored state; a state explored again with fewer tasks asleep keeps
        smaller set of the two when one holds the other (it covers more later visits), and
        the summaries are joined."""
        old = self._entries.get(key)
        if old is not None:
            sleep = sleep & old.sleep
            summary = summary | old.summary
            via = via | old.via
        self._entries[key] = Entry(sleep, self.intern(summary), self.intern(via))
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
            self.dropped += 1
        if len(self._summaries) > self.max_entries:
            live = {id(part) for e in self._entries.values() for part in (e.summary, e.via)}
            self._summaries = {s: s for s in self._summaries.values() if id(s) in live}


def footprints(summary: frozenset) -> dict[int, Footprint]:
    """A summary (`Entry.summary`) as one footprint per task."""
    out: dict[int, Footprint] = {}
    for tid, kind, key, mode in summary:
        out.setdefault(tid, Footprint()).touch(kind, key, mode)
    return out


def items(tid: int, fp: Footprint) -> set:
    """A step's footprint as summary items."""
    return {(tid, kind, key, mode) for kind, keys in fp.cells.items()
            for key, mode in keys.items()}

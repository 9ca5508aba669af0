"""The footprint of a DAX machine's steps (`fuzzplug.runtime.footprint`), for runs of several
tasks: which containers and fields of the machine's state report the cells a step touches
(`track`, the `_*_FIELDS` tables), the value of every cell (`cell_values`), and whether
some cells changed between two readings (`cells_differ`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fuzzplug.kernel.state import page, vm_area_struct
from fuzzplug.runtime.footprint import ANY, RECORDER, R, S, W, track_container, track_fields

if TYPE_CHECKING:
    from fuzzplug.explore.daxfile import DaxMachine


def _page_cell(p: page) -> tuple[str, object]:
    return ("page", p.pfn)


_PAGE_FIELDS = {f: _page_cell for f in ("_refcount", "_mapcount", "anon", "dirty",
                                        "referenced", "allocated", "mapping")}
# A constant cell where every object's field is the same cell (`track_fields`).
_VMA_FIELDS = {f: ("vmas", ANY) for f in ("vm_start", "vm_end", "vm_flags",
                                          "vm_page_prot", "vm_pgoff", "vm_ops")}
_VMA_FIELDS["anon_vma"] = ("anon_vma", ANY)
# The allocation counter and the armed failure are not cells: a run of several tasks arms
# no failure (`fail_alloc` is not run there, `track` checks it), and then nothing reads the
# count (`Kernel.should_fail_alloc` compares it with a `fail_at` that is None), so two
# allocations commute; `cell_values` leaves the unarmed counter out for the same reason.
_KERNEL_FIELDS = {"next_anon_pfn": ("k", "anon"), "tainted": ("k", "taint")}
_INODE_FIELDS = {"i_size": ("inode", "i_size"), "i_disksize": ("inode", "i_disksize")}
_MAPPING_FIELDS = {"nrpages": ("mapping", "nr"), "nrexceptional": ("mapping", "nr"),
                   "wb_err_seq": ("mapping", "wb"), "wb_err": ("mapping", "wb"),
                   "as_eio": ("mapping", "wb")}
_FILE_FIELDS = {"f_wb_err": ("file", "wb")}


def _track_page(p: object) -> None:
    if isinstance(p, page):
        track_fields(p, _PAGE_FIELDS)


def _track_vma(v: object) -> None:
    if isinstance(v, vm_area_struct):
        track_fields(v, _VMA_FIELDS)


def track(m: DaxMachine) -> None:
    """Make the machine's state report the cells each step touches
    (`fuzzplug.runtime.footprint`): every container and field the models read or change
    during a call, as the cells `cell_values` names. Installed after boot, for runs with
    several tasks; it changes no value."""
    k, mm, mapping, ino, sb, mem = m.k, m.k.mm, m.mapping, m.inode, m.sb, m.memory
    mm.pgtable = track_container(mm.pgtable, "pte")
    mm.pud_tables = track_container(mm.pud_tables, "pud")
    mm.pmd_tables = track_container(mm.pmd_tables, "pmd")
    mm.pte_tables = track_container(mm.pte_tables, "ptetab")
    mm.rss_stat = track_container(mm.rss_stat, "rss")
    mm.mmap = track_container(mm.mmap, "vmas", on_store=_track_vma)
    k.htab = track_container(k.htab, "hpte")
    k.pages = track_container(k.pages, "page", on_store=_track_page)
    k.pcp_list = track_container(k.pcp_list, "pcp")
    k.warned_once = track_container(k.warned_once, "warned")
    mapping.page_tree = track_container(mapping.page_tree, "entry")
    mapping.tags = track_container(mapping.tags, "entry", mutable_values=True)
    mapping.i_mmap = track_container(mapping.i_mmap, "vmas", on_store=_track_vma)
    ino.i_blocks = track_container(ino.i_blocks, "block")
    sb.free_blocks = track_container(sb.free_blocks, "free")
    sb.locked_pages = track_container(sb.locked_pages, "page_lock")
    mem.ram = track_container(mem.ram, "mem")
    mem.media = track_container(mem.media, "mem")
    mem.cache = track_container(mem.cache, "mem")
    mem.zero_page_stores = track_container(mem.zero_page_stores, "zero_stores")
    assert k.fail_at is None and k.fail_site is None, "a run of several tasks arms no failure"
    track_fields(k, _KERNEL_FIELDS)
    track_fields(ino, _INODE_FIELDS)
    track_fields(mapping, _MAPPING_FIELDS)
    track_fields(m.file, _FILE_FIELDS)
    m.cells = CellCache(m)


def _entries(m: DaxMachine) -> dict:
    mapping = m.mapping
    entries = {}
    for index, e in dict.items(mapping.page_tree):
        value = ("page", e.pfn) if isinstance(e, page) else e
        entries[index] = (value, frozenset(mapping.tags.get(index, ())))
    return entries


def _mems(m: DaxMachine) -> dict:
    mem = m.memory
    return {pfn: (mem.ram.get(pfn), mem.media.get(pfn), mem.cache.get(pfn))
            for pfn in set(mem.ram) | set(mem.media) | set(mem.cache)}


def _vmas(m: DaxMachine) -> dict:
    return {ANY: tuple((v.vm_start, v.vm_end, v.vm_flags, v.vm_page_prot, v.vm_pgoff)
                       for v in list.__iter__(m.k.mm.mmap))
            + tuple((v.vm_start, v.vm_end) for v in list.__iter__(m.mapping.i_mmap))}


def _locks(m: DaxMachine) -> dict:
    ino, sched = m.inode, m.k.sched
    sems = [m.k.mm.mmap_sem, ino.i_rwsem, ino.i_mmap_sem, m.mapping.i_mmap_rwsem]
    return {**{sem.name: (sem.readers, sem.writer,
                          tuple((id(t), mode) for t, mode in list.__iter__(sem.wait_list)))
               for sem in sems},
            **(dict(sched.spinlocks) if sched is not None else {})}


KINDS = {
    "pte": lambda m: dict(dict.items(m.k.mm.pgtable)),
    "hpte": lambda m: dict(dict.items(m.k.htab)),
    "pud": lambda m: {t: True for t in set.__iter__(m.k.mm.pud_tables)},
    "pmd": lambda m: {t: True for t in set.__iter__(m.k.mm.pmd_tables)},
    "ptetab": lambda m: {t: True for t in set.__iter__(m.k.mm.pte_tables)},
    "rss": lambda m: dict(dict.items(m.k.mm.rss_stat)),
    "page": lambda m: {pfn: (p.state(), p.mapping is m.mapping)
                       for pfn, p in dict.items(m.k.pages)},
    "entry": _entries,
    "block": lambda m: dict(dict.items(m.inode.i_blocks)),
    "free": lambda m: {b: True for b in set.__iter__(m.sb.free_blocks)},
    "page_lock": lambda m: {pfn: True for pfn in set.__iter__(m.sb.locked_pages)},
    "mem": _mems,
    "zero_stores": lambda m: {ANY: tuple(list.__iter__(m.memory.zero_page_stores))},
    "inode": lambda m: {"i_size": m.inode.i_size, "i_disksize": m.inode.i_disksize},
    "mapping": lambda m: {"nr": (m.mapping.nrpages, m.mapping.nrexceptional),
                          "wb": (m.mapping.wb_err_seq, m.mapping.wb_err, m.mapping.as_eio)},
    "file": lambda m: {"wb": m.file.f_wb_err},
    "k": lambda m: {"anon": m.k.next_anon_pfn, "taint": m.k.tainted},
    "pcp": lambda m: {ANY: tuple(p.pfn for p in list.__iter__(m.k.pcp_list))},
    "warned": lambda m: {site: True for site in set.__iter__(m.k.warned_once)},
    "vmas": _vmas,
    "anon_vma": lambda m: {ANY: tuple(v.anon_vma for v in list.__iter__(m.k.mm.mmap))},
    "lock": _locks,
    "wq": lambda m: ({key: len(q) for key, q in m.k.sched.waitqueues.items()}
                     if m.k.sched is not None else {}),
}
"""Each kind of cell and how to read its cells' values from the machine (key → value)."""


def cell_values(m: DaxMachine) -> dict[str, dict[object, object]]:
    """The value of every cell of the machine's state, by kind then key (the cells `track`
    reports; read without recording). What a step changed is where two of these differ."""
    fp, RECORDER.fp = RECORDER.fp, None
    try:
        return {kind: read(m) for kind, read in KINDS.items()}
    finally:
        RECORDER.fp = fp


class CellCache:
    """`cell_values` of a tracked machine kept from one reading to the next (the faster
    path the searches of several tasks read; `tests/test_statecache.py` checks it against
    `cell_values` at every reading). A kind is read again only when a step since it was
    last read wrote one of its cells: a step's footprint names every cell it changed
    (checked complete by `tests/test_footprint.py`), the running step's part so far
    included (`RECORDER.fp`: the containers and fields report a change before they make
    it, the locks and wait queues in the same step), and nothing changes the machine
    between steps (the scheduler's looks at it only read). A kind not read again is the
    same dictionary object as at its last reading, which the state cache's keys use
    (`fuzzplug.explore.statecache`): the dictionaries are never changed once read, and
    each reading of them all returns a new outer dictionary.

    The runs of a search boot the same machine (the model and the scene are the search's,
    and boot is deterministic: the replays check it): `start` gives a cache, before any
    step, the values an earlier run's machine had at the same point (`Boot`), so that a
    run does not read its whole machine again at its first reading; the scheduler's own
    kinds (`SCHED_KINDS`) are read again once it is attached."""

    __slots__ = ("m", "sched", "seen", "vals", "stale", "memo", "started")

    check = False
    """Compare every reading with `cell_values` (the tests turn it on)."""

    def __init__(self, m: DaxMachine):
        self.m = m
        self.sched = None  # the scheduler whose trace `seen` counts
        self.seen = 0  # the steps of its trace whose writes are in `stale`
        self.vals: dict = {}
        self.stale = set(KINDS)  # the kinds to read again
        self.memo: dict = {}  # what the state cache derives from the kinds (by identity)
        self.started = False  # `start`ed: read (or given) whole before any step

    def start(self, boot: Boot) -> None:
        """Before any step and with no scheduler attached: the machine's values as they
        were read on the first machine `boot` saw (this machine booted as it did), or read
        now and kept there for the next ones. The scheduler's kinds are left to read (the
        lock waiters are named by object identity, which is each run's own)."""
        assert self.m.k.sched is None and self.sched is None and not self.started
        if boot.values is None:
            self._read(list(KINDS))
            boot.values = {kind: v for kind, v in self.vals.items()
                           if kind not in SCHED_KINDS}
        else:
            self.vals = dict(boot.values)
        self.stale = set(SCHED_KINDS)
        self.started = True

    def _sync(self) -> None:
        sched = self.m.k.sched
        if sched is not self.sched and self.started and self.sched is None and self.seen == 0:
            # The scheduler attached to a machine `start`ed: only its own kinds can have
            # other values than at the start (nothing ran yet but the steps it records).
            for kind in SCHED_KINDS:
                self.vals.pop(kind, None)
            self.stale.update(SCHED_KINDS)
            self.sched = sched
        elif sched is None or sched is not self.sched:
            self.stale.update(KINDS)
            self.sched = sched
            self.seen = 0
        if sched is not None:
            trace = sched.trace
            for i in range(self.seen, len(trace)):
                self._mark(trace[i].fp)
            self.seen = len(trace)
        fp = RECORDER.fp  # the running step's writes so far (its whole footprint later)
        if fp is not None:
            self._mark(fp)

    def _mark(self, fp) -> None:
        stale = self.stale
        if len(stale) == len(KINDS):  # every kind is to be read again already
            return
        for kind, keys in fp.cells.items():
            if kind not in stale:
                for mode in keys.values():
                    if mode != R:  # a write (W or S)
                        stale.update(KINDS if kind == "*" else (kind,))
                        break

    def values(self, kinds=None) -> dict[str, dict[object, object]]:
        """Every cell's value (`cell_values(m)`), or those of `kinds` (a tuple of kinds)."""
        self._sync()
        if kinds is None:
            if self.stale:
                self._read(list(self.stale))
            out = dict(self.vals)
        else:
            todo = [kind for kind in kinds if kind in self.stale]
            if todo:
                self._read(todo)
            vals = self.vals
            out = {kind: vals[kind] for kind in kinds}
        if CellCache.check:
            now = cell_values(self.m)
            assert out == {kind: now[kind] for kind in out}, "the cell cache missed a change"
        return out

    def _read(self, kinds) -> None:
        m = self.m
        fp, RECORDER.fp = RECORDER.fp, None
        vals = self.vals
        try:
            for kind in kinds:
                new = KINDS[kind](m)
                old = vals.get(kind)
                # Written but equal (a lookup of a tagged entry counts as a write; a cell
                # written back): the old object stays, as if not written.
                vals[kind] = old if old == new else new
                self.stale.discard(kind)
        finally:
            RECORDER.fp = fp
        if CellCache.check:
            now = cell_values(m)
            assert all(self.vals[kind] == now[kind] for kind in kinds), \
                "the cell cache missed a change"

    def differ(self, before: dict, cells) -> bool:
        """`cells_differ(before, cell_values(m), cells)`, reading only the kinds of
        `cells`."""
        self._sync()
        stale = tuple(dict.fromkeys(kind for kind, _ in cells if kind in self.stale))
        if stale:
            self._read(stale)
        return cells_differ(before, self.vals, cells)

    def derived(self, tag: object, source: object, make):
        """`make(source)`, kept while `source` is the same object (a kind's values)."""
        hit = self.memo.get(tag)
        if hit is not None and hit[0] is source:
            return hit[1]
        value = make(source)
        self.memo[tag] = (source, value)
        return value


SYNC_KINDS = frozenset({"lock", "wq"})
"""The cells of synchronisation, not data: a user access compares data cells only
(`daxfile.user_access`)."""
SCHED_KINDS = ("lock", "wq")
"""The kinds whose values the scheduler holds part of (its spinlocks, its wait queues; and
the semaphores' waiters, by object identity): `CellCache.start` never gives them."""


class Boot:
    """What the runs of one search share of their machines' first readings
    (`CellCache.start`): the values of every kind but `SCHED_KINDS` right after boot."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: dict | None = None
DATA_KINDS = tuple(kind for kind in KINDS if kind not in SYNC_KINDS)


def values_now(m: DaxMachine) -> dict[str, dict[object, object]]:
    """`cell_values(m)`, through the machine's cache when it is tracked (`track`)."""
    return m.cells.values() if m.cells is not None else cell_values(m)


def data_values_now(m: DaxMachine) -> dict[str, dict[object, object]]:
    """`cell_values(m)` but the cells of synchronisation (`SYNC_KINDS`), through the
    machine's cache when it is tracked (`track`)."""
    if m.cells is not None:
        return m.cells.values(DATA_KINDS)
    return {kind: v for kind, v in cell_values(m).items() if kind not in SYNC_KINDS}


def differ_now(m: DaxMachine, before: dict, cells) -> bool:
    """`cells_differ(before, cell_values(m), cells)`, through the machine's cache when it is
    tracked (`track`)."""
    if m.cells is None:
        return cells_differ(before, cell_values(m), cells)
    return m.cells.differ(before, cells)


def cells_differ(a: dict, b: dict, cells) -> bool:
    """Whether any of `cells` (`(kind, key)`, `ANY` for the whole kind) has another value in
    `b` than in `a` (two `cell_values`)."""
    for kind, key in cells:
        ka, kb = a.get(kind, {}), b.get(kind, {})
        if key == ANY:
            if ka != kb:
                return True
        elif ka.get(key) != kb.get(key):
            return True
    return False

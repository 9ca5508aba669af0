"""The footprint of a DAX machine's steps (`fuzzplug.runtime.footprint`), for runs of several
tasks: which containers and fields of the machine's state report the cells a step touches
(`track`, the `_*_FIELDS` tables), the value of every cell (`cell_values`), and whether
some cells changed between two readings (`cells_differ`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fuzzplug.kernel.state import page, vm_area_struct
from fuzzplug.runtime.footprint import ANY, RECORDER, track_container, track_fields

if TYPE_CHECKING:
    from fuzzplug.explore.daxfile import DaxMachine


def _page_cell(p: page) -> tuple[str, object]:
    return ("page", p.pfn)


_PAGE_FIELDS = {f: _page_cell for f in ("_refcount", "_mapcount", "anon", "dirty",
                                        "referenced", "allocated", "mapping")}
_VMA_FIELDS = {f: (lambda v: ("vmas", ANY)) for f in ("vm_start", "vm_end", "vm_flags",
                                                       "vm_page_prot", "vm_pgoff", "vm_ops")}
_VMA_FIELDS["anon_vma"] = lambda v: ("anon_vma", ANY)
# The allocation counter and the armed failure are not cells: a run of several tasks arms
# no failure (`fail_alloc` is not run there, `track` checks it), and then nothing reads the
# count (`Kernel.should_fail_alloc` compares it with a `fail_at` that is None), so two
# allocations commute; `cell_values` leaves the unarmed counter out for the same reason.
_KERNEL_FIELDS = {"next_anon_pfn": lambda k: ("k", "anon"), "tainted": lambda k: ("k", "taint")}
_INODE_FIELDS = {"i_size": lambda i: ("inode", "i_size"),
                 "i_disksize": lambda i: ("inode", "i_disksize")}
_MAPPING_FIELDS = {"nrpages": lambda a: ("mapping", "nr"), "nrexceptional": lambda a: ("mapping", "nr"),
                   "wb_err_seq": lambda a: ("mapping", "wb"), "wb_err": lambda a: ("mapping", "wb"),
                   "as_eio": lambda a: ("mapping", "wb")}
_FILE_FIELDS = {"f_wb_err": lambda f: ("file", "wb")}


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


def cell_values(m: DaxMachine) -> dict[str, dict[object, object]]:
    """The value of every cell of the machine's state, by kind then key (the cells `track`
    reports; read without recording). What a step changed is where two of these differ."""
    fp, RECORDER.fp = RECORDER.fp, None
    try:
        k, mm, mapping, ino, sb, mem = m.k, m.k.mm, m.mapping, m.inode, m.sb, m.memory
        entries = {}
        for index, e in dict.items(mapping.page_tree):
            value = ("page", e.pfn) if isinstance(e, page) else e
            entries[index] = (value, frozenset(mapping.tags.get(index, ())))
        mems = {}
        for pfn in set(mem.ram) | set(mem.media) | set(mem.cache):
            mems[pfn] = (mem.ram.get(pfn), mem.media.get(pfn), mem.cache.get(pfn))
        sems = [mm.mmap_sem, ino.i_rwsem, ino.i_mmap_sem, mapping.i_mmap_rwsem]
        sched = k.sched
        return {
            "pte": dict(dict.items(mm.pgtable)),
            "hpte": dict(dict.items(k.htab)),
            "pud": {t: True for t in set.__iter__(mm.pud_tables)},
            "pmd": {t: True for t in set.__iter__(mm.pmd_tables)},
            "ptetab": {t: True for t in set.__iter__(mm.pte_tables)},
            "rss": dict(dict.items(mm.rss_stat)),
            "page": {pfn: (p.state(), p.mapping is mapping) for pfn, p in dict.items(k.pages)},
            "entry": entries,
            "block": dict(dict.items(ino.i_blocks)),
            "free": {b: True for b in set.__iter__(sb.free_blocks)},
            "page_lock": {pfn: True for pfn in set.__iter__(sb.locked_pages)},
            "mem": mems,
            "zero_stores": {ANY: tuple(list.__iter__(mem.zero_page_stores))},
            "inode": {"i_size": ino.i_size, "i_disksize": ino.i_disksize},
            "mapping": {"nr": (mapping.nrpages, mapping.nrexceptional),
                        "wb": (mapping.wb_err_seq, mapping.wb_err, mapping.as_eio)},
            "file": {"wb": m.file.f_wb_err},
            "k": {"anon": k.next_anon_pfn, "taint": k.tainted},
            "pcp": {ANY: tuple(p.pfn for p in list.__iter__(k.pcp_list))},
            "warned": {site: True for site in set.__iter__(k.warned_once)},
            "vmas": {ANY: tuple((v.vm_start, v.vm_end, v.vm_flags, v.vm_page_prot, v.vm_pgoff)
                                for v in list.__iter__(mm.mmap))
                     + tuple((v.vm_start, v.vm_end) for v in list.__iter__(mapping.i_mmap))},
            "anon_vma": {ANY: tuple(v.anon_vma for v in list.__iter__(mm.mmap))},
            "lock": {**{sem.name: (sem.readers, sem.writer,
                                   tuple((id(t), m) for t, m in list.__iter__(sem.wait_list)))
                        for sem in sems},
                     **(dict(sched.spinlocks) if sched is not None else {})},
            "wq": ({key: len(q) for key, q in sched.waitqueues.items()}
                   if sched is not None else {}),
        }
    finally:
        RECORDER.fp = fp


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

"""What the oracle compares of a DAX machine: a mapping entry by meaning (`describe_entry`),
the file as a user and the media see it (`file_view`), the page-cache mapping
(`mapping_view`), hole pages, leaks, the whole `snapshot`, the observable events, the
dirty indices and the invariants."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fuzzplug.kernel.fs import (
    PAGECACHE_TAG_DIRTY,
    TAG_NAMES,
    exceptional_entry,
    radix_tree_exceptional_entry,
)
from fuzzplug.kernel.state import OBSERVABLE_KINDS, page
from fuzzplug.kernel.types import PAGE_SIZE, VM_SHARED

if TYPE_CHECKING:
    from fuzzplug.explore.daxfile import DaxMachine

# The DAX exceptional-entry bits, the same in v4.13 (include/linux/dax.h) and v4.14
# (fs/dax.c): decoded by meaning, so both versions' entries read alike.
_LOCK, _PMD, _ZERO, _EMPTY, _SECTOR_SHIFT = 1 << 2, 1 << 3, 1 << 4, 1 << 5, 6


def describe_entry(entry: object) -> dict:
    """A mapping entry by meaning, the same for both versions: a page-cache page (a v4.13
    hole page) or a DAX entry (locked, PMD, zero page, empty, sector)."""
    if isinstance(entry, page):
        return {"kind": "page", "pfn": entry.pfn}
    assert isinstance(entry, exceptional_entry)
    v = entry.val
    if v & _EMPTY:
        kind = "empty"
    elif v & _ZERO:
        kind = "zero"
    else:
        kind = "block"
    out = {"kind": kind, "locked": bool(v & _LOCK), "pmd": bool(v & _PMD)}
    if kind == "block":
        out["sector"] = v >> _SECTOR_SHIFT
    return out


def file_view(m: DaxMachine) -> dict:
    """The file as a user and the media see it: i_size (pages), and per page of the block
    map the block, what a load of it returns now (`visible`: a dirty cache line or the
    media) and what survives a power failure (`durable`: the media)."""
    base = m.sb.s_bdev.base_pfn
    pages = {}
    for lblk, block in sorted(m.inode.i_blocks.items()):
        pfn = base + block
        pages[lblk] = {"block": block, "visible": m.memory.load(pfn),
                       "durable": m.memory.durable(pfn)}
    return {"i_size": m.inode.i_size // PAGE_SIZE, "pages": pages}


def mapping_view(m: DaxMachine) -> dict:
    """The page-cache mapping: every entry by meaning, its tags, the counters."""
    mapping = m.mapping
    return {
        "entries": {i: describe_entry(e) for i, e in sorted(mapping.page_tree.items())},
        "tags": {i: sorted(TAG_NAMES[t] for t in tags)
                 for i, tags in sorted(mapping.tags.items())},
        "nrpages": mapping.nrpages,
        "nrexceptional": mapping.nrexceptional,
        "wb_err": mapping.wb_err,
    }


def hole_pages(m: DaxMachine) -> dict:
    """Page-cache pages allocated for holes (v4.13): those still in the mapping, and every
    RAM page the run has used (refcount and mapcount), so a page freed or leaked shows."""
    lo, hi = m.k.memmap.ram
    return {p.pfn: {"refcount": p._refcount, "mapcount": p._mapcount,
                    "in_mapping": p.mapping is m.mapping}
            for pfn, p in sorted(m.k.pages.items()) if lo <= pfn <= hi and not p.pristine()}


def leaks(m: DaxMachine) -> list[str]:
    """References and locks that should not be there after an op: page-cache pages whose
    count is not the cache's one plus one per mapping, pages no longer cached but still
    referenced, locks still held, entries or pages still locked."""
    out = []
    lo, hi = m.k.memmap.ram
    for pfn, p in sorted(m.k.pages.items()):
        if not lo <= pfn <= hi or p.pristine():
            continue
        expected = p._mapcount + (1 if p.mapping is m.mapping else 0)
        if p._refcount != expected:
            out.append(f"page {pfn:#x}: refcount {p._refcount}, expected {expected}")
    for ts in m.tasks or [m.sb.current]:
        out += [f"lock held: {name}" for name in ts.held]
    out += [f"entry {i} locked" for i, e in sorted(m.mapping.page_tree.items())
            if radix_tree_exceptional_entry(e) and e.val & _LOCK]
    out += [f"page {pfn:#x} locked" for pfn in sorted(m.sb.locked_pages)]
    return out


def snapshot(m: DaxMachine) -> dict:
    """Everything the oracle may compare after an op, JSON-ready: the kernel's snapshot
    (PTEs, struct pages, counters, page tables, taint), the file, the mapping, hole pages,
    the memory data (RAM, media, dirty cache lines, stores to the zero page), leaks."""
    return {
        "kernel": m.k.snapshot(),
        "file": file_view(m),
        "mapping": mapping_view(m),
        "hole_pages": hole_pages(m),
        "memory": m.memory.to_json(),
        "free_blocks": len(m.sb.free_blocks),
        "vmas": [(v.vm_start, v.vm_end, v.vm_pgoff, bool(v.vm_flags & VM_SHARED))
                 for v in m.k.mm.mmap],
        "leaks": leaks(m),
    }


def observable_events(m: DaxMachine, since: int = 0) -> list[tuple[str, str]]:
    """The WARN/BUG/bad-PTE/signal events since event index `since`, as (kind, function)."""
    return [(e.kind.value, e.function) for e in m.k.events[since:] if e.kind in OBSERVABLE_KINDS]


def dirty_indices(m: DaxMachine) -> list[int]:
    """The mapping's indices tagged DIRTY (what fsync would write back)."""
    return sorted(i for i, tags in m.mapping.tags.items() if PAGECACHE_TAG_DIRTY in tags)


def check_invariants(m: DaxMachine) -> list[str]:
    """The kernel's and the mapping's invariants (see their _check_invariants)."""
    return m.k._check_invariants() + m.mapping._check_invariants()

"""Forking a modelled kernel and naming its state: what a stepper over the kernel models
needs (`fuzzplug.engines.stepper`).

- `clone_kernel(k)`: a copy of a `Kernel` that shares no mutable object with it;
- `kernel_key(k)`: everything about a `Kernel` that later calls can depend on, normalised
  where two values provably behave the same: equal keys, equal futures;
- `Renaming` and `renamed_key`: a symmetry of pages and pfns, and the key of the renamed
  kernel computed from the key, so that a state and its image can be merged.

Both walk the `Kernel`'s objects field by field; `check_kernel_layout` fails loudly when a
field is added, so that it is taught here instead of being silently shared or ignored.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from fuzzplug.kernel.state import Kernel, mm_struct, page, vm_area_struct
from fuzzplug.kernel.types import PAGE_SHIFT, PTE_PFN_MASK, pte_t

# The Kernel fields this module knows how to clone and key; a new field fails loudly here
# (teach clone_kernel and kernel_key about it) instead of being silently shared or ignored.
_KERNEL_FIELDS = frozenset({
    "config", "memmap", "events", "branches", "warned_once", "alloc_count", "fail_at",
    "next_anon_pfn", "tainted", "pages", "version", "mm", "vma", "fault_handler",
    "pfn_mkwrite_handler", "page_mkwrite_handler", "memory", "htab", "trap", "sched",
    "pcp_list"})
_MM_FIELDS = frozenset({"kernel", "pgtable", "pud_tables", "pmd_tables", "pte_tables",
                        "rss_stat", "mmap", "mmap_sem"})
_PAGE_FIELDS = frozenset({"pfn", "kind", "_refcount", "_mapcount", "anon", "dirty",
                          "referenced", "allocated", "mapping"})
_VMA_FIELDS = frozenset({"vm_start", "vm_end", "vm_flags", "vm_page_prot", "vm_pgoff",
                         "vm_ops", "vm_mm", "anon_vma", "vm_file"})


def check_kernel_layout(k: Kernel) -> None:
    """Fail loudly if the Kernel's objects have fields this module does not know."""
    layout = (
        (set(vars(k)), _KERNEL_FIELDS, "Kernel"),
        ({f.name for f in dataclasses.fields(mm_struct)}, _MM_FIELDS, "mm_struct"),
        ({f.name for f in dataclasses.fields(page)}, _PAGE_FIELDS, "page"),
        ({f.name for f in dataclasses.fields(vm_area_struct)}, _VMA_FIELDS,
         "vm_area_struct"),
    )
    for have, known, what in layout:
        if have != known:
            raise AssertionError(f"{what} fields changed ({sorted(have ^ known)}): update "
                                 "fuzzplug.explore.clone clone_kernel and kernel_key")


def clone_kernel(k: Kernel) -> Kernel:
    """A copy of a Kernel sharing no mutable object with it (the event and branch records
    start empty: they belong to the op that made them). Built field by field (the layout
    is checked by `check_kernel_layout`): copy.deepcopy is six times slower."""
    assert k.memory is None, "clone_kernel forks runs that model no page data"
    assert k.pcp_list is None, "clone_kernel forks runs whose freed RAM pages are not reused"
    c = Kernel.__new__(Kernel)
    d = c.__dict__
    d.update(k.__dict__)
    d["events"] = []
    d["branches"] = []
    d["warned_once"] = set(k.warned_once)
    d["htab"] = dict(k.htab)  # hpte values are frozen
    d["pages"] = {pfn: page(p.pfn, p.kind, p._refcount, p._mapcount, p.anon, p.dirty,
                            p.referenced, p.allocated, p.mapping)
                  for pfn, p in k.pages.items()}
    m = k.mm
    mm = mm_struct(c, dict(m.pgtable), set(m.pud_tables), set(m.pmd_tables),
                   set(m.pte_tables), dict(m.rss_stat))
    v = k.vma
    assert len(m.mmap) == 1 and m.mmap[0] is v, "clone_kernel forks one-VMA runs only"
    d["mm"] = mm
    d["vma"] = vm_area_struct(v.vm_start, v.vm_end, v.vm_flags, v.vm_page_prot, v.vm_pgoff,
                              v.vm_ops, mm, v.anon_vma, v.vm_file)
    mm.mmap.append(d["vma"])
    return c


def kernel_key(k: Kernel) -> tuple:
    """Everything about a Kernel that later calls can depend on, normalised where two values
    provably behave the same:

    - struct pages still pristine are left out: `pfn_to_page` makes an absent page in exactly
      that state on first sight, so absent and pristine are one state;
    - allocation counting is kept as the distance to the failing allocation
      (`fail_at - alloc_count`): `should_fail_alloc` only compares the two for equality and
      `fail_nth_alloc` sets `fail_at` relative to `alloc_count`;
    - the event and branch records are the past, not the state, and are left out.

    The config, memory map, version and the VMA's fixed fields are the same for every
    prefix of one scene and are kept anyway (cheap, and safe if a model ever changes them).
    """
    mm = k.mm
    vma = k.vma
    pages = tuple(sorted((pfn, p.state()) for pfn, p in k.pages.items() if not p.pristine()))
    fail = None if k.fail_at is None else k.fail_at - k.alloc_count
    # Freed RAM pages are reused only where RAM is the page allocator's (dax_fault), whose
    # runs are not forked: no free list to key.
    assert k.pcp_list is None, "kernel_key of a kernel whose freed RAM pages are reused"
    return (
        tuple(sorted(mm.pgtable.items())),
        tuple(sorted(mm.pud_tables)), tuple(sorted(mm.pmd_tables)),
        tuple(sorted(mm.pte_tables)),
        tuple((c.value, n) for c, n in mm.rss_stat.items()),
        pages, frozenset(k.warned_once), fail, k.next_anon_pfn, k.tainted,
        (vma.vm_start, vma.vm_end, vma.vm_flags, vma.vm_page_prot, vma.vm_pgoff,
         int(vma.vm_ops), vma.anon_vma),
        k.config, k.memmap, k.version, k.fault_handler, k.pfn_mkwrite_handler,
        k.page_mkwrite_handler, tuple(sorted(k.htab.items())), k.trap,
    )


@dataclass(frozen=True, slots=True)
class Renaming:
    """A symmetry: a swap of virtual pages together with a swap of pfns that maps every
    state and call of a domain to another one that behaves the same (same divergences,
    same signatures, renamed states). A stepper keying states with it keeps one state per
    pair (`renamed_key`). Which swap is a symmetry is a proof about particular models; the
    target that declares one gives the proof."""

    vpns: tuple[tuple[int, int], ...]
    """Virtual page numbers swapped, as pairs."""
    pfns: tuple[tuple[int, int], ...]
    """Pfns swapped, as pairs."""

    def vpn(self, v: int) -> int:
        for a, b in self.vpns:
            if v == a:
                return b
            if v == b:
                return a
        return v

    def pfn(self, p: int) -> int:
        for a, b in self.pfns:
            if p == a:
                return b
            if p == b:
                return a
        return p


def renamed_key(key: tuple, renaming: Renaming) -> tuple:
    """`kernel_key` of the renamed kernel, computed from the key."""

    def entry(e):
        pfn = (e.val & PTE_PFN_MASK) >> PAGE_SHIFT
        new = renaming.pfn(pfn)
        if new == pfn:
            return e
        return pte_t((e.val & ~PTE_PFN_MASK) | ((new << PAGE_SHIFT) & PTE_PFN_MASK))

    pgtable = tuple(sorted((renaming.vpn(v), entry(e)) for v, e in key[0]))
    pages = tuple(sorted((renaming.pfn(p), st) for p, st in key[5]))
    htab = tuple(sorted(((renaming.vpn(v), slot),
                         dataclasses.replace(h, pfn=renaming.pfn(h.pfn)))
                        for (v, slot), h in key[-2]))
    return (pgtable, *key[1:5], pages, *key[6:-2], htab, key[-1])

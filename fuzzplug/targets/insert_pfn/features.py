"""insert_pfn's semantic features: the generic ones, and a coarse class of the states reached.

The harness's semantic feedback (`fuzzplug.engines.feedback`) keeps an input when it reaches
a feature no earlier input reached. The generic features (`fuzzplug.core.features`: branch
successions, returns per op, verdict and signature) reward new code paths of the models;
the ones here reward new *states*, so that libFuzzer keeps the input that built an unusual
state even when reaching it took no new branch, and mutates it further (a write fault on a
shared mapping without write-notify leaves a dirty, writable entry; the unmap that would
lose that dirty bit is the next op libFuzzer adds):

- `("pte", side, vma, entry)`: each entry of the final page table;
- `("hook", side, function, entry)`: each entry an architecture hook wrote during the run
  (`set_pte_at`, `ptep_set_access_flags`, `ptep_get_and_clear_full`...; not
  `update_mmu_cache`, which changes nothing): the intermediate states, which the final
  state may not show;
- `("page", side, kind, refcount, mapcount, anon, dirty, referenced)`: each struct page
  the run touched, with its counts in buckets (0, 1, 2, 3 or more; negative: -1);
- `("counters", side, signs)`: the sign of each rss counter;
- `("alloc_fail", side, op, site)`: where an injected allocation failure landed.

An entry's class is the bits the paths test (present, RW, DIRTY, ACCESSED, PROTNONE), the
kind of its pfn (RAM, device, zero page, anonymous copy, none) and whether it is the pfn a
fault would map there (`linear_page_index`); the VMA's class is VM_SHARED, VM_WRITE and
whether it wants write-notify (a shared writable VMA with mkwrite callbacks: read-only
`vm_page_prot`). Addresses and pfn values are left out, and the classes are coarse on
purpose: a finer class (every bit of the entry, the class before a hook as well as after,
the VMA's map type) gave 16,000 features in 400,000 executions, most of them combinations
of prot bits an insert was handed, and libFuzzer kept an input for each (5,800 inputs):
a corpus of noise. These give a few thousand.
"""

from __future__ import annotations

from collections.abc import Hashable

from fuzzplug.core.features import outcome_features
from fuzzplug.core.opslang import Op
from fuzzplug.core.oracle import Outcome
from fuzzplug.kernel.state import EventKind, Kernel
from fuzzplug.kernel.types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_PRESENT,
    _PAGE_PROTNONE,
    _PAGE_RW,
    PAGE_SHIFT,
    PTE_PFN_MASK,
    VM_SHARED,
    VM_WRITE,
)

ENTRY_BITS = _PAGE_PRESENT | _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED | _PAGE_PROTNONE
"""The bits of an entry its class keeps (SPECIAL and DEVMAP follow from the pfn's kind and
the config; the cache bits, USER and NX from the prot an insert was given)."""


def vma_class(k: Kernel) -> int:
    """VM_SHARED, VM_WRITE, and write-notify (a shared writable VMA with mkwrite callbacks),
    as three bits."""
    vma = k.vma
    flags = vma.vm_flags
    shared, write = bool(flags & VM_SHARED), bool(flags & VM_WRITE)
    return shared | write << 1 | bool(shared and write and vma.vm_ops) << 2


def entry_class(k: Kernel, vpn: int, raw: int) -> tuple:
    """The class of the entry `raw` at virtual page `vpn` (see the module docstring)."""
    if not raw:
        return ()
    pfn = (raw & PTE_PFN_MASK) >> PAGE_SHIFT
    vma = k.vma
    linear = pfn == vma.vm_pgoff + vpn - (vma.vm_start >> PAGE_SHIFT)
    return (raw & ENTRY_BITS, k.memmap.kind(pfn, k.config.DEVMAP).value, linear)


def _bucket(n: int) -> int:
    return -1 if n < 0 else min(n, 3)


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


def state_features(side: int, k: Kernel, calls: tuple[Op, ...], runs,
                   out: set[Hashable]) -> None:
    """Add the state features of one side to `out` (see the module docstring). Written for
    speed: it runs on every execution."""
    vma = vma_class(k)
    add = out.add
    for vpn, entry in k.mm.pgtable.items():
        add(("pte", side, vma, entry_class(k, vpn, entry.val)))
    arch, alloc_fail = EventKind.ARCH, EventKind.ALLOC_FAIL
    for op, run in zip(calls, runs):
        for e in run.events:
            kind = e.kind
            if kind is arch:
                if e.function == "update_mmu_cache":
                    continue  # old == new: nothing the hook before it did not show
                detail = dict(e.detail)
                addr = detail.get("addr")
                if addr is None:
                    continue
                vpn = addr >> PAGE_SHIFT
                add(("hook", side, e.function, entry_class(k, vpn, detail.get("new", 0))))
            elif kind is alloc_fail:
                add(("alloc_fail", side, op.name, e.function))
    for p in k.pages.values():
        if not p.pristine():
            add(("page", side, p.kind.value, _bucket(p._refcount), _bucket(p._mapcount),
                 p.anon, p.dirty, p.referenced))
    add(("counters", side, tuple(_sign(n) for n in k.mm.rss_stat.values())))


def features(schema, ops: tuple[Op, ...], outcome: Outcome) -> set[Hashable]:
    """Every feature of one evaluation: the generic ones and the state classes."""
    calls = tuple(op for op in ops if not schema.spec(op.name).scene)
    out = set(outcome_features(calls, outcome))
    for side, record in enumerate((outcome.pre, outcome.post)):
        if record.kernel is not None:
            state_features(side, record.kernel, calls, record.runs, out)
    return out

"""insert_pfn's op language: the flag tables, the documented defaults and `SCHEMA`.

The text form (README "The op language"):

    config HAVE_PTE_SPECIAL=1 DEVMAP=1 arch=x86_64 DEBUG_VM=0 PAT=1
    vma start=0x100000 end=0x110000 flags=VM_READ|VM_WRITE|VM_SHARED|VM_MAYWRITE|VM_MIXEDMAP vm_ops=pfn_mkwrite pgoff=0x80
    memmap ram=0x10-0x1f device=0x80-0x8f zero=0x1
    vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80 flags=PFN_DEV|PFN_MAP
    fault addr=0x100000 flags=FAULT_FLAG_WRITE

Each FLAGS arg's bit i is its table's entry i (`VM_FLAG_BITS`, `PFN_FLAG_BITS`,
`PROT_BITS`, `FAULT_FLAG_BITS`, `VM_OPS_BITS`); `_to_kernel` turns it into the kernel's
flag word.
"""

from __future__ import annotations

from fuzzplug.core.opslang import ArgKind, ArgSpec, OpSpec, Schema
from fuzzplug.explore.configop import config_op
from fuzzplug.kernel.state import VmOps
from fuzzplug.kernel.types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_NX,
    _PAGE_PCD,
    _PAGE_PRESENT,
    _PAGE_PWT,
    _PAGE_RW,
    _PAGE_USER,
    FAULT_FLAG_WRITE,
    PAGE_SIZE,
    PFN_DEV,
    PFN_MAP,
    PFN_SG_CHAIN,
    PFN_SG_LAST,
    VM_EXEC,
    VM_MAYREAD,
    VM_MAYWRITE,
    VM_MIXEDMAP,
    VM_PFNMAP,
    VM_READ,
    VM_SHARED,
    VM_WRITE,
)

VM_FLAG_BITS = (("VM_READ", VM_READ), ("VM_WRITE", VM_WRITE), ("VM_EXEC", VM_EXEC),
                ("VM_SHARED", VM_SHARED), ("VM_MAYREAD", VM_MAYREAD),
                ("VM_MAYWRITE", VM_MAYWRITE), ("VM_PFNMAP", VM_PFNMAP),
                ("VM_MIXEDMAP", VM_MIXEDMAP))
PFN_FLAG_BITS = (("PFN_SG_CHAIN", PFN_SG_CHAIN), ("PFN_SG_LAST", PFN_SG_LAST),
                 ("PFN_DEV", PFN_DEV), ("PFN_MAP", PFN_MAP))
PROT_BITS = (("_PAGE_PRESENT", _PAGE_PRESENT), ("_PAGE_RW", _PAGE_RW),
             ("_PAGE_USER", _PAGE_USER), ("_PAGE_PWT", _PAGE_PWT), ("_PAGE_PCD", _PAGE_PCD),
             ("_PAGE_ACCESSED", _PAGE_ACCESSED), ("_PAGE_DIRTY", _PAGE_DIRTY),
             ("_PAGE_NX", _PAGE_NX))
FAULT_FLAG_BITS = (("FAULT_FLAG_WRITE", FAULT_FLAG_WRITE),)
VM_OPS_BITS = (("pfn_mkwrite", VmOps.pfn_mkwrite), ("page_mkwrite", VmOps.page_mkwrite))


def _flags(table) -> tuple[str, ...]:
    return tuple(name for name, _ in table)


def _mask(table, names: tuple[str, ...]) -> int:
    return sum(1 << i for i, (name, _) in enumerate(table) if name in names)


def _to_kernel(table, value: int) -> int:
    """A FLAGS arg's value (bit i = table[i]) as the kernel's flag word."""
    out = 0
    for i, (_, bit) in enumerate(table):
        if value >> i & 1:
            out |= bit
    return out


DEFAULT_START = 0x100000
DEFAULT_END = 0x110000
DEFAULT_PFN = 0x80


def _addr(name="addr", default=DEFAULT_START):
    return ArgSpec(name, ArgKind.INT, default, hex=True, addr=True, always=True)


def _pfn():
    return ArgSpec("pfn", ArgKind.INT, DEFAULT_PFN, hex=True, always=True)


SCHEMA = Schema(
    name="insert_pfn",
    version=1,
    max_ops=48,
    ops=(
        config_op(0),
        OpSpec("vma", 1, scene=True, doc="the one VMA: range, flags, callbacks, pgoff", args=(
            _addr("start", DEFAULT_START),
            _addr("end", DEFAULT_END),
            ArgSpec("flags", ArgKind.FLAGS, _mask(VM_FLAG_BITS, (
                "VM_READ", "VM_WRITE", "VM_SHARED", "VM_MAYREAD", "VM_MAYWRITE",
                "VM_MIXEDMAP")), names=_flags(VM_FLAG_BITS)),
            ArgSpec("vm_ops", ArgKind.FLAGS, 1, names=_flags(VM_OPS_BITS)),
            ArgSpec("pgoff", ArgKind.INT, DEFAULT_PFN, hex=True),
        )),
        OpSpec("memmap", 2, scene=True, doc="RAM, device memory and the zero page", args=(
            ArgSpec("ram", ArgKind.RANGE, (0x1F << 32) | 0x10),
            ArgSpec("device", ArgKind.RANGE, (0x8F << 32) | 0x80),
            ArgSpec("zero", ArgKind.INT, 0x1, hex=True),
        )),
        OpSpec("vm_insert_pfn", 3, args=(_addr(), _pfn())),
        OpSpec("vm_insert_pfn_prot", 4, args=(
            _addr(), _pfn(),
            ArgSpec("prot", ArgKind.FLAGS, _mask(PROT_BITS, (
                "_PAGE_PRESENT", "_PAGE_RW", "_PAGE_USER", "_PAGE_ACCESSED", "_PAGE_NX")),
                names=_flags(PROT_BITS)),
        )),
        OpSpec("vm_insert_mixed", 5, args=(
            _addr(), _pfn(),
            ArgSpec("flags", ArgKind.FLAGS, _mask(PFN_FLAG_BITS, ("PFN_DEV", "PFN_MAP")),
                    names=_flags(PFN_FLAG_BITS)),
        )),
        OpSpec("vm_insert_mixed_mkwrite", 6, args=(
            _addr(), _pfn(),
            ArgSpec("flags", ArgKind.FLAGS, _mask(PFN_FLAG_BITS, ("PFN_DEV", "PFN_MAP")),
                    names=_flags(PFN_FLAG_BITS)),
        )),
        OpSpec("fault", 7, doc="a user access (a store with FAULT_FLAG_WRITE) through the "
               "MMU; only an access the MMU refuses faults, into the architecture's page "
               "fault handler and handle_mm_fault", args=(
            _addr(),
            ArgSpec("flags", ArgKind.FLAGS, 0, names=_flags(FAULT_FLAG_BITS)),
        )),
        OpSpec("zap", 8, doc="unmap [addr, addr+len) (zap_page_range_single)", args=(
            _addr(), ArgSpec("len", ArgKind.INT, PAGE_SIZE, hex=True),
        )),
        OpSpec("fail_alloc", 9, doc="the nth next allocation fails (0: none)", control=True,
               args=(
            ArgSpec("nth", ArgKind.INT, 1),
        )),
    ),
)

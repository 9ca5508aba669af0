"""insert_pfn_pmd's op language (`SCHEMA`): one language across the four versions.

The text form:

    config HAVE_PTE_SPECIAL=1 DEVMAP=1 arch=x86_64 DEBUG_VM=0 PAT=1
    mmap backing=fsdax start=0x40000000 end=0xc0000000 pgoff=0x0 write=1 hole=0 dirty=0
    access addr=0x40201000 write=0
    access addr=0x40201000 write=1
    exit

Scene ops: `config` (the models' shared one; this target runs x86_64, ppc64 (hash) and
ppc64_radix, with DEBUG_VM on or off: `scene.py` normalises the rest) and `mmap` (the one
mapping: device DAX with a 2 MiB or 1 GiB aligned region, or an ext4 DAX file, shared,
without or with MAP_SYNC; `write` is PROT_WRITE, `hole` makes every extent of the file a
hole, `dirty` gives the inode uncommitted metadata). Calls, as a user drives them:
`access` (a load or store: the MMU through a present huge entry, else a page fault through
__handle_mm_fault to ->huge_fault and the version's caller), `racing_fault` (the loser of
two faults racing to a none entry: its unlocked read saw none, and it reaches ->huge_fault
over the winner's entry), `fsync` (the file's metadata committed), `zap` (unmap the huge
entries [addr, addr+len) touches), `exit` (the process exits: exit_mmap, check_mm). Control:
`fail_alloc nth=N` (the Nth next allocation fails: the PMD table, or the page table
vmf_insert_pfn_pmd() preallocates on ppc64 hash).
"""

from __future__ import annotations

from fuzzplug.core.opslang import ArgKind, ArgSpec, OpSpec, Schema
from fuzzplug.explore.configop import config_op

BACKINGS = ("devdax_2m", "devdax_1g", "fsdax", "fsdax_sync")
BOOL = ("0", "1")

DEFAULT_START = 0x40000000
DEFAULT_END = 0xC0000000
DEFAULT_ADDR = 0x40201000


def _addr(name: str = "addr", default: int = DEFAULT_ADDR) -> ArgSpec:
    return ArgSpec(name, ArgKind.INT, default, hex=True, addr=True, always=True)


SCHEMA = Schema(
    name="insert_pfn_pmd",
    version=1,
    max_ops=32,
    ops=(
        config_op(0),
        OpSpec("mmap", 1, scene=True, doc="the one DAX mapping: backing, range, offset, "
               "PROT_WRITE, the file's holes and uncommitted metadata", args=(
            ArgSpec("backing", ArgKind.CHOICE, 2, names=BACKINGS),
            _addr("start", DEFAULT_START),
            _addr("end", DEFAULT_END),
            ArgSpec("pgoff", ArgKind.INT, 0, hex=True),
            ArgSpec("write", ArgKind.CHOICE, 1, names=BOOL),
            ArgSpec("hole", ArgKind.CHOICE, 0, names=BOOL),
            ArgSpec("dirty", ArgKind.CHOICE, 0, names=BOOL),
        )),
        OpSpec("access", 2, doc="a user load (write=0) or store (write=1): the MMU, else "
               "a page fault", args=(
            _addr(), ArgSpec("write", ArgKind.CHOICE, 0, names=BOOL),
        )),
        OpSpec("racing_fault", 3, doc="the loser of two faults racing to a none entry: "
               "it reaches ->huge_fault over the winner's entry", args=(
            _addr(), ArgSpec("write", ArgKind.CHOICE, 0, names=BOOL),
        )),
        OpSpec("fsync", 4, doc="fsync the file: its metadata committed", args=()),
        OpSpec("zap", 5, doc="unmap the huge entries [addr, addr+len) touches", args=(
            _addr("addr", DEFAULT_START),
            ArgSpec("len", ArgKind.INT, 0x200000, hex=True),
        )),
        OpSpec("exit", 6, doc="the process exits: exit_mmap, then check_mm", args=()),
        OpSpec("fail_alloc", 7, doc="the nth next allocation fails (0: none)", control=True,
               args=(ArgSpec("nth", ArgKind.INT, 1),)),
    ),
)

"""insert_pfn_pmd's small domain for the engines (the target's `SmallDomain` capability).

Scenes, each one DAX mapping of the default range (0x40000000-0xc0000000, shared,
writable):

- an ext4 DAX file on x86-64 with DEBUG_VM (the VM_BUG_ON of `pmdp_set_access_flags()`),
  and without it;
- the same file on ppc64 hash with DEBUG_VM (`set_pmd_at()`'s WARN, the deposited table,
  the hash table) and on ppc64 radix with DEBUG_VM;
- the file opened with MAP_SYNC and uncommitted metadata, on ppc64 hash (the synchronous
  fault's `dax_insert_pfn_mkwrite()`, after `fsync`);
- a file of holes on ppc64 hash (the huge zero PMD, installed by `dax_pmd_load_hole()`);
- device DAX with 2 MiB alignment and with 1 GiB alignment (the PUD path), on x86-64 with
  DEBUG_VM.

Calls: loads and stores at 0x40201000 (a page of the PMD at 0x40200000, not PMD aligned,
as a fault address is) and at 0x40200000 (the same PMD, aligned); the loser of a race to a
none entry, reading and writing, at 0x40201000; `fsync`; the zap of that PMD; `exit`; an
allocation failure at the next allocation. Ten calls: depth 3 is 1,110 sequences a scene,
8,880 over the eight scenes.

No reductions are declared (no equivalence, inert calls or renaming): every call reads or
changes the entry, the tables or the file in some scene, and no symmetry has been proven
for these models.
"""

from __future__ import annotations

from functools import cache

from fuzzplug.core.opslang import Op
from fuzzplug.engines.domain import Domain
from fuzzplug.targets.insert_pfn_pmd.schema import DEFAULT_ADDR, DEFAULT_START, SCHEMA

ALIGNED = DEFAULT_START + 0x200000
"""The PMD-aligned address of the PMD that DEFAULT_ADDR (0x40201000) lies in."""


@cache
def small_domain() -> Domain:
    """insert_pfn_pmd's small domain (see the module docstring); built once."""
    values = {
        "access": (("addr", (DEFAULT_ADDR, ALIGNED)), ("write", (0, 1))),
        "racing_fault": (("addr", (DEFAULT_ADDR,)), ("write", (0, 1))),
        "fsync": (),
        "zap": (("addr", (ALIGNED,)), ("len", (0x200000,))),
        "exit": (),
        "fail_alloc": (("nth", (1,)),),
    }

    def cfg(arch: str, debug: int) -> Op:
        return Op.make(SCHEMA, "config", arch=arch, DEBUG_VM=str(debug))

    def mmap(backing: str, **kw: str) -> Op:
        return Op.make(SCHEMA, "mmap", backing=backing, **kw)

    scenes = (
        (cfg("x86_64", 1), mmap("fsdax")),
        (cfg("x86_64", 0), mmap("fsdax")),
        (cfg("ppc64", 1), mmap("fsdax")),
        (cfg("ppc64_radix", 1), mmap("fsdax")),
        (cfg("ppc64", 1), mmap("fsdax_sync", dirty="1")),
        (cfg("ppc64", 1), mmap("fsdax", hole="1")),
        (cfg("x86_64", 1), mmap("devdax_2m")),
        (cfg("x86_64", 1), mmap("devdax_1g")),
    )
    names = ("x86_64 fsdax DEBUG_VM", "x86_64 fsdax", "ppc64 hash fsdax DEBUG_VM",
             "ppc64 radix fsdax DEBUG_VM", "ppc64 hash fsdax MAP_SYNC dirty DEBUG_VM",
             "ppc64 hash fsdax holes DEBUG_VM", "x86_64 devdax 2M DEBUG_VM",
             "x86_64 devdax 1G DEBUG_VM")
    return Domain(
        "insert_pfn_pmd", scenes, values,
        description=("loads and stores at an unaligned and an aligned address, the loser "
                     "of a race reading and writing, fsync, zap, exit, an allocation "
                     "failure; scenes: fs DAX on x86-64 with and without DEBUG_VM, on "
                     "ppc64 hash and radix, with MAP_SYNC, of holes; device DAX 2 MiB and "
                     "1 GiB"),
        scene_names=names)

"""dax_fault's small domain for the engines (the target's `SmallDomain` capability).

Scenes (the default file: pages 0 and 2 are blocks, 1 and 3 holes): one shared writable
mapping on x86-64 with pte_special and devmap; the same without pte_special (where the
zero page goes through insert_page()); ppc64's hash MMU with DEBUG_VM (the architecture's
checks of set_pte_at, the hash table); ppc64's radix MMU (its ptep_set_access_flags); a
private writable mapping (COW); two shared mappings of the same pages (the second at
0x108000).

Calls: loads and stores at file page 0 (a block) and 1 (a hole) through the first mapping
and at file page 1 through the second (0x109000: outside every VMA in the one-mapping
scenes, a SIGSEGV); write(2) of one page over page 0 and over page 1; a hole punch of page
0; truncate to one page; fsync; msync and munmap of page 0; an allocation failure at the
next PTE-table allocation and at the next tree preload. Fifteen calls: depth 3 is 3615
nodes a scene, about a minute over the six scenes with the replay stepper.

No reductions are declared (no equivalence, inert calls or renaming): every call of this
domain reads or changes the file or the mappings in some scene, and no symmetry has been
proven for the DAX models.
"""

from __future__ import annotations

from functools import cache

from fuzzplug.core.opslang import Op
from fuzzplug.engines.domain import Domain
from fuzzplug.targets.dax_fault.schema import ALLOC_SITES, DEFAULT_START, SCHEMA

PAGE = 0x1000
SECOND = DEFAULT_START + 8 * PAGE


@cache
def small_domain() -> Domain:
    """dax_fault's small domain (see the module docstring); built once."""
    addrs = (DEFAULT_START, DEFAULT_START + PAGE, SECOND + PAGE)
    values = {
        "load": (("addr", addrs),),
        "store": (("addr", addrs), ("val", (0x66,))),
        "write": (("page", (0, 1)), ("pages", (1,)), ("val", (0x40,))),
        "punch_hole": (("page", (0,)), ("pages", (1,))),
        "truncate": (("pages", (1,)),),
        "fsync": (),
        "msync": (("addr", (DEFAULT_START,)), ("len", (PAGE,))),
        "munmap": (("addr", (DEFAULT_START,)), ("len", (PAGE,))),
        "fail_alloc": (("nth", (1,)), ("site", (ALLOC_SITES.index("pte_alloc"),
                                                  ALLOC_SITES.index("radix_tree_preload")))),
    }
    scenes = (
        (),
        (Op.make(SCHEMA, "config", HAVE_PTE_SPECIAL="0", DEVMAP="0"),),
        (Op.make(SCHEMA, "config", arch="ppc64", DEBUG_VM="1"),),
        (Op.make(SCHEMA, "config", arch="ppc64_radix"),),
        (Op.make(SCHEMA, "vma", shared="0"),),
        (Op.make(SCHEMA, "vma2", pages=4),),
    )
    names = ("x86_64 shared", "no pte_special shared", "ppc64 hash DEBUG_VM shared",
             "ppc64 radix shared", "x86_64 private", "x86_64 two shared mappings")
    return Domain(
        "dax_fault", scenes, values,
        description=("loads/stores at a block, a hole and the hole through a second "
                     "mapping; write(2) over the block and the hole; punch, truncate, "
                     "fsync, msync, munmap; allocation failures at pte_alloc and "
                     "radix_tree_preload; scenes: x86-64 shared, no pte_special, ppc64 "
                     "hash with DEBUG_VM, ppc64 radix, private, two shared mappings"),
        scene_names=names)

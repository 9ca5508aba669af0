"""dax_fault's chain of versions: v4.13, v4.14 (the series "DAX common 4k zero page"), then
v4.14 with each upstream fix the series' patch 1 needed (f2c57d91b0d9, then cae85cb8add3),
each with its DAX model and the commit that makes it from the version before (`CHAIN`,
`commits_between`).

The fixes change mm/memory.c's insert_pfn() only; fs/dax.c and ext4 are v4.14's. So the DAX
model of a fixed version is `dax_v4_14`'s code on that version's mm model (the insert_pfn
target's chain models, `fuzzplug.kernel.v4_14_f2c57d91b0d9` and
`v4_14_f2c57d91b0d9_cae85cb8add3`), bound by `fuzzplug.explore.daxbind.on_mm_model`: no copy
of the DAX model, and the version names are the insert_pfn chain's."""

from __future__ import annotations

from fuzzplug.explore.daxbind import on_mm_model
from fuzzplug.kernel import (
    dax_v4_13,
    dax_v4_14,
    v4_14_f2c57d91b0d9,
    v4_14_f2c57d91b0d9_cae85cb8add3,
)
from fuzzplug.targets.chain import Chain, ChainVersion

SERIES = "b2770da64254"
"""The series' first patch, which the fixes fix (Fixes: b2770da64254); the series' DAX
change is its patch 3, 91d25ba8a6b0."""
F2C = "f2c57d91b0d9"
CAE = "cae85cb8add3"


CHAIN = Chain("dax_fault", (
    ChainVersion(dax_v4_13, None, "Linux v4.13, before the series", "v4.13"),
    ChainVersion(dax_v4_14, SERIES,
                 "DAX common 4k zero page: b2770da64254 (mm: add vm_insert_mixed_mkwrite()) "
                 "to 91d25ba8a6b0 (dax: use common 4k zero page for dax mmap reads) and "
                 "patches 4-5", "v4.14-rc1"),
    ChainVersion(on_mm_model(dax_v4_14, v4_14_f2c57d91b0d9), F2C,
                 "mm: Fix warning in insert_pfn()", "v4.20; stable 4.14 (AUTOSEL)"),
    ChainVersion(on_mm_model(dax_v4_14, v4_14_f2c57d91b0d9_cae85cb8add3), CAE,
                 "mm/memory.c: fix modifying of page protection by insert_pfn()",
                 "v5.1, Fixes: b2770da64254; stable 4.14 (AUTOSEL), after f2c57d91b0d9"),
))
"""v4.13 → v4.14 (the series) → v4.14 + f2c57d91b0d9 → v4.14 + f2c57d91b0d9 +
cae85cb8add3. Any two versions compare, the older as pre; the default pair is the
series'."""
VERSIONS = CHAIN.names
SERIES_PAIR = (dax_v4_13.VERSION, dax_v4_14.VERSION)


chain_version = CHAIN.version
commits_between = CHAIN.commits_between

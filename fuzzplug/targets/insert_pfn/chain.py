"""insert_pfn's chain of versions: v4.13, v4.14 (the seed, b2770da64254), then v4.14 with
each upstream fix of the patch (f2c57d91b0d9, then cae85cb8add3), each with its model and
the commit that makes it from the version before (`CHAIN`, `commits_between`)."""

from __future__ import annotations

from fuzzplug.kernel import (
    v4_13,
    v4_14,
    v4_14_f2c57d91b0d9,
    v4_14_f2c57d91b0d9_cae85cb8add3,
)
from fuzzplug.targets.chain import Chain, ChainVersion

SEED = "b2770da64254"
F2C = "f2c57d91b0d9"
CAE = "cae85cb8add3"


CHAIN = Chain("insert_pfn", (
    ChainVersion(v4_13, None, "Linux v4.13, before the patch", "v4.13"),
    ChainVersion(v4_14, SEED, "mm: add vm_insert_mixed_mkwrite()", "v4.14-rc1"),
    ChainVersion(v4_14_f2c57d91b0d9, F2C, "mm: Fix warning in insert_pfn()",
                 "v4.20; stable 4.14 (AUTOSEL)"),
    ChainVersion(v4_14_f2c57d91b0d9_cae85cb8add3, CAE,
                 "mm/memory.c: fix modifying of page protection by insert_pfn()",
                 "v5.1, Fixes: b2770da64254; stable 4.14 (AUTOSEL), after f2c57d91b0d9"),
))
"""v4.13 → v4.14 (the seed) → v4.14 + f2c57d91b0d9 → v4.14 + f2c57d91b0d9 + cae85cb8add3:
each model is the one before with exactly one commit applied (`tests/test_model_siblings.py`).
Any two versions compare, the older as pre; the default pair is the seed's."""
VERSIONS = CHAIN.names
SEED_PAIR = (v4_13.VERSION, v4_14.VERSION)


chain_version = CHAIN.version
commits_between = CHAIN.commits_between

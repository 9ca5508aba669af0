"""insert_pfn_pmd's chain of versions: v5.0, v5.0 with the first posting of the fix (v1),
with c6f3c5ee40c1 (the fix as merged), then with fce86ff5802b, each with its model and the
commit that makes it from the version before (`CHAIN`)."""

from __future__ import annotations

from fuzzplug.kernel import (
    v5_0,
    v5_0_c6f3c5ee40c1,
    v5_0_c6f3c5ee40c1_fce86ff5802b,
    v5_0_c6f3c5ee40c1_v1,
)
from fuzzplug.targets.chain import Chain, ChainVersion

V1 = "c6f3c5ee40c1-v1"
"""The first posting has no commit id: it is named after the commit its v2 became."""
C6F = "c6f3c5ee40c1"
FCE = "fce86ff5802b"

CHAIN = Chain("insert_pfn_pmd", (
    ChainVersion(v5_0, None, "Linux v5.0, before the fix", "v5.0"),
    ChainVersion(v5_0_c6f3c5ee40c1_v1, V1,
                 "[PATCH] mm: Fix modifying of page protection by insert_pfn_pmd()",
                 "posted to linux-mm 2019-03-30, never merged"),
    ChainVersion(v5_0_c6f3c5ee40c1, C6F,
                 "mm/huge_memory.c: fix modifying of page protection by insert_pfn_pmd()",
                 "v5.1 (the v2 posting of 2019-04-02), Cc: stable; 4.19.35"),
    ChainVersion(v5_0_c6f3c5ee40c1_fce86ff5802b, FCE,
                 "mm/huge_memory: fix vmf_insert_pfn_{pmd, pud}() crash, handle unaligned "
                 "addresses", "v5.2 merge window, Fixes: c6f3c5ee40c1; 4.19.45, 5.0.18, 5.1.4"),
))
"""v5.0 → +v1 → +c6f3c5ee40c1 (v2, replacing v1) → +fce86ff5802b: each model the one before
with one change (`tests/test_model_siblings.py`). The default pair is v5.0 against the
merged fix."""
VERSIONS = CHAIN.names
DEFAULT_PAIR = (v5_0.VERSION, v5_0_c6f3c5ee40c1.VERSION)

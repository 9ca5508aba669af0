"""The MMU's own access, through the corpus: a store the entry permits enters no fault handler.

`corpora/insert_pfn/same_store_to_a_writable_pte_enters_no_fault_handler.ops` makes a
writable entry and stores to it; on every architecture the store and the load after it are
served by the MMU (x86's page walker, arm64's hardware AF/DBM, the radix MMU's R/C, ppc64
hash's HPTE or __hash_page()), so no branch of handle_mm_fault() or of the architecture's
page-fault handler (`do_user_fault:*`) is taken, on either side.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzzplug.core.opslang import parse_text
from fuzzplug.core.oracle import Verdict
from fuzzplug.kernel.state import Arch
from fuzzplug.targets.insert_pfn import TARGET

SCENARIO = (Path(__file__).parents[1] / "corpora" / "insert_pfn"
            / "same_store_to_a_writable_pte_enters_no_fault_handler.ops")


@pytest.mark.parametrize("arch", [a.value for a in Arch])
def test_a_store_to_a_writable_present_entry_enters_no_fault_handler_on_any_architecture(arch):
    """The scenario on each architecture: `same`, and the store and the load take only
    `mmu_access:<arch>:...` (and ppc64 hash's own __hash_page_4K) branch ids."""
    text = f"config arch={arch}\n" + SCENARIO.read_text()
    outcome = TARGET.evaluate(parse_text(TARGET.schema, text))
    assert outcome.verdict is Verdict.SAME
    for side in (outcome.pre, outcome.post):
        store, load = side.branches[1], side.branches[2]
        for branches in (store, load):
            assert branches, "the MMU records what it did"
            assert all(b.startswith(("mmu_access:", "__hash_page_4K:")) for b in branches)
        assert any(b.startswith(f"mmu_access:{arch}:") for b in store)

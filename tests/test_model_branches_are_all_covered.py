"""Every branch id the insert_pfn models declare has a test in tests/test_model_branches_*.py."""

from __future__ import annotations

# The branch modules: importing them runs their @covers, which fill COVERED.
import test_model_branches_discrepancies  # noqa: F401
import test_model_branches_do_wp_page  # noqa: F401
import test_model_branches_fault  # noqa: F401
import test_model_branches_insert_pfn  # noqa: F401
import test_model_branches_mmu  # noqa: F401
import test_model_branches_swap_entries  # noqa: F401
import test_model_branches_vm_insert  # noqa: F401
import test_model_branches_zap  # noqa: F401
from fuzzplug.targets.insert_pfn import TARGET
from model_branch_helpers import COVERED


def test_every_branch_id_the_models_declare_has_a_test_of_its_own():
    """The union of both models' declared branch ids is exactly the set named by @covers."""
    declared = set().union(*TARGET.branch_ids().values())
    assert sorted(declared - set(COVERED)) == []
    assert sorted(set(COVERED) - declared) == []


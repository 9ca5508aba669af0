"""Rule fewer_allocations (`fuzzplug.targets.dax_fault.compare.compare_op`):
a hole page v4.13 cannot get is compared past, what its failed read left (an unlocked empty
entry, no PTE) matched with v4.14's zero page; the comparison stops only where the same
arming names different allocations on the two sides (a site hole pages shift); a failure
armed elsewhere is compared like everything else."""

from __future__ import annotations

from fuzzplug.core.opslang import parse_text
from fuzzplug.core.oracle import Verdict
from fuzzplug.targets.dax_fault import TARGET
from fuzzplug.targets.dax_fault.schema import SCHEMA

# The ppc64 hash store after a load of a block: a known divergence (cause
# ppc64_hash_stale_hpte), used as a witness that the comparison is still on.
PPC64 = "config arch=ppc64 DEBUG_VM=0\n"
WITNESS = "load addr=0x100000\nstore addr=0x100000 val=0x66\n"


def _evaluate(text: str):
    return TARGET.evaluate(parse_text(SCHEMA, text))


def test_the_witness_alone_is_divergent():
    """The ppc64 witness is a divergence on its own (what the tests below rely on)."""
    outcome = _evaluate(PPC64 + WITNESS)
    assert outcome.verdict is Verdict.DIVERGENT and outcome.finding.op_index == 1


def test_after_v4_13_cannot_get_a_hole_page_the_later_ops_are_still_compared():
    """A hole read whose page allocation fails on v4.13 (OOM; v4.14 maps the zero page) no
    longer ends the comparison: the witness after it is found, at its own op."""
    outcome = _evaluate(PPC64 + "fail_alloc nth=1 site=__page_cache_alloc\n"
                        "load addr=0x101000\n" + WITNESS)
    assert outcome.verdict is Verdict.DIVERGENT
    assert outcome.finding.op_index == 3 and outcome.finding.op == "store"


def test_ram_used_up_is_compared_past_too():
    """The same when RAM is used up (one RAM page, two hole pages cached)."""
    outcome = _evaluate(PPC64 + "memmap ram=0x110-0x110 device=0x180-0x18f zero=0x101\n"
                        "load addr=0x101000\nload addr=0x103000\n" + WITNESS)
    assert outcome.verdict is Verdict.DIVERGENT and outcome.finding.op_index == 3


def test_the_unfilled_hole_matches_the_zero_page_until_its_entries_change():
    """Failed hole read, then a store to it, a load, another hole read, munmap, a load:
    intended to the end (the failed read's entry and PTE are matched, then both sides
    replace them with the same block), and the rule is named."""
    outcome = _evaluate("fail_alloc nth=1 site=__page_cache_alloc\nload addr=0x101000\n"
                        "store addr=0x101000 val=0x66\nload addr=0x101000\n"
                        "load addr=0x103000\nmunmap addr=0x100000 len=0x4000\n"
                        "load addr=0x101000\n")
    assert outcome.verdict is Verdict.INTENDED
    assert "fewer_allocations" in outcome.rules_applied
    assert len(outcome.pre.runs) == 7  # every op was run and compared


def test_a_failure_armed_at_a_site_hole_pages_do_not_shift_keeps_comparing():
    """A PTE-table failure (pte_alloc counts the same allocations on both sides) armed after
    a failed hole read through a mapping in another 2 MiB region: it fires on v4.13 only
    (its failed read left no PTE table there, v4.14's zero page made one). Compared, not
    stopped at: a divergence at the load that fails."""
    outcome = _evaluate(
        "memmap ram=0x110-0x110 device=0x180-0x18f zero=0x101\n"
        "vma2 start=0x300000 pages=4 pgoff=0 shared=1 write=1\n"
        "load addr=0x101000\nload addr=0x303000\nfail_alloc nth=1 site=pte_alloc\n"
        "load addr=0x300000\n")
    assert outcome.verdict is Verdict.DIVERGENT
    assert outcome.finding.op_index == 3 and "ret:OOM->ok" in outcome.finding.diffs


def test_an_nth_failure_that_hole_pages_shift_still_stops_the_comparison():
    """The fourth allocation is v4.13's hole page and v4.14's PTE table: both fail, at
    different allocations by construction, and nothing after is compared (the witness
    after it is not reported)."""
    outcome = _evaluate(PPC64 + "fail_alloc nth=4\nload addr=0x101000\n" + WITNESS)
    assert outcome.verdict is Verdict.INTENDED
    assert outcome.rules_applied == ["fewer_allocations"]
    assert len(outcome.pre.runs) == 2


def test_the_verdict_does_not_depend_on_an_earlier_run():
    """Determinism: the same input twice gives the same verdict and signature."""
    text = (PPC64 + "memmap ram=0x110-0x110 device=0x180-0x18f zero=0x101\n"
            "load addr=0x101000\nload addr=0x103000\n" + WITNESS)
    a, b = _evaluate(text), _evaluate(text)
    assert (a.verdict, a.signature) == (b.verdict, b.signature)


def test_the_missing_pte_is_matched_after_the_hole_is_filled_through_another_mapping():
    """The failed read's missing PTE outlives its entry: v4.13 fills the hole through a
    second mapping (a hole page there, as v4.14's zero page), while at the first address
    v4.13 still has no PTE and v4.14 its zero-page PTE. Intended; a load at the first
    address then faults on v4.13 only (cause v4_13_failed_hole_read_leaves_no_pte)."""
    text = ("vma2 start=0x108000 pages=4 pgoff=0 shared=1 write=1\n"
            "fail_alloc nth=1 site=__page_cache_alloc\nload addr=0x101000\n"
            "load addr=0x109000\n")
    assert _evaluate(text).verdict is Verdict.INTENDED
    outcome = _evaluate(text + "load addr=0x101000\n")
    assert outcome.signature == "load/faults:fewer/da39a3ee"
    assert outcome.finding.op_index == 3

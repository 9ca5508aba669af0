"""The oracle: verdicts, intended rules, and signatures that dedupe well."""

from __future__ import annotations

from fuzzplug.core.opslang import parse_text
from fuzzplug.core.oracle import Verdict, family, primary_diffs, signature
from fuzzplug.explore import observe
from fuzzplug.explore.observe import signature_diffs
from fuzzplug.targets.insert_pfn import TARGET


def _outcome(text: str):
    return TARGET.evaluate(parse_text(TARGET.schema, text))


PPC64 = "config arch=ppc64 DEBUG_VM=1\n"


def test_one_bug_reached_by_different_inputs_gets_one_signature():
    """The ppc64 warning at another address, after noise ops, has the same signature."""
    a = _outcome(PPC64 + "vm_insert_mixed addr=0x100000 pfn=0x80\n"
                         "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
    b = _outcome(PPC64 + "fault addr=0x104000\nzap addr=0x104000\n"
                         "vm_insert_mixed addr=0x101000 pfn=0x81 flags=PFN_DEV|PFN_MAP\n"
                         "fault addr=0x101000\n"
                         "vm_insert_mixed_mkwrite addr=0x101000 pfn=0x81\n")
    assert a.verdict is b.verdict is Verdict.DIVERGENT
    assert a.signature == b.signature


def test_the_private_mapping_change_has_one_signature_across_architectures():
    """The COW difference names the same observables on x86-64, arm64 and ppc64."""
    vma = "vma flags=VM_READ|VM_WRITE|VM_MAYREAD|VM_MAYWRITE|VM_MIXEDMAP\n"
    sigs = {_outcome(f"config arch={arch}\n" + vma +
                     "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n").signature
            for arch in ("x86_64", "arm64", "ppc64")}
    assert len(sigs) == 1


def test_different_bugs_get_different_signatures():
    """The ppc64 warning, the pfn mismatch and the private-mapping COW are told apart."""
    sigs = {
        _outcome(PPC64 + "vm_insert_mixed addr=0x100000 pfn=0x80\n"
                         "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n").signature,
        _outcome("vm_insert_mixed addr=0x100000 pfn=0x81\n"
                 "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n").signature,
        _outcome("vma flags=VM_READ|VM_WRITE|VM_MAYREAD|VM_MAYWRITE|VM_MIXEDMAP\n"
                 "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n").signature,
    }
    assert len(sigs) == 3


def test_the_mkwrite_equivalence_holds_on_every_architecture_for_a_none_pte():
    """Into a none PTE of a shared writable DAX-like VMA, mkwrite is `intended` on x86-64,
    ppc64 hash and arm64 (on radix v4.13's write fault loses SOFT_DIRTY: a triaged finding,
    see test_known_findings)."""
    for arch in ("x86_64", "ppc64", "arm64"):
        for debug in (0, 1):
            out = _outcome(f"config arch={arch} DEBUG_VM={debug}\n"
                           "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
            assert out.verdict is Verdict.INTENDED, (arch, debug, out.signature)
            assert out.rules_applied == ["mkwrite_is_insert_then_write_fault"]


def test_a_sequence_without_mkwrite_is_same_not_intended():
    """No mkwrite op: nothing for the rules to allow, so the verdict is `same`."""
    out = _outcome("vm_insert_mixed addr=0x100000 pfn=0x80\nfault addr=0x100000\n")
    assert out.verdict is Verdict.SAME and out.rules_applied == [] and out.signature is None


def test_a_missing_intended_effect_is_divergent_even_when_both_sides_agree_on_state():
    """`mkwrite_promise`: insert_page's read-only clean PTE after a 0 return is divergent."""
    out = _outcome("config HAVE_PTE_SPECIAL=0\n"
                   "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x10 flags=0\n")
    assert out.verdict is Verdict.DIVERGENT
    assert "promise:pte.DIRTY" in out.finding.diffs and "promise:pte.RW" in out.finding.diffs


def test_derived_descriptors_are_left_out_of_signatures():
    """SOFT_DIRTY follows DIRTY; the bits of an entry for another pfn follow the pfn."""
    assert signature_diffs(["pte.DIRTY", "pte.SOFT_DIRTY"]) == ["pte.DIRTY"]
    assert signature_diffs(["pte.NX", "pte.RW", "pte.pfn"]) == ["pte.pfn"]
    assert signature_diffs(["pte.SOFT_DIRTY"]) == ["pte.SOFT_DIRTY"]


def test_events_returns_and_promises_outrank_state_in_a_signature():
    """With a warning among the diffs, the state differences are its consequences."""
    diffs = ["warn:insert_pfn:x", "pte.DIRTY", "pte.RW"]
    assert primary_diffs(diffs) == ["warn:insert_pfn:x"]
    assert primary_diffs(["pte.DIRTY", "pte.RW"]) == ["state:pte"]
    assert primary_diffs(["page.refcount", "counter.MM_ANONPAGES", "pte.pfn"]) == [
        "state:counter+page+pte"]


def test_the_signature_hash_ignores_the_branches_both_sides_took():
    """Only the post-patch side's own branch ids enter the hash."""
    a = signature("op", ["pte.DIRTY"], ["x", "common"], ["y", "common"])
    b = signature("op", ["pte.DIRTY"], ["z", "other"], ["y", "other"])
    c = signature("op", ["pte.DIRTY"], ["x"], ["w"])
    assert a == b != c
    assert family("op", ["warn:f:c", "pte.DIRTY"]) == "op__warn"


def test_a_soft_dirty_only_difference_is_named_apart_from_other_pte_differences():
    """`state:pte.SOFT_DIRTY` when SOFT_DIRTY is all of the PTE that differs, `state:pte`
    as soon as anything else of the entry differs too: a triaged soft-dirty difference
    cannot hide a lost special bit on the same path."""
    own = observe.OWN_DESCRIPTORS
    assert primary_diffs(["pte.SOFT_DIRTY"], own) == ["state:pte.SOFT_DIRTY"]
    assert primary_diffs(["pte.SOFT_DIRTY", "pte.SPECIAL"], own) == ["state:pte"]
    assert primary_diffs(["page.dirty", "pte.SOFT_DIRTY"], own) == ["state:page+pte.SOFT_DIRTY"]
    assert primary_diffs(["pte.SOFT_DIRTY"]) == ["state:pte"]
    a = observe.signature("op", ["pte.SOFT_DIRTY"], [], ["y"])
    b = observe.signature("op", ["pte.DEVMAP", "pte.SPECIAL"], [], ["y"])
    assert a.split("/")[1] == "state:pte.SOFT_DIRTY" and b.split("/")[1] == "state:pte"


def test_a_hash_table_that_differs_because_its_ptes_do_is_not_named():
    """The hash table follows its PTEs (DERIVED): an entry that maps something else is
    `state:pte`, not `state:hpte+pte`; whether a page is hashed is the hash table's state,
    which the PTE's H_PAGE_HASHPTE and slot bits only record: `state:hpte`."""
    def named(diffs):
        return observe.signature("op", diffs, [], []).split("/")[1]

    assert named(["hpte.presence", "pte.presence"]) == "state:pte"
    assert named(["hpte.pfn", "pte.pfn", "pte.SPECIAL"]) == "state:pte"
    assert named(["hpte.presence", "pte.HASHPTE", "pte.F_GIX0"]) == "state:hpte"
    assert named(["hpte.perm"]) == "state:hpte"


def test_the_architecture_layers_branch_ids_stay_out_of_the_signature_hash():
    """What the MMU and the hash MMU did follows from the configuration: the same patched
    path gives the same hash with or without them."""
    plain = observe.signature("op", ["pte.DIRTY"], [], ["insert_pfn:x"])
    with_arch = observe.signature("op", ["pte.DIRTY"], ["mmu_access:x86_64:hw_dirty"],
                                  ["insert_pfn:x", "update_mmu_cache:ppc64:hash_preload",
                                   "__hash_page_4K:insert", "mmu_access:ppc64:hpte_hit"])
    assert plain == with_arch

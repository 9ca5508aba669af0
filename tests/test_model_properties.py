"""Properties of the two models over generated scenes and call sequences (Hypothesis).

(a) The calls the seed patch does not change (vm_insert_pfn, vm_insert_pfn_prot,
    vm_insert_mixed, user faults, zaps, allocation failures) behave identically on v4.13 and
    v4.14: b2770da64254 only adds a `mkwrite` path that those calls never take (insert_pfn
    gets mkwrite=false from all of them).
(b) An insert into a none PTE followed by the zap of that page gives back every reference,
    mapping and rss count it took, on each model, wherever the kernel itself keeps that
    balance (vm_normal_page() must find a page exactly when the insert refcounted one).
(c) Evaluating the same ops twice gives the same outcome.
(d) On ppc64's hash MMU, the calls the patch does not change keep every HPTE tracked by its
    linux PTE, on both models; and whenever a run leaves an HPTE untracked, a BAD_HPTE
    event said so.

The settings are derandomized so that the suite is deterministic.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import model_cases as mc
from fuzzplug.core.opslang import Op
from fuzzplug.core.oracle import Verdict
from fuzzplug.kernel import v4_13, v4_14
from fuzzplug.kernel.mm import pfn_valid
from fuzzplug.kernel.state import ANON_POOL_START, EventKind, Kernel, PageKind
from fuzzplug.kernel.types import PAGE_MASK, PAGE_SIZE
from fuzzplug.targets.insert_pfn.schema import SCHEMA
from fuzzplug.targets.insert_pfn.target import TARGET

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

START, END = 0x100000, 0x104000  # a four-page VMA
ADDRS = (START - PAGE_SIZE, START, START + PAGE_SIZE, START + 0x800, END - PAGE_SIZE, END)
PFNS = (0x10, 0x11, 0x1F, 0x80, 0x81, 0x8F, 0x1, 0x40, ANON_POOL_START)
VM_FLAGS = ("VM_READ", "VM_WRITE", "VM_EXEC", "VM_SHARED", "VM_MAYREAD", "VM_MAYWRITE",
            "VM_PFNMAP", "VM_MIXEDMAP")
PFN_FLAGS = ("PFN_SG_CHAIN", "PFN_SG_LAST", "PFN_DEV", "PFN_MAP")
PROT_FLAGS = ("_PAGE_PRESENT", "_PAGE_RW", "_PAGE_USER", "_PAGE_PWT", "_PAGE_PCD",
              "_PAGE_ACCESSED", "_PAGE_DIRTY", "_PAGE_NX")
ARCHES = ("x86_64", "ppc64", "arm64", "ppc64_radix")


def flags_of(names) -> str:
    return "|".join(sorted(names)) or "0"


def subsets(names) -> st.SearchStrategy[str]:
    return st.sets(st.sampled_from(names)).map(flags_of)


configs = st.fixed_dictionaries({
    "HAVE_PTE_SPECIAL": st.sampled_from([0, 1]),
    "DEVMAP": st.sampled_from([0, 1]),
    "arch": st.sampled_from(ARCHES),
    "DEBUG_VM": st.sampled_from([0, 1]),
    "PAT": st.sampled_from([0, 1]),
})


@st.composite
def scenes(draw, flags=subsets(VM_FLAGS)) -> tuple[Op, ...]:
    config = draw(configs)
    return (
        Op.make(SCHEMA, "config", **{k: str(v) for k, v in config.items()}),
        Op.make(SCHEMA, "vma", start=START, end=END, flags=draw(flags),
                vm_ops=draw(subsets(("pfn_mkwrite", "page_mkwrite"))),
                pgoff=draw(st.sampled_from([0x10, 0x40, 0x80, ANON_POOL_START - 1]))),
    )


addrs = st.sampled_from(ADDRS)
pfns = st.sampled_from(PFNS)

unchanged_calls = st.one_of(
    st.builds(lambda a, p: Op.make(SCHEMA, "vm_insert_pfn", addr=a, pfn=p), addrs, pfns),
    st.builds(lambda a, p, f: Op.make(SCHEMA, "vm_insert_pfn_prot", addr=a, pfn=p, prot=f),
              addrs, pfns, subsets(PROT_FLAGS)),
    st.builds(lambda a, p, f: Op.make(SCHEMA, "vm_insert_mixed", addr=a, pfn=p, flags=f),
              addrs, pfns, subsets(PFN_FLAGS)),
    st.builds(lambda a, w: Op.make(SCHEMA, "fault", addr=a,
                                   flags="FAULT_FLAG_WRITE" if w else "0"), addrs, st.booleans()),
    st.builds(lambda a, n: Op.make(SCHEMA, "zap", addr=a, len=n), addrs,
              st.sampled_from([PAGE_SIZE, 2 * PAGE_SIZE, END - START, 0x10000])),
    st.builds(lambda n: Op.make(SCHEMA, "fail_alloc", nth=n), st.integers(0, 4)),
)

any_calls = st.one_of(
    unchanged_calls,
    st.builds(lambda a, p, f: Op.make(SCHEMA, "vm_insert_mixed_mkwrite", addr=a, pfn=p,
                                      flags=f), addrs, pfns, subsets(PFN_FLAGS)),
)


# --- (a) ------------------------------------------------------------------------------------------

@SETTINGS
@given(scene=scenes(), calls=st.lists(unchanged_calls, min_size=1, max_size=8))
def test_the_calls_the_patch_does_not_change_behave_identically_on_both_models(scene, calls):
    """Verdict SAME, and the whole record is equal: returns, every event (as JSON, internal
    ones included), the branch ids and the final state."""
    outcome = TARGET.evaluate(scene + tuple(calls))
    assert outcome.verdict is Verdict.SAME, outcome.finding
    pre, post = outcome.pre, outcome.post
    assert (pre.version, post.version) == ("v4.13", "v4.14")
    assert pre.rets == post.rets
    assert json.dumps(pre.events, sort_keys=True) == json.dumps(post.events, sort_keys=True)
    assert pre.branches == post.branches
    assert pre.state == post.state


# --- (b) -------------------------------------------------------------------------------------------

def _balance(k: Kernel, pfns) -> tuple:
    """Refcount and mapcount of `pfns` (pristine values for untouched ones), and the rss."""
    out = []
    for pfn in sorted(pfns):
        p = k.pages.get(pfn)
        if p is None:
            kind = k.memmap.kind(pfn, k.config.DEVMAP)
            out.append((pfn, 0, 0) if kind is PageKind.ANON else (pfn, 1, 0))
        else:
            out.append((pfn, p._refcount, p._mapcount))
    return tuple(out), tuple(sorted((c.value, n) for c, n in k.mm.rss_stat.items()))


def kernel_keeps_the_balance(k: Kernel, op: str, pfn: int, pfn_flags: str) -> bool:
    """False only where the C itself does not: without pte_special but with devmap,
    vm_insert_mixed() of a PFN_DEV|PFN_MAP pfn that has a struct page goes to insert_pfn()
    (pfn_t_devmap, no reference taken), while the zap's vm_normal_page() returns that page
    (VM_MIXEDMAP && pfn_valid) and drops a reference, a mapping and an rss count it never
    had. No real architecture has devmap without pte_special (x86-64 and ppc64 have both)."""
    devmap_pfn_t = k.config.DEVMAP and {"PFN_DEV", "PFN_MAP"} <= set(pfn_flags.split("|"))
    return not (op == "vm_insert_mixed" and not k.config.HAVE_PTE_SPECIAL and devmap_pfn_t
                and pfn_valid(k, pfn))


prefix_calls = st.one_of(
    st.builds(lambda a, p, f: ("vm_insert_mixed", a, p, f),
              st.sampled_from([mc.A1, START + 2 * PAGE_SIZE]), pfns, subsets(PFN_FLAGS)),
    st.builds(lambda a, w: ("fault", a, w),
              st.sampled_from([mc.A1, START + 3 * PAGE_SIZE]), st.booleans()),
)


@SETTINGS
@given(config=configs,
       base=st.sets(st.sampled_from(("VM_READ", "VM_WRITE", "VM_SHARED", "VM_MAYREAD",
                                     "VM_MAYWRITE"))),
       mapping=st.sampled_from(("VM_MIXEDMAP", "VM_PFNMAP")),
       vm_ops=subsets(("pfn_mkwrite", "page_mkwrite")),
       prefix=st.lists(prefix_calls, max_size=3),
       op=st.sampled_from(("vm_insert_pfn", "vm_insert_mixed")),
       addr=st.sampled_from([START, START + 0x800]),
       pfn=pfns, pfn_flags=subsets(PFN_FLAGS))
def test_an_insert_then_the_zap_of_its_page_gives_back_every_count_it_took(
        config, base, mapping, vm_ops, prefix, op, addr, pfn, pfn_flags):
    """On each model: refcounts, mapcounts and rss counters after insert + zap are those
    before the insert, wherever the kernel keeps that balance (see kernel_keeps_the_balance)."""
    flags = flags_of(base | {mapping, "VM_MIXEDMAP"} if op == "vm_insert_mixed"
                     else base | {mapping})
    for model in (v4_13, v4_14):
        k = mc.boot(model, flags, vm_ops=vm_ops or "0", pgoff=0x80, start=START, end=END,
                    **config)
        for p in prefix:
            if p[0] == "fault":
                ret = mc.user_fault(k, model, p[1], write=p[2])
            else:
                ret = mc.call(k, model, "vm_insert_mixed", p[1], _pfn_t(p[2], p[3]))
            assume(ret != "BUG")
        assume(mc.pte_at(k, addr).val == 0)
        assume(kernel_keeps_the_balance(k, op, pfn, pfn_flags))
        watched = set(k.pages) | {pfn}
        before = _balance(k, watched)
        if op == "vm_insert_pfn":
            ret = mc.call(k, model, "vm_insert_pfn", addr, pfn)
        else:
            ret = mc.call(k, model, "vm_insert_mixed", addr, _pfn_t(pfn, pfn_flags))
        assume(ret == 0)
        assert mc.pte_at(k, addr).val != 0
        mc.zap(k, model, addr & PAGE_MASK)
        assert mc.pte_at(k, addr).val == 0
        assert _balance(k, watched | set(k.pages)) == _balance_with(before, k, set(k.pages))
        assert k._check_invariants() == []


def _pfn_t(pfn: int, names: str):
    from fuzzplug.targets.insert_pfn.schema import PFN_FLAG_BITS

    bits = 0
    for name, bit in PFN_FLAG_BITS:
        if name in names.split("|"):
            bits |= bit
    return mc.pfn_of(pfn, bits)


def _balance_with(before: tuple, k: Kernel, pfns: set[int]) -> tuple:
    """`before`, extended with the pristine counts of pages first seen after it."""
    pages, rss = before
    known = {p[0] for p in pages}
    extra = []
    for pfn in pfns - known:
        kind = k.memmap.kind(pfn, k.config.DEVMAP)
        extra.append((pfn, 0, 0) if kind is PageKind.ANON else (pfn, 1, 0))
    return tuple(sorted(pages + tuple(extra))), rss


def test_without_pte_special_but_with_devmap_an_insert_and_its_zap_do_not_balance():
    """The excluded configuration, pinned: the zap drops a reference, a mapping and an rss
    count that vm_insert_mixed() of a devmap pfn never took (print_bad_pte reports it)."""
    for model in (v4_13, v4_14):
        k = mc.mixed_insert_of_device_memory_without_pte_special_then_zap(model)
        assert not kernel_keeps_the_balance(k, "vm_insert_mixed", mc.DEV, "PFN_DEV|PFN_MAP")
        p = k.pages[mc.DEV]
        assert (p._refcount, p._mapcount) == (0, -1)
        assert k.mm.rss_stat != {c: 0 for c in k.mm.rss_stat}


# --- (c) ------------------------------------------------------------------------------------------

@SETTINGS
@given(scene=scenes(), calls=st.lists(any_calls, min_size=1, max_size=8))
def test_evaluating_the_same_ops_twice_gives_the_same_outcome(scene, calls):
    """The models and the oracle keep no state between evaluations: equal JSON outcomes."""
    ops = scene + tuple(calls)
    first = json.dumps(TARGET.evaluate(ops).to_json(), sort_keys=True)
    second = json.dumps(TARGET.evaluate(ops).to_json(), sort_keys=True)
    assert first == second


# --- (d) ------------------------------------------------------------------------------------------


@SETTINGS
@given(scene=scenes().map(lambda sc: (Op.make(SCHEMA, "config", arch="ppc64",
                                              DEBUG_VM=sc[0]["DEBUG_VM"]), sc[1])),
       calls=st.lists(unchanged_calls, min_size=1, max_size=8))
def test_on_ppc64_hash_the_calls_the_patch_does_not_change_keep_every_hpte_tracked(scene, calls):
    """hash_preload(), __hash_page_4K(), hash__ptep_set_access_flags() and pte_update()'s
    flush keep the hash table and the linux PTEs in step: no untracked HPTE, no BAD_HPTE."""
    outcome = TARGET.evaluate(scene + tuple(calls))
    for side in (outcome.pre, outcome.post):
        assert side.kernel.untracked_hptes() == []
        assert not any(e["kind"] == EventKind.BAD_HPTE.value for e in side.events)


@SETTINGS
@given(scene=scenes().map(lambda sc: (Op.make(SCHEMA, "config", arch="ppc64",
                                              DEBUG_VM=sc[0]["DEBUG_VM"]), sc[1])),
       calls=st.lists(any_calls, min_size=1, max_size=8))
def test_on_ppc64_hash_an_hpte_left_untracked_was_reported_as_a_bad_hpte(scene, calls):
    """Every run that ends with an untracked HPTE (v4.14's mkwrite reuse makes them) has a
    BAD_HPTE event on that side."""
    outcome = TARGET.evaluate(scene + tuple(calls))
    for side in (outcome.pre, outcome.post):
        if side.kernel.untracked_hptes():
            assert any(e["kind"] == EventKind.BAD_HPTE.value for e in side.events)

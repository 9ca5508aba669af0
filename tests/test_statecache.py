"""The state cache of the interleavings search (`fuzzplug.explore.statecache`): on the shapes
of the known races it gives the outcomes of the search without it, and of the unreduced
search, up to the fault counts of retried accesses; it merges states reached by different
interleavings; its memory bound drops entries without losing outcomes; and the checker's
verdict and signatures are the same with it and without it."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from fuzzplug.core.opslang import Op
from fuzzplug.explore import dpor
from fuzzplug.explore.statecache import ENTRY_BYTES, StateCache
from fuzzplug.targets.dax_fault import interleavings, tasks
from fuzzplug.targets.dax_fault.domain import small_domain
from fuzzplug.targets.dax_fault.target import TARGET

from test_dax_tasks import FULL_SEARCH_CASES, RACE_OBSERVED, case_search
from test_dax_tasks import pair_of as _pair


def _without_faults(outcomes) -> set:
    """Outcomes with every call's fault count left out, and its branch ids but those
    `tasks.compare` reads (`tasks.COMPARED_BRANCHES`): the state cache keys a retrying
    access without its count (so that a retry forever is a cycle) and the calls by those
    branch ids alone, and keeps the first run's through a state; the oracle compares no
    fault count and no other branch id."""
    return {_projected(o) for o in outcomes}


_projected = interleavings.compared


@pytest.mark.parametrize("case", FULL_SEARCH_CASES, ids=[c[0] for c in FULL_SEARCH_CASES])
def test_the_state_cache_keeps_every_outcome_of_the_search_without_it_on_the_known_races_shapes(
        case):
    """A fault against write(2) and a fault against a fault, on ppc64 hash and without
    pte_special, both versions: the stateful search is complete and has the outcomes of the
    stateless one (itself checked against the unreduced search, `tests/test_dax_tasks.py`),
    and the known race where the shape has one."""
    name = case[0]
    for model in (TARGET.pre_model, TARGET.post_model):
        pre = model is TARGET.pre_model
        plain = case_search(name, pre)
        cached = case_search(name, pre, stateful=True)
        assert plain.complete and cached.complete, model.VERSION
        assert _without_faults(cached.outcomes) == _without_faults(plain.outcomes), \
            model.VERSION
        if name in RACE_OBSERVED and model is TARGET.post_model:
            assert any(RACE_OBSERVED[name] in (c.user,) + tuple(w[1] for w in c.observed)
                       for o in cached.outcomes for calls in o.calls for c in calls)


@pytest.mark.parametrize("case", FULL_SEARCH_CASES, ids=[c[0] for c in FULL_SEARCH_CASES])
def test_stateful_dpor_keeps_every_outcome_of_the_stateful_search_that_tries_every_task(
        monkeypatch, case):
    """The stateful search with DPOR's backtracking (`dpor.SUMMARIES`: a run stopped at a
    cached state races with what was explored from it; cycles explored with every task)
    against the same search trying every task at every state, both versions: the same
    outcome classes, in no more runs."""
    name = case[0]
    for pre in (True, False):
        dpor_search = case_search(name, pre, stateful=True)
        monkeypatch.setattr(dpor, "SUMMARIES", False)
        every = tasks.search(TARGET.pre_model if pre else TARGET.post_model,
                             *_shape(name), stateful=True)
        monkeypatch.setattr(dpor, "SUMMARIES", True)
        assert dpor_search.complete and every.complete
        assert dpor_search.stats.runs <= every.stats.runs, pre
        assert _without_faults(dpor_search.outcomes) == _without_faults(every.outcomes), pre


@pytest.mark.slow
def test_stateful_dpor_keeps_every_outcome_of_a_search_that_closes_cycles(monkeypatch):
    """The zero-page livelock pair (a load and a store of the hole against a store of it,
    v4.14, no pte_special), whose search closes cycles (states whose future goes back to a
    state still being explored, `dpor.Node.via`): with DPOR's backtracking, the outcome
    classes of the search trying every task at every state, in fewer runs."""
    _, t, scene = _pair("no pte_special shared",
                        (interleavings.CALLS[0], interleavings.CALLS[1]),
                        (interleavings.CALLS[1],))
    dpor_search = tasks.search(TARGET.post_model, scene, t, stateful=True)
    monkeypatch.setattr(dpor, "SUMMARIES", False)
    every = tasks.search(TARGET.post_model, scene, t, stateful=True)
    assert dpor_search.complete and every.complete
    assert dpor_search.cache.cycles > 0 and every.cache.cycles > 0
    assert dpor_search.stats.runs < every.stats.runs
    assert _without_faults(dpor_search.outcomes) == _without_faults(every.outcomes)


def _shape(name: str):
    """(scene, tasks) of the `FULL_SEARCH_CASES` shape `name`."""
    _, scene_name, a, b, _ = next(c for c in FULL_SEARCH_CASES if c[0] == name)
    _, t, scene = _pair(scene_name, (a,), (b,))
    return scene, t


def test_a_state_two_interleavings_reach_is_explored_once():
    """Two stores of the hole (x86-64): the stateless search runs 2,301 interleavings of
    v4.13; with the cache, runs stop at states already explored (hits) and fewer runs
    give the same outcomes."""
    _, t, scene = _pair("x86_64 shared", (interleavings.CALLS[1],), (interleavings.CALLS[1],))
    plain = tasks.search(TARGET.pre_model, scene, t)
    cached = tasks.search(TARGET.pre_model, scene, t, stateful=True)
    assert cached.cache.hits > 0
    assert cached.stats.runs < plain.stats.runs
    assert _without_faults(cached.outcomes) == _without_faults(plain.outcomes)


def test_the_memory_bound_drops_states_and_loses_no_outcome(monkeypatch):
    """A cache of ten entries (`max_bytes`) keeps ten; a search with it forgets states and
    explores them again, with the same outcomes."""
    cache = StateCache(max_bytes=10 * ENTRY_BYTES)
    for n in range(25):
        cache.put(n.to_bytes(16, "big"), frozenset(), frozenset())
    assert len(cache) == 10 and cache.dropped == 15
    assert cache.get((0).to_bytes(16, "big")) is None
    assert cache.get((24).to_bytes(16, "big")) is not None

    _, t, scene = _pair("x86_64 shared", (interleavings.CALLS[0],), (interleavings.CALLS[1],))
    full = tasks.search(TARGET.post_model, scene, t, stateful=True)
    monkeypatch.setattr("fuzzplug.explore.statecache.DEFAULT_BYTES", 4 * ENTRY_BYTES)
    small = tasks.search(TARGET.post_model, scene, t, stateful=True)
    assert small.cache.dropped > 0 and len(small.cache) <= 4
    assert _without_faults(small.outcomes) == _without_faults(full.outcomes)


@pytest.mark.parametrize("scene_name,a,b", [
    pytest.param("x86_64 shared", (interleavings.CALLS[0], interleavings.CALLS[1]),
                 (interleavings.CALLS[3],), marks=pytest.mark.slow,
                 id="generic344-race"),  # a load and a store of the hole against write(2)
    pytest.param("ppc64 hash DEBUG_VM shared", (interleavings.CALLS[2],),
                 (interleavings.CALLS[2],), id="ppc64-store-block-vs-store-block"),
])
def test_the_checker_names_the_same_signatures_with_the_state_cache_and_without(
        monkeypatch, scene_name, a, b):
    """The interleavings checker's verdict on a pair of a known race: the same signatures,
    each on the same side, with the state cache and without it."""
    scene_ops, _, _ = _pair(scene_name, a, b)
    found = {}
    for stateful in (False, True):
        monkeypatch.setattr(interleavings, "STATEFUL", stateful)
        tasks.SEARCHES.clear()
        report = interleavings.Report(None, [])
        interleavings.check_pair(TARGET, scene_ops, a, b, reduce=True, report=report,
                                 scene_name=scene_name)
        assert not report.unproven
        found[stateful] = {sig: hit.side for sig, hit in report.hits.items()}
    tasks.SEARCHES.clear()
    assert found[True] == found[False] and found[True]


@pytest.mark.parametrize("a,b,cached", [
    ((interleavings.CALLS[3], interleavings.CALLS[5]), (interleavings.CALLS[3],), False),
    ((interleavings.CALLS[0],), (interleavings.CALLS[3],), True),
], ids=["write-punch-vs-write", "load-vs-write"])
def test_the_checker_searches_with_the_state_cache_only_pairs_where_a_task_accesses_memory(
        monkeypatch, a, b, cached):
    """Two tasks of system calls alone are searched as without the cache (the same runs);
    a load against write(2) is searched with it (other runs), and both give one verdict."""
    assert interleavings.uses_state_cache(a, b) is cached
    scene_ops = small_domain().scenes[0]
    reports = {}
    for stateful in (False, True):
        monkeypatch.setattr(interleavings, "STATEFUL", stateful)
        tasks.SEARCHES.clear()
        reports[stateful] = interleavings.Report(None, [])
        interleavings.check_pair(TARGET, scene_ops, a, b, reduce=True,
                                 report=reports[stateful], keep_sets=True)
    tasks.SEARCHES.clear()
    assert (reports[True].runs == reports[False].runs) is not cached
    assert reports[True].outcome_sets == reports[False].outcome_sets
    assert not reports[True].unproven and not reports[False].unproven


@pytest.mark.slow
@pytest.mark.parametrize("case", FULL_SEARCH_CASES, ids=[c[0] for c in FULL_SEARCH_CASES])
def test_the_state_cache_finds_the_outcomes_of_the_unreduced_search_on_the_known_races_shapes(
        case):
    """Where the unreduced search finishes within the checker's budget: the stateful
    search's outcomes are the unreduced search's, up to the fault counts of retried
    accesses."""
    versions = case[4]
    for model in (TARGET.pre_model, TARGET.post_model):
        if model.VERSION not in versions:
            continue
        pre = model is TARGET.pre_model
        full = case_search(case[0], pre, reduce=False)
        cached = case_search(case[0], pre, stateful=True)
        assert full.complete and cached.complete
        assert cached.stats.runs < full.stats.runs
        assert _without_faults(cached.outcomes) == _without_faults(full.outcomes), \
            model.VERSION


def test_only_get_page_and_put_page_read_the_zero_pages_reference_count(monkeypatch):
    """The keys leave the zero page's reference count out of what a step read
    (`statecache.without_zero_refcount`): sound while no model branches on it beyond
    get_page()'s and put_page()'s checks. Every read of it during the zero-page livelock
    pair's search (v4.14, no pte_special) is recorded by its function: a model that came
    to read it elsewhere fails here."""
    from fuzzplug.explore import daxfile
    from fuzzplug.kernel.state import page

    readers: set[str] = set()

    class Watched(page):
        __slots__ = ("_count",)

        @property
        def _refcount(self):
            frame = sys._getframe(1)
            while frame.f_code.co_filename.endswith("footprint.py"):  # the tracked class's
                frame = frame.f_back
            readers.add(frame.f_code.co_name)
            return self._count

        @_refcount.setter
        def _refcount(self, value):
            self._count = value

    boot = daxfile.boot

    def watched_boot(model, scene):
        m = boot(model, scene)
        zero = m.k.memmap.zero
        assert zero not in m.k.pages  # made on first sight (`pfn_to_page`): made here
        m.k.pages[zero] = Watched(zero, m.k.memmap.kind(zero, m.k.config.DEVMAP))
        return m

    monkeypatch.setattr(daxfile, "boot", watched_boot)
    _, t, scene = _pair("no pte_special shared", (interleavings.CALLS[0],),
                        (interleavings.CALLS[1],))
    found = tasks.search(TARGET.post_model, scene, t, max_runs=300, stateful=True)
    assert found.stats.runs > 0 and {"get_page", "put_page"} <= readers, readers
    assert readers <= {"get_page", "put_page", "state", "check_zero_refcount", "pristine",
                       "_check_invariants", "to_json", "__init__"}, readers


@pytest.mark.parametrize("scene_name,a,b", [
    ("ppc64 hash DEBUG_VM shared", interleavings.CALLS[2], interleavings.CALLS[2]),
    ("no pte_special shared", interleavings.CALLS[0], interleavings.CALLS[1]),
    ("x86_64 shared", interleavings.CALLS[1], interleavings.CALLS[3]),
    ("ppc64 radix shared", interleavings.CALLS[1], interleavings.CALLS[7]),
])
def test_the_comparison_of_outcomes_reads_no_branch_id_but_the_compared_ones(scene_name, a, b):
    """Every pair of a v4.13 and a v4.14 outcome of known races' shapes (the stateless
    search's, with every branch id) compares alike, differences and rules, with the
    branch ids outside `tasks.COMPARED_BRANCHES` left out: what lets the state cache key
    the calls by those alone."""
    _, t, scene = _pair(scene_name, (a,), (b,))
    pre = tasks.search(TARGET.pre_model, scene, t, max_runs=interleavings.MAX_RUNS).outcomes
    post = tasks.search(TARGET.post_model, scene, t, max_runs=interleavings.MAX_RUNS).outcomes
    differing = 0
    for o in pre:
        for q in post:
            full = tasks.compare(o, q, TARGET.rule_names)
            cut = tasks.compare(_projected(o), _projected(q), TARGET.rule_names)
            assert full.diffs == cut.diffs
            # mkwrite_one_fault is named from the fault counts, left out with them.
            assert set(full.rules) - {"mkwrite_one_fault"} == set(cut.rules)
            differing += not full.same
    assert differing


# --- the faster path: the machine's cell cache and the fast key -------------------------------

# The known races' shapes, and two of the bound's long searches cut short (a store of the
# hole against a store of it on x86-64, whose faults overlap at almost every step; a load
# and a store of the hole against two stores of it).
_FAST_CASES = [(c[0], c[1], (c[2],), (c[3],)) for c in FULL_SEARCH_CASES] + [
    ("x86-store-hole-vs-store-hole", "x86_64 shared", (interleavings.CALLS[1],),
     (interleavings.CALLS[1],)),
    ("x86-load-store-hole-vs-two-stores", "x86_64 shared",
     (interleavings.CALLS[0], interleavings.CALLS[1]),
     (interleavings.CALLS[1], interleavings.CALLS[1])),
]


def _readable_search(monkeypatch, model, scene, t, max_runs):
    """The stateful search through the readable path only: machines without a cell cache
    (`cell_values` at every reading, `statecache.state_key`), every step recorded
    (`dpor.REPLAY_SKIPS` off)."""
    from fuzzplug.explore import daxtasks, daxtrack, dpor

    def track(m):
        daxtrack.track(m)
        m.cells = None

    with monkeypatch.context() as mp:
        mp.setattr(daxtasks, "track", track)
        mp.setattr(dpor, "REPLAY_SKIPS", False)
        return tasks.search(model, scene, t, max_runs=max_runs, stateful=True)


@pytest.mark.parametrize("case", _FAST_CASES, ids=[c[0] for c in _FAST_CASES])
def test_the_fast_path_makes_the_readable_paths_search_run_for_run(monkeypatch, case):
    """The cell cache (checked against `cell_values` at every reading, and each kept text
    against the text of the values it stands for) and the fast key (checked to tell two
    states apart exactly when the readable key does, over every state of the search) give
    the search of the readable path: the same runs, steps, hits, cycles and outcomes."""
    from fuzzplug.explore import daxtrack, statecache

    name, scene_name, a, b = case
    _, t, scene = _pair(scene_name, a, b)
    pairs: dict[bytes, bytes] = {}
    fast_key = statecache.fast_state_key

    def both_keys(sched, vals, hist):
        key = fast_key(sched, vals, hist)
        m = sched.machine
        cells, m.cells = m.cells, None  # the readable key, from `cell_values`
        try:
            readable = statecache.state_key(sched, statecache.snapshot(sched), hist)
        finally:
            m.cells = cells
        assert pairs.setdefault(readable, key) == key, "one readable key, two fast keys"
        return key

    for model in (TARGET.pre_model, TARGET.post_model):
        readable = _readable_search(monkeypatch, model, scene, t, 600)
        pairs.clear()
        with monkeypatch.context() as mp:
            mp.setattr(daxtrack.CellCache, "check", True)
            mp.setattr(statecache, "fast_state_key", both_keys)
            fast = tasks.search(model, scene, t, max_runs=600, stateful=True)
        assert len(set(pairs.values())) == len(pairs), "one fast key, two readable keys"
        assert len(pairs) > 10, model.VERSION
        assert (fast.stats.runs, fast.stats.steps, fast.stats.abandoned, fast.complete) == (
            readable.stats.runs, readable.stats.steps, readable.stats.abandoned,
            readable.complete), model.VERSION
        assert (fast.cache.hits, fast.cache.cycles, len(fast.cache)) == (
            readable.cache.hits, readable.cache.cycles, len(readable.cache)), model.VERSION
        assert fast.outcomes == readable.outcomes, model.VERSION

"""The budgeted evaluation of two-task inputs (`tasks.evaluate` with a budget,
`DaxFaultTarget.evaluate_budgeted`): what it settles is the full evaluation's verdict and
signature; what it cannot settle is a candidate, which the full evaluation confirms; and the
search cache stays within its bounds."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

import pytest

from fuzzplug.core.opslang import parse_text
from fuzzplug.core.oracle import Verdict
from fuzzplug.targets import Budgeted, evaluate_settled
from fuzzplug.targets.dax_fault import TARGET, tasks
from fuzzplug.targets.dax_fault.schema import SCHEMA, Scene

CORPUS = Path(__file__).resolve().parents[1] / "corpora" / "dax_fault"
KNOWN = Path(__file__).resolve().parents[1] / "fuzzplug" / "targets" / "dax_fault" / "known.toml"


def _race_seeds() -> list[tuple[str, str]]:
    """The known two-task inputs, each text once: the corpus's seeds with tasks and the
    known list's reproducers with tasks."""
    out = [(p.name, p.read_text()) for p in sorted(CORPUS.glob("*.ops"))
           if "task id=" in p.read_text()]
    data = tomllib.loads(KNOWN.read_text())
    for kind in ("cause", "finding", "change"):
        for entry in data.get(kind, []):
            text = entry.get("reproducer", "")
            if "task id=" in text:
                out.append((f"{kind} {entry.get('id') or entry.get('signature')}", text))
    seen, unique = set(), []
    for name, text in out:
        key = tuple(parse_text(SCHEMA, text))
        if key not in seen:
            seen.add(key)
            unique.append((name, text))
    return unique


RACES = _race_seeds()
RACE_SEED = "divergent_write_fault_races_write_over_zero_page.ops"
# A load of the hole against write(2) over it: outcomes that differ under this schedule,
# which the other version's first runs settle.
SETTLED = """load addr=0x101000
task id=1
write page=1 pages=1 val=0x40
sched task=0 steps=3
sched task=1 steps=2
"""


@functools.cache
def _three(text: str):
    """(budgeted with the cache cold, `evaluate_settled` after it, budgeted with the full
    searches cached) of an input: one full evaluation each."""
    ops = parse_text(SCHEMA, text)
    tasks.SEARCHES.clear()
    cold = TARGET.evaluate_budgeted(ops)
    settled = evaluate_settled(TARGET, ops)  # a candidate: the full evaluation, cold
    full = settled if cold.verdict is Verdict.CANDIDATE else TARGET.evaluate(ops)
    warm = TARGET.evaluate_budgeted(ops)
    tasks.SEARCHES.clear()
    return cold, settled, full, warm


def test_the_target_has_the_budgeted_capability():
    """dax_fault offers `evaluate_budgeted` (the harness's fast path)."""
    assert isinstance(TARGET, Budgeted)


@pytest.mark.parametrize("name,text", RACES, ids=[n for n, _ in RACES])
def test_budget_then_confirmation_gives_the_full_evaluations_verdict_and_signature(name, text):
    """For each known two-task input: the budgeted evaluation (cache cold) is a candidate
    or the full evaluation's verdict and signature; a candidate's confirmation
    (`evaluate_settled`) is the full evaluation's; and the budgeted evaluation gives the
    same with the full searches in the cache (`Search.within`)."""
    cold, settled, full, warm = _three(text)
    assert (settled.verdict, settled.signature) == (full.verdict, full.signature)
    if cold.verdict is not Verdict.CANDIDATE:
        assert (cold.verdict, cold.signature) == (full.verdict, full.signature)
    assert (warm.verdict, warm.signature) == (cold.verdict, cold.signature)


def test_the_race_seed_is_a_candidate_in_the_loop_and_divergent_when_confirmed():
    """The generic/344 race seed needs more of v4.13's interleavings than the loop's budget
    to rule its outcome out: a candidate there, named provisionally as the full evaluation
    names it; confirmed divergent."""
    cold, settled, full, _ = _three((CORPUS / RACE_SEED).read_text())
    assert cold.verdict is Verdict.CANDIDATE
    assert full.verdict is Verdict.DIVERGENT
    assert cold.signature == full.signature == \
        "tasks_store/warn:insert_pfn:pte_pfn_pte_pfn_t_to_pfn_pfn/da39a3ee"


def test_an_input_the_budget_settles_is_not_a_candidate_and_agrees():
    """Outcomes that differ under the schedule, which the other version's first runs have:
    settled by the budget, as in full."""
    cold, _, full, _ = _three(SETTLED)
    assert cold.verdict is not Verdict.CANDIDATE
    assert (cold.verdict, cold.signature) == (full.verdict, full.signature)


def test_a_search_within_a_smaller_budget_is_that_budgets_search():
    """`Search.within(n)` of a search of 100 runs has the outcomes, and the completeness,
    of a search made with n runs."""
    t = tasks.split(list(parse_text(SCHEMA, RACES[0][1])))
    from fuzzplug.targets.dax_fault.schema import Scene

    sc = Scene.from_ops(()).dax
    big = tasks.search(TARGET.pre_model, sc, t, max_runs=100,
                       max_steps=100 * tasks.STEPS_PER_RUN)
    for n in (1, 5, tasks.FAST_RUNS):
        small = tasks.search(TARGET.pre_model, sc, t, max_runs=n,
                             max_steps=n * tasks.STEPS_PER_RUN)
        cut = big.within(n)
        assert list(cut.outcomes) == list(small.outcomes)
        assert cut.complete == small.complete


def test_the_search_cache_keeps_within_its_bounds_of_searches_and_outcomes():
    """Searches put beyond the cache's outcome bound push the least recently used out; a
    search bigger than the bound is kept alone (the exhaustive checker names a class from
    the search it has just put), until the next."""
    from fuzzplug.targets.dax_fault.schema import Scene

    cache = tasks.SearchCache(size=8, outcomes=6)
    sc = Scene.from_ops(()).dax
    texts = ["load addr=0x101000\ntask id=1\nwrite page=1 pages=1 val=0x40\n",
             "store addr=0x101000 val=0x66\ntask id=1\nwrite page=1 pages=1 val=0x40\n",
             "load addr=0x100000\ntask id=1\nfsync\n",
             "store addr=0x100000 val=0x66\ntask id=1\nfsync\n"]
    kept = []
    for text in texts:
        t = tasks.split(list(parse_text(SCHEMA, text)))
        cache.search(TARGET.pre_model, sc, t, 50)
        cache._check_invariants()
        kept.append(len(cache))
    assert len(cache) < len(texts)  # room for 8 searches: the outcome bound dropped some
    assert min(kept) >= 1
    huge = tasks.Search({object(): () for _ in range(7)})
    cache.put(TARGET.pre_model, sc, tasks.split(list(parse_text(SCHEMA, texts[0]))), huge, 50)
    cache._check_invariants()
    assert [entry[1] for entry in cache._entries.values()] == [huge]
    t = tasks.split(list(parse_text(SCHEMA, texts[1])))
    cache.search(TARGET.pre_model, sc, t, 50)
    cache._check_invariants()
    assert all(entry[1] is not huge for entry in cache._entries.values())


def test_the_initial_views_the_loop_remembers_stay_those_of_a_fresh_boot():
    """`tasks.initial_view` shares one view per model and scene among the inputs of the
    loop: after evaluating every known two-task input (each over its own scene), each view
    it holds is still the normalised view of a machine booted now, so no evaluation wrote
    into one."""
    from fuzzplug.explore import daxfile
    from fuzzplug.targets.dax_fault.view import normalised_view

    tasks.initial_view.cache_clear()
    for _, text in RACES:
        TARGET.evaluate_budgeted(parse_text(SCHEMA, text))
    scenes = {Scene.from_ops(parse_text(SCHEMA, text)).dax for _, text in RACES}
    assert len(scenes) > 1  # the known races span several scenes
    held = 0
    for scene in scenes:
        for model in (TARGET.pre_model, TARGET.post_model):
            before = tasks.initial_view.cache_info().hits
            view = tasks.initial_view(model, scene)
            held += tasks.initial_view.cache_info().hits - before
            assert view == normalised_view(daxfile.boot(model, scene))
    assert held > 0  # the evaluations above put views there
    tasks.initial_view.cache_clear()


def test_a_remembered_scene_is_the_one_its_scene_lines_normalise_to():
    """`Scene.from_ops` remembers scenes by the input's scene lines (the last of each
    name): every seed's scene is what those lines normalise to, whatever its calls, and
    two inputs that differ in one scene line get different scenes where that line changes
    the normalised scene."""
    seeds = [parse_text(SCHEMA, p.read_text()) for p in sorted(CORPUS.glob("*.ops"))]
    scene_names = {spec.name for spec in SCHEMA.ops if spec.scene}
    for ops in seeds:
        by = {op.name: op for op in ops if op.name in scene_names}
        assert Scene.from_ops(ops) == Scene._normalised(by)
        calls = [op for op in ops if op.name not in scene_names]
        assert Scene.from_ops(tuple(reversed(calls)) + tuple(by.values())) == \
            Scene.from_ops(ops)
    ppc = parse_text(SCHEMA, "config arch=ppc64\nload addr=0x100000\n")
    x86 = parse_text(SCHEMA, "config arch=x86_64\nload addr=0x100000\n")
    assert Scene.from_ops(ppc) != Scene.from_ops(x86)
    assert Scene.from_ops(ppc + x86) == Scene.from_ops(x86)  # the last config line counts

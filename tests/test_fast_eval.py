"""insert_pfn's fast evaluation (`fast.py`) gives the readable reference's outcome, exactly.

`InsertPfnTarget.evaluate` (the fast path, the default) and `reference_evaluate` (the
oracle as it reads best) are compared, for every pair of the chain (`with_pair`: each
pair's models and rules), on every seed scenario, thousands of random, mutated
and Hypothesis-made inputs, and every mutant of the self-test: the same verdict, signature,
finding and rules; per op and side the same return, events, branch ids and BUG; the same
final kernels (everything a later call could depend on, `clone.kernel_key`) and the same
semantic features. The pieces are checked on their own too: the state comparison, the
booted kernels, and a differential harness of fuzzplug itself (`fuzz_fast_eval.py`).
"""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzzplug.core.opslang import decode, encode
from fuzzplug.engines.domain import domain_for
from fuzzplug.engines.mutator import OpMutator
from fuzzplug.farm.files import compile_seeds
from fuzzplug.explore.clone import kernel_key
from fuzzplug.selftest.mutants import apply_mutant
from fuzzplug.targets.insert_pfn import TARGET, fast, reference
from fuzzplug.targets.insert_pfn import features as readable_features
from fuzzplug.targets.insert_pfn.mutants import MUTANTS
from fuzzplug.targets.insert_pfn.chain import CHAIN
from fuzzplug.targets.insert_pfn.scene import Scene

ROOT = Path(__file__).parents[1]
SCHEMA = TARGET.schema
SEEDS = compile_seeds(TARGET)
PAIRS = list(itertools.combinations(TARGET.versions(), 2))
"""Every pair of the chain, the older version as pre (the seed's pair first)."""


def assert_same_outcome(target, ops) -> None:
    """The fast and the reference evaluation of `ops` agree on everything they report."""
    got, want = target.evaluate(ops), target.reference_evaluate(ops)
    assert got.verdict is want.verdict
    assert got.signature == want.signature
    assert got.finding == want.finding
    assert got.rules_applied == want.rules_applied
    for mine, ref in ((got.pre, want.pre), (got.post, want.post)):
        assert mine.version == ref.version
        assert len(mine.runs) == len(ref.runs)
        for a, b in zip(mine.runs, ref.runs):
            assert (a.ret, a.oops) == (b.ret, b.oops)
            assert a.branches == b.branches
            assert a.events == b.events
        assert kernel_key(mine.kernel) == kernel_key(ref.kernel)
        assert mine.kernel.events == ref.kernel.events
        assert mine.kernel.branches == ref.kernel.branches
    assert got.to_json() == want.to_json()
    reference = set(readable_features.features(SCHEMA, ops, want))
    assert target.features(ops, got) == reference
    assert target.features(ops, want) == reference


def _near(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        out[rng.randrange(1, len(out))] = rng.randrange(256)
    return bytes(out)


def _mutated(rng: random.Random, n: int) -> list[bytes]:
    """`n` inputs as the op mutator makes them from the seeds, generation after generation."""
    domain = domain_for(TARGET)
    mutator = OpMutator(SCHEMA, None, domain.calls(), domain.scenes)
    return mutator.generations(list(SEEDS.values()), n, rng, keep=0.3)


@pytest.mark.parametrize("name", sorted(SEEDS), ids=lambda n: n[:12])
def test_every_seed_scenario_evaluates_the_same_fast_and_readable(name):
    """Each seed scenario on the seed's pair: the same outcome, twice (the second from the
    cached scene)."""
    ops = decode(SCHEMA, SEEDS[name])
    assert_same_outcome(TARGET, ops)
    assert_same_outcome(TARGET, ops)


@pytest.mark.parametrize("pair", PAIRS[1:], ids="..".join)
def test_every_pair_evaluates_the_seeds_and_random_inputs_the_same_fast_and_readable(pair):
    """Every other pair of the chain, under its own rules: every seed scenario, 200 random,
    200 near-seed and 400 mutated inputs; their verdicts are not all the same."""
    target = TARGET.with_pair(*pair)
    rng = random.Random("..".join(pair))
    inputs = list(SEEDS.values()) + _mix(rng, 200, 200, 400)
    assert len(_same_fast_and_readable(target, inputs)) >= 2


def test_random_near_and_mutated_inputs_evaluate_the_same_fast_and_readable():
    """3,000 inputs: random bytes, seeds with a few bytes changed, and the op mutator's
    output over generations (longer sequences that reuse addresses and pfns)."""
    inputs = _mix(random.Random(10), 1000, 1000, 1000)
    # same, intended and divergent inputs among them
    assert len(_same_fast_and_readable(TARGET, inputs)) == 3


def _mix(rng: random.Random, n_random: int, n_near: int, n_mutated: int) -> list[bytes]:
    """Random bytes, seeds with a few bytes changed, and the op mutator's generations."""
    seeds = list(SEEDS.values())
    inputs = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 160)))
              for _ in range(n_random)]
    inputs += [_near(rng, rng.choice(seeds)) for _ in range(n_near)]
    return inputs + _mutated(rng, n_mutated)


def _same_fast_and_readable(target, inputs: list[bytes]) -> set:
    """Assert each input's fast and readable outcomes are the same; their verdicts."""
    verdicts = set()
    for data in inputs:
        ops = decode(SCHEMA, data)
        assert_same_outcome(target, ops)
        verdicts.add(target.evaluate(ops).verdict)
    return verdicts


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.sampled_from(PAIRS), st.binary(min_size=1, max_size=200))
def test_hypothesis_inputs_evaluate_the_same_fast_and_readable(pair, data):
    """Whatever Hypothesis makes of the bytes, on any pair of the chain."""
    assert_same_outcome(TARGET.with_pair(*pair), decode(SCHEMA, data))


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_every_mutant_evaluates_the_same_fast_and_readable(mutant):
    """Under each mutant of the self-test (the fast path runs whatever post model the
    target has): its witness, the seeds and 100 random inputs."""
    target = apply_mutant(TARGET, mutant.name)
    rng = random.Random(mutant.name)
    inputs = list(SEEDS.values()) + _mutated(rng, 100)
    if mutant.witness:
        from fuzzplug.core.opslang import parse_text

        inputs.append(encode(SCHEMA, parse_text(SCHEMA, mutant.witness)))
    for data in inputs:
        assert_same_outcome(target, decode(SCHEMA, data))


def _kernels(rng: random.Random, n: int):
    """Pairs of kernels of one scene after two different random call sequences (or the
    same one), in every state the models reach."""
    domain = domain_for(TARGET)
    calls = list(domain.calls())
    scenes = list(domain.scenes)
    for _ in range(n):
        scene = Scene.from_ops(rng.choice(scenes))
        first = [rng.choice(calls) for _ in range(rng.randrange(4))]
        second = first if rng.random() < 0.5 else [rng.choice(calls)
                                                    for _ in range(rng.randrange(4))]
        models = tuple(version.model for version in CHAIN)
        kernels = []
        for ops in (first, second):
            k = scene.boot(rng.choice(models))
            for op in ops:
                from fuzzplug.targets.insert_pfn.compare import run_op

                run_op(k, rng.choice(models), op, False)
            kernels.append(k)
        yield kernels


def test_the_fast_state_comparison_answers_as_the_readable_one():
    """`fast.same_state(a, b)` is `a.same_state(b)` on pairs of kernels of every kind:
    equal, with different entries, pages, counters and hash tables."""
    answers = set()
    for a, b in _kernels(random.Random(3), 3000):
        assert fast.same_state(a, b) == a.same_state(b)
        answers.add(a.same_state(b))
    assert answers == {True, False}


def test_a_booted_copy_is_the_kernel_the_scene_boots():
    """`fast._boot` of a scene's template is `Scene.boot`'s kernel, with nothing shared
    with the template or another copy."""
    domain = domain_for(TARGET)
    evaluation = fast.FastEvaluation(reference)
    for scene_ops in domain.scenes:
        template = evaluation.template(tuple(scene_ops))
        want = Scene.from_ops(tuple(scene_ops)).boot(TARGET.post_model)
        a = fast._boot(template, TARGET.post_model.VERSION)
        b = fast._boot(template, TARGET.post_model.VERSION)
        assert kernel_key(a) == kernel_key(want)
        assert a.vma.to_json() == want.vma.to_json() and a.mm.mmap == [a.vma]
        assert a.mm.kernel is a and a.vma.vm_mm is a.mm
        for field in ("events", "branches", "warned_once", "pages", "htab"):
            assert getattr(a, field) is not getattr(b, field)
            assert getattr(a, field) is not getattr(template, field)
        assert a.mm.rss_stat is not b.mm.rss_stat and a.mm.pgtable is not b.mm.pgtable


@pytest.mark.slow
@pytest.mark.parametrize("pair", ["", "..".join(PAIRS[-1])], ids=["seed", "fixes"])
def test_the_differential_harness_finds_no_difference_in_a_short_run(tmp_path, pair):
    """tests/fuzz_fast_eval.py, atheris over fuzzplug's own code (bytecode feedback):
    3,000 inputs from the seeds, no difference between the fast and the readable path, on
    the seed's pair and (FUZZPLUG_PAIR) on the fixes' adjacent pair."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, data in SEEDS.items():
        (corpus / name).write_bytes(data)
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "fuzz_fast_eval.py"),
                           str(corpus), "-runs=3000", "-seed=1", "-max_len=512"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, FUZZPLUG_PAIR=pair))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Done 3000 runs" in proc.stderr

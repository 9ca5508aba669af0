"""The exhaustive checker: its findings, its proof statement, and each of its reductions."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzzplug.cli import main
from fuzzplug.core.opslang import ArgKind, ArgSpec, Op, OpSpec, Schema, parse_text
from fuzzplug.core.oracle import Finding, OpRun, Outcome, SideRecord, Verdict
from fuzzplug.engines.domain import Domain, domain_for, schema_domain
from fuzzplug.engines.exhaustive import explore_scene, run_exhaustive, unreduced
from fuzzplug.engines.stepper import ReplayStepper, stepper_for
from fuzzplug.errors import InputError
from fuzzplug.explore.clone import clone_kernel, kernel_key
from fuzzplug.targets.insert_pfn import TARGET
from fuzzplug.targets.insert_pfn.stepper import InsertPfnStepper

DOMAIN = domain_for(TARGET)
CALLS = DOMAIN.calls()


def _scene(special="1", devmap="1", arch="x86_64", debug="0", vma="shared_rw_mkwrite"):
    name = f"special={special} devmap={devmap} {arch} debug_vm={debug} {vma}"
    return DOMAIN.scene_names.index(name)


SAMPLE_SCENES = (
    _scene(), _scene(vma="private_rw"), _scene(vma="shared_ro"), _scene(vma="pfnmap"),
    _scene(special="0"), _scene(devmap="0", arch="arm64", debug="1"),
    _scene(arch="ppc64", debug="1"), _scene(special="0", devmap="0", vma="private_rw"),
)


@pytest.fixture(scope="module")
def depth_two():
    return run_exhaustive(TARGET, 2, jobs=2, progress=False)


# --- what it finds and says -----------------------------------------------------------------

FOUR_KINDS = {
    "ppc64 DEBUG_VM set_pte_at warning on a present PTE":
        "config arch=ppc64 DEBUG_VM=1\nvm_insert_mixed addr=0x100000 pfn=0x80\n"
        "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n",
    "WARN_ON_ONCE on a pfn mismatch":
        "vm_insert_mixed addr=0x100000 pfn=0x80\n"
        "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x81\n",
    "private mapping: no COW":
        "vma flags=VM_READ|VM_WRITE|VM_MAYREAD|VM_MAYWRITE|VM_MIXEDMAP\n"
        "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n",
    "HAVE_PTE_SPECIAL=0: insert_page loses mkwrite":
        "config HAVE_PTE_SPECIAL=0\nvm_insert_mixed_mkwrite addr=0x100000 pfn=0x10 flags=0\n",
}


@pytest.mark.parametrize("kind", FOUR_KINDS)
def test_depth_two_finds_the_four_known_kinds_of_divergence(depth_two, kind):
    """ppc64's set_pte_at warning, the pfn-mismatch WARN_ON_ONCE, the private mapping's lost
    COW and the HAVE_PTE_SPECIAL=0 insert_page path losing mkwrite: the signature each
    scenario has today is among the checker's."""
    outcome = TARGET.evaluate(parse_text(TARGET.schema, FOUR_KINDS[kind]))
    assert outcome.verdict is Verdict.DIVERGENT
    assert outcome.signature in depth_two.hits


def test_every_reported_reproducer_gives_its_signature_through_evaluate(depth_two):
    """The checker re-runs its reproducers through Target.evaluate; none disagrees."""
    assert depth_two.notes == []
    for hit in depth_two.hits.values():
        outcome = TARGET.evaluate(hit.ops)
        assert outcome.verdict is Verdict.DIVERGENT and outcome.signature == hit.signature


def test_the_shortest_reproducer_of_each_signature_is_reported(depth_two):
    """A signature first found at depth d has a reproducer of d calls, and no depth-1 run
    knows a signature that the depth-2 run reports with two calls."""
    depth_one = run_exhaustive(TARGET, 1, jobs=1, progress=False)
    for sig, hit in depth_two.hits.items():
        calls = [op for op in hit.ops if not TARGET.schema.spec(op.name).scene]
        assert len(calls) == hit.calls
        assert (hit.calls == 1) == (sig in depth_one.hits)


def test_the_report_states_what_was_proven(depth_two):
    """The statement names the sequence count, the depth and the no-other-divergence claim."""
    text = depth_two.statement()
    assert depth_two.proven
    assert f"{depth_two.sequences:,} sequences of 1..2 calls" in text
    assert "no other divergence exists in this domain up to depth 2" in text
    assert depth_two.sequences == len(DOMAIN.scenes) * (len(CALLS) + len(CALLS) ** 2)


def test_the_cli_prints_a_json_report(capsys):
    """`fuzzplug exhaustive insert_pfn --depth 1 --json` prints the report as JSON."""
    assert main(["exhaustive", "insert_pfn", "--depth", "1", "--json", "--no-progress",
                 "--jobs", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["proven"] is True and report["depth"] == 1
    assert report["signatures"] and all("reproducer" in s for s in report["signatures"])


def test_the_cli_writes_findings_folders_like_fuzz(tmp_path: Path, capsys):
    """--findings writes one folder per signature with repro.ops, and summary.json."""
    assert main(["exhaustive", "insert_pfn", "--depth", "1", "--no-progress", "--jobs", "1",
                 "--findings", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["engine"] == "exhaustive" and summary["findings"]
    for f in summary["findings"]:
        assert (tmp_path / f["folder"] / "repro.ops").is_file()
    assert "no other divergence exists" in capsys.readouterr().out


def test_a_depth_below_one_is_refused():
    """--depth 0 is a usage error, not an empty proof."""
    with pytest.raises(InputError):
        run_exhaustive(TARGET, 0, progress=False)


def test_the_progress_bar_shows_rate_and_eta(capsys):
    """The progress line on stderr has the scene count, the rate and an ETA."""
    run_exhaustive(TARGET, 1, jobs=1, progress=True)
    err = capsys.readouterr().err
    assert "scenes" in err and "steps/s" in err and "ETA" in err


# --- the reductions ----------------------------------------------------------------------------

def test_the_reductions_do_not_change_the_signatures_at_depth_two():
    """On a sample of scenes, depth 2 with every reduction finds exactly what depth 2 with
    none (every node expanded, every call, no renaming) finds."""
    bare = unreduced(DOMAIN)
    for index in SAMPLE_SCENES:
        reduced = explore_scene(TARGET, DOMAIN, index, 2)
        full = explore_scene(TARGET, bare, index, 2, merge=False)
        assert set(reduced.hits) == set(full.hits), DOMAIN.scene_name(index)
        assert reduced.op_steps < full.op_steps


SCENES = st.sampled_from(range(len(DOMAIN.scenes)))
PREFIXES = st.lists(st.sampled_from(CALLS), max_size=4)


def _run(scene_index: int, prefix, renaming=None) -> tuple[InsertPfnStepper, Finding | None]:
    stepper = InsertPfnStepper(TARGET, DOMAIN.scenes[scene_index], renaming=renaming)
    finding = None
    for op in prefix:
        finding = stepper.step(op)
        if finding is not None:
            break
    return stepper, finding


@settings(max_examples=150, deadline=None, derandomize=True)
@given(SCENES, st.lists(st.sampled_from(CALLS), min_size=1, max_size=6))
def test_the_incremental_stepper_agrees_with_evaluate(scene_index, calls):
    """Stepping call by call gives evaluate's first divergence: same op, same signature."""
    assert_stepping_agrees(TARGET, DOMAIN.scenes[scene_index], calls)


def assert_stepping_agrees(target, scene, calls):
    """Stepping `calls` one by one after `scene` stops at evaluate's first divergence (same
    op, same signature), or at none when evaluate finds none."""
    stepper = stepper_for(target, scene)
    first = None
    for op in calls:
        first = stepper.step(op)
        if first is not None:
            break
    outcome = target.evaluate(scene + tuple(calls))
    if first is None:
        assert outcome.verdict is not Verdict.DIVERGENT
    else:
        assert (outcome.finding.op_index, outcome.signature) == (first.op_index,
                                                                 first.signature)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(SCENES, PREFIXES, st.sampled_from(CALLS))
def test_inert_calls_never_diverge_and_keep_the_state(scene_index, prefix, op):
    """A call the domain declares inert gives no finding and leaves the key unchanged (or
    both tasks dead), whatever came before."""
    scene = DOMAIN.scenes[scene_index]
    if not DOMAIN.is_inert(scene, op, TARGET):
        return
    stepper, finding = _run(scene_index, prefix)
    if finding is not None:
        return
    before = stepper.key()
    assert stepper.step(op) is None
    assert stepper.finished or stepper.key() == before


@settings(max_examples=150, deadline=None, derandomize=True)
@given(SCENES, PREFIXES, st.sampled_from(CALLS))
def test_equivalent_calls_behave_identically(scene_index, prefix, op):
    """A call and its class representative give the same finding and the same state."""
    scene = DOMAIN.scenes[scene_index]
    rep = DOMAIN.equivalence(scene, op)
    a, finding = _run(scene_index, prefix)
    if finding is not None:
        return
    b = a.clone()
    fa, fb = a.step(op), b.step(rep)
    assert (fa and fa.signature) == (fb and fb.signature)
    assert a.key() == b.key()


def _renamed(op: Op, renaming) -> Op:
    args = []
    for name, value in op.args:
        if name == "addr":
            value = renaming.vpn(value >> 12) << 12 | (value & 0xFFF)
        elif name == "pfn":
            value = renaming.pfn(value)
        args.append((name, value))
    return Op(op.name, tuple(args))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(SCENES, st.lists(st.sampled_from(CALLS), min_size=1, max_size=5))
def test_the_renaming_is_a_symmetry_of_the_models(scene_index, calls):
    """Renaming every call (start <-> start+PAGE, 0x80 <-> 0x81) gives the same findings,
    and the renamed run's state has the same key as the original under the renaming."""
    renaming = DOMAIN.renaming
    a = InsertPfnStepper(TARGET, DOMAIN.scenes[scene_index], renaming=renaming)
    b = InsertPfnStepper(TARGET, DOMAIN.scenes[scene_index], renaming=renaming)
    for op in calls:
        fa, fb = a.step(op), b.step(_renamed(op, renaming))
        assert (fa and fa.signature) == (fb and fb.signature)
        if fa is not None:
            return
        assert a.key() == b.key()


def test_a_clone_shares_no_state_with_its_original():
    """Stepping a clone leaves the original's key and page table as they were."""
    stepper, _ = _run(_scene(special="0"), [Op.make(TARGET.schema, "vm_insert_mixed",
                                                    addr=0x100000, pfn=0x10, flags=0)])
    before = stepper.key()
    clone = stepper.clone()
    clone.step(Op.make(TARGET.schema, "zap", addr=0x100000))
    clone.step(Op.make(TARGET.schema, "vm_insert_mixed", addr=0x101000, pfn=0x10, flags=0))
    assert stepper.key() == before and clone.key() != before
    copy = clone_kernel(stepper.kpre)
    assert copy.mm is not stepper.kpre.mm and copy.vma.vm_mm is copy.mm
    assert copy.mm.kernel is copy and kernel_key(copy) == kernel_key(stepper.kpre)


# --- any target ------------------------------------------------------------------------------

TOY_SCHEMA = Schema(name="toy", version=1, max_ops=16, ops=(
    OpSpec("mode", 0, scene=True, args=(
        ArgSpec("kind", ArgKind.CHOICE, 0, names=("lax", "strict")),)),
    OpSpec("push", 1, args=(ArgSpec("value", ArgKind.INT, 2),)),
))


class ToyTarget:
    """Two stacks; the post side pushes 3 for a 1 right after a 2, and in strict mode a 0
    is divergent. No stepper, no declared domain."""

    name = "toy"
    description = "a stack with a bug after a 2"
    schema = TOY_SCHEMA

    def evaluate(self, ops):
        strict = any(op.name == "mode" and op["kind"] == 1 for op in ops)
        pre, post = SideRecord("pre"), SideRecord("post")
        last = None
        for index, op in enumerate(op for op in ops if op.name == "push"):
            value = op["value"]
            pre.add(index, OpRun(ret=str(value)))
            post.add(index, OpRun(ret=str(3 if last == 2 and value == 1 else value)))
            if last == 2 and value == 1:
                sig = "push/after_two"
            elif strict and value == 0:
                sig = "push/strict_zero"
            else:
                last = value
                continue
            return Outcome(Verdict.DIVERGENT, Finding(index, "push", [sig], sig, "push__x"),
                           pre, post)
        return Outcome(Verdict.SAME, None, pre, post)

    def branch_ids(self):
        return {}

    def known_findings(self):
        return {}

    def seeds_dir(self):
        return None


def test_a_target_without_a_stepper_is_explored_by_replaying_prefixes():
    """The schema-derived domain and the replay stepper find both toy bugs, at their
    shortest depths, and the report says no state merging was used."""
    toy = ToyTarget()
    domain = schema_domain(TOY_SCHEMA)
    assert isinstance(stepper_for(toy, ()), ReplayStepper)
    report = run_exhaustive(toy, 2, jobs=1, progress=False, domain=domain)
    assert {s: h.calls for s, h in report.hits.items()} == {"push/after_two": 2,
                                                           "push/strict_zero": 1}
    assert report.proven and not report.merging_used


def test_a_domain_lists_every_combination_of_its_values():
    """calls() is the product of the per-argument values, in a fixed order."""
    domain = Domain("toy", ((),), {"push": (("value", (1, 2, 3)),)})
    assert [op["value"] for op in domain.calls()] == [1, 2, 3]
    with_flags = dataclasses.replace(domain, values={"push": (("value", (5,)),)})
    assert len(with_flags.calls()) == 1


# --- the reductions on the chain's other pairs ---------------------------------------------------

CAE = "v4.14+f2c57d91b0d9+cae85cb8add3"
PAIRS = {"v4.14..both-fixes": TARGET.with_pair("v4.14", CAE),
         "v4.14+f2c..both-fixes": TARGET.with_pair("v4.14+f2c57d91b0d9", CAE),
         "v4.13..both-fixes": TARGET.with_pair("v4.13", CAE)}
PAIR_SCENES = (_scene(), _scene(arch="ppc64"), _scene(arch="ppc64", debug="1"),
               _scene(special="0"), _scene(vma="private_rw"))


@pytest.mark.parametrize("pair", PAIRS)
def test_the_reductions_hold_for_the_fixed_models_too(pair):
    """The proofs carry over to the fixed models: depth 2 with every reduction finds what
    depth 2 with none finds, on a fix pair as on the seed's."""
    target = PAIRS[pair]
    assert DOMAIN.applies_to(target)
    bare = unreduced(DOMAIN)
    for index in PAIR_SCENES:
        reduced = explore_scene(target, DOMAIN, index, 2)
        full = explore_scene(target, bare, index, 2, merge=False)
        assert set(reduced.hits) == set(full.hits), DOMAIN.scene_name(index)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.sampled_from(sorted(PAIRS)), SCENES,
       st.lists(st.sampled_from(CALLS), min_size=1, max_size=6))
def test_the_stepper_agrees_with_evaluate_on_every_pair(pair, scene_index, calls):
    """Stepping a fix pair call by call (the pages a rule carries over included) gives
    evaluate's first divergence."""
    assert_stepping_agrees(PAIRS[pair], DOMAIN.scenes[scene_index], calls)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.sampled_from(sorted(PAIRS)), SCENES,
       st.lists(st.sampled_from(CALLS), min_size=1, max_size=5))
def test_the_renaming_is_a_symmetry_of_every_pair(pair, scene_index, calls):
    """The renaming proof holds for the fixed models: same findings, keys equal under it."""
    target, renaming = PAIRS[pair], DOMAIN.renaming
    a = InsertPfnStepper(target, DOMAIN.scenes[scene_index], renaming=renaming)
    b = InsertPfnStepper(target, DOMAIN.scenes[scene_index], renaming=renaming)
    for op in calls:
        fa, fb = a.step(op), b.step(_renamed(op, renaming))
        assert (fa and fa.signature) == (fb and fb.signature)
        if fa is not None:
            return
        assert a.key() == b.key()

"""The insert_pfn target: "mm: add vm_insert_mixed_mkwrite()" (upstream b2770da64254).

Runs one op sequence on the v4.13 model (`fuzzplug.kernel.v4_13`) and the v4.14 model
(`fuzzplug.kernel.v4_14`), op by op, and compares what a caller and the rest of the kernel
can observe (see `fuzzplug.explore.observe` and `fuzzplug.core.oracle`). The only
differences allowed are those in `INTENDED_RULES`, the commit message's stated intent;
everything else is divergent.

The models form a chain (`CHAIN`): v4.13, v4.14, then v4.14 with each upstream fix of the
patch (f2c57d91b0d9, then cae85cb8add3). `with_pair(pre, post)` (the `Versioned`
capability) compares any two of them, under the rules of the commits between them
(`INTENDED_RULES` for the seed, `FIX_RULES` for the fixes, each from its commit message),
and with the known findings listed for that pair.

The concepts it puts together live beside it, one module each: `schema` (the op language),
`scene` (the scene, its boot and its normalisation), `calls` (the calls as each side makes
them), `chain` (the chain of versions), `rules` (the intended delta and the promise),
`compare` (the oracle, op by op: `compare_op`), `trace` (PTEs in the trace), `known` (the
known findings of `known.toml`, by pair), and `fast` with `reference` (the fast evaluation
and what it reads of the readable one). This module holds the target itself
(`InsertPfnTarget`, `TARGET`).
"""

from __future__ import annotations

from pathlib import Path

from fuzzplug.core.advice import Advice
from fuzzplug.core.known import Cause
from fuzzplug.core.opslang import Op
from fuzzplug.core.oracle import Outcome, SideRecord, Verdict
from fuzzplug.farm.files import FarmOptions
from fuzzplug.kernel import arch, mm, v4_13, v4_14
from fuzzplug.kernel.types import pte_t
from fuzzplug.targets import MutatesPostModel, SceneIssue, corpus_dir
from fuzzplug.targets.chain import ChainedTarget
from fuzzplug.targets.insert_pfn import reference
from fuzzplug.targets.insert_pfn.chain import CHAIN, SEED_PAIR
from fuzzplug.targets.insert_pfn.compare import compare_op
from fuzzplug.targets.insert_pfn.fast import FastEvaluation
from fuzzplug.targets.insert_pfn.known import KNOWN
from fuzzplug.targets.insert_pfn.rules import INTENDED_RULES, rules_between
from fuzzplug.targets.insert_pfn.scene import Scene, check_scene, normal_call
from fuzzplug.targets.insert_pfn.schema import SCHEMA
from fuzzplug.targets.insert_pfn.trace import _pte_change, _pte_text

SHARED_MODELS = (mm, arch)
"""Kernel modules both version models call whose branches record ids of their own: the mm
helpers, and the architecture code (the MMU step and ppc64's hash MMU)."""


class InsertPfnTarget(ChainedTarget, MutatesPostModel):
    """The insert_pfn target (satisfies `fuzzplug.targets.Target` and `Versioned`): by
    default v4.13 against v4.14, the seed; `with_pair` compares any two versions of the
    chain."""

    name = "insert_pfn"
    description = ("mm: add vm_insert_mixed_mkwrite() (b2770da64254): insert_pfn and "
                   "__vm_insert_mixed, v4.13 vs v4.14, and the fixes upstream took after it")
    schema = SCHEMA
    pre_model = v4_13
    post_model = v4_14
    chain = CHAIN
    pair = SEED_PAIR
    rules = INTENDED_RULES

    @property
    def rule_names(self) -> frozenset[str]:
        return frozenset(rule.name for rule in self.rules)

    def rules_between(self, pre: str, post: str):
        """The intended delta of a pair (`rules.rules_between`)."""
        return rules_between(pre, post)

    def evaluate(self, ops: tuple[Op, ...]) -> Outcome:
        """The oracle's outcome for `ops`: `reference_evaluate`'s, computed by the fast
        path (`fast.py`, proven equal by tests/test_fast_eval.py)."""
        return _FAST.evaluate(self.pre_model, self.post_model, self.rule_names, ops)

    def reference_evaluate(self, ops: tuple[Op, ...]) -> Outcome:
        """The oracle as it reads best: boot both kernels, run each call on both sides
        (`compare_op`), stop at the first difference beyond the rules."""
        scene = Scene.from_ops(ops)
        kpre, kpost = scene.boot(self.pre_model), scene.boot(self.post_model)
        pre, post = SideRecord(kpre.version, kpre), SideRecord(kpost.version, kpost)
        finding = None
        rules_applied: list[str] = []
        dead_pre = dead_post = False
        carried: frozenset[int] = frozenset()
        calls = [normal_call(op)[0] for op in ops if not SCHEMA.spec(op.name).scene]
        for index, op in enumerate(calls):
            a, b, finding, applied, carried = compare_op(self, kpre, kpost, op, index,
                                                         dead_pre, dead_post, carried)
            dead_pre, dead_post = dead_pre or a.oops, dead_post or b.oops
            pre.add(index, a)
            post.add(index, b)
            if finding is not None:
                break
            rules_applied.extend(applied)
        return Outcome(Verdict.of(finding, rules_applied), finding, pre, post, rules_applied)

    def branch_ids(self) -> dict[str, frozenset[str]]:
        from fuzzplug.core.semcov import declared_branch_ids

        return {m.VERSION: declared_branch_ids(m, *SHARED_MODELS)
                for m in (self.pre_model, self.post_model)}

    def known_findings(self) -> dict[str, dict]:
        """The triaged signatures of this pair (`known.toml`: a finding without `pairs`
        belongs to the seed's pair)."""
        return KNOWN.findings(*self.pair)

    def known_causes(self) -> dict[str, Cause]:
        """The `[[cause]]`s of known.toml that explain divergences of this pair (the
        `KnownCauses` capability; a cause without `pairs` is the seed pair's)."""
        return KNOWN.causes(*self.pair)

    def advice(self) -> Advice:
        """The `Advised` capability: known.toml's scope, companion fixes and the fixes'
        intended changes."""
        return KNOWN.advice()

    def seeds_dir(self) -> Path | None:
        return corpus_dir(self.name)

    def check_scene(self, ops: tuple[Op, ...]) -> tuple[tuple[Op, ...], list[SceneIssue]]:
        """The `SceneChecked` capability: `check_scene` above."""
        return check_scene(ops)

    def describe_event(self, event: dict) -> str | None:
        """The `Traced` capability: an architecture hook's old and new entry as pfn and
        flags, as `--json`'s state shows PTEs (`pte_t.to_json`): `none -> pfn 0x80
        PRESENT|...` for a new entry, `pfn 0x80 PRESENT|... -> +RW +DIRTY` for a change of
        bits; other events are the trace's own."""
        if event.get("kind") != "arch" or "old" not in event:
            return None
        old, new = pte_t(event["old"]), pte_t(event["new"])
        head = f"arch {event['function']} {event.get('addr', 0):#x}"
        if old.val == new.val:
            return head
        return f"{head}: {_pte_text(old)} -> {_pte_change(old, new)}"

    # --- optional capabilities (fuzzplug.targets: SmallDomain, Steppable, Mutable,
    # --- FarmTuned, Featured, Versioned), each in a module of its own beside this one

    farm_options = FarmOptions(max_len=512, timeout=10)
    """max_len: room for about 48 ops with their args (an op with all args is 5 to 20
    bytes); longer inputs only repeat ops. timeout: one input runs both models in
    milliseconds; ten seconds catches a hang without flagging a slow machine."""

    def small_domain(self):
        from fuzzplug.targets.insert_pfn.domain import small_domain

        return small_domain()

    def stepper(self, scene_ops: tuple[Op, ...], renaming=None):
        from fuzzplug.targets.insert_pfn.stepper import InsertPfnStepper

        return InsertPfnStepper(self, scene_ops, renaming=renaming)

    def features(self, ops: tuple[Op, ...], outcome: Outcome):
        """The semantic features of one evaluation (`features.py`): the generic ones and a
        coarse class of the states reached; computed by the fast path (`fast.features`,
        proven equal to `features.features` by tests/test_fast_eval.py)."""
        from fuzzplug.targets.insert_pfn.fast import features

        return features(_FAST.scene_names, ops, outcome)

    def mutants(self):
        """The mutants whose edits apply to this pair's post model (all of them for the
        seed's pair; fewer for a fixed model, where a fix rewrote the text they edit)."""
        from fuzzplug.selftest.mutants import applicable
        from fuzzplug.targets.insert_pfn.mutants import MUTANTS

        if self.post_model is v4_14:
            return MUTANTS
        return applicable(MUTANTS, self.post_model)


_FAST = FastEvaluation(reference)
TARGET = InsertPfnTarget()

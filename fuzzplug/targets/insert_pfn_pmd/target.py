"""The insert_pfn_pmd target: c6f3c5ee40c1 ("mm/huge_memory.c: fix modifying of page
protection by insert_pfn_pmd()"), its first posting and its follow-up fce86ff5802b, on a
v5.0 kernel.

Runs one op sequence on two versions of the chain (`chain.CHAIN`), op by op, and compares
what callers and the hardware can observe (`compare`): fault results, the observable events
(WARN, BUG, bad HPTE, signals, check_mm's report), the huge PMD and PUD entries (pfn and
bits), the deposited tables, the page-table accounting and the live page-table pages, the
mm's huge zero page, the file's DAX bookkeeping. The differences allowed are the pair's
rules (`rules.rules_between`), each from a commit message.
"""

from __future__ import annotations

from pathlib import Path

from fuzzplug.core.advice import Advice
from fuzzplug.core.known import Cause
from fuzzplug.core.opslang import Op
from fuzzplug.core.oracle import Outcome, SideRecord, Verdict
from fuzzplug.farm.files import FarmOptions
from fuzzplug.kernel import huge_arch, huge_v5_0, v5_0, v5_0_c6f3c5ee40c1
from fuzzplug.kernel.huge_types import pmd_pfn, pmd_t
from fuzzplug.targets import MutatesPostModel, SceneIssue, corpus_dir
from fuzzplug.targets.chain import ChainedTarget
from fuzzplug.targets.insert_pfn_pmd.chain import CHAIN, DEFAULT_PAIR
from fuzzplug.targets.insert_pfn_pmd.compare import Carried, compare_op
from fuzzplug.targets.insert_pfn_pmd.known import KNOWN
from fuzzplug.targets.insert_pfn_pmd.rules import rules_between
from fuzzplug.targets.insert_pfn_pmd.scene import Scene, check_scene
from fuzzplug.targets.insert_pfn_pmd.schema import SCHEMA

SHARED_MODELS = (huge_v5_0, huge_arch)
"""The shared v5.0 modules whose branches record ids of their own."""


class InsertPfnPmdTarget(ChainedTarget, MutatesPostModel):
    """The insert_pfn_pmd target (`fuzzplug.targets.Target`, `Versioned`, `SceneChecked`,
    `Traced`, `KnownCauses`, `Advised`, `SmallDomain`, `Featured`, `Mutable`, `FarmTuned`):
    by default v5.0 against v5.0 + c6f3c5ee40c1; `with_pair` compares any two versions."""

    name = "insert_pfn_pmd"
    description = ("mm/huge_memory.c: fix modifying of page protection by insert_pfn_pmd() "
                   "(c6f3c5ee40c1), its v1 posting and fce86ff5802b, on v5.0: DAX huge "
                   "PMD/PUD faults on x86-64 and ppc64 hash/radix")
    schema = SCHEMA
    pre_model = v5_0
    post_model = v5_0_c6f3c5ee40c1
    chain = CHAIN
    pair = DEFAULT_PAIR
    rules = rules_between(*DEFAULT_PAIR)
    farm_options = FarmOptions(max_len=256, timeout=10)
    """max_len: room for the scene and about 30 calls; timeout: an input runs in
    milliseconds."""

    def rules_between(self, pre: str, post: str):
        return rules_between(pre, post)

    @property
    def rule_names(self) -> frozenset[str]:
        return frozenset(rule.name for rule in self.rules)

    def evaluate(self, ops: tuple[Op, ...]) -> Outcome:
        """Boot both versions on the scene, run each call on both sides (`compare_op`),
        stop at the first difference beyond the pair's rules."""
        scene = Scene.from_ops(ops)
        kpre, kpost = scene.boot(self.pre_model), scene.boot(self.post_model)
        pre, post = SideRecord(kpre.version, kpre), SideRecord(kpost.version, kpost)
        finding = None
        applied_all: list[str] = []
        dead_pre = dead_post = False
        carried = Carried()
        names = self.rule_names
        calls = [op for op in ops if not SCHEMA.spec(op.name).scene]
        for index, op in enumerate(calls):
            a, b, finding, applied = compare_op(self.pre_model, self.post_model, names,
                                                kpre, kpost, op, index, dead_pre,
                                                dead_post, carried)
            dead_pre, dead_post = dead_pre or a.oops, dead_post or b.oops
            pre.add(index, a)
            post.add(index, b)
            if finding is not None:
                break
            applied_all.extend(r for r in applied if r not in applied_all)
        return Outcome(Verdict.of(finding, applied_all), finding, pre, post, applied_all)

    def branch_ids(self) -> dict[str, frozenset[str]]:
        from fuzzplug.core.semcov import declared_branch_ids

        return {m.VERSION: declared_branch_ids(m, *SHARED_MODELS)
                for m in (self.pre_model, self.post_model)}

    def known_findings(self) -> dict[str, dict]:
        """The triaged signatures of this pair (`known.toml`, read by `known`)."""
        return KNOWN.findings(*self.pair)

    def known_causes(self) -> dict[str, Cause]:
        """The `KnownCauses` capability: known.toml's causes of this pair."""
        return KNOWN.causes(*self.pair)

    def advice(self) -> Advice:
        """The `Advised` capability: known.toml's scope, companion fixes, intended changes."""
        return KNOWN.advice()

    def small_domain(self):
        """The `SmallDomain` capability (`domain.small_domain`)."""
        from fuzzplug.targets.insert_pfn_pmd.domain import small_domain

        return small_domain()

    def features(self, ops: tuple[Op, ...], outcome: Outcome):
        """The `Featured` capability (`features.features`)."""
        from fuzzplug.targets.insert_pfn_pmd.features import features

        return features(SCHEMA, ops, outcome)

    def mutants(self):
        """The `Mutable` capability: the mutants whose edits apply to this pair's post model
        (`mutants.mutants_for_model`)."""
        from fuzzplug.targets.insert_pfn_pmd.mutants import mutants_for_model

        return mutants_for_model(self.post_model)

    def seeds_dir(self) -> Path | None:
        return corpus_dir(self.name)

    def check_scene(self, ops: tuple[Op, ...]) -> tuple[tuple[Op, ...], list[SceneIssue]]:
        return check_scene(ops)

    def describe_event(self, event: dict) -> str | None:
        """The `Traced` capability: an architecture hook's or the MMU's old and new huge
        entry as pfn and flags (`none -> pfn 0x200200 PRESENT|USER|...|PSE|DEVMAP`, then
        `+RW +DIRTY` for a change of bits); other events are the trace's own."""
        if event.get("kind") not in ("arch", "mmu") or "old" not in event:
            return None
        old, new = pmd_t(event["old"]), pmd_t(event["new"])
        head = f"{event['kind']} {event['function']} {event.get('addr', 0):#x}"
        if old.val == new.val:
            return head
        return f"{head}: {_text(old)} -> {_change(old, new)}"


def _text(entry: pmd_t) -> str:
    if not entry.val:
        return "none"
    return f"pfn {pmd_pfn(entry):#x} {entry.to_json()['flags']}"


def _change(old: pmd_t, new: pmd_t) -> str:
    if not old.val or not new.val or pmd_pfn(old) != pmd_pfn(new):
        return _text(new)
    a = set(old.to_json()["flags"].split("|"))
    b = set(new.to_json()["flags"].split("|"))
    return " ".join([f"+{f}" for f in sorted(b - a)] + [f"-{f}" for f in sorted(a - b)])


TARGET = InsertPfnPmdTarget()

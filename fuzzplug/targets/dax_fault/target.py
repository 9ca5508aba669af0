"""The dax_fault target: the DAX fault paths of ext4 before and after the series "DAX common
4k zero page" (v4.13 vs v4.14), with the file operations around them.

Runs one op sequence (`fuzzplug.targets.dax_fault.schema`) on the v4.13 DAX model
(`fuzzplug.kernel.dax_v4_13`, over the mm model `v4_13`) and the v4.14 one (`dax_v4_14` over
`v4_14`), op by op, each through `fuzzplug.explore.daxfile.run_op`, and compares after each
op what user space sees and what the rest of the kernel sees:

- user space: how the op ended (a load's value, OK/SIGBUS/SIGSEGV/OOM/LIVELOCK, a system
  call's return, or a BUG or a hang), the user's fault count (rule `mkwrite_one_fault`),
  and the file as a reader and as the media see it (per page: block, visible token,
  durable token; i_size);
- the kernel: the printed WARNs, BUGs, bad PTEs, bad HPTEs and signals; every PTE and
  (ppc64's hash MMU) every HPTE; the struct pages
  the run touched; the rss counters and page-table counts; the mapping's entries by
  meaning, their tags, nrpages/nrexceptional and its writeback error; the free blocks;
  the VMAs; leaked references and locks (`daxview.leaks`); data stored to the zero page.

The differences allowed are the rules of `fuzzplug.targets.dax_fault.rules`, and only
those; a side that BUGs or hangs is dead for the rest of the run (later ops are not run on
it), as in the insert_pfn target.

The models form a chain (`fuzzplug.targets.dax_fault.chain`): v4.13, v4.14, then v4.14 with
each upstream fix of patch 1 (f2c57d91b0d9, then cae85cb8add3: `dax_v4_14` on the fixed mm
model). `with_pair(pre, post)` (the `Versioned` capability) compares any two of them, under
the rules of the commits between them (the series' INTENDED_RULES, each fix's FIX_RULES:
`PairRules` and the fixes' judges, in `compare`) and with the known findings listed for that pair.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from fuzzplug.core.advice import Advice
from fuzzplug.core.known import Cause
from fuzzplug.core.oracle import OpRun, Outcome, SideRecord, Verdict
from fuzzplug.explore import daxfile
from fuzzplug.farm.files import FarmOptions
from fuzzplug.kernel import arch, dax_v4_13, dax_v4_14, fs, mm
from fuzzplug.targets import MutatesPostModel, corpus_dir
from fuzzplug.targets.chain import ChainedTarget
from fuzzplug.targets.dax_fault import tasks
from fuzzplug.targets.dax_fault.chain import CHAIN, SERIES_PAIR
from fuzzplug.targets.dax_fault.compare import PairRules, Side, compare_op, run_side
from fuzzplug.targets.dax_fault.rules import INTENDED_RULES, rules_between
from fuzzplug.targets.dax_fault.schema import SCHEMA, TASK_OPS, Scene, call_args
from fuzzplug.targets.dax_fault.view import MachineRecord, normalised_view
from fuzzplug.targets.pairknown import KnownToml


KNOWN = KnownToml(__package__, SERIES_PAIR)

SHARED_MODELS = (fs, mm, arch)
"""Kernel modules both DAX models call whose branches record ids of their own."""


class DaxFaultTarget(ChainedTarget, MutatesPostModel):
    """The dax_fault target (satisfies `fuzzplug.targets.Target` and `Versioned`): by
    default v4.13 against v4.14, the series; `with_pair` compares any two versions of the
    chain (`chain.CHAIN`: then each fix of the series' patch 1)."""

    name = "dax_fault"
    description = ("DAX common 4k zero page (b2770da64254..): ext4 DAX faults, write, punch, "
                   "truncate, fsync, msync, munmap, v4.13 vs v4.14, and the fixes upstream "
                   "took after it")
    schema = SCHEMA
    pre_model: ModuleType = dax_v4_13
    post_model: ModuleType = dax_v4_14
    chain = CHAIN
    pair = SERIES_PAIR
    rules = INTENDED_RULES

    @property
    def rule_names(self) -> frozenset[str]:
        return frozenset(rule.name for rule in self.rules)

    def rules_between(self, pre: str, post: str):
        """The intended delta of a pair (`rules.rules_between`)."""
        return rules_between(pre, post)

    def evaluate(self, ops) -> Outcome:
        return self._evaluate(ops, None)

    def evaluate_budgeted(self, ops) -> Outcome:
        """The `Budgeted` capability: an input of several tasks searches the other
        version's interleavings within `tasks.FAST_RUNS` runs only, and is a candidate
        where that does not settle it (`tasks.evaluate`); a one-task input is evaluated
        as `evaluate` does."""
        return self._evaluate(ops, tasks.FAST_RUNS)

    def _evaluate(self, ops, budget: int | None) -> Outcome:
        scene = Scene.from_ops(ops).dax
        calls = [op for op in ops if not SCHEMA.spec(op.name).scene]
        program = tasks.split(calls)
        if program.concurrent:
            return tasks.evaluate(self, scene, calls, program, budget)
        pre = Side(daxfile.boot(self.pre_model, scene))
        post = Side(daxfile.boot(self.post_model, scene))
        rec_pre = SideRecord(pre.m.k.version, MachineRecord(pre.m))
        rec_post = SideRecord(post.m.k.version, MachineRecord(post.m))
        views = (normalised_view(pre.m), normalised_view(post.m))
        pair_rules = PairRules(self.rule_names)
        finding = None
        rules_applied: list[str] = []
        for index, op in enumerate(calls):
            if op.name in TASK_OPS:  # one task: the schedule has nothing to decide
                rec_pre.add(index, OpRun(ret="-"))
                rec_post.add(index, OpRun(ret="-"))
                continue
            args = call_args(op)
            a, ra = run_side(pre, op.name, args)
            b, rb = run_side(post, op.name, args)
            rec_pre.add(index, a)
            rec_post.add(index, b)
            judgement, views = compare_op(pre, post, op.name, index, a, b, ra, rb, views,
                                          pair_rules, args.get("addr"))
            rules_applied += [r for r in judgement.rules if r not in rules_applied]
            if judgement.finding is not None:
                finding = judgement.finding
                break
            if judgement.stop:
                break
        return Outcome(Verdict.of(finding, rules_applied), finding, rec_pre, rec_post, rules_applied)

    def check_scene(self, ops):
        """The `SceneChecked` capability: the `task` and `sched` lines' values checked
        (`tasks.check_tasks`; the scene lines are normalised by `Scene.from_ops`)."""
        return tasks.check_tasks(tuple(ops))

    def story(self, ops) -> str | None:
        """How the tasks of an input with several interleave on each version, per CPU
        (`replay` prints it); None for a one-task input."""
        calls = [op for op in ops if not SCHEMA.spec(op.name).scene]
        program = tasks.split(calls)
        if not program.concurrent:
            return None
        return tasks.story(self, Scene.from_ops(ops).dax, calls, program)

    def interleavings(self) -> ModuleType:
        """The exhaustive checker over schedules (`fuzzplug exhaustive dax_fault --tasks
        2`)."""
        from fuzzplug.targets.dax_fault import interleavings

        return interleavings

    def branch_ids(self) -> dict[str, frozenset[str]]:
        from fuzzplug.core.semcov import declared_branch_ids

        return {m.VERSION: declared_branch_ids(m, m.mm_model, *SHARED_MODELS)
                for m in (self.pre_model, self.post_model)}

    def known_findings(self) -> dict[str, dict]:
        """The triaged signatures of this pair (`known.toml`: a finding without `pairs`
        belongs to the series' pair)."""
        return KNOWN.findings(*self.pair)

    def known_causes(self) -> dict[str, Cause]:
        """The `[[cause]]`s of known.toml that explain divergences of this pair by their
        observables (`pairs`, else the series' pair), and every cause a finding of this
        pair names (the `KnownCauses` capability)."""
        return KNOWN.causes(*self.pair)

    def advice(self) -> Advice:
        """The `Advised` capability: known.toml's scope, companion fixes and the fixes'
        intended changes as DAX shows them (the same for every pair)."""
        return KNOWN.advice()

    def seeds_dir(self) -> Path | None:
        return corpus_dir(self.name)

    # --- optional capabilities (fuzzplug.targets: KnownCauses, Featured, ScheduleMutable,
    # --- SmallDomain, Mutable, FarmTuned)

    farm_options = FarmOptions(max_len=256, timeout=20)
    """max_len: room for the scene and about 30 calls (a call is 2 to 8 bytes); longer
    inputs only repeat calls. timeout: an input runs both models in a few milliseconds;
    twenty seconds catches a hang without flagging a slow machine."""

    def features(self, ops, outcome):
        """The `Featured` capability: the generic features and, with several tasks, how the
        tasks communicated (`fuzzplug.targets.dax_fault.features`)."""
        from fuzzplug.targets.dax_fault.features import features

        return features(SCHEMA, ops, outcome)

    def mutate_schedule(self, calls, rng):
        """The `ScheduleMutable` capability: one change of the input's schedule (a second
        task, a `pct` line, a change point moved by one step, priorities swapped:
        `fuzzplug.targets.dax_fault.pct.mutate_schedule`)."""
        from fuzzplug.targets.dax_fault.pct import mutate_schedule

        return mutate_schedule(calls, rng)

    def cross_tasks(self, calls1, calls2, rng):
        """The `ScheduleMutable` capability's crossover: a task of each input, side by side
        (`fuzzplug.targets.dax_fault.pct.cross_tasks`)."""
        from fuzzplug.targets.dax_fault.pct import cross_tasks

        return cross_tasks(calls1, calls2, rng)

    def small_domain(self):
        from fuzzplug.targets.dax_fault.domain import small_domain

        return small_domain()

    def mutants(self):
        """The mutants of `dax_v4_14.py`: for a pair whose post side is v4.14's DAX code on
        its own mm model (the series' pair, v4.13..v4.14); none for a fixed version, whose
        DAX model is that code bound to another mm model (`daxbind`), which the mutant
        machinery does not rebuild."""
        from fuzzplug.targets.dax_fault.mutants import MUTANTS

        return MUTANTS if self.post_model is dax_v4_14 else ()



TARGET = DaxFaultTarget()

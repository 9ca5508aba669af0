"""insert_pfn's evaluation, fast: the same outcome as the readable one, computed with less.

`InsertPfnTarget.reference_evaluate` (target.py) is the oracle as it reads best: boot both
kernels from the scene ops, make each call on both sides (`run_op` → `_call`), compare
returns, observable events, the whole state and the promise (`compare_op`), stop at the
first difference. `FastEvaluation.evaluate` here is what `InsertPfnTarget.evaluate` runs:
the same steps, function for function (`_run_op` mirrors `compare.run_op`, `_call`
mirrors `calls._call`, `_compare_op` mirrors `compare.compare_op`), for whatever pair the
target compares (its `pre_model`, `post_model` and rules: every pair of the chain,
`with_pair`), with the work that does not change from one input to the next done once.
What it reads of the readable oracle (the flag tables, `Scene`, the rules' judges) it
reads from the module `reference.py` gathers them in:

- **scenes**: `Scene.from_ops` (validation, flag tables, `vma_page_prot`) once per distinct
  scene; each side boots as a copy of a booted template kernel (`_boot`), not through
  `Kernel.__init__` (the rss counters' enum comprehension, the dataclass inits);
- **calls**: each distinct call op is read once into a `_Plan` (its args looked up by
  name, flag args turned into the kernel's flag words, the `pfn_t` and `pgprot_t` built),
  instead of `Op.__getitem__`'s linear search and `_to_kernel`'s table walk on each call;
- **state**: after each op, `same_state` below decides equality over the raw values
  (no `pte_t.__eq__`, no `page.state()` tuples), and hands over to the
  readable comparison (`Kernel.same_state`, then `state_diff`) whenever it does not find
  the two states equal; so it can only say "equal" where the reference would, and every
  difference is described by the reference itself;
- **events**: the kernels are `RecordingKernel`s, whose `event` builds the same `Event`
  without the frozen dataclass's `__init__`;
- **features**: `features` below is `features.features` in one pass (`target.features`
  runs it).
- **rules**: the pair's rules are read once per pair (`_PairRules`); an op no rule names
  skips the rules' bookkeeping (`_Sides`), a ruled op goes through the rules' own judges.

Tried and left out (measured while this was written; README "Benchmarks" says where the
time goes now): a comparison of only what the
op touched, read from its events (the whole state is a few entries and pages: comparing it
all over raw values costs about as much as collecting what the events touched, and not
every change leaves an event naming what it changed: `alloc_page_vma`, the page-table
allocations); and resuming an input after the longest prefix of calls already evaluated
(a trie of saved kernels): on a libFuzzer run's own inputs it skipped a third of the calls
but cost more than it saved, in copies of both kernels and in the garbage collector
walking the saved ones. A compiled build (Cython over the unchanged sources) was measured
too and left out: README "Benchmarks".

The models themselves run unchanged: the fast path calls the same model functions with the
same arguments in the same order. `tests/test_fast_eval.py` checks that both evaluations
give the same verdict, signature, finding, rules, and per op and side the same return,
events, branch ids and BUG, and the same final state, over every seed scenario, thousands
of random and mutated inputs, Hypothesis' inputs and every mutant of the self-test.
Whoever changes `reference_evaluate`, `compare_op`, `run_op` or `_call` changes the mirror
here too; that test fails until they agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from types import ModuleType

from fuzzplug.core.opslang import Op
from fuzzplug.core.oracle import Finding, OpRun, Outcome, SideRecord, Verdict, events_diff, family
from fuzzplug.targets.insert_pfn.features import ENTRY_BITS, _bucket, vma_class
from fuzzplug.kernel.arch import ACCESS_LIVELOCK
from fuzzplug.kernel.mm import do_user_fault, fault_result_name
from fuzzplug.explore.observe import entry_key, observables, signature, state_diff
from fuzzplug.kernel.state import (
    OBSERVABLE_KINDS,
    Event,
    EventKind,
    Kernel,
    Oops,
    PageKind,
    mm_struct,
    vm_area_struct,
)
from fuzzplug.kernel.types import (
    EBUSY,
    FAULT_FLAG_USER,
    FAULT_FLAG_WRITE,
    PAGE_SHIFT,
    PTE_PFN_MASK,
    U64,
    errname,
    pgprot_t,
    pte_t,
)

# --- events -----------------------------------------------------------------------------------

_new = object.__new__
_set_kind = Event.kind.__set__
_set_function = Event.function.__set__
_set_detail = Event.detail.__set__
_RET = EventKind.RET
_ARCH, _ALLOC_FAIL = EventKind.ARCH, EventKind.ALLOC_FAIL


class RecordingKernel(Kernel):
    """A `Kernel` whose `event` makes the same `Event` as `Kernel.event`, faster: the slots
    are filled directly (a frozen dataclass's `__init__` goes through
    `object.__setattr__` once per field). It also keeps, for the features, each
    architecture hook's function, address and new entry as it is recorded (`hooks`), and
    whether an allocation failed (`alloc_failed`). Nothing else differs."""

    def event(self, kind: EventKind, function: str, **detail) -> None:
        e = _new(Event)
        _set_kind(e, kind)
        _set_function(e, function)
        _set_detail(e, tuple(detail.items()))
        self.events.append(e)
        if kind is _ARCH:
            self.hooks.append((function, detail.get("addr"), detail.get("new", 0)))
        elif kind is _ALLOC_FAIL:
            self.alloc_failed = True


# --- scenes -----------------------------------------------------------------------------------

# What `_boot` knows of a Kernel: the fields it copies, and those it makes anew.
_KERNEL_FIELDS = frozenset({
    "config", "memmap", "events", "branches", "warned_once", "alloc_count", "fail_at",
    "next_anon_pfn", "tainted", "pages", "version", "mm", "vma", "fault_handler",
    "pfn_mkwrite_handler", "page_mkwrite_handler", "memory", "htab", "trap", "sched",
    "pcp_list"})
_MM_FIELDS = ("kernel", "pgtable", "pud_tables", "pmd_tables", "pte_tables", "rss_stat",
              "mmap", "mmap_sem")
_VMA_FIELDS = ("vm_start", "vm_end", "vm_flags", "vm_page_prot", "vm_pgoff", "vm_ops",
               "vm_mm", "anon_vma", "vm_file")


def _template(scene, kernel_class: type[Kernel] = RecordingKernel) -> Kernel:
    """The scene's kernel as `Scene.boot` makes it, less the version: what `_boot` copies.
    Fails loudly (once) when the Kernel's layout is not the one `_boot` knows."""
    k = scene.boot(_NO_MODEL)
    if not _LAYOUT_CHECKED:
        _check_layout(k)
    assert not (k.events or k.branches or k.pages or k.htab or k.mm.pgtable
                or k.memory is not None or k.pcp_list is not None), "a booted kernel is empty"
    template = _new(kernel_class)
    template.__dict__.update(k.__dict__)
    return template


_LAYOUT_CHECKED = []


def _check_layout(k: Kernel) -> None:
    """Fail loudly when the Kernel's layout is not the one `_boot` knows."""
    layout = ((set(vars(k)) == _KERNEL_FIELDS, "Kernel"),
              (tuple(f.name for f in dataclasses.fields(mm_struct)) == _MM_FIELDS,
               "mm_struct"),
              (tuple(f.name for f in dataclasses.fields(vm_area_struct)) == _VMA_FIELDS,
               "vm_area_struct"))
    for same, what in layout:
        if not same:
            raise AssertionError(f"{what} fields changed: update fuzzplug.targets.insert_pfn."
                                 "fast._boot")
    _LAYOUT_CHECKED.append(True)


class _NoModel:
    VERSION = ""


_NO_MODEL = _NoModel()


def _boot(template: Kernel, version: str) -> Kernel:
    """A freshly booted kernel equal to `template` (never run) with `version`: the same
    fields as `Kernel.__init__` sets (`_template` checks the list), new mutable objects
    for each."""
    k = _new(template.__class__)
    d = k.__dict__
    d.update(template.__dict__)
    d["version"] = version
    d["events"] = []
    d["branches"] = []
    d["warned_once"] = set()
    d["pages"] = {}
    d["htab"] = {}
    d["hooks"] = []
    d["alloc_failed"] = False
    t = template.mm
    mm = mm_struct(k, {}, set(), set(), set(), dict(t.rss_stat), [])
    v = template.vma
    vma = vm_area_struct(v.vm_start, v.vm_end, v.vm_flags, v.vm_page_prot, v.vm_pgoff,
                         v.vm_ops, mm, v.anon_vma, v.vm_file)
    mm.mmap.append(vma)
    d["mm"] = mm
    d["vma"] = vma
    return k


# --- calls ------------------------------------------------------------------------------------

# What `_call` does, by op name.
_INSERT_PFN, _INSERT_PFN_PROT, _INSERT_MIXED, _MKWRITE, _FAULT, _ZAP, _FAIL_ALLOC = range(7)


class _Plan:
    """One call op, read once: what `calls._call` reads from the op on every call."""

    __slots__ = ("code", "name", "addr", "pfn", "arg", "vpn", "ruled", "op")

    def __init__(self, op: Op, target_module: ModuleType):
        t = target_module
        op = self.op = t.normal_call(op)[0]  # the op as the scene check has it
        code = _CODES.get(op.name)
        if code is None:
            t.SCHEMA.spec(op.name)  # the reference's error for an unknown op
            raise AssertionError(f"not a call: {op.name}")
        self.name = op.name
        self.code = code
        self.ruled = op.name in t.RULED_OPS
        args = dict(op.args)
        self.addr = args["addr"] if code != _FAIL_ALLOC else 0
        self.pfn = args["pfn"] if code <= _MKWRITE else 0
        self.vpn = (self.addr & U64) >> PAGE_SHIFT  # rules._entry_at
        if code == _INSERT_PFN_PROT:
            self.arg = pgprot_t(t._to_kernel(t.PROT_BITS, args["prot"]))
        elif code in (_INSERT_MIXED, _MKWRITE):
            self.arg = t._pfn_t(op)
        elif code == _FAULT:
            self.arg = t._to_kernel(t.FAULT_FLAG_BITS, args["flags"]) | FAULT_FLAG_USER
        elif code == _ZAP:
            self.arg = args["len"]
        elif code == _FAIL_ALLOC:
            self.arg = args["nth"]
        else:
            self.arg = None


_CODES = {"vm_insert_pfn": _INSERT_PFN, "vm_insert_pfn_prot": _INSERT_PFN_PROT,
          "vm_insert_mixed": _INSERT_MIXED, "vm_insert_mixed_mkwrite": _MKWRITE,
          "fault": _FAULT, "zap": _ZAP, "fail_alloc": _FAIL_ALLOC}
_MKWRITE_FAULT = FAULT_FLAG_WRITE | FAULT_FLAG_USER


def _call(k: Kernel, model: ModuleType, plan: _Plan, dax: bool, dax_view) -> str:
    """`calls._call` over a plan."""
    code = plan.code
    vma = k.vma
    if code == _INSERT_MIXED:
        return errname(model.vm_insert_mixed(vma, plan.addr, plan.arg))
    if code == _FAULT:
        return fault_result_name(do_user_fault(k, plan.addr, plan.arg, model.handle_mm_fault))
    if code == _MKWRITE:
        mkwrite = getattr(model, "vm_insert_mixed_mkwrite", None)
        if mkwrite is not None:
            ret = mkwrite(vma, plan.addr, plan.arg)
            k.event(_RET, "vm_insert_mixed_mkwrite", ret=errname(ret))
            return dax_view(ret) if dax else errname(ret)
        # calls._mkwrite_equivalent
        ret = model.vm_insert_mixed(vma, plan.addr, plan.arg)
        k.event(_RET, "vm_insert_mixed", ret=errname(ret))
        if ret in (0, -EBUSY):
            access = do_user_fault(k, plan.addr, _MKWRITE_FAULT, model.handle_mm_fault)
            if access is ACCESS_LIVELOCK:
                return fault_result_name(access)
        return dax_view(ret)
    if code == _INSERT_PFN:
        return errname(model.vm_insert_pfn(vma, plan.addr, plan.pfn))
    if code == _INSERT_PFN_PROT:
        return errname(model.vm_insert_pfn_prot(vma, plan.addr, plan.pfn, plan.arg))
    if code == _ZAP:
        model.zap_page_range_single(vma, plan.addr, plan.arg)
        return "void"
    k.fail_nth_alloc(plan.arg)  # _FAIL_ALLOC
    return "void"


_DEAD = "dead"


def _run_op(k: Kernel, model: ModuleType, plan: _Plan, dead: bool, dax: bool,
            dax_view) -> OpRun:
    """`compare.run_op` over a plan."""
    if dead:
        return OpRun(ret=_DEAD, oops=True)
    events, branches = k.events, k.branches
    e0, b0 = len(events), len(branches)
    try:
        ret = _call(k, model, plan, dax, dax_view)
        oops = False
    except Oops:
        ret, oops = "BUG", True
    return OpRun(ret, events[e0:], branches[b0:], oops)


# --- state ------------------------------------------------------------------------------------

def same_state(a: Kernel, b: Kernel) -> bool:
    """True only when `a.same_state(b)` is: the page tables hold the same raw values, the
    rss counters, the hash page tables and the counts of page-table pages are equal, and
    the struct pages are the same pages in the same state; anything else is left to
    `Kernel.same_state` (which also knows when two differing raw entries read the same,
    and that an untouched page equals an absent one)."""
    ma, mb = a.mm, b.mm
    pa, pb = ma.pgtable, mb.pgtable
    if len(pa) != len(pb):
        return a.same_state(b)
    for vpn, entry in pa.items():
        other = pb.get(vpn)
        if other is None or other.val != entry.val:
            return a.same_state(b)
    if (ma.rss_stat != mb.rss_stat or a.htab != b.htab
            or len(ma.pte_tables) != len(mb.pte_tables)
            or len(ma.pmd_tables) != len(mb.pmd_tables)
            or len(ma.pud_tables) != len(mb.pud_tables)):
        return a.same_state(b)
    pages_a, pages_b = a.pages, b.pages
    if len(pages_a) != len(pages_b):
        return a.same_state(b)
    for pfn, p in pages_a.items():
        q = pages_b.get(pfn)
        if (q is None or p._refcount != q._refcount or p._mapcount != q._mapcount
                or p.anon != q.anon or p.dirty != q.dirty or p.referenced != q.referenced
                or p.allocated != q.allocated):
            return a.same_state(b)
    return True


def _state_diff(a: Kernel, b: Kernel, skip: frozenset[int]) -> list[str]:
    """`observe.state_diff`, with `same_state` above deciding the usual case (equal states
    have no difference to skip)."""
    if same_state(a, b):
        return []
    return state_diff(a, b, skip)


# --- the comparison ---------------------------------------------------------------------------

def _observables(events: list[Event]) -> list[tuple]:
    """`observe.observables`, skipping the runs (most of them) with no observable event."""
    for e in events:
        if e.kind in OBSERVABLE_KINDS:
            return observables(events)
    return []


def _raw_ret(run: OpRun) -> int | None:
    """`compare._raw_ret`."""
    for e in run.events:
        if e.kind is _RET and e.function == "vm_insert_mixed_mkwrite":
            return 0 if e.get("ret") == "0" else -1
    return None


class _PairRules:
    """What `compare.compare_op` reads of a pair's rules on every op, read once per pair."""

    __slots__ = ("seed", "zero_pfn", "reuse_store")

    def __init__(self, names: frozenset[str]):
        self.seed = "mkwrite_is_insert_then_write_fault" in names
        self.zero_pfn = "zero_pfn_mismatch_is_silent" in names
        self.reuse_store = "reuse_stores_with_ptep_set_access_flags" in names


def _compare_op(t: ModuleType, rules: _PairRules, kpre: Kernel, kpost: Kernel,
                pre_model: ModuleType, post_model: ModuleType, op: Op, plan: _Plan,
                index: int, dead_pre: bool, dead_post: bool, carried: frozenset[int],
                ) -> tuple[OpRun, OpRun, Finding | None, tuple[str, ...], frozenset[int]]:
    """`compare.compare_op` over a plan (`t` is the `reference` module, for its rules). A ruled
    op goes through the rules' own judges (`_Sides`, `_judge_*`, `promise_diffs`) as the
    reference does; the others, which no rule touches, skip them."""
    seed = rules.seed
    dax_view = t.dax_view
    ruled = plan.ruled
    if ruled:
        before_pre = kpre.mm.pgtable.get(plan.vpn, _PTE_NONE)
        before_post = kpost.mm.pgtable.get(plan.vpn, _PTE_NONE)
    if carried:
        saved = {vpn: (entry_key(kpre, vpn), entry_key(kpost, vpn)) for vpn in carried}
    a = _run_op(kpre, pre_model, plan, dead_pre, seed, dax_view)
    b = _run_op(kpost, post_model, plan, dead_post, seed, dax_view)
    dead_pre, dead_post = dead_pre or a.oops, dead_post or b.oops
    if carried:
        kept = {vpn for vpn, key in saved.items()
                if (entry_key(kpre, vpn), entry_key(kpost, vpn)) == key}
    else:
        kept = set()
    diffs = []
    if ruled:
        sides = t._Sides(a, b, observables(a.events), observables(b.events), a.ret, b.ret,
                         set(kept), [], set(kept))
        promises: list[str] = []
        if not (dead_pre and dead_post):
            if seed:
                sides.applied.append("mkwrite_is_insert_then_write_fault")
            if rules.zero_pfn:
                t._judge_zero_pfn_mismatch(sides, kpre, kpost, op)
            if rules.reuse_store:
                t._judge_reuse_store(sides, kpre, kpost, op, raw_returns=not seed)
            post_promise = t.promise_diffs(kpost, op, _raw_ret(b), before_post,
                                           _REUSE in b.branches)
            if seed:
                promises = post_promise
            else:
                pre_promise = t.promise_diffs(kpre, op, _raw_ret(a), before_pre,
                                              _REUSE in a.branches)
                promises = [d for d in post_promise if d not in pre_promise]
        if sides.ret_a != sides.ret_b:
            diffs.append(f"ret:{a.ret}->{b.ret}")
        diffs += events_diff(sides.events_a, sides.events_b)
        diffs += _state_diff(kpre, kpost, frozenset(sides.skip))
        diffs += promises
        applied = tuple(sides.applied)
        carried = frozenset(sides.carried)
    else:
        if a.ret != b.ret:
            diffs.append(f"ret:{a.ret}->{b.ret}")
        obs_a, obs_b = _observables(a.events), _observables(b.events)
        if obs_a or obs_b:
            diffs += events_diff(obs_a, obs_b)
        carried = frozenset(kept)
        diffs += _state_diff(kpre, kpost, carried)
        applied = ()
    if not diffs:
        return a, b, None, applied, carried
    finding = Finding(index, op.name, diffs,
                      signature(op.name, diffs, a.branches, b.branches, t.PATH_BRANCHES),
                      family(op.name, diffs), applied[0] if applied else None,
                      sorted(set(a.branches)), sorted(set(b.branches)))
    return a, b, finding, (), carried


_REUSE = "insert_pfn:present:mkwrite:reuse"
_PTE_NONE = pte_t(0)


class FastEvaluation:
    """`InsertPfnTarget.reference_evaluate`, with what does not change between inputs kept:
    the scenes' template kernels and the calls' plans (both bounded, emptied when full).
    Neither depends on the models, so one instance serves every pair of models (a
    target's copies with a mutant share it). `target_module`: the readable oracle's names,
    `fuzzplug.targets.insert_pfn.reference`."""

    LIMIT = 1 << 12
    """Scenes and plans kept, each. A libFuzzer run meets a new scene in about one
    execution in ten, so the templates fill in some 40,000 executions and are emptied; the
    corpus's own scenes are then booted once more. At 1 << 14 the harness's memory grew
    by 50 MiB before the first emptying (`make bench`'s RSS part); at 1 << 12 it settles
    near 80 MiB within 25,000 executions, at the same exec/s."""

    def __init__(self, target_module: ModuleType):
        self.t = target_module
        self.scene_names = frozenset(s.name for s in target_module.SCHEMA.ops if s.scene)
        self._templates: dict[tuple[Op, ...], Kernel] = {}
        self._plans: dict[Op, _Plan] = {}
        self._rules: dict[frozenset[str], _PairRules] = {}

    def clear(self) -> None:
        """Forget every scene and plan (a measurement's fresh start)."""
        self._templates.clear()
        self._plans.clear()

    def template(self, scene_ops: tuple[Op, ...]) -> Kernel:
        template = self._templates.get(scene_ops)
        if template is None:
            if len(self._templates) >= self.LIMIT:
                self._templates.clear()
            template = self._templates[scene_ops] = _template(
                self.t.Scene.from_ops(scene_ops))
        return template

    def plan(self, op: Op) -> _Plan:
        plan = self._plans.get(op)
        if plan is None:
            if len(self._plans) >= self.LIMIT:
                self._plans.clear()
            plan = self._plans[op] = _Plan(op, self.t)
        return plan

    def evaluate(self, pre_model: ModuleType, post_model: ModuleType,
                 rule_names: frozenset[str], ops: tuple[Op, ...]) -> Outcome:
        """`reference_evaluate`'s outcome for `ops` compared as `pre_model` against
        `post_model` under the rules called `rule_names` (the target's pair)."""
        rules = self._rules.get(rule_names)
        if rules is None:
            rules = self._rules[rule_names] = _PairRules(rule_names)
        scene_names = self.scene_names
        scene_ops = tuple(op for op in ops if op.name in scene_names)
        template = self.template(scene_ops)
        kpre, kpost = _boot(template, pre_model.VERSION), _boot(template, post_model.VERSION)
        pre, post = SideRecord(kpre.version, kpre), SideRecord(kpost.version, kpost)
        finding = None
        rules_applied: list[str] = []
        dead_pre = dead_post = False
        carried: frozenset[int] = frozenset()
        t = self.t
        plan_of = self.plan
        index = 0
        for op in ops:
            if op.name in scene_names:
                continue
            plan = plan_of(op)
            a, b, finding, applied, carried = _compare_op(
                t, rules, kpre, kpost, pre_model, post_model, plan.op, plan, index,
                dead_pre, dead_post, carried)
            dead_pre, dead_post = dead_pre or a.oops, dead_post or b.oops
            pre.runs.append(a)
            post.runs.append(b)
            if finding is not None:
                break
            if applied:
                rules_applied.extend(applied)
            index += 1
        return Outcome(Verdict.of(finding, rules_applied), finding, pre, post, rules_applied)


# --- features ---------------------------------------------------------------------------------

_ANON = PageKind.ANON
_KIND_VALUE = {kind: kind.value for kind in PageKind}


def features(scene_names: frozenset[str], ops: tuple[Op, ...],
             outcome: Outcome) -> set[Hashable]:
    """`features.features` (the generic features of `fuzzplug.core.features` and the
    state classes), the same set built in one pass: no generator, each entry class
    computed once per raw entry, the events' details read without a dict."""
    calls = [op for op in ops if op.name not in scene_names]
    out: set[Hashable] = set()
    add = out.add
    for side, record in enumerate((outcome.pre, outcome.post)):
        runs = record.runs
        for op, run in zip(calls, runs):  # core.features.outcome_features
            previous = name = op.name
            for branch in run.branches:
                add(("succ", side, previous, branch))
                previous = branch
            add(("ret", side, name, run.ret))
    add(("verdict", outcome.verdict.value, outcome.signature))
    for rule in outcome.rules_applied:
        add(("rule", rule))
    for side, record in enumerate((outcome.pre, outcome.post)):
        if record.kernel is not None:
            _state_features(side, record.kernel, calls, record.runs, add)
    return out


def _state_features(side: int, k: Kernel, calls: list[Op], runs, add) -> None:
    """`features.state_features`: the hooks' entries from `RecordingKernel.hooks` (or from
    the events, for another kernel: the runs' events are the kernel's, in order), the
    events walked for a failed allocation only when there was one."""
    vma = vma_class(k)
    v = k.vma
    base = v.vm_pgoff - (v.vm_start >> PAGE_SHIFT)  # entry_class: linear_page_index
    kind_of, devmap = k.memmap.kind, k.config.DEVMAP
    classes: dict[tuple[int, int], tuple] = {}
    for vpn, entry in k.mm.pgtable.items():
        add(("pte", side, vma, _entry_class(classes, base, kind_of, devmap, vpn, entry.val)))
    hooks = getattr(k, "hooks", None)
    if hooks is None:
        hooks = [(e.function, e.get("addr"), e.get("new", 0))
                 for run in runs for e in run.events if e.kind is _ARCH]
        alloc_failed = True
    else:
        alloc_failed = k.alloc_failed
    for function, addr, new in hooks:
        if addr is None or function == "update_mmu_cache":
            continue
        add(("hook", side, function,
             _entry_class(classes, base, kind_of, devmap, addr >> PAGE_SHIFT, new)))
    if alloc_failed:
        for op, run in zip(calls, runs):
            for e in run.events:
                if e.kind is _ALLOC_FAIL:
                    add(("alloc_fail", side, op.name, e.function))
    for p in k.pages.values():
        refcount, mapcount = p._refcount, p._mapcount
        anon, dirty, referenced = p.anon, p.dirty, p.referenced
        if p.kind is _ANON:
            pristine = not (refcount or mapcount or anon or dirty or referenced
                            or p.allocated)
        else:
            pristine = (refcount == 1 and not (mapcount or anon or dirty or referenced)
                        and p.allocated is True)
        if not pristine:
            add(("page", side, _KIND_VALUE[p.kind], _bucket(refcount), _bucket(mapcount),
                 anon, dirty, referenced))
    add(("counters", side, tuple([(n > 0) - (n < 0) for n in k.mm.rss_stat.values()])))


def _entry_class(classes: dict, base: int, kind_of, devmap: bool, vpn: int,
                 raw: int) -> tuple:
    """`features.entry_class`, remembered per (vpn, raw) in `classes`."""
    if not raw:
        return ()
    found = classes.get((vpn, raw))
    if found is None:
        pfn = (raw & PTE_PFN_MASK) >> PAGE_SHIFT
        found = classes[vpn, raw] = (raw & ENTRY_BITS, _KIND_VALUE[kind_of(pfn, devmap)],
                                     pfn == base + vpn)
    return found

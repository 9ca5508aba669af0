"""One run's outcome for dax_fault's tasks: what each call returned and showed
(`CallOutcome`), the final state's view (`RunOutcome`, `outcome_of`), and the comparison of
two outcomes (`compare`, `Comparison`), whose differing call names the finding
(`named_call`). `fuzzplug.targets.dax_fault.tasks` searches outcomes and judges them."""

from __future__ import annotations

from dataclasses import dataclass

from fuzzplug.core.oracle import events_diff
from fuzzplug.explore.daxfile import Access, DaxMachine
from fuzzplug.explore.daxtasks import TasksRun
from fuzzplug.explore.observe import observables, signature_diffs
from fuzzplug.targets.dax_fault.programs import Tasks
from fuzzplug.targets.dax_fault.rules import MKWRITE_ONE_FAULT


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """One call of a task's program as the oracle compares it."""

    index: int  # among the input's non-scene ops
    name: str
    user: str
    faults: int | None
    observed: tuple
    branches: tuple


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What the oracle compares of one run of several tasks (see the module docstring):
    per task its calls' outcomes (a call never finished is a HANG, a call after a BUG of its
    task is "dead"), the deadlock (task, what it waits for), and the final normalised
    state."""

    calls: tuple[tuple[CallOutcome, ...], ...]
    deadlock: tuple[tuple[int, str], ...]
    view: tuple


def outcome_of(tasks: Tasks, run: TasksRun, m: DaxMachine) -> RunOutcome:
    from fuzzplug.targets.dax_fault.view import normalised_view, user_view

    per_task = []
    for program, records in zip(tasks.programs, run.calls):
        out = []
        for n, (index, op) in enumerate(program):
            if n < len(records):
                r = records[n]
                faults = r.result.ret.faults if isinstance(r.result.ret, Access) else None
                out.append(CallOutcome(index, op.name, user_view(r.result), faults,
                                       tuple(observables(list(r.events))),
                                       tuple(sorted(set(r.branches)))))
            else:
                out.append(CallOutcome(index, op.name, "dead", None, (), ()))
        per_task.append(tuple(out))
    return RunOutcome(tuple(per_task), tuple(run.deadlock),
                      tuple(sorted(normalised_view(m).items(), key=lambda kv: kv[0])))


@dataclass(slots=True)
class Comparison:
    """The differences between two outcomes (pre, post), the rules that allowed some, and
    the call that names them (`named_call`; None: the final state only) with its branch
    ids on each side (for the record, not the signature)."""

    diffs: list[str]
    rules: list[str]
    at: CallOutcome | None
    pre_branches: tuple = ()
    post_branches: tuple = ()

    @property
    def same(self) -> bool:
        return not self.diffs


def _call_rank(diffs: list[str]) -> int:
    """How strongly a call's differences show: a printed kernel event (WARN, BUG, bad PTE,
    bad HPTE, signal) 0, a return 1, a loaded value 2."""
    return min(2 if d == "load:value" else 1 if d.startswith("ret:") else 0 for d in diffs)


def named_call(differing: list[tuple[CallOutcome, list[str]]]) -> int | None:
    """Which of the calls whose return or printed events differ (each as (post side's
    call, its differences), in task then program order) names a two-task finding: the
    one whose differences show most strongly (`_call_rank`), then the one with the most
    differences (on ppc64's hash MMU the store that rebuilds a hashed PTE, not a load that
    then reads through the stale HPTE), then the first op name in alphabetical order, then
    the first listed. Neither the schedule (which call finished first) nor the tasks'
    numbering (which task is 0) decides it."""
    if not differing:
        return None
    return min(range(len(differing)),
               key=lambda i: (_call_rank(differing[i][1]), -len(differing[i][1]),
                              differing[i][0].name, i))


def compare(a: RunOutcome, b: RunOutcome, names: frozenset[str] | None = None) -> Comparison:
    """Outcome `a` (pre-series) against `b` (post-series), as the module docstring says:
    calls in each task's program order (return and printed events; fault counts only name
    rule mkwrite_one_fault, they are not compared), then the final state and deadlocks.
    The differing call that names the finding is `named_call`'s. `names`: the pair's rules
    (default the series'). Of the fixes' rules, zero_pfn_mismatch_is_silent applies per
    call as in the one-task oracle (`compare.zero_pfn_mismatch_events`, on printed events),
    and of reuse_stores_with_ptep_set_access_flags the part a call shows: the pre side's
    reports of the old store (`compare.old_store_reports`). Its part on the entry (the kept
    bits and the HPTEs, carried while the entry stays as it was) needs the state after each
    op, which a run of several tasks does not compare: the final state is compared whole."""
    from fuzzplug.targets.dax_fault.compare import (
        SERIES_RULE_NAMES,
        old_store_reports,
        zero_pfn_mismatch_events,
    )
    from fuzzplug.targets.dax_fault.rules import (
        REUSE_STORES_WITH_PTEP_SET_ACCESS_FLAGS,
        ZERO_PFN_MISMATCH_IS_SILENT,
    )
    from fuzzplug.targets.dax_fault.view import _MAP_KINDS, view_diff

    names = SERIES_RULE_NAMES if names is None else names
    zero_pfn = ZERO_PFN_MISMATCH_IS_SILENT.name in names
    reuse = REUSE_STORES_WITH_PTEP_SET_ACCESS_FLAGS.name in names

    diffs: list[str] = []
    rules: list[str] = []
    differing: list[tuple[CallOutcome, list[str]]] = []
    branches: list[tuple[tuple, tuple]] = []
    for ta, tb in zip(a.calls, b.calls):
        for ca, cb in zip(ta, tb):
            d: list[str] = []
            if ca.user != cb.user:
                sa, sb = ca.user.split()[0], cb.user.split()[0]
                d.append(f"ret:{sa}->{sb}" if sa != sb else "load:value")
            if (ca.name == "store" and ca.faults is not None and cb.faults is not None
                    and cb.faults < ca.faults and ca.user == cb.user
                    and MKWRITE_ONE_FAULT.name in names
                    and MKWRITE_ONE_FAULT.name not in rules):
                rules.append(MKWRITE_ONE_FAULT.name)  # reported, not compared (see above)
            observed_a, observed_b = list(ca.observed), list(cb.observed)
            if zero_pfn:
                observed_b = zero_pfn_mismatch_events(ca.branches, cb.branches, observed_a,
                                                      observed_b, rules)
            if reuse:
                observed_a = old_store_reports(ca.branches, cb.branches, observed_a,
                                               observed_b, rules)
            d += events_diff(observed_a, observed_b)
            if d:
                differing.append((cb, d))
                branches.append((ca.branches, cb.branches))
            diffs += [x for x in d if x not in diffs]
    if bool(a.deadlock) != bool(b.deadlock):
        diffs.append("deadlock:pre" if a.deadlock else "deadlock:post")
    state = view_diff(dict(a.view), dict(b.view))
    diffs += [_MAP_KINDS.get(x, x) for x in signature_diffs(state) if x not in diffs]
    named = named_call(differing)
    if named is None:
        return Comparison(diffs, rules if not diffs else [], None)
    return Comparison(diffs, [], differing[named][0], *branches[named])

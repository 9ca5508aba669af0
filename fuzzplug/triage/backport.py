"""The backport question: which of the fixes upstream took after a patch must a backport take?

For a target with versions (`fuzzplug.targets.Versioned`: a chain, the version before the
patch first, then the patch, then each fix applied in turn), `fuzzplug backport TARGET`
compares every later version of the chain with the first one and sorts what differs into
divergence classes:

- the inputs: every reproducer in the known list, over every pair of the chain (each known
  finding's `reproducer`), plus an exhaustive search (`fuzzplug.engines.exhaustive`) of each
  pair (first version, V) to a small depth;
- each divergent signature seen for a pair is matched against that pair's known list
  (`fuzzplug.core.known.KnownList`: by signature, or by cause through the causes'
  observables): a known one shows the causes it is made of, an unknown one is a class of
  its own ("new signature", untriaged); and a cause with a reproducer of its own shows
  where that reproducer still diverges in a way the cause alone explains (its observables,
  at its op, under its predicate): how a cause that shares its signature with another
  (the zero-page case of a warning) is told apart;
- one row per class, one column per version compared with the first: `present` (seen, and
  seen with the patch alone), `gone` (seen with the patch alone, not here), `new` (seen
  here, not with the patch alone), `-` (seen in neither);
- per fix (each column after the patch's, against the column before it): what it removes,
  what it introduces, and its intended changes: what its own rules allow against the
  version before it, as the target's advice lists them (`fuzzplug.core.advice.FixChange`),
  each shown by running its reproducer on the fix's own pair (intended, by the named rule)
  and, for a change that takes a cause's post-side behaviour back, on the pairs (first
  version, before) and (first version, with the fix);
- the answer a backporter pastes into a review: which fixes to take, the changes of theirs
  that are more than their stated intent, the companion fixes outside the chain (one
  wording with `fuzzplug report`: `Companion.describe()`), what they remove, what remains
  with all of them (with each class's status from the known list), the risks no upstream
  fix removes, per architecture (a remaining real bug, relaxed or latent class with no
  fix, and where its cause is reached), and the scope of these claims with what shows what
  is out of it (`Advice.scope`, `Advice.out_of_scope`).

Everything is deterministic: the reproducers and signatures are sorted, the exhaustive
search is, and no timing is printed (the logs on stderr have them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from fuzzplug.core.advice import Advice, FixChange
from fuzzplug.core.known import KnownList, Status
from fuzzplug.core.opslang import format_text, parse_text
from fuzzplug.core.oracle import Verdict
from fuzzplug.errors import InputError, TargetError
from fuzzplug.log import get_logger
from fuzzplug.targets import Versioned, advice_of
from fuzzplug.triage.workers import fork_map

PRESENT, GONE, NEW, ABSENT = "present", "gone", "new", "-"
CHANGED = "changed"
UNTRIAGED = "untriaged"


@dataclass(slots=True)
class Cell:
    """One class in one version: the signatures that show it and the shortest input."""

    signatures: set[str] = field(default_factory=set)
    reproducer: str | None = None
    calls: int = 0

    @property
    def present(self) -> bool:
        return bool(self.signatures)

    def offer(self, signature: str, text: str, calls: int) -> None:
        self.signatures.add(signature)
        if self.reproducer is None or (calls, text) < (self.calls, self.reproducer):
            self.reproducer, self.calls = text, calls


@dataclass(slots=True)
class DivergenceClass:
    """A row: a root cause of the known list, or an untriaged signature."""

    id: str
    title: str
    status: str
    label: str = "unclassified"
    """The short label of `fuzzplug.core.known.Status` (`real bug`, `benign`...)."""
    fixes: tuple[str, ...] = ()
    """The upstream commits the known list says fix or relax it."""
    cells: dict[str, Cell] = field(default_factory=dict)
    reach: tuple[tuple[str, str], ...] = ()
    """Where its cause is reached, per architecture (the known list's `reach`)."""

    def cell(self, version: str) -> Cell:
        return self.cells.setdefault(version, Cell())


@dataclass(slots=True)
class Exploration:
    """What the exhaustive search of one pair covered."""

    depth: int
    sequences: int
    signatures: int
    proven: bool
    statement: str


@dataclass(slots=True)
class ChangeEvidence:
    """An intended change of a fix, and what running its reproducer showed: on the fix's own
    pair (`before`..`version`) the verdict and the rules applied; for each cause it takes
    back, whether the pair (first version, before) shows that cause and the pair (first
    version, with the fix) no longer does."""

    change: FixChange
    before: str
    version: str
    verdict: str
    rules: tuple[str, ...]
    reverted: dict[str, bool] = field(default_factory=dict)

    @property
    def shown(self) -> bool:
        return (self.verdict == Verdict.INTENDED.value and self.change.rule in self.rules
                and all(self.reverted.values()))

    def describe(self) -> str:
        c = self.change
        text = f"{c.where}: {c.title}" if c.where else c.title
        text += f" [{c.id}: {c.label.value}, rule {c.rule}"
        if c.fixes:
            text += f"; take {', '.join(c.fixes)} along"
        return text + ("" if self.shown else "; NOT shown by its reproducer") + "]"

    def to_json(self) -> dict:
        c = self.change
        return {"id": c.id, "commit": c.commit, "rule": c.rule, "title": c.title,
                "label": c.label.value, "where": c.where, "reverts": list(c.reverts),
                "fixes": list(c.fixes), "analysis": c.analysis, "reproducer": c.reproducer,
                "pair": f"{self.before}..{self.version}", "verdict": self.verdict,
                "rules_applied": list(self.rules), "reverted": self.reverted,
                "shown": self.shown}


@dataclass(slots=True)
class BackportReport:
    target: str
    base: str
    columns: tuple[str, ...]
    commits: dict[str, str]
    depth: int
    reproducers: int
    classes: list[DivergenceClass]
    explored: dict[str, Exploration]
    advice: Advice = field(default_factory=Advice)
    changes: list[ChangeEvidence] = field(default_factory=list)

    @property
    def seed(self) -> str:
        """The first column: the patch alone."""
        return self.columns[0]

    def change_state(self, evidence: ChangeEvidence, version: str) -> str:
        """`changed` in the fix's column and after it (the chain is cumulative), `-` before;
        `NOT shown` where its reproducer did not show it."""
        if self.columns.index(version) < self.columns.index(evidence.version):
            return ABSENT
        return CHANGED if evidence.shown else "NOT shown"

    def state(self, cls: DivergenceClass, version: str) -> str:
        here = cls.cell(version).present
        with_patch = cls.cell(self.seed).present
        if version == self.seed:
            return PRESENT if here else ABSENT
        if here:
            return PRESENT if with_patch else NEW
        return GONE if with_patch else ABSENT

    def fixes(self) -> list[dict]:
        """Per fix: its version, commit, the classes it removes and those it introduces."""
        out = []
        for before, after in zip(self.columns, self.columns[1:]):
            removes = [c for c in self.classes
                       if c.cell(before).present and not c.cell(after).present]
            introduces = [c for c in self.classes
                          if c.cell(after).present and not c.cell(before).present]
            changes = [e for e in self.changes if e.version == after]
            out.append({"version": after, "from": before, "commit": self.commits[after],
                        "removes": removes, "introduces": introduces, "changes": changes})
        return out

    def chain_commits(self) -> set[str]:
        return {_short(commit) for commit in self.commits.values()}

    def companions(self) -> list[str]:
        """The upstream fixes outside the chain that a remaining class or a fix's change
        calls for, each once, in order, as `Companion.describe()` words them (the bare
        commit when the advice does not describe it)."""
        chain = self.chain_commits()
        wanted = [f for e in self.changes for f in e.change.fixes]
        wanted += [f for c in self.classes if c.cell(self.columns[-1]).present
                   and c.status != UNTRIAGED for f in c.fixes]
        out = []
        for commit in dict.fromkeys(f for f in wanted if f not in chain):
            companion = self.advice.companion(commit)
            out.append(companion.describe() if companion else commit)
        return out

    def risks(self) -> list[DivergenceClass]:
        """The classes that remain with every fix, labelled real bug, relaxed upstream or
        latent, that no upstream fix (of the chain or a companion) removes."""
        last = self.columns[-1]
        severe = {Status.REAL_BUG.value, Status.RELAXED_UPSTREAM.value, Status.LATENT.value}
        return [c for c in self.classes if c.cell(last).present and c.label in severe
                and not c.fixes]

    def scope(self) -> list[str]:
        """The scope of the claims, then each thing out of it with what shows it."""
        out = []
        if self.advice.scope:
            out.append(f"The claims (proven, gone, remains) hold for {self.advice.scope}.")
        out += [f"Out of scope: {o.describe()}." for o in self.advice.out_of_scope]
        return out

    def answer(self) -> str:
        """The paragraph a backporter pastes into a review."""
        fixes = self.fixes()
        take = [f for f in fixes if f["removes"]]
        last = self.columns[-1]
        gone = [c for c in self.classes if c.cell(self.seed).present and not c.cell(last).present]
        remain = [c for c in self.classes if c.cell(last).present]
        if not fixes:
            return "The chain has no fix after the patch."
        parts = []
        if take:
            names = [_short(f["commit"]) for f in take]
            order = " (in this order: each applies on the one before)" if len(take) > 1 else ""
            parts.append(f"Take {_and(names)}{order}.")
        else:
            parts.append("None of the fixes removes a divergence of the patch.")
        skipped = [f for f in fixes if not f["removes"]]
        for f in skipped:
            parts.append(f"{_short(f['commit'])} removes no divergence of the patch.")
        for f in fixes:
            if f["introduces"]:
                parts.append(f"{_short(f['commit'])} introduces: "
                             f"{'; '.join(_label(c) for c in f['introduces'])}.")
            beyond = [e for e in f["changes"] if e.change.label is not Status.BY_DESIGN]
            if beyond:
                parts.append(f"Beyond its stated intent, {_short(f['commit'])}'s rules also "
                             f"allow, on {'; on '.join(e.describe() for e in beyond)}.")
        companions = self.companions()
        if companions:
            parts.append("Companion fixes (outside the chain): " + "; ".join(companions) + ".")
        with_all = "both" if len(take) == 2 else "all of them" if take else "the whole chain"
        if gone:
            parts.append(f"With {with_all}, these are gone: "
                         f"{'; '.join(_label(c) for c in gone)}.")
        if remain:
            untriaged = [c for c in remain if c.status == UNTRIAGED]
            triaged = [c for c in remain if c.status != UNTRIAGED]
            if triaged:
                groups: dict[str, list[str]] = {}
                chain = self.chain_commits()
                for c in sorted(triaged, key=lambda c: _rank(c.label)):
                    outside = [f for f in c.fixes if f not in chain]
                    groups.setdefault(c.label, []).append(
                        c.id + (f" (companion fix: {', '.join(outside)})"
                                if outside else ""))
                parts.append(f"What remains against {self.base}, each analysed in the known "
                             "list: " + "; ".join(f"{label}: {', '.join(ids)}"
                                                   for label, ids in groups.items()) + ".")
            if untriaged:
                parts.append(f"NOT yet triaged ({len(untriaged)} signature"
                             f"{'s' if len(untriaged) != 1 else ''}): "
                             + "; ".join(c.title for c in untriaged) + ".")
        else:
            parts.append(f"With {with_all}, nothing of the patch's divergence from "
                         f"{self.base} remains in this search.")
        paragraphs = [" ".join(parts)]
        risks = self.risks()
        if risks:
            paragraphs.append("Risks no upstream fix removes, per architecture: " + " ".join(
                f"{c.id} ({c.label})" + (" — " + "; ".join(f"{where}: {what}"
                                                           for where, what in c.reach)
                                         if c.reach else "") + "." for c in risks))
        if self.scope():
            paragraphs.append(" ".join(self.scope()))
        return "\n\n".join(paragraphs)

    def to_json(self) -> dict:
        return {
            "target": self.target, "base": self.base, "versions": list(self.columns),
            "commits": self.commits, "depth": self.depth, "reproducers": self.reproducers,
            "explored": {v: {"depth": e.depth, "sequences": e.sequences,
                             "signatures": e.signatures, "proven": e.proven,
                             "statement": e.statement}
                         for v, e in self.explored.items()},
            "classes": [{"id": c.id, "title": c.title, "status": c.status, "label": c.label,
                         "fixes": list(c.fixes), "reach": [list(r) for r in c.reach],
                         "cells": {v: {"state": self.state(c, v),
                                       "signatures": sorted(c.cell(v).signatures),
                                       "reproducer": c.cell(v).reproducer}
                                   for v in self.columns}}
                        for c in self.classes],
            "fixes": [{"version": f["version"], "from": f["from"], "commit": f["commit"],
                       "removes": [c.id for c in f["removes"]],
                       "introduces": [c.id for c in f["introduces"]],
                       "changes": [e.change.id for e in f["changes"]]}
                      for f in self.fixes()],
            "changes": [e.to_json() for e in self.changes],
            "companions": self.companions(),
            "risks": [{"id": c.id, "label": c.label, "reach": [list(r) for r in c.reach]}
                      for c in self.risks()],
            "scope": {"covers": self.advice.scope,
                      "out_of_scope": [{"what": o.what, "why": o.why, "shown_by": o.shown_by}
                                       for o in self.advice.out_of_scope]},
            "answer": self.answer(),
        }


def _rank(label: str) -> int:
    try:
        return Status(label).rank
    except ValueError:
        return len(Status)


def _short(commit: str) -> str:
    return commit.split(" ", 1)[0]


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _label(cls: DivergenceClass) -> str:
    return cls.title if cls.status == UNTRIAGED else f"{cls.title} [{cls.id}]"


def _calls(target, ops) -> int:
    return sum(1 for op in ops if not target.schema.spec(op.name).scene)


def run_backport(target, *, depth: int = 2, jobs: int | None = None,
                 progress: bool = False) -> BackportReport:
    """Compare every version of the target's chain after the first with the first (see the
    module docstring). `depth` 0 runs the known reproducers only."""
    from fuzzplug.engines.exhaustive import run_exhaustive, worker_count

    if not isinstance(target, Versioned):
        raise InputError(f"target {target.name!r} has one pair of models, no chain of "
                         "versions: there is no backport question to answer (it does not "
                         "implement fuzzplug.targets.Versioned)")
    if depth < 0:
        raise InputError(f"--depth must be 0 (reproducers only) or more, got {depth}")
    versions = tuple(target.versions())
    if len(versions) < 2:
        raise InputError(f"target {target.name!r} has fewer than two versions")
    log = get_logger(target=target.name)
    base, columns = versions[0], versions[1:]
    reproducers, classes, own = _known_list(target, versions)
    evaluated = _evaluations(target, base, columns, reproducers, worker_count(jobs))
    explored: dict[str, Exploration] = {}
    for version in columns:
        pair = target.with_pair(base, version)
        known = KnownList.of(pair)
        seen: dict[str, tuple[int, str, tuple]] = {}

        def offer(sig: str, ops) -> None:
            text = format_text(pair.schema, ops)
            entry = (_calls(pair, ops), text, tuple(ops))
            if sig not in seen or entry[:2] < seen[sig][:2]:
                seen[sig] = entry

        for text in reproducers:
            verdict, signature = evaluated[version, text]
            if verdict is Verdict.DIVERGENT:
                offer(signature, parse_text(pair.schema, text))
        if depth:
            report = run_exhaustive(pair, depth, jobs=jobs, progress=progress)
            for hit in report.hits.values():
                offer(hit.signature, hit.ops)
            explored[version] = Exploration(depth, report.sequences, len(report.hits),
                                            report.proven, report.statement())
        for cause_id, text in sorted(own.items()):
            cause = known.causes.get(cause_id)
            if cause is None:
                continue  # the cause is not in this pair's known list
            ops = parse_text(pair.schema, text)
            verdict, signature = evaluated[version, text]
            alone = KnownList(pair.schema, {}, {cause_id: cause})
            if verdict is Verdict.DIVERGENT and alone.match(signature, ops):
                classes[cause_id].cell(version).offer(signature, format_text(
                    pair.schema, ops), _calls(pair, ops))
        for sig, (calls, text, ops) in sorted(seen.items()):
            match = known.match(sig, ops)
            if match is None or not match.causes:
                cls = classes.setdefault(f"new:{sig}", DivergenceClass(
                    f"new:{sig}", f"new signature {sig}", UNTRIAGED, UNTRIAGED))
                cls.cell(version).offer(sig, text, calls)
                continue
            for cause_id in match.causes:
                cause = known.causes.get(cause_id)
                cls = classes.setdefault(cause_id, DivergenceClass(
                    cause_id, cause.title if cause and cause.title else cause_id,
                    (cause.status if cause and cause.status else "triaged"),
                    cause.label.value if cause else Status.UNCLASSIFIED.value,
                    tuple(cause.fixes) if cause else (), reach=cause.reach if cause else ()))
                cls.cell(version).offer(sig, text, calls)
        log.info("backport_version_done", version=version, signatures=len(seen))
    rows = [c for c in classes.values() if any(c.cell(v).present for v in columns)]
    commits = {v: target.commit_of(v) or v for v in columns}
    advice = advice_of(target)
    changes = [_show_change(target, versions, change) for change in advice.changes]
    return BackportReport(target.name, base, columns, commits, depth, len(reproducers),
                          rows, explored, advice, changes)


def _show_change(target, versions: tuple[str, ...], change: FixChange) -> ChangeEvidence:
    """Run a fix's change's reproducer on the fix's own pair, and for each cause it takes
    back on (first version, before) and (first version, with the fix)."""
    made = [v for v in versions[1:] if _short(target.commit_of(v) or "") == change.commit]
    if not made:
        raise TargetError(f"target {target.name!r}: change {change.id!r} names "
                         f"{change.commit}, which makes no version of the chain")
    after = made[0]
    before = versions[versions.index(after) - 1]
    pair = target.with_pair(before, after)
    ops = parse_text(pair.schema, change.reproducer + "\n")
    outcome = pair.evaluate(ops)
    reverted = {}
    for cause_id in change.reverts:
        shows = []
        for version in (before, after):
            if version == versions[0]:
                shows.append(False)
                continue
            against = target.with_pair(versions[0], version)
            out = against.evaluate(ops)
            match = KnownList.of(against).match(out.signature, ops)
            shows.append(out.verdict is Verdict.DIVERGENT and match is not None
                         and cause_id in match.causes)
        reverted[cause_id] = shows == [True, False]
    return ChangeEvidence(change, before, after, outcome.verdict.value,
                          tuple(outcome.rules_applied), reverted)


_WORK: dict = {}
"""What `_evaluate_text` reads in a worker process (set before the processes fork)."""


def _evaluate_text(text: str) -> list[tuple[Verdict, str | None]]:
    """A reproducer's (verdict, signature) on each pair (first version, V), in order."""
    target, base, columns = _WORK["target"], _WORK["base"], _WORK["columns"]
    out = []
    for version in columns:
        pair = target.with_pair(base, version)
        outcome = pair.evaluate(parse_text(pair.schema, text))
        out.append((outcome.verdict, outcome.signature))
    return out


def _evaluations(target, base: str, columns: tuple[str, ...], texts: list[str],
                 jobs: int) -> dict[tuple[str, str], tuple[Verdict, str | None]]:
    """(version, reproducer) → its (verdict, signature) on the pair (first version,
    version). In `jobs` worker processes, one reproducer at a time each, all its pairs in
    one process (the first version's side is evaluated once there, the other pairs read it
    from the target's caches); an evaluation is deterministic and its caches never change
    a verdict, so the answer is the same whatever `jobs`."""
    _WORK.update(target=target, base=base, columns=columns)
    try:
        results = list(fork_map(_evaluate_text, texts, jobs))
    finally:
        _WORK.clear()
    return {(version, text): result for text, per_pair in zip(texts, results)
            for version, result in zip(columns, per_pair)}


def _known_list(target, versions: tuple[str, ...]) -> tuple[list[str], dict, dict]:
    """Every reproducer of the known list over every pair of the chain (sorted, each once),
    its causes, as empty rows in the order the known list gives them, and the causes'
    own reproducers (cause id → text)."""
    reproducers: set[str] = set()
    classes: dict[str, DivergenceClass] = {}
    own: dict[str, str] = {}
    for i, pre in enumerate(versions):
        for post in versions[i + 1:]:
            pair = target.with_pair(pre, post)
            for record in pair.known_findings().values():
                if record.get("reproducer"):
                    reproducers.add(record["reproducer"].strip() + "\n")
            for cause in KnownList.of(pair).causes.values():
                if cause.reproducer:
                    reproducers.add(cause.reproducer + "\n")
                    own[cause.id] = cause.reproducer + "\n"
                classes.setdefault(cause.id, DivergenceClass(
                    cause.id, cause.title or cause.id, cause.status or "triaged",
                    cause.label.value, tuple(cause.fixes), reach=cause.reach))
    return sorted(reproducers), classes, own


# --- output ------------------------------------------------------------------------------------

def render_markdown(report: BackportReport) -> str:
    cols = report.columns
    lines = [f"# The backport question: {report.target}", "",
             f"Each version of the chain compared with {report.base}: "
             f"{' → '.join((report.base,) + cols)}.", "",
             "## Answer", "", report.answer(), "",
             "## Divergence classes", "",
             "| class | label | " + " | ".join(f"`{v}`" for v in cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for c in report.classes:
        name = c.title if c.status == UNTRIAGED else f"{c.title} (`{c.id}`)"
        lines.append(f"| {_md(name)} | {c.label} | "
                     + " | ".join(report.state(c, v) for v in cols) + " |")
    if report.changes:
        lines += ["", "## Intended changes of the fixes", "",
                  "What each fix's own rules allow against the version before it "
                  f"(`{CHANGED}` from that fix on; its reproducer run on the fix's pair):", "",
                  "| change | label | where | " + " | ".join(f"`{v}`" for v in cols) + " |",
                  "|---|---|---|" + "---|" * len(cols)]
        for e in report.changes:
            lines.append(f"| {_md(e.change.title)} (`{e.change.id}`, rule "
                         f"`{e.change.rule}`) | {e.change.label.value} | {_md(e.change.where)} | "
                         + " | ".join(report.change_state(e, v) for v in cols) + " |")
    lines += ["", "## Per fix", ""]
    for f in report.fixes():
        lines.append(f"### {f['commit']}: {f['from']} → {f['version']}")
        lines.append("")
        lines.append("- removes: " + (", ".join(f"`{c.id}`" for c in f["removes"]) or "nothing"))
        lines.append(f"- introduces (against {report.base}): "
                     + (", ".join(f"`{c.id}`" for c in f["introduces"]) or "nothing"))
        lines.append(f"- changes (its rules allow, against {f['from']}): "
                     + ("; ".join(_md(e.describe()) for e in f["changes"]) or "none listed"))
        lines.append("")
    lines += ["## Evidence", ""]
    lines.append(f"- {report.reproducers} reproducers of the known list, run on every pair "
                 f"({report.base}, V).")
    for v, e in report.explored.items():
        lines.append(f"- `{report.base}..{v}`, exhaustive to depth {e.depth}: "
                     f"{e.sequences:,} sequences, {e.signatures} divergent signature(s); "
                     f"{_proven(report, e)}.")
    if not report.explored:
        lines.append("- no exhaustive search (depth 0).")
    for e in report.changes:
        lines.append(f"- change `{e.change.id}` on `{e.before}..{e.version}`: {e.verdict} "
                     f"({', '.join(e.rules) or 'no rule'})"
                     + "".join(f"; `{cause}` against {report.base}: "
                               + ("shown before the fix, not with it" if ok
                                  else "NOT taken back by the fix")
                               for cause, ok in e.reverted.items())
                     + ".")
    lines += ["", "Shortest reproducer of each class, in the last version it shows in:", ""]
    for c in report.classes:
        version = next(v for v in reversed(cols) if c.cell(v).present)
        lines.append(f"`{c.id}` ({report.base}..{version}):")
        lines.append("```")
        lines.extend(c.cell(version).reproducer.rstrip("\n").splitlines())
        lines.append("```")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_text(report: BackportReport) -> str:
    cols = report.columns
    header = ["CLASS", "LABEL"] + list(cols)
    rows = [[c.id, c.label] + [report.state(c, v) for v in cols] for c in report.classes]
    lines = [f"backport: {report.target}, each version compared with {report.base}", ""]
    lines += _columns([header] + rows)
    if report.changes:
        lines += ["", "intended changes of the fixes (each against the version before it):"]
        lines += _columns([["CHANGE", "LABEL"] + list(cols)]
                          + [[e.change.id, e.change.label.value]
                             + [report.change_state(e, v) for v in cols]
                             for e in report.changes])
    lines.append("")
    for f in report.fixes():
        lines.append(f"{f['commit']} ({f['from']} -> {f['version']}):")
        lines.append("  removes:    " + (", ".join(c.id for c in f["removes"]) or "nothing"))
        lines.append("  introduces: " + (", ".join(c.id for c in f["introduces"]) or "nothing")
                     + f" (against {report.base})")
        lines.append(f"  changes:    " + ("none listed" if not f["changes"] else
                                           f"(its rules allow, against {f['from']})"))
        lines += [f"    {e.describe()}" for e in f["changes"]]
    lines += ["", report.answer(), ""]
    lines.append(f"evidence: {report.reproducers} known reproducers on every pair"
                 + "".join(f"; {report.base}..{v} exhaustive to depth {e.depth}: "
                           f"{e.sequences:,} sequences, {_proven(report, e)}"
                           for v, e in report.explored.items()))
    return "\n".join(lines) + "\n"


def _columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def _proven(report: BackportReport, e: Exploration) -> str:
    if not e.proven:
        return "NOT proven"
    return "proven within the scope the answer states" if report.advice.scope else "proven"


def render_json(report: BackportReport) -> str:
    return json.dumps(report.to_json(), indent=1, sort_keys=True) + "\n"


RENDERERS = {"text": render_text, "md": render_markdown, "json": render_json}

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
- per fix (each column after the patch's, against the column before it): what it removes
  and what it introduces; then the answer a backporter pastes into a review: which fixes to
  take, what they remove, and what remains with all of them (with each class's status from
  the known list).

Everything is deterministic: the reproducers and signatures are sorted, the exhaustive
search is, and no timing is printed (the logs on stderr have them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from fuzzplug.core.known import KnownList, Status
from fuzzplug.core.opslang import format_text, parse_text
from fuzzplug.core.oracle import Verdict
from fuzzplug.errors import InputError
from fuzzplug.log import get_logger
from fuzzplug.targets import Versioned

PRESENT, GONE, NEW, ABSENT = "present", "gone", "new", "-"
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
class BackportReport:
    target: str
    base: str
    columns: tuple[str, ...]
    commits: dict[str, str]
    depth: int
    reproducers: int
    classes: list[DivergenceClass]
    explored: dict[str, Exploration]

    @property
    def seed(self) -> str:
        """The first column: the patch alone."""
        return self.columns[0]

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
            out.append({"version": after, "from": before, "commit": self.commits[after],
                        "removes": removes, "introduces": introduces})
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
        with_all = "both" if len(take) == 2 else "all of them" if take else "the whole chain"
        if gone:
            parts.append(f"With {with_all}, these are gone: "
                         f"{'; '.join(_label(c) for c in gone)}.")
        if remain:
            untriaged = [c for c in remain if c.status == UNTRIAGED]
            triaged = [c for c in remain if c.status != UNTRIAGED]
            if triaged:
                groups: dict[str, list[str]] = {}
                chain = {_short(commit) for commit in self.commits.values()}
                for c in sorted(triaged, key=lambda c: _rank(c.label)):
                    outside = [f for f in c.fixes if f not in chain]
                    groups.setdefault(c.label, []).append(
                        c.id + (f" (fixed upstream apart: {', '.join(outside)})"
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
        return " ".join(parts)

    def to_json(self) -> dict:
        return {
            "target": self.target, "base": self.base, "versions": list(self.columns),
            "commits": self.commits, "depth": self.depth, "reproducers": self.reproducers,
            "explored": {v: {"depth": e.depth, "sequences": e.sequences,
                             "signatures": e.signatures, "proven": e.proven,
                             "statement": e.statement}
                         for v, e in self.explored.items()},
            "classes": [{"id": c.id, "title": c.title, "status": c.status, "label": c.label,
                         "fixes": list(c.fixes),
                         "cells": {v: {"state": self.state(c, v),
                                       "signatures": sorted(c.cell(v).signatures),
                                       "reproducer": c.cell(v).reproducer}
                                   for v in self.columns}}
                        for c in self.classes],
            "fixes": [{"version": f["version"], "from": f["from"], "commit": f["commit"],
                       "removes": [c.id for c in f["removes"]],
                       "introduces": [c.id for c in f["introduces"]]}
                      for f in self.fixes()],
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
    from fuzzplug.engines.exhaustive import run_exhaustive

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
            ops = parse_text(pair.schema, text)
            outcome = pair.evaluate(ops)
            if outcome.verdict is Verdict.DIVERGENT:
                offer(outcome.signature, ops)
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
            outcome = pair.evaluate(ops)
            alone = KnownList(pair.schema, {}, {cause_id: cause})
            if outcome.verdict is Verdict.DIVERGENT and alone.match(outcome.signature, ops):
                classes[cause_id].cell(version).offer(outcome.signature, format_text(
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
                    tuple(cause.fixes) if cause else ()))
                cls.cell(version).offer(sig, text, calls)
        log.info("backport_version_done", version=version, signatures=len(seen))
    rows = [c for c in classes.values() if any(c.cell(v).present for v in columns)]
    commits = {v: target.commit_of(v) or v for v in columns}
    return BackportReport(target.name, base, columns, commits, depth, len(reproducers),
                          rows, explored)


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
                    cause.label.value, tuple(cause.fixes)))
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
    lines += ["", "## Per fix", ""]
    for f in report.fixes():
        lines.append(f"### {f['commit']}: {f['from']} → {f['version']}")
        lines.append("")
        lines.append("- removes: " + (", ".join(f"`{c.id}`" for c in f["removes"]) or "nothing"))
        lines.append("- introduces: "
                     + (", ".join(f"`{c.id}`" for c in f["introduces"]) or "nothing"))
        lines.append("")
    lines += ["## Evidence", ""]
    lines.append(f"- {report.reproducers} reproducers of the known list, run on every pair "
                 f"({report.base}, V).")
    for v, e in report.explored.items():
        lines.append(f"- `{report.base}..{v}`, exhaustive to depth {e.depth}: "
                     f"{e.sequences:,} sequences, {e.signatures} divergent signature(s); "
                     f"{'proven' if e.proven else 'NOT proven'}.")
    if not report.explored:
        lines.append("- no exhaustive search (depth 0).")
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
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    lines = [f"backport: {report.target}, each version compared with {report.base}", ""]
    for row in [header] + rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    lines.append("")
    for f in report.fixes():
        lines.append(f"{f['commit']} ({f['from']} -> {f['version']}):")
        lines.append("  removes:    " + (", ".join(c.id for c in f["removes"]) or "nothing"))
        lines.append("  introduces: " + (", ".join(c.id for c in f["introduces"]) or "nothing"))
    lines += ["", report.answer(), ""]
    lines.append(f"evidence: {report.reproducers} known reproducers on every pair"
                 + "".join(f"; {report.base}..{v} exhaustive to depth {e.depth}: "
                           f"{e.sequences:,} sequences, "
                           f"{'proven' if e.proven else 'NOT proven'}"
                           for v, e in report.explored.items()))
    return "\n".join(lines) + "\n"


def render_json(report: BackportReport) -> str:
    return json.dumps(report.to_json(), indent=1, sort_keys=True) + "\n"


RENDERERS = {"text": render_text, "md": render_markdown, "json": render_json}

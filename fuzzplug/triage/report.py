"""A report a maintainer can act on: `fuzzplug report TARGET FINDINGS_DIR... [--format F]`.

The findings below the folders — findings folders, crash files, the inboxes of killed runs
(everything `fuzzplug.triage.triage` reads, re-run the same way) — and the known signatures
the runs suppressed (each run's `summary.json` and inboxes count them, without a
reproducer), grouped by root cause with the target's known list (`fuzzplug.core.known`):

1. every signature the known list does not recognise, marked NEW, most hits first, with
   the observables of it that no applicable known cause explains (`KnownList.explain`);
2. every root cause met, most severe label first (then in the known list's order): its
   label and status, the upstream fixes to take along (a companion fix outside the
   target's chain worded as `fuzzplug backport` words it: `Companion.describe()` of the
   target's advice), where it is reached per architecture (`reach`), the signatures it shows in (a
   combination is listed under each of its causes, with the others named), the hits, the
   configurations that reach it (the scene of each signature's shortest reproducer), and
   the shortest reproducer in the text form, preferring one where the cause is alone;
3. known signatures the list gives no cause (a target without `KnownCauses`).

The text (`text`, for a mailing-list reply) and Markdown (`md`, for a bug tracker) forms say
the same; `json` gives the same content as one object. The output depends only on the
inputs: no times, every list in a fixed order.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from fuzzplug.core.findings import INBOX_NAME, read_inbox
from fuzzplug.core.advice import Advice
from fuzzplug.core.known import KnownList, KnownMatch, Status, Unexplained
from fuzzplug.core.opslang import Op, format_text
from fuzzplug.core.words import plural
from fuzzplug.errors import InputError
from fuzzplug.targets import advice_of, pair_name
from fuzzplug.triage.triage import Group, triage

__all__ = ["FORMATS", "Report", "build_report", "render"]

FORMATS = ("text", "md", "json")
WIDTH = 78


@dataclass(slots=True)
class Signature:
    """One signature in the report: hits, how it is known, its shortest reproducer."""

    signature: str
    hits: int
    match: KnownMatch | None
    files: int = 0
    reproduces: bool = True
    path: str | None = None  # the shortest reproducer's file; None if only counted
    calls: int = 0
    text: str = ""  # the shortest reproducer in the text form
    scene: str = ""  # its scene ops, one line
    ops: tuple[Op, ...] | None = None  # the shortest reproducer's ops
    unexplained: tuple[Unexplained, ...] = ()  # a new one: what no known cause explains

    def to_json(self) -> dict:
        out = {"signature": self.signature, "hits": self.hits, "files": self.files,
               "known": self.match.to_json() if self.match else None}
        if self.match is None:
            out["unexplained"] = [u.to_json() for u in self.unexplained]
        if self.path is not None:
            out.update(reproduces=self.reproduces, configuration=self.scene,
                       reproducer={"path": self.path, "calls": self.calls, "text": self.text})
        return out


@dataclass(slots=True)
class CauseSection:
    """One root cause and the signatures it shows in."""

    id: str
    title: str
    label: Status
    status: str
    fixes: tuple[str, ...]
    analysis: str
    signatures: list[Signature] = field(default_factory=list)
    reach: tuple[tuple[str, str], ...] = ()

    @property
    def hits(self) -> int:
        return sum(s.hits for s in self.signatures)

    def configurations(self) -> list[str]:
        return sorted({s.scene for s in self.signatures if s.path is not None})

    def shortest(self) -> Signature | None:
        """The shortest reproducer, one where this cause is alone if there is one."""
        with_repro = [s for s in self.signatures if s.path is not None]
        if not with_repro:
            return None
        return min(with_repro, key=lambda s: (s.match is None or s.match.causes != (self.id,),
                                              s.calls, len(s.text), s.signature))

    def others(self, sig: Signature) -> list[str]:
        return [c for c in sig.match.causes if c != self.id] if sig.match else []

    def to_json(self) -> dict:
        short = self.shortest()
        return {"id": self.id, "title": self.title, "label": self.label.value,
                "status": self.status, "fixes": list(self.fixes), "hits": self.hits,
                "reach": [list(r) for r in self.reach],
                "analysis": self.analysis, "configurations": self.configurations(),
                "signatures": [dict(s.to_json(), with_causes=self.others(s))
                               for s in self.signatures],
                "shortest": short.to_json()["reproducer"] if short else None}


@dataclass(slots=True)
class Report:
    """Everything the report says, before it is rendered."""

    target: str
    description: str
    inputs: list[str]
    new: list[Signature]
    causes: list[CauseSection]
    unclassified: list[Signature]
    skipped: int = 0  # signatures of other targets found in the folders
    advice: Advice = field(default_factory=Advice)

    def signatures(self) -> list[Signature]:
        seen: dict[str, Signature] = {}
        for s in self.new + self.unclassified + [s for c in self.causes for s in c.signatures]:
            seen.setdefault(s.signature, s)
        return list(seen.values())

    def fixes(self) -> list[tuple[str, CauseSection]]:
        """Each upstream fix once, with the first (most severe) cause that needs it."""
        out: dict[str, CauseSection] = {}
        for cause in self.causes:
            for fix in cause.fixes:
                out.setdefault(fix, cause)
        return list(out.items())

    def fix_note(self, fix: str, cause: "CauseSection") -> str:
        """What the header says of a fix: the cause it is for, and a companion fix's
        wording (`Companion.note()`, the same as `fuzzplug backport`'s)."""
        companion = self.advice.companion(fix)
        why = f"{cause.label.value}: {cause.id}"
        return f"{companion.note()}; {why}" if companion else why

    def to_json(self) -> dict:
        sigs = self.signatures()
        return {"target": self.target, "description": self.description,
                "inputs": self.inputs,
                "totals": {"signatures": len(sigs), "hits": sum(s.hits for s in sigs),
                           "new": len(self.new), "known": len(sigs) - len(self.new),
                           "causes": len(self.causes)},
                "fixes": [{"commit": fix, "cause": cause.id, "label": cause.label.value,
                           "companion": (c.to_json() if (c := self.advice.companion(fix))
                                         else None)}
                          for fix, cause in self.fixes()],
                "new": [s.to_json() for s in self.new],
                "causes": [c.to_json() for c in self.causes],
                "unclassified": [s.to_json() for s in self.unclassified],
                "skipped_other_targets": self.skipped}


def _scene(target, ops: tuple[Op, ...]) -> str:
    scene = [op for op in ops if target.schema.spec(op.name).scene]
    text = format_text(target.schema, scene).strip().replace("\n", "; ")
    return text or "(the default scene)"


def _from_group(target, group: Group) -> Signature:
    short = group.shortest
    path = short.path
    if path.name == "repro.bin" and path.with_name("repro.ops").is_file():
        path = path.with_name("repro.ops")  # the same input, in the form people read
    return Signature(group.signature, group.hits, group.match, len(group.members),
                     all(m.reproduces for m in group.members), str(path), short.calls,
                     format_text(target.schema, short.ops), _scene(target, short.ops),
                     short.ops)


def _calls(n: int) -> str:
    return plural(n, "call")


def _suppressed_counts(dirs: list[str], target: str,
                       pair: str | None) -> dict[str, dict]:
    """Known signatures the runs of `target` on `pair` suppressed: `summary.json`'s
    `known_hits` (suppressed ones) and the inboxes' `suppressed.*.json`, signature →
    {count, causes, by}."""
    out: dict[str, dict] = {}

    def add(sig: str, entry: dict) -> None:
        have = out.setdefault(sig, {"count": 0, "causes": entry.get("causes", []),
                                    "by": entry.get("by", "signature")})
        have["count"] += int(entry.get("count", 0))

    for d in dirs:
        root = Path(d)
        for path in sorted(root.rglob("summary.json")):
            if any(p.startswith(".") for p in path.relative_to(root).parts):
                continue
            try:
                summary = json.loads(path.read_text())
                if (summary.get("target", target) != target
                        or (summary.get("pair") or pair) != pair):
                    continue  # another target's run, or another pair's
                hits = [h for h in summary.get("known_hits", []) if h.get("suppressed")]
            except (OSError, ValueError, AttributeError):
                raise InputError(f"{path}: not a fuzzplug summary.json") from None
            for hit in hits:
                add(hit["signature"], hit)
        for inbox in sorted(p for p in root.rglob(".inbox-*")
                            if p.is_dir() and INBOX_NAME.fullmatch(p.name)):
            found = read_inbox(inbox)
            if (found.target or target) != target or (found.pair or pair) != pair:
                continue
            for sig, entry in found.suppressed.items():
                add(sig, entry)
    return out


def build_report(target, dirs: list[str]) -> Report:
    """Read, re-run and group the findings below `dirs` for `target` (see the module
    docstring); for a target with versions, the findings of the pair it compares (a record
    without a pair is taken to be of that pair)."""
    known = KnownList.of(target)
    pair = pair_name(target)
    groups = triage(dirs, target.name, pair)
    ours = [g for g in groups if g.target == target.name and g.pair == pair
            and not g.signature.startswith("<")]
    sigs = {g.signature: _from_group(target, g) for g in ours}
    for sig, entry in sorted(_suppressed_counts(dirs, target.name, pair).items()):
        if sig in sigs:
            sigs[sig].hits += entry["count"]
        else:
            match = known.match(sig) or KnownMatch(tuple(entry["causes"]),
                                                   entry["by"] == "signature")
            sigs[sig] = Signature(sig, entry["count"], match)
    if not sigs:
        raise InputError(_nothing_found(target, pair, dirs, groups))
    order = lambda s: (-s.hits, s.signature)  # noqa: E731
    new = sorted((s for s in sigs.values() if s.match is None), key=order)
    for s in new:
        s.unexplained = known.explain(s.signature, s.ops)
    sections: dict[str, CauseSection] = {}
    unclassified = []
    for s in sorted(sigs.values(), key=order):
        if s.match is None:
            continue
        causes = [c for c in s.match.causes if c in known.causes]
        if not causes:
            unclassified.append(s)
        for cause_id in causes:
            c = known.causes[cause_id]
            sections.setdefault(cause_id, CauseSection(
                c.id, c.title, c.label, c.status, c.fixes, c.analysis,
                reach=c.reach)).signatures.append(s)
    listed = list(known.causes)
    causes = sorted(sections.values(), key=lambda c: (c.label.rank, listed.index(c.id)))
    return Report(target.name, target.description, list(dirs), new, causes, unclassified,
                  skipped=len(groups) - len(ours), advice=advice_of(target))


def _nothing_found(target, pair: str | None, dirs: list[str], groups: list[Group]) -> str:
    """Why a report would be empty: the folders hold another target's (or pair's)
    findings, or none at all."""
    where = ", ".join(dirs)
    others = sorted({g.target if g.target != target.name else f"{g.target} {g.pair}"
                     for g in groups if g.target != target.name or g.pair != pair})
    if others:
        return (f"{where}: no findings of {target.name}"
                + (f" {pair}" if pair and target.name in {g.target for g in groups} else "")
                + f"; the findings there are {', '.join(others)}'s")
    return (f"{where}: no divergent signature of {target.name} recorded there (no findings "
            "folders, crash files or inboxes, and no known signature a run's summary.json "
            "counts); nothing to report")


# --- rendering ---------------------------------------------------------------------------------

def _headline(report: Report) -> list[str]:
    sigs = report.signatures()
    known = len(sigs) - len(report.new)
    lines = [f"{plural(len(sigs), 'divergent signature')}, "
             f"{plural(sum(s.hits for s in sigs), 'hit')}: {len(report.new)} new, {known} known "
             f"({plural(len(report.causes), 'root cause')})"]
    if report.skipped:
        lines.append(f"({plural(report.skipped, 'group')} of other targets or verdicts left "
                     "out)")
    return lines


def _sig_line(s: Signature, others: list[str]) -> str:
    extra = f", with {' + '.join(others)}" if others else ""
    where = "" if s.path is not None else ", suppressed: no reproducer kept"
    bad = "" if s.reproduces else ", DOES NOT REPRODUCE"
    return f"{s.signature} ({plural(s.hits, 'hit')}{extra}{where}{bad})"


def _render_text(report: Report) -> str:
    lines = [f"fuzzplug report: {report.target} ({report.description})",
             f"findings: {', '.join(report.inputs)}"]
    lines += _headline(report)
    if report.fixes():
        lines.append("upstream fixes to take along: " + ", ".join(
            f"{fix} ({report.fix_note(fix, cause)})" for fix, cause in report.fixes()))
    for s in report.new:
        lines += ["", f"== NEW: {s.signature}", f"hits: {s.hits}"
                  + ("" if s.reproduces else " (DOES NOT REPRODUCE)")]
        lines += [f"unexplained: {u.describe()}" for u in s.unexplained]
        if s.path is not None:
            lines += [f"configuration: {s.scene}",
                      f"shortest reproducer ({_calls(s.calls)}, {s.path}):"]
            lines += [f"    {line}" for line in s.text.splitlines()]
    for c in report.causes:
        lines += ["", f"== {c.label.value}: {c.title}",
                  f"cause: {c.id} (status {c.status or c.label.value})",
                  f"upstream fixes: {', '.join(c.fixes) if c.fixes else 'none'}",
                  f"signatures: {len(c.signatures)}, hits: {c.hits}"]
        lines += [f"  {_sig_line(s, c.others(s))}" for s in c.signatures]
        if c.reach:
            lines.append("reach:")
            for where, what in c.reach:
                lines += textwrap.wrap(f"{where}: {what}", WIDTH, initial_indent="  - ",
                                       subsequent_indent="    ", break_on_hyphens=False)
        if c.configurations():
            lines.append("configurations: " + " | ".join(c.configurations()))
        short = c.shortest()
        if short is not None:
            lines.append(f"shortest reproducer ({_calls(short.calls)}, {short.path}):")
            lines += [f"    {line}" for line in short.text.splitlines()]
        if c.analysis:
            lines += ["analysis:"] + textwrap.wrap(c.analysis, WIDTH, initial_indent="  ",
                                                   subsequent_indent="  ")
    if report.unclassified:
        lines += ["", "== known, no cause given"]
        lines += [f"  {_sig_line(s, [])}" for s in report.unclassified]
    return "\n".join(lines) + "\n"


def _render_md(report: Report) -> str:
    lines = [f"## fuzzplug report: `{report.target}`", "", report.description, "",
             f"Findings: {', '.join(f'`{d}`' for d in report.inputs)}.", ""]
    lines += _headline(report)
    if report.fixes():
        lines += ["", "**Upstream fixes to take along:** " + ", ".join(
            f"`{fix}` ({report.fix_note(fix, cause)})" for fix, cause in report.fixes())]

    def repro(s: Signature) -> list[str]:
        return [f"Shortest reproducer ({_calls(s.calls)}, `{s.path}`):", "", "```",
                *s.text.splitlines(), "```"]

    for s in report.new:
        lines += ["", f"### NEW: `{s.signature}`", "", f"- hits: {s.hits}"
                  + ("" if s.reproduces else " (**does not reproduce**)")]
        lines += [f"- unexplained: `{u.observable}` {u.describe()[len(u.observable) + 1:]}"
                  for u in s.unexplained]
        if s.path is not None:
            lines += [f"- configuration: `{s.scene}`", ""] + repro(s)
    for c in report.causes:
        lines += ["", f"### {c.label.value}: {c.title}", "",
                  f"- cause: `{c.id}` (status {c.status or c.label.value})",
                  f"- upstream fixes: {', '.join(f'`{f}`' for f in c.fixes) or 'none'}",
                  f"- signatures: {len(c.signatures)}, hits: {c.hits}"]
        lines += [f"  - `{s.signature}` ({_sig_line(s, c.others(s)).split(' (', 1)[1]}"
                  for s in c.signatures]
        if c.reach:
            lines.append("- reach:")
            lines += [f"  - {where}: {what}" for where, what in c.reach]
        if c.configurations():
            lines.append("- configurations: " + ", ".join(f"`{x}`" for x in c.configurations()))
        short = c.shortest()
        if short is not None:
            lines += [""] + repro(short)
        if c.analysis:
            lines += ["", c.analysis]
    if report.unclassified:
        lines += ["", "### known, no cause given", ""]
        lines += [f"- `{s.signature}` ({plural(s.hits, 'hit')})" for s in report.unclassified]
    return "\n".join(lines) + "\n"


def render(report: Report, fmt: str) -> str:
    """The report in `fmt`: `text`, `md` or `json`."""
    if fmt == "json":
        return json.dumps(report.to_json(), indent=1, sort_keys=True) + "\n"
    if fmt == "md":
        return _render_md(report)
    return _render_text(report)

"""What a known list tells a backporter beside the divergence classes (the optional
capability `fuzzplug.targets.Advised`): the scope of the claims and which target shows what
is out of it (`OutOfScope`), companion fixes outside the target's chain (`Companion`), and
each fix's intended changes with a reproducer (`FixChange`). `advice_from_toml` reads the
`[scope]`, `[[companion]]` and `[[change]]` tables of a known-findings TOML;
`fuzzplug backport` and `fuzzplug report` print them (`fuzzplug.triage`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fuzzplug.core.known import Status
from fuzzplug.errors import TargetError


@dataclass(frozen=True, slots=True)
class Companion:
    """An upstream fix outside the target's chain of versions that a backport should take
    along with fixes of the chain (`with_`) where `where` says; `why` is its analysis. The
    one wording `fuzzplug backport` and `fuzzplug report` both print is `describe()`."""

    commit: str
    subject: str = ""
    upstream: str = ""
    """Where upstream and the stable trees have it."""
    with_: tuple[str, ...] = ()
    where: str = ""
    why: str = ""

    def note(self) -> str:
        """`companion fix of <with>, where <where>`."""
        text = "companion fix" + (f" of {', '.join(self.with_)}" if self.with_ else "")
        return text + (f", where {self.where}" if self.where else "")

    def describe(self) -> str:
        """`<commit> ("<subject>"; <upstream>): companion fix of ..., where ...`."""
        head = self.commit
        if self.subject or self.upstream:
            head += " (" + "; ".join(x for x in (f'"{self.subject}"' if self.subject else "",
                                                 self.upstream) if x) + ")"
        return f"{head}: {self.note()}"

    def to_json(self) -> dict:
        return {"commit": self.commit, "subject": self.subject, "upstream": self.upstream,
                "with": list(self.with_), "where": self.where, "why": self.why,
                "describe": self.describe()}


@dataclass(frozen=True, slots=True)
class FixChange:
    """An intended change of a fix of the chain (`commit`), allowed by its rule `rule`, that
    a backport should know of: what it does `where`, with a `reproducer` that shows it on
    the fix's own pair (the version before it against the version with it). `reverts`:
    causes of the known list whose post-side behaviour the change takes back on that path
    (the fixed version behaves as the base version again); `fixes`: the companion fixes it
    calls for."""

    id: str
    commit: str
    rule: str
    title: str
    label: Status = Status.BY_DESIGN
    where: str = ""
    reverts: tuple[str, ...] = ()
    fixes: tuple[str, ...] = ()
    reproducer: str = ""
    analysis: str = ""


@dataclass(frozen=True, slots=True)
class OutOfScope:
    """What a target's claims ("proven", "gone", "remains") leave out (`what`), why, and
    which target or command shows it instead (`shown_by`; "" when nothing does)."""

    what: str
    why: str = ""
    shown_by: str = ""

    def describe(self) -> str:
        text = self.what + (f" ({self.why})" if self.why else "")
        return text + (f": {self.shown_by}" if self.shown_by else ": shown by no target")


@dataclass(frozen=True, slots=True)
class Advice:
    """What a target's known list says to a backporter beside the classes (the optional
    capability `fuzzplug.targets.Advised`): the scope of its claims (`scope`, what they
    cover; `out_of_scope`), companion fixes, and the fixes' intended changes."""

    scope: str = ""
    out_of_scope: tuple[OutOfScope, ...] = ()
    companions: tuple[Companion, ...] = ()
    changes: tuple[FixChange, ...] = ()

    def companion(self, commit: str) -> Companion | None:
        return next((c for c in self.companions if c.commit == commit), None)


def advice_from_toml(data: Mapping) -> Advice:
    """The `[scope]`, `[[out_of_scope]]`, `[[companion]]` and `[[change]]` tables of a
    known-findings TOML document as an `Advice`; `TargetError` for a malformed entry."""
    try:
        scope = data.get("scope", {})
        out = tuple(OutOfScope(raw["what"], raw.get("why", ""), raw.get("shown_by", ""))
                    for raw in scope.get("out_of_scope", ()))
        companions = tuple(Companion(raw["commit"], raw.get("subject", ""),
                                     raw.get("upstream", ""), tuple(raw.get("with", ())),
                                     raw.get("where", ""), raw.get("why", "").strip())
                           for raw in data.get("companion", ()))
        changes = tuple(FixChange(raw["id"], raw["commit"], raw["rule"], raw["title"],
                                  Status(raw.get("label", Status.BY_DESIGN.value)),
                                  raw.get("where", ""), tuple(raw.get("reverts", ())),
                                  tuple(raw.get("fixes", ())),
                                  raw.get("reproducer", "").strip(),
                                  raw.get("analysis", "").strip())
                        for raw in data.get("change", ()))
        return Advice(scope.get("covers", "").strip(), out, companions, changes)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise TargetError(f"known findings: malformed backport advice: {exc!r}") from None

"""The known list: triaged divergences, matched by exact signature or by root cause.

A target's known findings (`Target.known_findings()`, signature → record with its `causes`)
name the divergences already triaged. A target may also describe the root causes behind
them (the optional capability `fuzzplug.targets.KnownCauses`: `known_causes()`, id →
`Cause`): a title, a status, a short `Status` label, the upstream commits that fix or relax
it (`fixes`), and what the cause is made of — the primary observables it produces
(`observables`: `warn:<function>:<condition>`, `promise:pte.RW`, `state:page+pte`...), the
ops it shows at (`ops`) and an optional predicate on the input (`when`: op lines in the
text form, `config arch=ppc64`; a scene op must have those values, its defaults when the
input has none; a call op must occur with them).

`KnownList.match(signature, ops)` says whether a divergence is known:

- *by signature*: the signature is listed (its causes are the record's);
- *by cause*: a set of causes explains the divergence — the divergence is at an op every
  one of them declares (or they declare none), each one's `when` holds for the input, and
  EVERY primary observable of the signature is one that some cause of the set declares.
  A divergence with one observable that no applicable cause declares stays new, however
  many known ones come with it. The smallest such set is reported ("known: causes A + B";
  ties in the order the causes are listed).

Matching suppresses (`fuzz`, the harness, the Hypothesis engine) and classifies (`triage`,
`report`, the summary line); it never changes a verdict or a signature. The oracle's
intended delta is the target's rule table and nothing here.

A farm's own known list (`FUZZPLUG_KNOWN`, a list of TOML files separated by `os.pathsep`;
the CLI's `--known FILE` adds to it for one command, so processes it starts inherit it) is
merged into every target's (`KnownList.of`): the same `[[cause]]` and `[[finding]]` tables,
each with an optional `target` (default: every target) and `pairs` (default: the target's
default pair). A user entry adds to the target's list; one with the id of a target's cause,
or the signature of a target's finding, replaces it whole: the farm's word on its own
kernels wins, and what is in effect is one entry, in one place. `explain` says, for a
divergence no set of causes explains, which of its observables none explains and why.

A signature's primary observables are read from the signature itself
(`fuzzplug.core.oracle.signature`: `op/<observables joined by +>/<hash>`); a state-only
signature's single observable names the kinds of state that differ together
(`state:counter+page+pte`), and matches only a cause declaring exactly that.
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import os
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fuzzplug.core.opslang import Op, Schema
from fuzzplug.core.words import plural
from fuzzplug.errors import InputError, OpsSyntaxError, TargetError

__all__ = ["KNOWN_ENV", "Advice", "Cause", "Companion", "FixChange", "KnownHit", "KnownList",
           "KnownMatch", "OutOfScope", "Status", "Unexplained", "advice_from_toml",
           "causes_from_toml", "parse_signature", "read_known_file", "summary_line",
           "user_known", "user_known_paths"]

KNOWN_ENV = "FUZZPLUG_KNOWN"
"""The farm's own known files, separated by `os.pathsep`, merged into every target's list."""


class Status(enum.Enum):
    """The short label of a root cause, most severe first (a divergence that combines
    causes counts under the most severe of them)."""

    REAL_BUG = "real bug"  # fixed upstream later: a backport must take the fix
    RELAXED_UPSTREAM = "relaxed upstream"  # by design, changed upstream later: take the change
    LATENT = "latent"  # reachable on some configurations, no fix upstream
    UNCLASSIFIED = "unclassified"  # known, not given a label
    BY_DESIGN = "by design"
    PRE_EXISTING = "pre-existing bug"  # the pre-patch side's own bug, fixed upstream apart
    BENIGN = "benign"  # no caller reaches it, a driver bug either way, or a consequence
    CONFIG_ONLY = "config-only"  # no real kernel configuration reaches it

    @property
    def rank(self) -> int:
        return list(Status).index(self)


@dataclass(frozen=True, slots=True)
class Cause:
    """One root cause of known divergences (see the module docstring)."""

    id: str
    title: str = ""
    status: str = ""
    """The target's own, finer status (`benign-driver-bug`); `label` is the short one."""
    label: Status = Status.UNCLASSIFIED
    fixes: tuple[str, ...] = ()
    observables: tuple[str, ...] = ()
    ops: tuple[str, ...] = ()
    when: tuple[str, ...] = ()
    analysis: str = ""
    reproducer: str = ""
    """A shortest input that shows the cause, in the text form ("" if none is given)."""
    reach: tuple[tuple[str, str], ...] = ()
    """Where it is reached, per architecture (or group of them): (where, what happens)."""

    def to_json(self) -> dict:
        return {"id": self.id, "title": self.title, "status": self.status,
                "label": self.label.value, "fixes": list(self.fixes),
                "observables": list(self.observables), "ops": list(self.ops),
                "when": list(self.when), "reach": [list(r) for r in self.reach]}


def causes_from_toml(data: Mapping) -> dict[str, Cause]:
    """The `[[cause]]` tables of a known-findings TOML document (as `tomllib` reads it) as
    `Cause`s by id; `TargetError` for a malformed entry."""
    out: dict[str, Cause] = {}
    for raw in data.get("cause", []):
        try:
            cause_id = raw["id"]
            label = raw.get("label")
            cause = Cause(
                id=cause_id, title=raw.get("title", ""), status=raw.get("status", ""),
                label=Status(label) if label is not None else Status.UNCLASSIFIED,
                fixes=tuple(raw.get("fixes", ())),
                observables=tuple(raw.get("observables", ())),
                ops=tuple(raw.get("ops", ())), when=tuple(raw.get("when", ())),
                analysis=raw.get("analysis", "").strip(),
                reproducer=raw.get("reproducer", "").strip(),
                reach=tuple((str(k), str(v)) for k, v in raw.get("reach", {}).items()))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise TargetError(f"known findings: malformed [[cause]] {raw.get('id', '?')!r}: "
                              f"{exc}") from None
        if cause_id in out:
            raise TargetError(f"known findings: cause {cause_id!r} listed twice")
        out[cause_id] = cause
    return out


def parse_signature(sig: str) -> tuple[str, tuple[str, ...], str]:
    """(op, primary observables, path hash) of a signature. The observables are joined by
    `+` in the signature, and so are the kinds of a state-only one (`state:page+pte`):
    a part without a colon continues the `state:` observable before it."""
    op, _, rest = sig.partition("/")
    middle, _, digest = rest.rpartition("/")
    observables: list[str] = []
    for part in middle.split("+") if middle else ():
        if ":" not in part and observables and observables[-1].startswith("state:"):
            observables[-1] += "+" + part
        else:
            observables.append(part)
    return op, tuple(observables), digest


@dataclass(frozen=True, slots=True)
class KnownMatch:
    """How a divergence is known: its causes, and whether by its listed signature or by
    the causes' observables."""

    causes: tuple[str, ...]
    exact: bool

    def describe(self) -> str:
        """`known: cause A` or `known: causes A + B`."""
        if not self.causes:
            return "known"
        noun = "cause" if len(self.causes) == 1 else "causes"
        return f"known: {noun} {' + '.join(self.causes)}"

    def to_json(self) -> dict:
        return {"causes": list(self.causes), "by": "signature" if self.exact else "causes"}


@dataclass(frozen=True, slots=True)
class _When:
    op: str
    scene: bool
    args: tuple[tuple[str, int], ...]


class KnownList:
    """A target's known list, ready to match divergences (see the module docstring)."""

    def __init__(self, schema: Schema, findings: Mapping[str, Mapping],
                 causes: Mapping[str, Cause] | None = None):
        self.schema = schema
        self.findings = dict(findings)
        self.causes = dict(causes or {})
        self._when = {c.id: tuple(self._parse_when(c, w) for w in c.when)
                      for c in self.causes.values()}
        for sig, record in self.findings.items():
            for cause_id in record.get("causes", ()):
                if self.causes and cause_id not in self.causes:
                    raise TargetError(f"known finding {sig}: unknown cause {cause_id!r}")
        self._cache: dict[tuple, KnownMatch | None] = {}

    @classmethod
    def of(cls, target, extra: Iterable[str | Path] = ()) -> "KnownList":
        """The known list of `target`: its known findings, and its causes if it has the
        `KnownCauses` capability, merged with the user's known files (`FUZZPLUG_KNOWN`,
        then `extra`) as the module docstring says."""
        from fuzzplug.targets import KnownCauses

        causes = dict(target.known_causes() if isinstance(target, KnownCauses) else {})
        findings = dict(target.known_findings())
        paths = [*user_known_paths(), *(Path(p) for p in extra)]
        if not paths:
            return cls(target.schema, findings, causes)
        for path in paths:
            user_findings, user_causes = _user_entries(target, path)
            causes.update(user_causes)
            findings.update(user_findings)
        try:
            return cls(target.schema, findings, causes)
        except TargetError as exc:
            raise InputError(f"{os.pathsep.join(map(str, paths))}: {exc}") from None

    def _parse_when(self, cause: Cause, line: str) -> _When:
        tokens = line.split()
        try:
            if not tokens:
                raise OpsSyntaxError("empty predicate")
            spec = self.schema.spec(tokens[0])
            table = {a.name: a for a in spec.args}
            args = []
            for token in tokens[1:]:
                key, eq, value = token.partition("=")
                if not eq or key not in table:
                    raise OpsSyntaxError(f"expected key=value with a key of {spec.name}, "
                                         f"got {token!r}")
                args.append((key, table[key].parse_value(value)))
        except OpsSyntaxError as exc:
            raise TargetError(f"known findings: cause {cause.id}: when {line!r}: "
                              f"{exc}") from None
        return _When(spec.name, spec.scene, tuple(args))

    def _holds(self, cause: Cause, ops: tuple[Op, ...] | None) -> bool:
        clauses = self._when[cause.id]
        if not clauses:
            return True
        if ops is None:  # nothing to check the predicate on: strict
            return False
        for clause in clauses:
            candidates = [op for op in ops if op.name == clause.op]
            if clause.scene and not candidates:
                defaults = {a.name: a.default for a in self.schema.spec(clause.op).args}
                if any(defaults[k] != v for k, v in clause.args):
                    return False
                continue
            if not any(all(op[k] == v for k, v in clause.args) for op in candidates):
                return False
        return True

    def match(self, sig: str | None, ops: Iterable[Op] | None = None) -> KnownMatch | None:
        """How the divergence `sig` on input `ops` is known, or None if it is new. Without
        `ops`, causes with a `when` predicate do not apply."""
        if sig is None:
            return None
        record = self.findings.get(sig)
        if record is not None:
            return KnownMatch(tuple(record.get("causes", ())), exact=True)
        if not self.causes:
            return None
        ops = tuple(ops) if ops is not None else None
        key = (sig, ops)
        if key not in self._cache:
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[key] = self._match_causes(sig, ops)
        return self._cache[key]

    def _match_causes(self, sig: str, ops: tuple[Op, ...] | None) -> KnownMatch | None:
        op, observables, _ = parse_signature(sig)
        need = set(observables)
        if not need:
            return None
        usable = [c for c in self.causes.values()
                  if (not c.ops or op in c.ops) and need & set(c.observables)
                  and self._holds(c, ops)]
        if not need <= set().union(*(c.observables for c in usable)):
            return None
        for size in range(1, len(usable) + 1):
            for combo in itertools.combinations(usable, size):
                if need <= set().union(*(c.observables for c in combo)):
                    return KnownMatch(tuple(c.id for c in combo), exact=False)
        return None  # not reached: the whole usable set covers

    def explain(self, sig: str, ops: Iterable[Op] | None = None) -> tuple["Unexplained", ...]:
        """The primary observables of `sig` that no cause applying to it (at its op, its
        `when` holding for `ops`) declares, each with the causes that declare it but do
        not apply, and why. Empty for a divergence its causes explain."""
        op, observables, _ = parse_signature(sig)
        ops = tuple(ops) if ops is not None else None
        out = []
        for observable in observables:
            declaring = [c for c in self.causes.values() if observable in c.observables]
            if any((not c.ops or op in c.ops) and self._holds(c, ops) for c in declaring):
                continue
            why = tuple((c.id, f"shows at {', '.join(c.ops)}" if c.ops and op not in c.ops
                         else f"needs {'; '.join(c.when)}") for c in declaring)
            out.append(Unexplained(observable, why))
        return tuple(out)

    def label(self, match: KnownMatch) -> Status:
        """The most severe label among the match's causes."""
        labels = [self.causes[c].label for c in match.causes if c in self.causes]
        return min(labels, key=lambda s: s.rank) if labels else Status.UNCLASSIFIED

    def fixes(self, cause_ids: Iterable[str]) -> tuple[str, ...]:
        """The upstream fixes of these causes, each once, in order."""
        out: list[str] = []
        for cause_id in cause_ids:
            cause = self.causes.get(cause_id)
            for fix in cause.fixes if cause else ():
                if fix not in out:
                    out.append(fix)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Unexplained:
    """A primary observable of a divergence no applicable known cause declares, with the
    causes that declare it but do not apply to this input (cause id, why not)."""

    observable: str
    declared_by: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        """`state:pte (no known cause declares it)` or `warn:... (declared by A, which
        needs config arch=ppc64)`."""
        if not self.declared_by:
            return f"{self.observable} (no known cause declares it)"
        return f"{self.observable} (declared by " + "; ".join(
            f"{cause}, which {why}" for cause, why in self.declared_by) + ")"

    def to_json(self) -> dict:
        return {"observable": self.observable,
                "declared_by": [{"cause": c, "why": why} for c, why in self.declared_by]}


# --- the user's known files ---------------------------------------------------------------------

def user_known_paths() -> tuple[Path, ...]:
    """The files `FUZZPLUG_KNOWN` names, in order."""
    text = os.environ.get(KNOWN_ENV, "")
    return tuple(Path(p) for p in text.split(os.pathsep) if p.strip())


@contextlib.contextmanager
def user_known(paths: Iterable[str | Path] | None) -> Iterator[None]:
    """For the duration, `FUZZPLUG_KNOWN` has `paths` after the files it names (the CLI's
    `--known`; processes started meanwhile inherit it). Each is read first, so a missing
    or malformed file is an `InputError` before anything runs."""
    paths = [Path(p).resolve() for p in paths or ()]
    if not paths:
        yield
        return
    for path in paths:
        read_known_file(path)
    before = os.environ.get(KNOWN_ENV)
    os.environ[KNOWN_ENV] = os.pathsep.join(str(p) for p in (*user_known_paths(), *paths))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(KNOWN_ENV, None)
        else:
            os.environ[KNOWN_ENV] = before


_files: dict[Path, tuple[tuple[int, int], dict]] = {}


def read_known_file(path: str | Path) -> dict:
    """A user's known file, parsed and checked (`[[cause]]` and `[[finding]]` tables, as in
    a target's known.toml, each with an optional `target` and `pairs`); read again only
    when it changed. `InputError` naming the file for a missing or malformed one."""
    p = Path(path)
    try:
        st = p.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        cached = _files.get(p)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{p}: no such known file") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a folder, not a known file") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: not a known file (TOML): {exc}") from None
    _check_user_file(p, data)
    _files[p] = (stamp, data)
    return data


def _check_user_file(path: Path, data: dict) -> None:
    unknown = sorted(set(data) - {"cause", "finding"})
    if unknown:
        raise InputError(f"{path}: unknown table or key {unknown[0]!r}: a known file holds "
                         "[[cause]] and [[finding]] tables")
    for kind, required in (("cause", "id"), ("finding", "signature")):
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            raise InputError(f"{path}: {kind} must be an array of tables ([[{kind}]])")
        for entry in entries:
            name = entry.get(required, "?") if isinstance(entry, dict) else "?"
            where = f"{path}: [[{kind}]] {name!r}"
            if not isinstance(entry, dict) or not isinstance(entry.get(required), str):
                raise InputError(f"{where}: needs {required} = \"...\"")
            if not isinstance(entry.get("target", ""), str):
                raise InputError(f"{where}: target must be a target's name")
            pairs = entry.get("pairs", [])
            if not isinstance(pairs, list) or not all(isinstance(x, str) for x in pairs):
                raise InputError(f"{where}: pairs must be a list of PRE..POST")
            if kind == "finding":
                causes = entry.get("causes", [])
                if not isinstance(causes, list) or not all(isinstance(x, str) for x in causes):
                    raise InputError(f"{where}: causes must be a list of cause ids")
    try:
        causes_from_toml(data)
    except TargetError as exc:
        raise InputError(f"{path}: {exc}") from None


def _user_entries(target, path: Path) -> tuple[dict[str, dict], dict[str, Cause]]:
    """The entries of one user file for `target` and the pair it compares."""
    from fuzzplug.targets import load_target, pair_name

    data = read_known_file(path)
    pair = pair_name(target)
    default_pair = pair
    if pair is not None:
        try:
            default_pair = pair_name(load_target(target.name))
        except TargetError:
            pass

    def applies(entry: Mapping) -> bool:
        if entry.get("target", target.name) != target.name:
            return False
        return pair is None or pair in entry.get("pairs", [default_pair])

    cause_tables = [c for c in data.get("cause", []) if applies(c)]
    causes = causes_from_toml({"cause": cause_tables})
    records = {c["id"]: c for c in cause_tables}
    findings = {}
    for entry in data.get("finding", []):
        if applies(entry):
            findings[entry["signature"]] = dict(
                entry, causes=list(entry.get("causes", [])),
                cause_records=[records[c] for c in entry.get("causes", []) if c in records],
                known_file=str(path))
    return findings, causes


@dataclass(slots=True)
class KnownHit:
    """A known signature a run met: how often, and how it is known."""

    signature: str
    count: int
    match: KnownMatch
    suppressed: bool = True

    def to_json(self, known: KnownList) -> dict:
        return {"signature": self.signature, "count": self.count,
                "label": known.label(self.match).value, **self.match.to_json(),
                "fixes": list(known.fixes(self.match.causes)), "suppressed": self.suppressed}


def summary_line(new: int, hits: Iterable[KnownHit], known: KnownList) -> str:
    """`0 new; 9 known signatures hit, from 6 causes: real bug: 1 cause, 1 signature (needs
    cae85cb8add3); relaxed upstream: 1 cause, 1 signature (f2c57d91b0d9); latent: 2 causes,
    3 signatures; benign: 2 causes, 4 signatures`: per label, most severe first, the causes
    of that label the run met and the signatures that count under it (each signature once,
    under the most severe label of its causes), then that label's fixes (`needs` for a real
    bug). A label whose causes were met only together with a more severe one has no
    signature of its own: `in combinations only`. Signatures the list gives no cause count
    under `unclassified`, without causes."""
    hits = list(hits)
    signatures: dict[Status, int] = {}
    met: dict[Status, list[str]] = {}
    for hit in hits:
        label = known.label(hit.match)
        signatures[label] = signatures.get(label, 0) + 1
        for cause_id in hit.match.causes:
            cause = known.causes.get(cause_id)
            own = cause.label if cause else Status.UNCLASSIFIED
            if cause_id not in met.setdefault(own, []):
                met[own].append(cause_id)
    causes = sum(len(ids) for ids in met.values())
    line = f"{new} new; {plural(len(hits), 'known signature')} hit"
    if causes:
        line += f", from {plural(causes, 'cause')}"
    parts = []
    for label in sorted(set(signatures) | set(met), key=lambda s: s.rank):
        counts = []
        if met.get(label):
            counts.append(plural(len(met[label]), "cause"))
        counts.append(plural(signatures[label], "signature") if signatures.get(label)
                      else "in combinations only")
        text = f"{label.value}: {', '.join(counts)}"
        fixes = known.fixes(sorted(met.get(label, ())))
        if fixes:
            text += f" ({'needs ' if label is Status.REAL_BUG else ''}{', '.join(fixes)})"
        parts.append(text)
    if parts:
        line += ": " + "; ".join(parts)
    return line

"""Triage of crash files and findings folders: `fuzzplug triage DIR... [--json]`.

Reproducers are found below each folder, recursively (hidden names skipped):

- libFuzzer artifacts, named `crash-*`, `oom-*` or `timeout-*`: binary inputs of the
  target given by `--target`; nothing is recorded about them.
- findings folders (`fuzzplug.core.findings`): every `repro.bin`; its sibling `record.json`,
  when there is one, names the target and records the verdict and signature found then,
  and how often the run met it (`count`);
- the recorder's inboxes (`.inbox-<pid>/`, the one hidden folder read): what a `fuzz` run
  recorded before it ended, or before it was killed (an orphan, which the next `fuzz` run
  adopts): each `<signature id>.<worker>.bin`, with the worker's count for it; the inbox's
  `inbox.json` names the target.

- candidates, named `candidate-*`: inputs a fuzz loop's budgeted evaluation could not
  settle (`fuzzplug.engines.harness`), in a findings folder's `candidates/` (the ones a
  `fuzz` run had no time to confirm), an inbox's `candidates/`, or the folder a farm gave
  the harness (FUZZPLUG_CANDIDATES); a `candidates.json` beside them, or the inbox's
  `inbox.json`, names the target, else `--target` does. Triage is their confirmation: the
  full evaluation either gives a divergent verdict (the candidate is confirmed, grouped by
  that signature) or not (it is *dropped*: a row of its own, not a problem).

All of them are binary inputs, decoded as such whatever their bytes.

A finding's record (or an inbox's `inbox.json`) also names the pair of model versions it
was found on (`pair`, for a target with versions: `fuzzplug.targets.Versioned`), and it is
re-run on that pair; a crash file, or a record without a pair, runs on the pair
`--pre`/`--post` give, else the target's default. A reproducer whose target nothing names (a crash file, or a `repro.bin` without a
`record.json`) needs `--target`; without it, triage stops before running anything, with
one line naming the first such file (exit 2). There is no default target, not even when one
target is installed: a crash file says nothing about which harness wrote it, and a command
that guesses would change its meaning the day a second target is installed.

Each reproducer is decoded with its target and evaluated twice. It *reproduces* when both
runs give the same divergent verdict and signature and, for a finding, the recorded ones. The
reproducers are grouped by (target, signature of the first run); each group is one row: the
hits (how often the runs met it: a record's or an inbox's count; 1 for a crash file), how
many files, whether all of them reproduce, the shortest (fewest calls, then fewest bytes,
then path), and the first and last seen (file modification times, UTC, ISO 8601). A file
that does not reproduce stays in the group of its first run's signature (or of its verdict,
`<same>`, `<intended>`, when that run is not divergent) and is listed with what went wrong.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from fuzzplug.core.findings import (
    CANDIDATE_PREFIX,
    CANDIDATES_DIR,
    CANDIDATES_MARKER,
    INBOX_NAME,
    read_inbox,
)
from fuzzplug.core.known import KnownList, KnownMatch
from fuzzplug.core.opslang import Op, decode
from fuzzplug.core.oracle import Verdict, signature_id
from fuzzplug.core.words import plural
from fuzzplug.errors import InputError
from fuzzplug.io import read_bytes
from fuzzplug.log import get_logger
from fuzzplug.targets import (
    check_scene,
    evaluate_budgeted,
    load_target,
    pair_name,
    select_pair,
    target_names,
)
from fuzzplug.triage.workers import fork_map

__all__ = ["CRASH_PREFIXES", "Group", "Reproducer", "find_reproducers", "render", "triage"]

CRASH_PREFIXES = ("crash-", "oom-", "timeout-")
PROGRESS_EVERY = 2.0
"""Seconds between two `triage_progress` events."""


@dataclass(slots=True)
class Reproducer:
    """One file that should reproduce a divergence, and what re-running it gave."""

    path: Path
    target: str | None  # None: nothing names it (a crash file triaged without --target)
    kind: str  # "crash" (a libFuzzer artifact), "finding" (a findings folder's repro.bin),
    # "inbox" (a recorder's input) or "candidate" (`candidate-*`, to confirm)
    recorded: dict | None = None  # record.json's verdict and signature, for a finding
    pair: str | None = None  # PRE..POST it runs on; None: the target's default pair
    hits: int = 1  # how often the run met it: record.json's count, the inbox's count
    calls: int = 0
    size: int = 0
    mtime: float = 0.0
    verdict: str = ""
    signature: str | None = None
    ops: tuple[Op, ...] = ()
    problems: list[str] = field(default_factory=list)

    @property
    def reproduces(self) -> bool:
        return not self.problems

    @property
    def dropped(self) -> bool:
        """A candidate the full evaluation does not confirm."""
        return self.kind == "candidate" and self.verdict != Verdict.DIVERGENT.value


@dataclass(slots=True)
class Group:
    """Every reproducer of one (target, signature)."""

    target: str
    signature: str
    members: list[Reproducer] = field(default_factory=list)
    match: KnownMatch | None = None
    pair: str | None = None

    @property
    def known(self) -> bool:
        return self.match is not None

    @property
    def hits(self) -> int:
        return sum(m.hits for m in self.members)

    @property
    def shortest(self) -> Reproducer:
        return min(self.members, key=lambda r: (r.calls, r.size, str(r.path)))

    def to_json(self) -> dict:
        short = self.shortest
        return {
            "target": self.target,
            "pair": self.pair,
            "signature": self.signature,
            "verdict": short.verdict,
            "hits": self.hits,
            "n_files": len(self.members),
            "reproduces": all(m.reproduces for m in self.members),
            "known": self.known,
            "known_causes": list(self.match.causes) if self.match else None,
            "shortest": {"path": str(short.path), "calls": short.calls, "bytes": short.size},
            "first_seen": _iso(min(m.mtime for m in self.members)),
            "last_seen": _iso(max(m.mtime for m in self.members)),
            "files": [str(m.path) for m in sorted(self.members, key=lambda m: str(m.path))],
            "problems": [f"{m.path}: {p}" for m in sorted(self.members, key=lambda m: str(m.path))
                         for p in m.problems],
        }


def _iso(mtime: float) -> str:
    return datetime.fromtimestamp(mtime, timezone.utc).isoformat(timespec="seconds")


def _read_record(path: Path) -> dict:
    try:
        record = json.loads(read_bytes(path).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InputError(f"{path}: not a JSON findings record") from None
    if not isinstance(record, dict):
        raise InputError(f"{path}: not a JSON findings record (expected an object)")
    for key in ("target", "signature", "verdict"):
        if key in record and record[key] is not None and not isinstance(record[key], str):
            raise InputError(f"{path}: {key!r} is not a string")
    return record


def _inbox_part(path: Path, root: Path) -> Path | None:
    """The inbox folder a path below `root` lies directly in (or in its `candidates/`),
    if its one hidden part is an inbox's name (`.inbox-<pid>`)."""
    hidden = [p for p in path.relative_to(root).parts if p.startswith(".")]
    if len(hidden) != 1 or not INBOX_NAME.fullmatch(hidden[0]):
        return None
    if path.parent.name == hidden[0]:
        return path.parent
    if path.parent.name == CANDIDATES_DIR and path.parent.parent.name == hidden[0]:
        return path.parent.parent
    return None


def _candidates_marker(folder: Path) -> dict:
    """`candidates.json` of a folder of candidates (the target and pair), or {}."""
    try:
        marker = json.loads((folder / CANDIDATES_MARKER).read_text())
    except (OSError, ValueError):
        return {}
    return marker if isinstance(marker, dict) else {}


def _inbox_reproducers(inbox: Path, default_target: str | None,
                       default_pair: str | None = None) -> list[Reproducer]:
    found = read_inbox(inbox)
    out = []
    for sig_id, paths in sorted(found.inputs.items()):
        for path in paths:
            worker = path.name[len(sig_id) + 1:-len(".bin")]
            counts = {}
            try:
                counts = json.loads((inbox / f"counts.{worker}.json").read_text())
            except (OSError, ValueError):
                pass
            hits = sum(n for sig, n in counts.items() if signature_id(sig) == sig_id
                       and isinstance(n, int))
            target = found.target or default_target
            # the default pair is the default target's: another target's inbox keeps its own
            pair = found.pair or (default_pair if target == default_target else None)
            out.append(Reproducer(path, target, "inbox", pair=pair, hits=max(hits, 1)))
    target = found.target or default_target
    pair = found.pair or (default_pair if target == default_target else None)
    out += [Reproducer(path, target, "candidate", pair=pair) for path in found.candidates]
    return out


def find_reproducers(dirs: list[str], default_target: str | None = None,
                     default_pair: str | None = None,
                     corpus: bool = False) -> list[Reproducer]:
    """The crash files, findings reproducers and inbox inputs below `dirs`, sorted by path,
    each with the target (and pair) its record.json (or inbox.json) names, else
    `default_target` (None if not given) and `default_pair`; with `corpus`, every other
    file too, as a possible candidate (kind "corpus"). `InputError` for a folder that
    is missing or not a folder, or a broken record.json."""
    found: dict[Path, Reproducer] = {}
    for d in dirs:
        root = Path(d)
        if not root.exists():
            raise InputError(f"{root}: no such directory")
        if not root.is_dir():
            raise InputError(f"{root}: not a directory, expected a folder of crash files "
                             "or findings")
        inboxes = set()
        for path in sorted(root.rglob("*")):
            if any(part.startswith(".") for part in path.relative_to(root).parts):
                inbox = _inbox_part(path, root)
                if inbox is not None and inbox not in inboxes:
                    inboxes.add(inbox)
                    for rep in _inbox_reproducers(inbox, default_target, default_pair):
                        found.setdefault(rep.path.resolve(), rep)
                continue
            if path.is_dir():
                continue
            if path.name.startswith(CRASH_PREFIXES):
                found.setdefault(path.resolve(), Reproducer(path, default_target, "crash",
                                                            pair=default_pair))
            elif path.name.startswith(CANDIDATE_PREFIX):
                marker = _candidates_marker(path.parent)
                target = marker.get("target") or default_target
                found.setdefault(path.resolve(), Reproducer(
                    path, target, "candidate",
                    pair=marker.get("pair") or (default_pair if target == default_target
                                                else None)))
            elif path.name == "repro.bin":
                record_path = path.with_name("record.json")
                record = _read_record(record_path) if record_path.exists() else None
                target = (record or {}).get("target") or default_target
                count = (record or {}).get("count")
                found.setdefault(path.resolve(), Reproducer(
                    path, target, "finding", record,
                    pair=(record or {}).get("pair")
                    or (default_pair if target == default_target else None),
                    hits=count if isinstance(count, int) and count > 0 else 1))
            elif corpus and path.name not in ("record.json", "repro.ops", "summary.json",
                                              CANDIDATES_MARKER) \
                    and not path.name.endswith((".json", ".log")):
                found.setdefault(path.resolve(), Reproducer(path, default_target, "corpus",
                                                            pair=default_pair))
    return sorted(found.values(), key=lambda r: str(r.path))


def _target(rep: Reproducer):
    """The reproducer's target, comparing the reproducer's pair."""
    return select_pair(load_target(rep.target), pair=rep.pair)


def _load(rep: Reproducer) -> tuple[Op, ...]:
    """A reproducer's ops: every kind is a binary input (an empty file is refused), its
    scene normalised as the binary form does (`fuzzplug.targets.check_scene`), so that the
    text printed of it (`report`) parses back to the same ops."""
    data = read_bytes(rep.path)
    if not data:
        raise InputError(f"{rep.path}: empty file, expected a binary op sequence")
    target = _target(rep)
    return check_scene(target, decode(target.schema, data))[0]


def _check(rep: Reproducer) -> None:
    """Load, evaluate twice, compare; fill in the reproducer's results and problems."""
    target = _target(rep)
    ops = rep.ops = _load(rep)
    rep.size = len(read_bytes(rep.path))
    rep.mtime = rep.path.stat().st_mtime
    rep.calls = target.schema.calls(ops)
    first, second = target.evaluate(ops), target.evaluate(ops)
    rep.verdict, rep.signature = first.verdict.value, first.signature
    if (first.verdict, first.signature) != (second.verdict, second.signature):
        rep.problems.append(f"flaky: the two re-runs differ ({first.verdict.value} "
                            f"{first.signature} vs {second.verdict.value} {second.signature})")
    if first.verdict is not Verdict.DIVERGENT and rep.kind != "candidate":
        rep.problems.append(f"does not reproduce: re-run gives {first.verdict.value}")
    if rep.recorded is not None:
        want = (rep.recorded.get("verdict"), rep.recorded.get("signature"))
        if want != (first.verdict.value, first.signature):
            rep.problems.append(f"differs from record.json: recorded {want[0]} {want[1]}, "
                                f"re-run gives {first.verdict.value} {first.signature}")


_WORK: list[Reproducer] = []
"""The reproducers `_checked_at` reads in a worker process (set before the processes fork)."""


def _checked_at(index: int) -> Reproducer:
    """`_WORK[index]` checked (`_check`), in a worker process: sent back whole."""
    rep = _WORK[index]
    _check(rep)
    return rep


def triage(dirs: list[str], default_target: str | None = None,
           default_pair: str | None = None, corpus: bool = False,
           jobs: int = 1) -> list[Group]:
    """Find, re-run and group every reproducer below `dirs`; groups by hits, then
    signature. `default_target` is the target of the reproducers that name none (crash
    files), `default_pair` the pair of those that name none; `InputError` if one needs a
    target and it is not given. With `corpus` (`--candidates`), every other file is an
    input of a corpus, evaluated with the target's budget (`evaluate_budgeted`): those it
    leaves candidates are confirmed as candidates are, the others left out. The re-runs
    are made in `jobs` worker processes (`fork_map`: the same groups whatever `jobs`)."""
    reps = find_reproducers(dirs, default_target, default_pair, corpus)
    if default_target is not None:
        load_target(default_target)  # an unknown --target is an error even with no crash files
    unnamed = [rep for rep in reps if rep.target is None]
    if unnamed:
        what = {"crash": "a libFuzzer crash file",
                "candidate": "a candidate without candidates.json",
                "corpus": "an input of a corpus (--candidates)"}.get(
                    unnamed[0].kind, "a repro.bin without record.json")
        raise InputError(f"{unnamed[0].path}: {what} does not name its target; pass "
                         f"--target NAME (targets: {', '.join(target_names())})")
    reps = [rep for rep in reps if rep.kind != "corpus" or read_bytes(rep.path)]
    for rep in reps:  # every file is loaded before any is reported: all or nothing
        _load(rep)
    if corpus:
        kept = []
        for rep in reps:
            if rep.kind == "corpus":
                if evaluate_budgeted(_target(rep), _load(rep)).verdict \
                        is not Verdict.CANDIDATE:
                    continue
                rep.kind = "candidate"
            kept.append(rep)
        reps = kept
    groups: dict[tuple[str, str, str], Group] = {}
    _WORK[:] = reps
    try:
        checked = list(_progress(fork_map(_checked_at, range(len(reps)), jobs), len(reps)))
    finally:
        _WORK.clear()
    for rep in checked:
        pair = pair_name(_target(rep))
        key = (rep.target, pair or "", rep.signature or
               (f"<dropped candidates: {rep.verdict}>" if rep.dropped
                else f"<{rep.verdict}>"))
        groups.setdefault(key, Group(key[0], key[2], pair=pair)).members.append(rep)
    lists: dict[tuple[str, str], KnownList] = {}
    for (name, pair, sig), group in groups.items():
        if group.shortest.signature is not None:
            known = lists.setdefault((name, pair), KnownList.of(_target(group.shortest)))
            group.match = known.match(sig, group.shortest.ops)
    return sorted(groups.values(),
                  key=lambda g: (-g.hits, g.target, g.pair or "", g.signature))


def _progress(checked: Iterator[Reproducer], total: int) -> Iterator[Reproducer]:
    """The reproducers as they are checked, with a `triage_progress` event every
    `PROGRESS_EVERY` seconds (a candidate's confirmation can take seconds)."""
    log = get_logger()
    started = last = time.monotonic()
    for n, rep in enumerate(checked, 1):
        yield rep
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY:
            last = now
            log.info("triage_progress", evaluated=n, files_in=total,
                     elapsed_s=round(now - started, 1))


def _target_cell(group: Group) -> str:
    """The target, and the pair when it is not the target's default one."""
    if group.pair is None or group.pair == pair_name(load_target(group.target)):
        return group.target
    return f"{group.target} {group.pair}"


def render(groups: list[Group]) -> str:
    """Three lines per signature (most hits first): the signature and how it is known; its
    hits, files, whether it reproduces, its target and when it was seen (one time when the
    first and the last are the same); the shortest reproducer's path and calls. Then the
    problems of the files that do not reproduce."""
    if not groups:
        return "no crash files or findings reproducers found\n"
    files = sum(len(g.members) for g in groups)
    signatures = sum(1 for g in groups if not all(m.dropped for m in g.members))
    lines = [f"{plural(signatures, 'signature')} in {plural(files, 'file')}"]
    problems = []
    for g in groups:
        record = g.to_json()
        bad = sum(1 for m in g.members if not m.reproduces)
        repro = "reproduces" if not bad else f"DOES NOT REPRODUCE ({bad} of {len(g.members)})"
        first, last = record["first_seen"], record["last_seen"]
        seen = f"seen {first}" if first == last else f"first seen {first}, last {last}"
        short = record["shortest"]
        if all(m.dropped for m in g.members):
            lines += ["", f"{g.signature}  (the full evaluation settles them: no finding)",
                      f"  {plural(record['n_files'], 'file')}; {_target_cell(g)}"]
            continue
        confirmed = sum(1 for m in g.members if m.kind == "candidate")
        seen += f"; {plural(confirmed, 'candidate')} confirmed" if confirmed else ""
        lines += ["", g.signature + (f"  [{g.match.describe()}]" if g.match else "  [new]"),
                  f"  {plural(record['hits'], 'hit')}, {plural(record['n_files'], 'file')}, "
                  f"{repro}; {_target_cell(g)}; {seen}",
                  f"  shortest: {short['path']} ({plural(short['calls'], 'call')})"]
        problems += record["problems"]
    if problems:
        lines += ["", "not reproducing:"] + [f"  {p}" for p in problems]
    return "\n".join(line.rstrip() for line in lines) + "\n"

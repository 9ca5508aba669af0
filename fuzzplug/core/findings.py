"""Findings on disk: one folder per signature, the run's summary, and the recorder's inbox.

A findings folder (`FDIR`) holds, for each unique divergent signature, a folder
`<op>-<signature id>/` with the reproducer in both forms (`repro.bin`, `repro.ops`) and
`record.json` (`signature`, `verdict`, `ops`, `pre`, `post`, `count`, `known` with
`known_causes` and `known_by`, `finding`, and `minimized_from` when it was minimised; `pair`,
`PRE..POST`, for a target with versions, so that the finding replays on the pair it was
found on: `repro.ops` says it in its header), plus `summary.json` for the whole run.
Everything is written atomically.

While `fuzzplug fuzz` runs, the harness records into `FDIR/.inbox-<pid>/` (pid: the `fuzz`
process): `inbox.json` (the target, and the pair), `<signature id>.<worker pid>.bin` (the
shortest input per signature), `counts.<worker pid>.json` and `suppressed.<worker pid>.json`
(see `fuzzplug.engines.harness`), and `candidates/candidate-<id>-<sha1>`, the inputs the
loop's budgeted evaluation could not settle. The run confirms or drops the candidates and
turns the rest into findings folders at its end, and removes it; candidates it had no time
to confirm go to `FDIR/candidates/`, for `fuzzplug triage`. An inbox whose `fuzz` process
is gone (killed) is an orphan: the next `fuzz` run on the
folder adopts it, and `triage` and `report` read it as it is (`read_inbox`).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from fuzzplug.core.known import KnownMatch
from fuzzplug.core.opslang import decode, encode, format_text
from fuzzplug.core.oracle import Outcome, Verdict, signature_id
from fuzzplug.core.words import plural
from fuzzplug.io import atomic_write, ensure_dir
from fuzzplug.targets import check_scene, pair_name

INBOX_PREFIX = ".inbox-"
CANDIDATES_DIR = "candidates"
"""An inbox's, and a findings folder's, folder of candidates (`fuzzplug.engines.harness`)."""
CANDIDATE_PREFIX = "candidate-"
CANDIDATES_MARKER = "candidates.json"
"""Beside candidates a `fuzz` run left unconfirmed: the target and pair they belong to."""
INBOX_NAME = re.compile(r"\.inbox-(\d+)")


@dataclass(slots=True)
class FindingEntry:
    """One unique signature: how often it was hit, and its shortest reproducer."""

    signature: str
    count: int
    data: bytes
    outcome: Outcome | None = None
    match: KnownMatch | None = None  # how the known list recognises it; None: new
    original_len: int | None = None  # bytes before minimisation
    original_ops: int | None = None  # calls before minimisation
    notes: list[str] = field(default_factory=list)
    evaluated: dict | None = None
    """The full evaluation of `data` made elsewhere in the run (the confirmer's, in its own
    process), as `Outcome.to_json` gives it: what record.json holds without a re-run."""

    @property
    def known(self) -> bool:
        return self.match is not None

    def folder_name(self) -> str:
        op = self.signature.split("/", 1)[0]
        return f"{op}-{signature_id(self.signature)}"

    def known_tag(self) -> str:
        """` [known: causes A + B]`, or nothing for a new signature."""
        return f" [{self.match.describe()}]" if self.match is not None else ""


def n_calls(target, ops) -> int:
    """The calls among `ops`: no scene lines, no control lines (`OpSpec.control`: task,
    sched, fail_alloc), in every target alike."""
    return target.schema.calls(ops)


def _ops(target, entry: FindingEntry):
    """The entry's ops, its scene normalised (`fuzzplug.targets.check_scene`): what the
    reproducer files hold, so that the text form loads as it is."""
    return check_scene(target, decode(target.schema, entry.data))[0]


def record_json(target, entry: FindingEntry) -> dict:
    ops = _ops(target, entry)
    if entry.outcome is None and entry.evaluated is not None:
        evaluated = entry.evaluated
    else:
        evaluated = (entry.outcome or target.evaluate(ops)).to_json()
    out = {
        "target": target.name,
        "pair": pair_name(target),
        "signature": entry.signature,
        "verdict": evaluated["verdict"],
        "ops": format_text(target.schema, ops),
        "count": entry.count,
        "known": entry.known,
        "known_causes": list(entry.match.causes) if entry.match else None,
        "known_by": entry.match.to_json()["by"] if entry.match else None,
        "bytes": len(entry.data),
        "calls": n_calls(target, ops),
        "pre": evaluated["pre"],
        "post": evaluated["post"],
    }
    if evaluated.get("finding") is not None:
        out["finding"] = evaluated["finding"]
    if entry.original_len is not None:
        out["minimized_from"] = {"bytes": entry.original_len, "calls": entry.original_ops}
    if entry.notes:
        out["notes"] = entry.notes
    return out


def write_entry(target, fdir: Path, entry: FindingEntry) -> Path:
    ops = _ops(target, entry)
    folder = ensure_dir(Path(fdir) / entry.folder_name())
    canonical = encode(target.schema, ops)
    atomic_write(folder / "repro.bin", canonical)
    pair = pair_name(target)
    header = (f"# name: {entry.folder_name()}\n# signature: {entry.signature}\n"
              f"# expect: {Verdict.DIVERGENT.value}\n" + (f"# pair: {pair}\n" if pair else ""))
    atomic_write(folder / "repro.ops", header + format_text(target.schema, ops))
    atomic_write(folder / "record.json", json.dumps(record_json(target, entry), indent=1,
                                                    sort_keys=True) + "\n")
    return folder


def write_summary(fdir: Path, summary: dict) -> Path:
    return atomic_write(Path(fdir) / "summary.json",
                        json.dumps(summary, indent=1, sort_keys=True) + "\n")


def table(target, entries: list[FindingEntry]) -> str:
    """The unique findings as a table: signature, count, the shortest reproducer."""
    if not entries:
        return "no divergent signature recorded\n"
    lines = [f"{plural(len(entries), 'unique divergent signature')}:", ""]
    for e in sorted(entries, key=lambda e: (-e.count, e.signature)):
        ops = _ops(target, e)  # normalised, as repro.ops holds it: it parses back
        lines.append(f"{e.signature}{e.known_tag()}")
        lines.append(f"  count: {e.count:,}   reproducer: "
                     f"{plural(n_calls(target, ops), 'call')}, {plural(len(e.data), 'byte')}"
                     f"  ({e.folder_name()}/repro.ops)")
        for line in format_text(target.schema, ops).splitlines():
            lines.append(f"    {line}")
        lines.append("")
    return "\n".join(lines)


# --- the recorder's inbox -----------------------------------------------------------------------

def write_inbox_marker(inbox: Path, target_name: str, pair: str | None = None) -> None:
    """`inbox.json`: which target (and pair of its versions) the inbox's inputs belong to
    (for triage and adoption)."""
    marker = {"target": target_name} if pair is None else {"target": target_name,
                                                            "pair": pair}
    atomic_write(inbox / "inbox.json", json.dumps(marker, sort_keys=True) + "\n")


def inbox_pid(path: Path) -> int | None:
    """The pid of the `fuzz` process an inbox folder belongs to, from its name."""
    match = INBOX_NAME.fullmatch(path.name)
    return int(match.group(1)) if match else None


def pid_alive(pid: int) -> bool:
    """Whether a process `pid` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2] != "Z"
    except (OSError, ValueError, IndexError):
        return True


def orphan_inboxes(fdir: Path) -> list[Path]:
    """The inboxes in `fdir` whose `fuzz` process is gone, by name."""
    if not fdir.is_dir():
        return []
    return sorted(p for p in fdir.iterdir() if p.is_dir() and inbox_pid(p) is not None
                  and inbox_pid(p) != os.getpid() and not pid_alive(inbox_pid(p)))


@dataclass(slots=True)
class Inbox:
    """What an inbox holds: counts by signature (recorded and suppressed), the inputs by
    signature id, and the target its marker names (None for an inbox without one)."""

    path: Path
    target: str | None = None
    pair: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    inputs: dict[str, list[Path]] = field(default_factory=dict)
    suppressed: dict[str, dict] = field(default_factory=dict)
    candidates: list[Path] = field(default_factory=list)

    def shortest(self) -> dict[str, bytes]:
        """Signature id → the shortest input (then the smallest bytes)."""
        out = {}
        for sig_id, paths in self.inputs.items():
            datas = []
            for p in paths:
                try:
                    datas.append(p.read_bytes())
                except OSError:
                    continue
            if datas:
                out[sig_id] = min(datas, key=lambda d: (len(d), d))
        return out

    def hits_since(self, earlier: "Inbox") -> dict[str, int]:
        """Signature → the hits recorded since `earlier` was read of the same inbox."""
        return {sig: n - earlier.counts.get(sig, 0) for sig, n in self.counts.items()
                if n > earlier.counts.get(sig, 0)}


def read_inbox(inbox: Path) -> Inbox:
    """Read an inbox (live or orphaned); unreadable or half-written files are skipped."""
    out = Inbox(inbox)
    try:
        marker = json.loads((inbox / "inbox.json").read_text())
        out.target, out.pair = marker.get("target"), marker.get("pair")
    except (OSError, ValueError, AttributeError):
        out.target = out.pair = None
    for f in sorted(inbox.glob("counts.*.json")):
        try:
            for sig, n in json.loads(f.read_text()).items():
                out.counts[sig] = out.counts.get(sig, 0) + int(n)
        except (OSError, ValueError, TypeError, AttributeError):
            continue
    for f in sorted(inbox.glob("suppressed.*.json")):
        try:
            for sig, entry in json.loads(f.read_text()).items():
                have = out.suppressed.setdefault(sig, dict(entry, count=0))
                have["count"] += int(entry.get("count", 0))
        except (OSError, ValueError, TypeError, AttributeError):
            continue
    for f in sorted(inbox.glob("*.bin")):
        if not f.name.startswith("."):
            out.inputs.setdefault(f.name.split(".")[0], []).append(f)
    out.candidates = sorted((inbox / CANDIDATES_DIR).glob(f"{CANDIDATE_PREFIX}*"))
    return out


def adopt_inbox(orphan: Path, inbox: Path) -> int:
    """Move an orphaned inbox's recordings into `inbox` (names tagged with the orphan's pid,
    so no two workers' files collide) and remove it; the number of files moved."""
    tag = f"a{inbox_pid(orphan)}"
    moved = 0
    candidates = orphan / CANDIDATES_DIR
    if candidates.is_dir():  # named by their bytes' sha1: the same name is the same input
        ensure_dir(inbox / CANDIDATES_DIR)
        for f in sorted(candidates.glob(f"{CANDIDATE_PREFIX}*")) + \
                sorted(candidates.glob("provisional.*.json")):  # per worker pid: no clash
            os.replace(f, inbox / CANDIDATES_DIR / f.name)
            moved += 1
        for f in candidates.iterdir():
            f.unlink(missing_ok=True)
        candidates.rmdir()
    for f in sorted(orphan.iterdir()):
        if f.name.startswith(".") or f.name == "inbox.json" or not f.is_file():
            continue
        stem, dot, suffix = f.name.rpartition(".")  # <id>.<pid>.bin, counts.<pid>.json
        os.replace(f, inbox / f"{stem}-{tag}{dot}{suffix}")
        moved += 1
    for f in orphan.iterdir():
        f.unlink(missing_ok=True)
    orphan.rmdir()
    return moved

"""Findings on disk: one folder per signature, and the run's summary.

A findings folder (`FDIR`) holds, for each unique divergent signature, a folder
`<op>-<signature id>/` with the reproducer in both forms (`repro.bin`, `repro.ops`) and
`record.json` (`signature`, `verdict`, `ops`, `pre`, `post`, `count`, `known`, `finding`,
and `minimized_from` when it was minimised; `pair`, `PRE..POST`, for a target with versions,
so that the finding replays on the pair it was found on: `repro.ops` says it in its header),
plus `summary.json` for the whole run.
Everything is written atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from fuzzplug.core.opslang import decode, encode, format_text
from fuzzplug.core.oracle import Outcome, Verdict, signature_id
from fuzzplug.io import atomic_write, ensure_dir
from fuzzplug.targets import pair_name


@dataclass(slots=True)
class FindingEntry:
    """One unique signature: how often it was hit, and its shortest reproducer."""

    signature: str
    count: int
    data: bytes
    outcome: Outcome | None = None
    known: bool = False
    original_len: int | None = None  # bytes before minimisation
    original_ops: int | None = None  # calls before minimisation
    notes: list[str] = field(default_factory=list)

    def folder_name(self) -> str:
        op = self.signature.split("/", 1)[0]
        return f"{op}-{signature_id(self.signature)}"


def n_calls(target, ops) -> int:
    return sum(1 for op in ops if not target.schema.spec(op.name).scene)


def record_json(target, entry: FindingEntry) -> dict:
    ops = decode(target.schema, entry.data)
    outcome = entry.outcome or target.evaluate(ops)
    out = {
        "target": target.name,
        "pair": pair_name(target),
        "signature": entry.signature,
        "verdict": outcome.verdict.value,
        "ops": format_text(target.schema, ops),
        "count": entry.count,
        "known": entry.known,
        "bytes": len(entry.data),
        "calls": n_calls(target, ops),
        "pre": outcome.pre.to_json(),
        "post": outcome.post.to_json(),
    }
    if outcome.finding is not None:
        out["finding"] = outcome.to_json()["finding"]
    if entry.original_len is not None:
        out["minimized_from"] = {"bytes": entry.original_len, "calls": entry.original_ops}
    if entry.notes:
        out["notes"] = entry.notes
    return out


def write_entry(target, fdir: Path, entry: FindingEntry) -> Path:
    ops = decode(target.schema, entry.data)
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
        return "no divergent findings\n"
    lines = [f"{len(entries)} unique divergent signature(s):", ""]
    for e in sorted(entries, key=lambda e: (-e.count, e.signature)):
        ops = decode(target.schema, e.data)
        known = " [known]" if e.known else ""
        lines.append(f"{e.signature}{known}")
        lines.append(f"  count: {e.count}   reproducer: {n_calls(target, ops)} call(s), "
                     f"{len(e.data)} bytes  ({e.folder_name()}/repro.ops)")
        for line in format_text(target.schema, ops).splitlines():
            lines.append(f"    {line}")
        lines.append("")
    return "\n".join(lines)

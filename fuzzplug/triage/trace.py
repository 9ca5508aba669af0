"""The side-by-side trace of `fuzzplug replay` (and of the harness's crash message).

Each op, then the pre-patch side on the left and the post-patch side on the right: the
return, the branch ids taken, and the notable events. The two columns share the width of
the terminal (`shutil.get_terminal_size`, 100 columns when the output is not a terminal, at
least 40 for each column); a line longer than its column is wrapped onto the next lines of
that column, never cut. A target that renders some events itself (the `Traced` capability:
PTE values decoded into flags, as `--json`'s state has them) is asked first.
"""

from __future__ import annotations

import shutil

from fuzzplug.core.opslang import format_text
from fuzzplug.core.oracle import Outcome
from fuzzplug.targets import Traced

_HIDDEN = {"ref", "alloc", "page_flag", "counter", "rmap", "callback", "ret"}
DEFAULT_COLUMNS = 100
MIN_COLUMN = 40
_GUTTER = " | "
_INDENT = "   "


def _event_line(e: dict) -> str:
    kind, fn = e["kind"], e["function"]
    if kind == "arch":
        extra = f" {e.get('addr', 0):#x}"
        if "old" in e and e.get("old") != e.get("new"):
            extra += f" {e['old']:#x}->{e['new']:#x}"
        return f"arch {fn}{extra}"
    if kind in ("warn", "bug"):
        printed = "" if e.get("printed", True) else " (once: silent)"
        return f"{kind.upper()} {fn}: {e.get('condition', '')}{printed}"
    if kind == "signal":
        return f"SIGNAL {e.get('signal')} ({fn})"
    if kind == "bad_pte":
        return f"BAD PTE {e.get('addr', 0):#x} ({fn})"
    if kind == "alloc_fail":
        return f"alloc failed: {fn}"
    return f"{kind} {fn}"


def _pieces(word: str, room: int) -> list[str]:
    """A word longer than `room` cut after its last `:`, `|` or `_` that fits (a branch id
    at a level of its name, a flag set at a flag), else at `room`."""
    out = []
    while len(word) > room:
        cut = max(word.rfind(ch, 0, room) for ch in ":|_") + 1
        cut = cut if cut > 0 else room
        out.append(word[:cut])
        word = word[cut:]
    return out + [word]


def _wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` characters, broken between words (a word too long
    for a line, at a `:`, `|` or `_` in it), continuation lines indented by two more spaces
    than the first; nothing dropped."""
    if len(text) <= width:
        return [text]
    lead = len(text) - len(text.lstrip(" "))
    indent = " " * (lead + 2)
    lines, line = [], " " * lead
    for word in text.split():
        sep = "" if line.isspace() or not line else " "
        if len(line) + len(sep) + len(word) <= width:
            line += sep + word
            continue
        if not line.isspace():
            lines.append(line)
            line, sep = indent, ""
        *full, word = _pieces(word, width - len(line))
        lines += [line + piece for piece in full]
        line = (indent if full else line) + word
    return lines + [line]


def columns(total: int | None = None) -> int:
    """The width of one side's column for a trace `total` characters wide (default: the
    terminal's)."""
    if total is None:
        total = shutil.get_terminal_size((DEFAULT_COLUMNS, 24)).columns
    return max(MIN_COLUMN, (total - len(_INDENT) - len(_GUTTER)) // 2)


def side_by_side(target, ops, outcome: Outcome, width: int | None = None,
                 notes: tuple[str, ...] = ()) -> str:
    """Each op, then the two sides' returns, branch ids and notable events side by side,
    in columns of `width` characters (default: fitted to the terminal, `columns`), long
    lines wrapped; the op where the sides first differ is marked. `notes` (the loader's
    scene normalisations) are said after the scene."""
    width = width or columns()
    describe = target.describe_event if isinstance(target, Traced) else (lambda e: None)
    calls = [op for op in ops if not target.schema.spec(op.name).scene]
    scene = [op for op in ops if target.schema.spec(op.name).scene]
    lines = []
    if scene:
        lines.append("scene: " + format_text(target.schema, scene).strip().replace("\n", "; "))
    lines += [f"scene normalised: {note}" for note in notes]
    first = outcome.finding.op_index if outcome.finding else None

    def event(e: dict) -> str:
        return "  " + (describe(e) or _event_line(e))

    for i, op in enumerate(calls[: len(outcome.pre.rets)]):
        mark = " <== first difference" if i == first else ""
        lines.append(f"#{i} {format_text(target.schema, [op]).strip()}{mark}")
        left = [f"{outcome.pre.version}: {outcome.pre.rets[i]}"]
        right = [f"{outcome.post.version}: {outcome.post.rets[i]}"]
        left += ["  " + b for b in outcome.pre.branches[i]]
        right += ["  " + b for b in outcome.post.branches[i]]
        left += [event(e) for e in outcome.pre.events if e["op"] == i and e["kind"] not in _HIDDEN]
        right += [event(e) for e in outcome.post.events
                  if e["op"] == i and e["kind"] not in _HIDDEN]
        left = [part for line in left for part in _wrap(line, width)]
        right = [part for line in right for part in _wrap(line, width)]
        for n in range(max(len(left), len(right))):
            a = left[n] if n < len(left) else ""
            b = right[n] if n < len(right) else ""
            lines.append(f"{_INDENT}{a:<{width}}{_GUTTER}{b}".rstrip())
    if outcome.finding:
        lines.append("differs: " + ", ".join(outcome.finding.diffs))
    return "\n".join(lines) + "\n"

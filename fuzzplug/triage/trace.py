"""Human-readable renderings: the side-by-side trace, the findings table."""

from __future__ import annotations

from fuzzplug.core.opslang import format_text
from fuzzplug.core.oracle import Outcome

_HIDDEN = {"ref", "alloc", "page_flag", "counter", "rmap", "callback", "ret"}


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


def side_by_side(target, ops, outcome: Outcome, width: int = 58) -> str:
    """Each op, then v4.13's and v4.14's returns, branch ids and notable events side by side;
    the op where the sides first differ is marked."""
    calls = [op for op in ops if not target.schema.spec(op.name).scene]
    scene = [op for op in ops if target.schema.spec(op.name).scene]
    lines = []
    if scene:
        lines.append("scene: " + format_text(target.schema, scene).strip().replace("\n", "; "))
    first = outcome.finding.op_index if outcome.finding else None
    for i, op in enumerate(calls[: len(outcome.pre.rets)]):
        mark = " <== first difference" if i == first else ""
        lines.append(f"#{i} {format_text(target.schema, [op]).strip()}{mark}")
        left = [f"{outcome.pre.version}: {outcome.pre.rets[i]}"]
        right = [f"{outcome.post.version}: {outcome.post.rets[i]}"]
        left += ["  " + b for b in outcome.pre.branches[i]]
        right += ["  " + b for b in outcome.post.branches[i]]
        left += ["  " + _event_line(e) for e in outcome.pre.events
                 if e["op"] == i and e["kind"] not in _HIDDEN]
        right += ["  " + _event_line(e) for e in outcome.post.events
                  if e["op"] == i and e["kind"] not in _HIDDEN]
        for n in range(max(len(left), len(right))):
            a = left[n] if n < len(left) else ""
            b = right[n] if n < len(right) else ""
            lines.append(f"   {a[:width]:<{width}} | {b}")
    if outcome.finding:
        lines.append("differs: " + ", ".join(outcome.finding.diffs))
    return "\n".join(lines) + "\n"

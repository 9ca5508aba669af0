"""insert_pfn's trace rendering: a PTE as pfn and flags, and a change of one entry as the
bits set and cleared (`InsertPfnTarget.describe_event`, the `Traced` capability)."""

from __future__ import annotations

from fuzzplug.kernel.types import pte_pfn, pte_t


def _pte_text(entry: pte_t) -> str:
    if not entry.val:
        return "none"
    decoded = entry.to_json()
    return f"pfn {decoded['pfn']:#x} {decoded['flags']}"


def _pte_change(old: pte_t, new: pte_t) -> str:
    """The new entry: the bits set and cleared when it maps the same pfn, else whole."""
    if not (old.val and new.val) or pte_pfn(old) != pte_pfn(new):
        return _pte_text(new)
    before = old.to_json()["flags"].split("|")
    after = new.to_json()["flags"].split("|")
    return " ".join([f"+{b}" for b in after if b not in before and b != "0"]
                    + [f"-{b}" for b in before if b not in after and b != "0"])

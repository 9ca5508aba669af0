"""How counts read in what fuzzplug prints: `1 call`, `2 calls`, never `1 call(s)`."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """`n word`, with the plural (`many`, else `word` + s) unless n is 1."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"

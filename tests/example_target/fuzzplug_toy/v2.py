"""The toy counter after the patch: `dec` below zero wraps around, and succeeds.

The sibling of `v1`: same functions in the same order, differing only where the "patch"
changed them. `k` is a `fuzzplug_toy.Counter`; each branch records a stable branch id.
"""

VERSION = "v2"
LIMIT = 255
BRANCH_IDS = frozenset({"inc:add", "inc:saturate", "dec:sub", "dec:wrap", "reset"})


def inc(k, n: int) -> int:
    """counter += n, saturating at LIMIT (-1 when it saturates)."""
    if k.value + n > LIMIT:
        k.branch("inc:saturate")
        k.value = LIMIT
        return -1
    k.branch("inc:add")
    k.value += n
    return 0


def dec(k, n: int) -> int:
    """counter -= n, modulo LIMIT + 1."""
    if n > k.value:
        k.branch("dec:wrap")
        k.value = (k.value - n) % (LIMIT + 1)
        return 0
    k.branch("dec:sub")
    k.value -= n
    return 0


def reset(k) -> int:
    """counter = 0."""
    k.branch("reset")
    k.value = 0
    return 0

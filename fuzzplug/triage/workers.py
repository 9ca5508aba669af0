"""Work shared out to forked worker processes, for the triage verbs that evaluate many
inputs one by one (`triage`, `backport`): each input's evaluation is deterministic and the
targets' caches never change a verdict, so the answers are the same whatever the number of
processes, and they come back in the inputs' order."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def fork_map(func: Callable[[T], R], items: Iterable[T], jobs: int) -> Iterator[R]:
    """`func(item)` for each item, lazily and in order: in `jobs` worker processes forked
    from this one (one item at a time each) when `jobs` is more than one and there are
    several items, else here. `func` is a module-level function; what it reads beside its
    item is set before the call in its module's globals, which the fork copies."""
    items = list(items)
    if jobs > 1 and len(items) > 1:
        with multiprocessing.get_context("fork").Pool(min(jobs, len(items))) as pool:
            yield from pool.imap(func, items, chunksize=1)
    else:
        for item in items:
            yield func(item)

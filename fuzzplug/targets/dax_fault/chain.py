"""dax_fault's chain of versions: v4.13, v4.14 (the series "DAX common 4k zero page"), then
v4.14 with each upstream fix the series' patch 1 needed (f2c57d91b0d9, then cae85cb8add3),
each with its DAX model and the commit that makes it from the version before (`CHAIN`,
`commits_between`).

The fixes change mm/memory.c's insert_pfn() only; fs/dax.c and ext4 are v4.14's. So the DAX
model of a fixed version is `dax_v4_14`'s code on that version's mm model (the insert_pfn
target's chain models, `fuzzplug.kernel.v4_14_f2c57d91b0d9` and
`v4_14_f2c57d91b0d9_cae85cb8add3`), bound by `fuzzplug.explore.daxbind.on_mm_model`: no copy
of the DAX model, and the version names are the insert_pfn chain's."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from fuzzplug.errors import InputError
from fuzzplug.explore.daxbind import on_mm_model
from fuzzplug.kernel import (
    dax_v4_13,
    dax_v4_14,
    v4_14_f2c57d91b0d9,
    v4_14_f2c57d91b0d9_cae85cb8add3,
)

SERIES = "b2770da64254"
"""The series' first patch, which the fixes fix (Fixes: b2770da64254); the series' DAX
change is its patch 3, 91d25ba8a6b0."""
F2C = "f2c57d91b0d9"
CAE = "cae85cb8add3"


@dataclass(frozen=True, slots=True)
class ChainVersion:
    """One version of the chain: its DAX model (over its mm model, `model.mm_model`), and
    the commit that makes it from the version before (None for the first)."""

    model: ModuleType
    commit: str | None
    subject: str
    upstream: str

    @property
    def name(self) -> str:
        return self.model.VERSION


CHAIN: tuple[ChainVersion, ...] = (
    ChainVersion(dax_v4_13, None, "Linux v4.13, before the series", "v4.13"),
    ChainVersion(dax_v4_14, SERIES,
                 "DAX common 4k zero page: b2770da64254 (mm: add vm_insert_mixed_mkwrite()) "
                 "to 91d25ba8a6b0 (dax: use common 4k zero page for dax mmap reads) and "
                 "patches 4-5", "v4.14-rc1"),
    ChainVersion(on_mm_model(dax_v4_14, v4_14_f2c57d91b0d9), F2C,
                 "mm: Fix warning in insert_pfn()", "v4.20; stable 4.14 (AUTOSEL)"),
    ChainVersion(on_mm_model(dax_v4_14, v4_14_f2c57d91b0d9_cae85cb8add3), CAE,
                 "mm/memory.c: fix modifying of page protection by insert_pfn()",
                 "v5.1, Fixes: b2770da64254; stable 4.14 (AUTOSEL), after f2c57d91b0d9"),
)
"""v4.13 → v4.14 (the series) → v4.14 + f2c57d91b0d9 → v4.14 + f2c57d91b0d9 +
cae85cb8add3. Any two versions compare, the older as pre; the default pair is the
series'."""
VERSIONS = tuple(v.name for v in CHAIN)
SERIES_PAIR = (dax_v4_13.VERSION, dax_v4_14.VERSION)


def chain_version(name: str) -> ChainVersion:
    """The chain's version called `name`; `InputError` if there is none."""
    for version in CHAIN:
        if version.name == name:
            return version
    raise InputError(f"dax_fault has no version {name!r}; its versions: "
                     f"{', '.join(VERSIONS)}")


def commits_between(pre: str, post: str) -> tuple[str, ...]:
    """The commits that make `post` from `pre`, in order; `InputError` unless `pre` comes
    before `post` in the chain."""
    i, j = VERSIONS.index(chain_version(pre).name), VERSIONS.index(chain_version(post).name)
    if i >= j:
        raise InputError(f"{pre}..{post}: the pre version must come before the post version "
                         f"in the chain ({' → '.join(VERSIONS)})")
    return tuple(v.commit for v in CHAIN[i + 1:j + 1])

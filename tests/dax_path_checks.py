"""What the DAX path tests share: `@covers`, which names the branch ids a test is about, and
small views of a machine's mapping and file (not a test module).

The tests (tests/test_dax_paths_*.py) test one branch of the DAX version models each
(`fuzzplug.kernel.dax_v4_13`, `dax_v4_14`): each boots a scene (`tests/dax_scenes.py`), runs ops
as the dax_fault target will, and asserts what the kernel does on that branch: the access's
result and fault count, the PTE, the mapping entry and its tags, the blocks and their data
(visible and durable), the hole pages, the events. `@covers(versions, ids)` names the branch ids
a test is about (and the test asserts they were taken);
tests/test_dax_paths_are_all_covered.py checks that every branch id a model declares is covered
or listed in UNREACHABLE with the reason a sequential run cannot take it (most are races that
issue #13 will reach).
"""

from __future__ import annotations

from fuzzplug.explore.daxfile import file_view, mapping_view


COVERED: dict[str, dict[str, str]] = {"v4.13": {}, "v4.14": {}}


def covers(versions: str, *ids: str):
    """Name the branch ids a test is about, for "v4.13", "v4.14" or "both"."""
    names = ("v4.13", "v4.14") if versions == "both" else (versions,)

    def mark(fn):
        for version in names:
            for branch_id in ids:
                assert branch_id not in COVERED[version], (branch_id, version)
                COVERED[version][branch_id] = fn.__name__
        return fn

    return mark


def took(branches: list[str], *ids: str) -> bool:
    return all(i in branches for i in ids)


def entry(m, index: int) -> dict | None:
    return mapping_view(m)["entries"].get(index)


def tags(m, index: int) -> list[str]:
    return mapping_view(m)["tags"].get(index, [])


def page(m, lblk: int) -> dict | None:
    return file_view(m)["pages"].get(lblk)

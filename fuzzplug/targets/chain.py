"""A target's chain of model versions, and what a target on one gets for free.

A target that compares more than one pair of versions (`fuzzplug.targets.Versioned`) holds
its versions as a `Chain`, oldest first: each `ChainVersion` is a model and the commit that
makes it from the version before (None for the first), with that commit's subject and
where upstream has it. `ChainedTarget` gives such a target the `Versioned` methods
(`versions`, `with_pair`, `commit_of`) from its `chain` and its own `rules_between(pre,
post)`: the rules of the commits between two versions are the target's, the chain's
bookkeeping is not.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType

from fuzzplug.errors import InputError


@dataclass(frozen=True, slots=True)
class ChainVersion:
    """One version of a chain: its model, and the commit that makes it from the version
    before (None for the first)."""

    model: ModuleType
    commit: str | None
    subject: str
    upstream: str
    """Where upstream has the commit (its release, the stable postings)."""

    @property
    def name(self) -> str:
        return self.model.VERSION


@dataclass(frozen=True, slots=True)
class Chain:
    """A target's versions, oldest first; iterable and indexable as the tuple it holds."""

    target: str
    versions: tuple[ChainVersion, ...]

    def __iter__(self) -> Iterator[ChainVersion]:
        return iter(self.versions)

    def __getitem__(self, index):
        return self.versions[index]

    def __len__(self) -> int:
        return len(self.versions)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.versions)

    def version(self, name: str) -> ChainVersion:
        """The version called `name`; `InputError` if there is none."""
        for version in self.versions:
            if version.name == name:
                return version
        raise InputError(f"{self.target} has no version {name!r}; its versions: "
                         f"{', '.join(self.names)}")

    def commits_between(self, pre: str, post: str) -> tuple[str, ...]:
        """The commits that make `post` from `pre`, in order; `InputError` unless `pre`
        comes before `post` in the chain."""
        names = self.names
        i, j = names.index(self.version(pre).name), names.index(self.version(post).name)
        if i >= j:
            raise InputError(f"{pre}..{post}: the pre version must come before the post "
                             f"version in the chain ({' → '.join(names)})")
        return tuple(v.commit for v in self.versions[i + 1:j + 1])


class ChainedTarget:
    """The `Versioned` methods of a target whose class sets `chain` (a `Chain`), the
    models and `pair` of its default pair, and defines `rules_between(pre, post)`."""

    chain: Chain
    pre_model: ModuleType
    post_model: ModuleType
    pair: tuple[str, str]
    rules: tuple

    def rules_between(self, pre: str, post: str) -> tuple:
        raise NotImplementedError

    def versions(self) -> tuple[str, ...]:
        """The chain, oldest first."""
        return self.chain.names

    def with_pair(self, pre: str, post: str):
        """A copy comparing chain version `pre` with `post`, under the rules of the commits
        between them."""
        rules = self.rules_between(pre, post)
        clone = copy.copy(self)
        clone.pre_model = self.chain.version(pre).model
        clone.post_model = self.chain.version(post).model
        clone.pair = (pre, post)
        clone.rules = rules
        return clone

    def commit_of(self, version: str) -> str | None:
        """The commit that makes `version` from its predecessor in the chain."""
        found = self.chain.version(version)
        return None if found.commit is None else f'{found.commit} ("{found.subject}")'

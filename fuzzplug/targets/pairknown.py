"""A target's known list by pair of versions: the `known.toml` of its package, read once,
whose `[[finding]]`s and `[[cause]]`s each belong to the pairs they list (`pairs =
["PRE..POST", ...]`), or to the target's default pair when they list none. Every chained
target reads its list through one `KnownToml` (its `known_findings`, `known_causes` and
`advice`)."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

from fuzzplug.core.advice import Advice, advice_from_toml
from fuzzplug.core.known import Cause, causes_from_toml


def pair_text(pre: str, post: str) -> str:
    """A pair as known.toml names it: `PRE..POST`."""
    return f"{pre}..{post}"


class KnownToml:
    """`known.toml` beside the modules of `package`; entries without `pairs` belong to
    `default_pair`."""

    def __init__(self, package: str, default_pair: tuple[str, str]):
        self.package = package
        self.default = pair_text(*default_pair)

    @functools.cached_property
    def data(self) -> dict:
        return tomllib.loads(resources.files(self.package).joinpath("known.toml").read_text())

    def _of(self, entry: dict, pair: str) -> bool:
        return pair in entry.get("pairs", [self.default])

    def findings(self, pre: str, post: str) -> dict[str, dict]:
        """The known findings of the pair, signature → record with its `cause_records`."""
        pair = pair_text(pre, post)
        causes = {c["id"]: c for c in self.data.get("cause", [])}
        return {f["signature"]: dict(f, cause_records=[causes[c] for c in f["causes"]])
                for f in self.data.get("finding", []) if self._of(f, pair)}

    def causes(self, pre: str, post: str) -> dict[str, Cause]:
        """The causes that explain divergences of the pair by their observables (listed for
        it), and every cause a finding of the pair names."""
        pair = pair_text(pre, post)
        named = {c for f in self.data.get("finding", []) if self._of(f, pair)
                 for c in f["causes"]}
        listed = {c["id"] for c in self.data.get("cause", []) if self._of(c, pair)}
        return {cid: cause for cid, cause in causes_from_toml(self.data).items()
                if cid in listed | named}

    def advice(self) -> Advice:
        """What known.toml tells a backporter beside the classes: `[scope]`,
        `[[companion]]`, `[[change]]` (the same for every pair)."""
        return advice_from_toml(self.data)

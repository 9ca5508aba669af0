"""insert_pfn_pmd's known findings and causes, by pair of versions: `known.toml` beside this
module, read once (a finding or cause without `pairs` belongs to the default pair, v5.0
against c6f3c5ee40c1)."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

from fuzzplug.core.advice import Advice, advice_from_toml
from fuzzplug.core.known import Cause, causes_from_toml
from fuzzplug.targets.insert_pfn_pmd.chain import DEFAULT_PAIR


@functools.cache
def _known_toml() -> dict:
    """known.toml beside this module, read once."""
    return tomllib.loads(resources.files(__package__).joinpath("known.toml").read_text())


def pair_text(pre: str, post: str) -> str:
    return f"{pre}..{post}"


def known_findings_of(pair: str) -> dict[str, dict]:
    """The known findings of one pair (`PRE..POST`), signature → record with its
    `cause_records`."""
    data = _known_toml()
    causes = {c["id"]: c for c in data.get("cause", [])}
    default = pair_text(*DEFAULT_PAIR)
    return {f["signature"]: dict(f, cause_records=[causes[c] for c in f["causes"]])
            for f in data.get("finding", []) if pair in f.get("pairs", [default])}


def known_causes_of(pair: str) -> dict[str, Cause]:
    """The causes that explain divergences of one pair by their observables (`pairs`, else
    the default pair), and every cause a finding of that pair names."""
    data = _known_toml()
    default = pair_text(*DEFAULT_PAIR)
    named = {c for f in data.get("finding", []) if pair in f.get("pairs", [default])
             for c in f["causes"]}
    causes = causes_from_toml(data)
    listed = {c["id"] for c in data.get("cause", []) if pair in c.get("pairs", [default])}
    return {cid: cause for cid, cause in causes.items() if cid in listed | named}


def advice() -> Advice:
    """What known.toml tells a backporter beside the classes: `[scope]`, `[[companion]]`,
    `[[change]]` (the same for every pair)."""
    return advice_from_toml(_known_toml())

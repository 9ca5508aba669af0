"""insert_pfn_pmd's known findings and causes, by pair of versions: `known.toml` beside this
module, read once (a finding or cause without `pairs` belongs to the default pair, v5.0
against c6f3c5ee40c1)."""

from __future__ import annotations

from fuzzplug.targets.insert_pfn_pmd.chain import DEFAULT_PAIR
from fuzzplug.targets.pairknown import KnownToml

KNOWN = KnownToml(__package__, DEFAULT_PAIR)

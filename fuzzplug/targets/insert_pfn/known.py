"""insert_pfn's known findings and causes, by pair of versions: `known.toml` beside this
module, read once (a finding or cause without `pairs` belongs to the seed's pair)."""

from __future__ import annotations

from fuzzplug.targets.insert_pfn.chain import SEED_PAIR
from fuzzplug.targets.pairknown import KnownToml

KNOWN = KnownToml(__package__, SEED_PAIR)

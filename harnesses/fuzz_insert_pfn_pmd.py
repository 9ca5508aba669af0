#!/usr/bin/env python3
"""Fuzz target: insert_pfn_pmd — c6f3c5ee40c1 ("mm/huge_memory.c: fix modifying of page
protection by insert_pfn_pmd()"), its first posting and fce86ff5802b, on v5.0.

Compares: every op sequence the bytes decode to (user loads and stores through one device
DAX or ext4 DAX mapping, the loser of a race to a none entry, fsync, zap, exit, injected
allocation failures, on a scene of config and mapping) run on two versions of the chain
(v5.0 and v5.0 + c6f3c5ee40c1 by default; FUZZPLUG_PAIR picks another); the oracle compares
fault results, WARN/BUG/bad-HPTE/check_mm events, the huge PMD and PUD entries, the
deposited tables, the page-table accounting and live tables, and the file's DAX state.
Knowingly suppressed: the pair's intended delta (fuzzplug/targets/insert_pfn_pmd/rules.py)
and the triaged known findings (fuzzplug/targets/insert_pfn_pmd/known.toml;
FUZZPLUG_NO_KNOWN=1 reports them too).
Raises: `Divergence`, from a frame named after the signature family, with the text-form
reproducer and both traces; nothing else, whatever the bytes.
"""

import sys

import atheris

with atheris.instrument_imports(include=["fuzzplug"]):
    from fuzzplug.engines.harness import Harness
    from fuzzplug.targets.insert_pfn_pmd import TARGET

HARNESS = Harness(TARGET)


def TestOneInput(data: bytes) -> None:
    HARNESS.test_one_input(data)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

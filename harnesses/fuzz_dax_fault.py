#!/usr/bin/env python3
"""Fuzz target: dax_fault — the series "DAX common 4k zero page" (v4.14; patch 1 is upstream
b2770da64254) through ext4's DAX fault paths.

Compares: every op sequence the bytes decode to (user loads and stores through shared and
private mappings of a DAX file, write(2), hole punch, truncate, fsync, msync, munmap,
injected allocation failures, on a scene of config, memory map, file layout and up to three
VMAs) run on the v4.13 and v4.14 DAX models; the oracle compares what user space sees (load
values, signals, OOM, livelock, the file's visible and durable data) and the kernel (PTEs,
struct pages, counters, mapping entries and tags, WARN/BUG/bad-PTE events, leaks).
Knowingly suppressed: the series' intended delta (fuzzplug/targets/dax_fault/rules.py) and
the triaged known findings (fuzzplug/targets/dax_fault/known.toml; FUZZPLUG_NO_KNOWN=1
reports them too).
Raises: `Divergence`, from a frame named after the signature family, with the text-form
reproducer and both traces; nothing else, whatever the bytes.
"""

import sys

import atheris

with atheris.instrument_imports(include=["fuzzplug"]):
    from fuzzplug.engines.harness import Harness
    from fuzzplug.targets.dax_fault import TARGET

HARNESS = Harness(TARGET)


def TestOneInput(data: bytes) -> None:
    HARNESS.test_one_input(data)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

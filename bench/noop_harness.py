#!/usr/bin/env python3
"""The baseline of the exec/s ratio: an atheris harness that does nothing with its input.

Same shape and the same libFuzzer flags as harnesses/fuzz_insert_pfn.py, with fuzzplug's
modules imported (and instrumented) but never called, so the ratio measures the work of
decoding, evaluating both models and judging, not libFuzzer's or atheris's own overhead.
"""

import sys

import atheris

with atheris.instrument_imports(include=["fuzzplug"]):
    from fuzzplug.engines.harness import Harness  # noqa: F401 - imported for the same start-up cost
    from fuzzplug.targets.insert_pfn import TARGET  # noqa: F401


def TestOneInput(data: bytes) -> None:
    pass


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

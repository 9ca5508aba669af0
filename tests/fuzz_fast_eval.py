#!/usr/bin/env python3
"""Differential harness of fuzzplug itself: insert_pfn's fast evaluation against the readable one.

Compares: for every op sequence the bytes decode to, `InsertPfnTarget.evaluate` (the fast
path, fuzzplug/targets/insert_pfn/fast.py) and `reference_evaluate` (the oracle as it reads
best): verdict, signature, finding, rules, per op and side the return, events, branch ids
and BUG, the final kernels and the semantic features (tests/test_fast_eval.py's
`assert_same_outcome`). Feedback: atheris' bytecode instrumentation of fuzzplug, so that
libFuzzer looks for paths through both evaluations. Knowingly suppressed: nothing.
Raises: `AssertionError` on the first difference; nothing else, whatever the bytes.
With FUZZPLUG_PAIR=PRE..POST it compares that pair of the chain (as the farm harness does).
`tests/test_fast_eval.py` runs it briefly; longer: `python tests/fuzz_fast_eval.py CORPUS`.
"""

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).parent))

with atheris.instrument_imports(include=["fuzzplug"]):
    from fuzzplug.core.opslang import decode
    from fuzzplug.targets import pair_from_environment
    from fuzzplug.targets.insert_pfn import TARGET

from test_fast_eval import assert_same_outcome  # noqa: E402

PAIRED = pair_from_environment(TARGET)  # FUZZPLUG_PAIR


def TestOneInput(data: bytes) -> None:
    assert_same_outcome(PAIRED, decode(TARGET.schema, data))


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

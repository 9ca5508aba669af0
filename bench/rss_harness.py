#!/usr/bin/env python3
"""The insert_pfn harness with a memory probe: every FUZZPLUG_RSS_EVERY (100,000) executions
it appends `executions rss_kib` to the file named by FUZZPLUG_RSS_LOG (VmRSS from
/proc/self/status).

Otherwise exactly harnesses/fuzz_insert_pfn.py (the same Harness, feedback mode, mutator
and instrumentation); the probe costs one counter increment per execution.
"""

import os
import sys

import atheris

from fuzzplug.engines import feedback

MODE = feedback.effective_mode(atheris, feedback.requested_mode())

with feedback.instrumentation(atheris, MODE):
    from fuzzplug.engines.harness import Harness
    from fuzzplug.engines.mutator import setup_kwargs
    from fuzzplug.targets.insert_pfn import TARGET

HARNESS = Harness(TARGET, feedback.counters_for(atheris, MODE))
EVERY = int(os.environ.get("FUZZPLUG_RSS_EVERY", "100000"))
LOG = os.environ["FUZZPLUG_RSS_LOG"]
_count = 0


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def TestOneInput(data: bytes) -> None:
    global _count
    _count += 1
    if _count % EVERY == 0:
        with open(LOG, "a") as out:
            out.write(f"{_count} {_rss_kib()}\n")
    HARNESS.test_one_input(data)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput, **setup_kwargs(atheris, TARGET, decoded=HARNESS.decoded))
    atheris.Fuzz()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Fuzz target: insert_pfn — "mm: add vm_insert_mixed_mkwrite()" (upstream b2770da64254).

Compares: every op sequence the bytes decode to (user accesses through the MMU, vm_insert_*
calls, unmaps, injected allocation failures, on a scene of config, VMA and memory map) run
on the v4.13 and the v4.14 models of mm/memory.c; the oracle compares returns as callers see
them, WARN/BUG/bad-PTE/signal and ppc64 bad-HPTE events, and the final PTEs, struct pages,
counters and ppc64 hash page table.
FUZZPLUG_PAIR=PRE..POST compares another pair of the target's chain of versions (v4.13,
v4.14, v4.14 with each upstream fix of the patch; `fuzzplug versions insert_pfn`); libFuzzer's
-fork/-jobs children inherit it.
Knowingly suppressed: the pair's intended delta (fuzzplug/targets/insert_pfn/rules.py,
INTENDED_RULES and FIX_RULES) and its triaged known findings
(fuzzplug/targets/insert_pfn/known.toml; FUZZPLUG_NO_KNOWN=1 reports them too).
Feedback: FUZZPLUG_FEEDBACK (fuzzplug/engines/feedback.py): by default the models' branch
ids, returns, verdicts and state classes hit libFuzzer counters and nothing is instrumented;
`bytecode` instruments fuzzplug instead, `both` does both (models only). Mutations:
FUZZPLUG_MUTATOR (fuzzplug/engines/mutator.py): op-level and libFuzzer's, or `bytes` only.
Raises: `Divergence`, from a frame named after the signature family, with the text-form
reproducer and both traces; nothing else, whatever the bytes.
"""

import sys

import atheris

from fuzzplug.engines import feedback

MODE = feedback.effective_mode(atheris, feedback.requested_mode())

with feedback.instrumentation(atheris, MODE):
    from fuzzplug.engines.harness import Harness
    from fuzzplug.engines.mutator import setup_kwargs
    from fuzzplug.targets import pair_from_environment
    from fuzzplug.targets.insert_pfn import TARGET

HARNESS = Harness(pair_from_environment(TARGET), feedback.counters_for(atheris, MODE))


def TestOneInput(data: bytes) -> None:
    HARNESS.test_one_input(data)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput, **setup_kwargs(atheris, TARGET, decoded=HARNESS.decoded))
    atheris.Fuzz()


if __name__ == "__main__":
    main()

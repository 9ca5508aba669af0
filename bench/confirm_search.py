"""What confirming a race's candidate costs: the full evaluation (`target.evaluate`) of
dax_fault inputs whose other version's search runs to its budget, with the reduction's
races looked for in every step of every run and only past the replayed steps
(`dpor.INCREMENTAL`), and with the search cut at `SEARCH_RUNS` made anew or resumed for
`CONFIRM_RUNS` (`tasks.RESUME`), in one run: CPU seconds (`time.process_time`) of each way,
and the ratio of the first to the last.

    python bench/confirm_search.py [--repeat N]

The inputs: a race of the generic/344 family as the fuzzer found it from a cold start and
the confirmer shrank it (a store of the block against a hole punch, a load and a write(2)
of that page; v4.13's search is cut at its budget of 4,000 runs, then 400 runs of one
preemption), and the seed of the race itself (whose v4.13 search completes). Each is
evaluated with the search cache emptied first, so each evaluation pays its searches.
"""

from __future__ import annotations

import argparse
import time

from fuzzplug.core.opslang import parse_text
from fuzzplug.explore import dpor
from fuzzplug.targets.dax_fault import tasks
from fuzzplug.targets.dax_fault.target import TARGET

INPUTS = [
    ("punch+load+write | store (cold find)",
     "store addr=0x100000\ntask id=1\npunch_hole\nload addr=0x100000\nwrite\n"
     "pct prio=t1_t0_t2 depth=2 at1=20\n"),
    ("load+store | write (the race's seed)",
     "load addr=0x101000\nstore addr=0x101000 val=0x66\ntask id=1\n"
     "write page=1 pages=1 val=0x40\nsched task=0 steps=13\nsched task=1 steps=4\n"
     "sched task=0 steps=30\n"),
]


WAYS = [("every step, new search", False, False),
        ("past replay, new search", True, False),
        ("past replay, resumed", True, True)]
"""(name, `dpor.INCREMENTAL`, `tasks.RESUME`): the races looked for in every step of every
run or only past the replayed steps; the search of `CONFIRM_RUNS` made anew or the cut
search of `SEARCH_RUNS` resumed."""


def measure(text: str, incremental: bool, resume: bool) -> tuple[float, str, str | None]:
    """CPU seconds of one full evaluation of `text` with the search cache emptied, its
    verdict and signature."""
    ops = parse_text(TARGET.schema, text)
    dpor.INCREMENTAL = incremental
    tasks.RESUME = resume
    tasks.SEARCHES.clear()  # empty: the evaluation pays its searches
    began = time.process_time()
    outcome = TARGET.evaluate(ops)
    return time.process_time() - began, outcome.verdict.value, outcome.signature


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="evaluations per input and way")
    args = ap.parse_args()
    print(f"{'input':40} " + " ".join(f"{w[0]:>24}" for w in WAYS) + "   ratio  verdict")
    for name, text in INPUTS:
        cpu = []
        seen = set()
        for _, incremental, resume in WAYS:
            best = None
            for _ in range(args.repeat):
                seconds, verdict, signature = measure(text, incremental, resume)
                best = seconds if best is None else min(best, seconds)
                seen.add((verdict, signature))
            cpu.append(best)
        assert len(seen) == 1, f"{name}: the ways disagree: {seen}"
        verdict, signature = seen.pop()
        print(f"{name:40} " + " ".join(f"{c:23.2f}s" for c in cpu)
              + f"  {cpu[0] / cpu[-1]:5.2f}x  {verdict} {signature}")
    dpor.INCREMENTAL = tasks.RESUME = True


if __name__ == "__main__":
    main()

"""`fuzzplug hypothesis TARGET --time S`: the Hypothesis state machine, seed after seed."""

from __future__ import annotations

import sys
from pathlib import Path

from fuzzplug.commands import add_known_option, add_pair_options, load_target_for


def add_parser(sub) -> None:
    p = sub.add_parser("hypothesis", help="run the target's Hypothesis state machine for a "
                                          "while and report the unique findings")
    p.add_argument("target")
    add_pair_options(p)
    p.add_argument("--time", type=float, default=60,
                   help="seconds (default 60; the run in progress finishes)")
    p.add_argument("--findings", help="findings folder (default: findings/TARGET-hypothesis)")
    p.add_argument("--no-known", action="store_true",
                   help="report the known (triaged) findings too")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the first Hypothesis run; run i uses seed+i (default 0)")
    p.add_argument("--steps", type=int, default=24,
                   help="calls per generated sequence at most (default 24)")
    p.add_argument("--max-examples", type=int, default=200,
                   help="examples per Hypothesis run (default 200)")
    add_known_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from fuzzplug.core.findings import table
    from fuzzplug.core.known import KnownList, summary_line
    from fuzzplug.core.words import plural
    from fuzzplug.engines.hypothesis_engine import known_hits, run_hypothesis, write_report

    target = load_target_for(args)
    result = run_hypothesis(target, seconds=args.time, no_known=args.no_known,
                            base_seed=args.seed, max_examples=args.max_examples,
                            steps=args.steps)
    fdir = args.findings or Path("findings") / f"{target.name}-hypothesis"
    entries = write_report(target, result, fdir, no_known=args.no_known,
                           base_seed=args.seed)
    sys.stdout.write(table(target, entries))
    new = sum(1 for e in entries if not e.known)
    sys.stdout.write(summary_line(new, known_hits(result, entries), KnownList.of(target))
                     + "\n")
    sys.stdout.write(f"{plural(result.runs, 'Hypothesis run')} in {result.seconds:.1f} s; "
                     f"findings in {fdir}\n")
    return 0

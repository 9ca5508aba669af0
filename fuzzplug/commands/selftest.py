"""`fuzzplug selftest TARGET`: mutation analysis of the post-patch model through the harness."""

from __future__ import annotations

import sys

from fuzzplug.commands import add_known_option, add_pair_options, load_target_for
from fuzzplug.commands.fuzz import add_engine_options
from fuzzplug.errors import InputError


def add_parser(sub) -> None:
    p = sub.add_parser("selftest", help="run each mutant of the post-patch model through "
                                        "the harness and report the kill rate")
    p.add_argument("target")
    add_pair_options(p)
    p.add_argument("--budget", type=int, default=10,
                   help="libFuzzer seconds per mutant (-max_total_time, default 10)")
    p.add_argument("--seed", type=int, default=1, help="libFuzzer -seed (default 1)")
    p.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    p.add_argument("--mutant", action="append", metavar="NAME",
                   help="run only this mutant (repeatable)")
    p.add_argument("--list", action="store_true", help="list the mutants and exit")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--fail-under", type=float, metavar="PCT",
                   help="exit 1 if the kill rate is below PCT percent")
    add_engine_options(p)
    add_known_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from fuzzplug.selftest.mutants import mutants_for
    from fuzzplug.selftest.runner import print_json, render, run_selftest

    target = load_target_for(args)
    if args.list:
        for m in mutants_for(target):
            kind = "equivalent" if m.equivalent else "gap" if m.gap else "mutant"
            sys.stdout.write(f"{m.name}\t{kind}\t{m.bug}\n")
        return 0
    if args.fail_under is not None and not 0 <= args.fail_under <= 100:
        raise InputError(f"--fail-under must be a percentage, got {args.fail_under}")
    report = run_selftest(target, budget=args.budget, seed=args.seed, names=args.mutant,
                          jobs=args.jobs, feedback=args.feedback, mutator=args.mutator)
    if args.json:
        print_json(report)
    else:
        sys.stdout.write(render(report))
    if args.fail_under is not None and 100 * report.kill_rate < args.fail_under:
        return 1
    return 0

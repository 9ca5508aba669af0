"""`fuzzplug exhaustive TARGET --depth K`: every call sequence up to K over a small domain."""

from __future__ import annotations

import sys

from fuzzplug.commands import add_pair_options, load_target_for


def add_parser(sub) -> None:
    p = sub.add_parser("exhaustive", help="check every sequence of up to K calls over the "
                                          "target's small domain, and say what is proven")
    p.add_argument("target")
    add_pair_options(p)
    p.add_argument("--depth", type=int, default=2, help="calls per sequence at most "
                                                        "(default 2)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--jobs", type=int, help="worker processes (default: the CPUs, at most 4)")
    p.add_argument("--findings", help="also write the signatures as findings folders here")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--no-reduce", action="store_true",
                   help="turn off state merging and the declared call and state reductions")
    p.add_argument("--tasks", type=int, default=1,
                   help="2: every interleaving of every pair of programs of up to --depth "
                        "calls (a target with interleavings)")
    p.set_defaults(func=run)


def run(args) -> int:
    from fuzzplug.engines.exhaustive import print_json, render, run_exhaustive, write_findings

    target = load_target_for(args)
    if args.tasks > 1:
        return _run_tasks(target, args)
    report = run_exhaustive(target, args.depth, jobs=args.jobs,
                            progress=not args.no_progress, reduce=not args.no_reduce)
    if args.findings:
        write_findings(target, report, args.findings)
    if args.json:
        print_json(target, report)
    else:
        sys.stdout.write(render(target, report))
    return 0 if not report.notes else 1


def _run_tasks(target, args) -> int:
    from fuzzplug.errors import FuzzplugError, InputError

    checker = getattr(target, "interleavings", None)
    if checker is None or args.tasks != 2:
        raise FuzzplugError(f"{target.name}: no exhaustive checker of {args.tasks} tasks")
    unsupported = [flag for flag, given in (("--json", args.json), ("--findings", args.findings),
                                            ("--jobs", args.jobs)) if given]
    if unsupported:
        raise InputError(f"{', '.join(unsupported)}: not supported with --tasks (the "
                         "interleavings checker runs in one process and prints text)")
    module = checker()
    report = module.run(target, args.depth, reduce=not args.no_reduce,
                        progress=not args.no_progress)
    sys.stdout.write(module.render(target, report))
    return 0 if not report.unproven else 1

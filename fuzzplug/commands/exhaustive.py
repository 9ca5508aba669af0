"""`fuzzplug exhaustive TARGET --depth K`: every call sequence up to K over a small domain."""

from __future__ import annotations

import sys

from fuzzplug.commands import add_known_option, add_pair_options, load_target_for


def add_parser(sub) -> None:
    p = sub.add_parser("exhaustive", help="check every sequence of up to K calls over the "
                                          "target's small domain, and say what is proven")
    p.add_argument("target")
    add_pair_options(p)
    p.add_argument("--depth", default="2", help="calls per sequence at most (default 2; "
                                                "with --tasks, K0/K1 gives each task its own)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--jobs", type=int, help="worker processes (default: the CPUs, at most 4)")
    p.add_argument("--findings", help="also write the signatures as findings folders here")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--no-reduce", action="store_true",
                   help="turn off state merging and the declared call and state reductions")
    p.add_argument("--tasks", type=int, default=1,
                   help="2: every interleaving of every pair of programs of up to --depth "
                        "calls (a target with interleavings)")
    p.add_argument("--calls", help="with --tasks: the target's named set of calls the "
                                   "programs take (SET, or SET0/SET1 per task)")
    p.add_argument("--scenes", help="with --tasks: the small domain's scenes to check "
                                    "(numbers, comma-separated; default all)")
    add_known_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from fuzzplug.engines.exhaustive import print_json, render, run_exhaustive, write_findings

    from fuzzplug.errors import InputError
    from fuzzplug.io import check_output_dir

    target = load_target_for(args)
    if args.findings:
        check_output_dir(args.findings)  # before the run, which can be long
    if args.tasks > 1:
        return _run_tasks(target, args)
    if args.calls or args.scenes:
        raise InputError("--calls and --scenes go with --tasks")
    try:
        depth = int(args.depth)
    except ValueError:
        raise InputError(f"--depth {args.depth!r}: a number of calls") from None
    report = run_exhaustive(target, depth, jobs=args.jobs,
                            progress=not args.no_progress, reduce=not args.no_reduce)
    if args.findings:
        write_findings(target, report, args.findings)
    if args.json:
        print_json(target, report)
    else:
        sys.stdout.write(render(target, report))
    return 0 if not report.notes else 1


def _run_tasks(target, args) -> int:
    """The target's interleavings checker (`--tasks 2`): its report as text or JSON, its
    signatures as findings folders, as the one-task checker does them."""
    from fuzzplug.engines.exhaustive import print_json, worker_count
    from fuzzplug.errors import FuzzplugError

    checker = getattr(target, "interleavings", None)
    if checker is None or args.tasks != 2:
        raise FuzzplugError(f"{target.name}: no exhaustive checker of {args.tasks} tasks")
    module = checker()
    bound = module.parse_bound(args.depth, args.calls, args.scenes)
    report = module.run(target, bound, reduce=not args.no_reduce,
                        progress=not args.no_progress, jobs=worker_count(args.jobs))
    if args.findings:
        module.write_findings(target, report, args.findings)
    if args.json:
        print_json(target, report)
    else:
        sys.stdout.write(module.render(target, report))
    return 0 if not report.unproven and not module.new_signatures(target, report) else 1

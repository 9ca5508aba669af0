"""`fuzzplug backport TARGET`: which fixes of the patch must a backport take? (see
`fuzzplug.triage.backport`)."""

from __future__ import annotations

import sys
from pathlib import Path

from fuzzplug.commands import add_known_option
from fuzzplug.io import atomic_write, check_output_dir
from fuzzplug.targets import load_target


def add_parser(sub) -> None:
    p = sub.add_parser("backport", help="compare each version of the target's chain (the "
                                        "patch, then each fix) with the version before the "
                                        "patch: a table of divergence classes, what each "
                                        "fix removes and introduces, and the answer")
    p.add_argument("target")
    p.add_argument("--depth", type=int, default=2,
                   help="exhaustive search depth per version (default 2; 0: the known "
                        "reproducers only)")
    p.add_argument("--format", choices=("text", "md", "json"), default="text",
                   help="text (default), Markdown for a review, or JSON")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the report here (atomically) instead of stdout")
    p.add_argument("--jobs", type=int,
                   help="worker processes for the known reproducers and the exhaustive "
                        "search (default: the CPUs, at most 4)")
    p.add_argument("--progress", action="store_true",
                   help="the exhaustive search's progress bar on stderr")
    add_known_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from fuzzplug.triage.backport import RENDERERS, run_backport

    target = load_target(args.target)
    if args.output:  # an output that cannot be written fails before minutes of work
        check_output_dir(Path(args.output).parent)
    report = run_backport(target, depth=args.depth, jobs=args.jobs, progress=args.progress)
    text = RENDERERS[args.format](report)
    if args.output:
        atomic_write(args.output, text)
    else:
        sys.stdout.write(text)
    return 0

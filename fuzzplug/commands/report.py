"""`fuzzplug report TARGET FINDINGS_DIR... [--format text|md|json] [-o FILE]`: findings by
root cause, with status, upstream fixes, configurations, counts and the shortest
reproducer (see `fuzzplug.triage.report`)."""

from __future__ import annotations

import sys

from fuzzplug.commands import add_known_option, add_pair_options, load_target_for
from fuzzplug.io import atomic_write
from fuzzplug.triage.report import FORMATS, build_report, render


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="the findings grouped by root cause, new ones first: "
                                      "status, upstream fixes, configurations, counts, "
                                      "shortest reproducer")
    p.add_argument("target")
    add_pair_options(p)
    p.add_argument("dirs", nargs="+", metavar="FINDINGS_DIR",
                   help="findings folders (`fuzz`, `hypothesis`, `exhaustive --findings`), "
                        "crash folders, killed runs' inboxes included")
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="text (a mailing-list reply, the default), md (a bug tracker) or json")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write here, atomically (default: stdout)")
    add_known_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    target = load_target_for(args)
    text = render(build_report(target, args.dirs), args.format)
    if args.output:
        atomic_write(args.output, text)
    else:
        sys.stdout.write(text)
    return 0

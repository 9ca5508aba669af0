"""`fuzzplug cmin TARGET IN_DIR... -o OUT_DIR`: the smallest corpus keeping every branch id
and every (verdict, signature) class; restartable (see `fuzzplug.triage.cmin`)."""

from __future__ import annotations

import sys

from fuzzplug.commands import add_pair_options, load_target_for
from fuzzplug.io import add_form_option
from fuzzplug.triage.cmin import report, run_cmin


def add_parser(sub) -> None:
    p = sub.add_parser("cmin", help="minimise a corpus over model branch ids and "
                                    "(verdict, signature) classes")
    p.add_argument("target")
    add_pair_options(p)
    p.add_argument("in_dirs", nargs="+", metavar="IN_DIR",
                   help="input folders (read only; every non-hidden file, recursively)")
    p.add_argument("-o", "--output", metavar="OUT_DIR", required=True,
                   help="where the kept inputs go, named by sha1 (with a .cmin-state.json "
                        "journal so an interrupted run resumes)")
    add_form_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    target = load_target_for(args)
    result = run_cmin(target, args.in_dirs, args.output, form=args.form)
    sys.stdout.write(report(result, args.output))
    return 0

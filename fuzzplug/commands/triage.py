"""`fuzzplug triage DIR... [--json]`: group crash files and findings by signature, confirm
that each reproduces (see `fuzzplug.triage.triage`)."""

from __future__ import annotations

import json
import sys

from fuzzplug.commands import add_known_option, add_pair_options, load_target_for
from fuzzplug.engines.exhaustive import worker_count
from fuzzplug.errors import InputError
from fuzzplug.targets import pair_name
from fuzzplug.triage.triage import render, triage


def add_parser(sub) -> None:
    p = sub.add_parser("triage", help="group crash files (crash-*, oom-*, timeout-*), "
                                      "findings reproducers, the inputs of killed runs' "
                                      "inboxes and candidates (candidate-*) by signature; "
                                      "re-run each twice")
    p.add_argument("dirs", nargs="+", metavar="DIR")
    p.add_argument("--target",
                   help="target of libFuzzer crash files (required when there are any); a "
                        "findings folder's record.json names its own")
    add_pair_options(p)
    p.add_argument("--json", action="store_true",
                   help="one JSON object per signature (target, signature, verdict, hits, "
                        "n_files, reproduces, known, known_causes, shortest, first_seen, "
                        "last_seen, files, problems)")
    p.add_argument("--candidates", action="store_true",
                   help="every other file below DIR is an input of a corpus: confirm or "
                        "drop those the target's budgeted evaluation leaves candidates "
                        "(a farm's corpus, where the harness could not write candidate-* "
                        "files); needs --target")
    p.add_argument("--jobs", type=int,
                   help="worker processes re-running the files (default: the CPUs, at most "
                        "4)")
    add_known_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    default_pair = None
    if args.pre or args.post:
        if not args.target:
            raise InputError("--pre/--post need --target (the target whose versions they "
                             "name)")
        default_pair = pair_name(load_target_for(args))
    if args.candidates and not args.target:
        raise InputError("--candidates needs --target (the target whose corpus it is)")
    groups = triage(args.dirs, args.target, default_pair, corpus=args.candidates,
                    jobs=worker_count(args.jobs))
    if args.json:
        for group in groups:
            sys.stdout.write(json.dumps(group.to_json(), sort_keys=True) + "\n")
    else:
        sys.stdout.write(render(groups))
    return 0

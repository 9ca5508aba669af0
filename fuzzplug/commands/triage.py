"""`fuzzplug triage DIR... [--json]`: group crash files and findings by signature, confirm
that each reproduces (see `fuzzplug.triage.triage`)."""

from __future__ import annotations

import json
import sys

from fuzzplug.triage.triage import render, triage


def add_parser(sub) -> None:
    p = sub.add_parser("triage", help="group crash files (crash-*, oom-*, timeout-*), "
                                      "findings reproducers and the inputs of killed runs' "
                                      "inboxes by signature; re-run each twice")
    p.add_argument("dirs", nargs="+", metavar="DIR")
    p.add_argument("--target",
                   help="target of libFuzzer crash files (required when there are any); a "
                        "findings folder's record.json names its own")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per signature (target, signature, verdict, hits, "
                        "n_files, reproduces, known, known_causes, shortest, first_seen, "
                        "last_seen, files, problems)")
    p.set_defaults(func=run)


def run(args) -> int:
    groups = triage(args.dirs, args.target)
    if args.json:
        for group in groups:
            sys.stdout.write(json.dumps(group.to_json(), sort_keys=True) + "\n")
    else:
        sys.stdout.write(render(groups))
    return 0

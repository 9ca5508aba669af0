"""`fuzzplug versions TARGET`: the target's model versions, oldest first, and its default pair."""

from __future__ import annotations

import json
import sys

from fuzzplug.targets import Versioned, load_target, pair_name, versions_of


def add_parser(sub) -> None:
    p = sub.add_parser("versions", help="list a target's model versions (oldest first): any "
                                        "two compare with --pre/--post")
    p.add_argument("target")
    p.add_argument("--json", action="store_true",
                   help="one JSON object: {target, versions, default_pair}")
    p.set_defaults(func=run)


def run(args) -> int:
    target = load_target(args.target)
    versions = versions_of(target)
    default = pair_name(target) if isinstance(target, Versioned) else "..".join(versions)
    if args.json:
        sys.stdout.write(json.dumps({"target": target.name, "versions": list(versions),
                                     "default_pair": default}, sort_keys=True) + "\n")
        return 0
    pre, _, post = default.partition("..")
    for version in versions:
        marks = [side for side, name in (("default pre", pre), ("default post", post))
                 if name == version]
        sys.stdout.write(version + (f"\t({', '.join(marks)})" if marks else "") + "\n")
    return 0

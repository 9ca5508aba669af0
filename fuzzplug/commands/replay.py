"""`fuzzplug replay TARGET FILE...`: the verdict, signature and side-by-side trace."""

from __future__ import annotations

import json
import sys

from fuzzplug.commands import add_pair_options, header_pair, load_target_for
from fuzzplug.core.opslang import format_text
from fuzzplug.io import load_ops
from fuzzplug.targets import pair_name
from fuzzplug.triage.trace import side_by_side


def add_parser(sub) -> None:
    p = sub.add_parser("replay", help="run inputs (binary or .ops) on both models and show "
                                      "the verdict and the traces")
    p.add_argument("target")
    p.add_argument("files", nargs="+", metavar="FILE")
    add_pair_options(p)
    p.add_argument("--json", action="store_true",
                   help="one JSON object per input (input, verdict, signature, pair, ops, pre, "
                        "post)")
    p.set_defaults(func=run)


def run(args) -> int:
    # all or nothing: every input loads (with the pair its header names, unless --pre/--post
    # choose one) before any runs
    loaded = []
    for path in args.files:
        target = load_target_for(args, header_pair(path))
        loaded.append((path, target, load_ops(target.schema, path)))
    for path, target, ops in loaded:
        outcome = target.evaluate(ops)
        if args.json:
            record = {"input": path, "verdict": outcome.verdict.value,
                      "signature": outcome.signature, "pair": pair_name(target),
                      "ops": format_text(target.schema, ops),
                      "pre": outcome.pre.to_json(), "post": outcome.post.to_json()}
            sys.stdout.write(json.dumps(record, sort_keys=True) + "\n")
        else:
            sys.stdout.write(f"== {path}: {outcome.verdict.value}"
                             f"{'  ' + outcome.signature if outcome.signature else ''}\n")
            sys.stdout.write(side_by_side(target, ops, outcome))
    return 0

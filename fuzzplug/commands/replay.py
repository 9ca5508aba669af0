"""`fuzzplug replay TARGET FILE...`: the verdict, signature and side-by-side trace."""

from __future__ import annotations

import json
import sys

from fuzzplug.core.opslang import format_text
from fuzzplug.io import load_ops
from fuzzplug.targets import load_target
from fuzzplug.triage.trace import side_by_side


def add_parser(sub) -> None:
    p = sub.add_parser("replay", help="run inputs (binary or .ops) on both models and show "
                                      "the verdict and the traces")
    p.add_argument("target")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per input (input, verdict, signature, ops, pre, post)")
    p.set_defaults(func=run)


def run(args) -> int:
    target = load_target(args.target)
    loaded = [(path, load_ops(target.schema, path)) for path in args.files]  # all or nothing
    for path, ops in loaded:
        outcome = target.evaluate(ops)
        if args.json:
            record = {"input": path, "verdict": outcome.verdict.value,
                      "signature": outcome.signature,
                      "ops": format_text(target.schema, ops),
                      "pre": outcome.pre.to_json(), "post": outcome.post.to_json()}
            sys.stdout.write(json.dumps(record, sort_keys=True) + "\n")
        else:
            sys.stdout.write(f"== {path}: {outcome.verdict.value}"
                             f"{'  ' + outcome.signature if outcome.signature else ''}\n")
            sys.stdout.write(side_by_side(target, ops, outcome))
    return 0

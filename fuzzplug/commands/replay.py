"""`fuzzplug replay TARGET FILE...`: the verdict, signature and side-by-side trace; a
scenario's `# expect:` and `# signature:` headers checked against them (`--check`: exit 1 on
any mismatch)."""

from __future__ import annotations

import json
import sys

from fuzzplug.commands import add_known_option, add_pair_options, input_pair, load_target_for
from fuzzplug.core.known import KnownList
from fuzzplug.core.opslang import format_text
from fuzzplug.core.words import plural
from fuzzplug.io import add_form_option, read_input
from fuzzplug.targets import pair_name
from fuzzplug.triage.trace import side_by_side


def add_parser(sub) -> None:
    p = sub.add_parser("replay", help="run inputs (binary, text or findings folders) on both "
                                      "models and show the verdict and the traces")
    p.add_argument("target")
    p.add_argument("files", nargs="+", metavar="FILE")
    add_pair_options(p)
    p.add_argument("--json", action="store_true",
                   help="one JSON object per input (input, verdict, signature, pair, known, "
                        "mismatches, normalised, ops, pre, post)")
    p.add_argument("--check", action="store_true",
                   help="exit 1 if a scenario's `# expect:` or `# signature:` header "
                        "disagrees with what it gives (for CI)")
    add_form_option(p)
    add_known_option(p)
    p.set_defaults(func=run)


def mismatches(header: dict, verdict: str, signature: str | None) -> list[str]:
    """What a scenario's header says that the run does not give."""
    out = []
    if "expect" in header and header["expect"] != verdict:
        out.append(f"# expect: {header['expect']}, but the verdict is {verdict}")
    if "signature" in header and header["signature"] != (signature or ""):
        out.append(f"# signature: {header['signature']}, but the signature is "
                   f"{signature or 'none'}")
    return out


def run(args) -> int:
    # all or nothing: every input loads, on the pair its header or record names unless
    # --pre/--post choose one, before any runs
    loaded = []
    for path in args.files:
        target = load_target_for(args, input_pair(path), source=path)
        loaded.append((path, target, read_input(target.schema, path, target=target,
                                                  form=args.form)))
    lists: dict[str | None, KnownList] = {}
    failed = 0
    for path, target, item in loaded:
        known = lists.setdefault(pair_name(target), KnownList.of(target))
        outcome = target.evaluate(item.ops)
        match = known.match(outcome.signature, item.ops)
        wrong = mismatches(item.header, outcome.verdict.value, outcome.signature)
        failed += bool(wrong)
        if args.json:
            record = {"input": path, "verdict": outcome.verdict.value,
                      "signature": outcome.signature, "pair": pair_name(target),
                      "known": match.to_json() if match else None,
                      "mismatches": wrong, "normalised": list(item.normalised),
                      "ops": format_text(target.schema, item.ops),
                      "pre": outcome.pre.to_json(), "post": outcome.post.to_json()}
            sys.stdout.write(json.dumps(record, sort_keys=True) + "\n")
            continue
        status = ""
        if outcome.signature:
            status = f"  [{match.describe()}]" if match else "  [new]"
        sys.stdout.write(f"== {path}: {outcome.verdict.value}"
                         f"{'  ' + outcome.signature if outcome.signature else ''}{status}\n")
        for line in wrong:
            sys.stdout.write(f"MISMATCH: {line}\n")
        told = getattr(target, "story", None)
        text = told(item.ops) if told is not None else None
        if text:  # several tasks: how they interleaved on each side
            sys.stdout.write(text)
        sys.stdout.write(side_by_side(target, item.ops, outcome, notes=item.normalised))
    if failed and args.check:
        verb = "disagrees with its header" if failed == 1 else "disagree with their headers"
        sys.stderr.write(f"fuzzplug: {failed} of {plural(len(loaded), 'input')} {verb}\n")
        return 1
    return 0

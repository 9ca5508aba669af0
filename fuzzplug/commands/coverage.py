"""`fuzzplug coverage TARGET DIR... [--json]`: how many inputs reach each model branch id
(see `fuzzplug.core.semcov`)."""

from __future__ import annotations

import json
import sys

from fuzzplug.commands import add_pair_options, load_target_for
from fuzzplug.core.semcov import coverage, input_files, load_inputs
from fuzzplug.io import add_form_option


def add_parser(sub) -> None:
    p = sub.add_parser("coverage", help="semantic coverage: inputs reaching each model branch "
                                        "id, per model version; unreached ids first")
    p.add_argument("target")
    add_pair_options(p)
    p.add_argument("dirs", nargs="+", metavar="DIR",
                   help="input folders (every non-hidden file, recursively)")
    p.add_argument("--json", action="store_true",
                   help="a single JSON object: {target, inputs, versions, branches: [{branch, "
                        "status, declared_in, inputs: {version: n}}...] (unreached first), "
                        "totals}")
    add_form_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    target = load_target_for(args)
    report = coverage(target, load_inputs(target.schema, input_files(args.dirs),
                                         target=target, form=args.form))
    rows, totals, versions = report.rows(), report.totals(), report.versions()
    if args.json:
        sys.stdout.write(json.dumps({"target": target.name, "inputs": report.inputs,
                                     "versions": versions, "branches": rows,
                                     "totals": totals}, sort_keys=True) + "\n")
        return 0
    width = max([len(r["branch"]) for r in rows] + [len("BRANCH")])
    lines = ["  ".join(["STATUS    ", "BRANCH".ljust(width)] + [v.rjust(8) for v in versions])]
    for r in rows:
        cells = [r["inputs"][v] if v in r["declared_in"] or r["inputs"][v] else "-"
                 for v in versions]
        lines.append("  ".join([r["status"].ljust(10), r["branch"].ljust(width)]
                               + [str(c).rjust(8) for c in cells]))
    lines.append("")
    lines.append(f"inputs: {totals['inputs']}")
    for v, t in totals["versions"].items():
        lines.append(f"{v}: {t['reached']} of {t['declared']} declared branch ids reached "
                     f"({t['percent']}%)")
    lines.append("branch ids by status: " + ", ".join(
        f"{k} {n}" for k, n in sorted(totals["branches"].items())))
    sys.stdout.write("\n".join(line.rstrip() for line in lines) + "\n")
    return 0

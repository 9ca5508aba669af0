"""`fuzzplug known add TARGET FINDING --to FILE`: list a finding in your own known file
(see `fuzzplug.triage.known_add`)."""

from __future__ import annotations

import sys

from fuzzplug.commands import add_known_option, add_pair_options, input_pair, load_target_for
from fuzzplug.io import add_form_option


def add_parser(sub) -> None:
    p = sub.add_parser("known", help="your own known list: `known add` lists a finding in "
                                     "it, with a cause to fill in")
    verbs = p.add_subparsers(dest="known_verb", metavar="ACTION", required=True)
    add = verbs.add_parser("add", help="append a finding (its signature, reproducer and a "
                                       "cause stub) to a known file, atomically; a "
                                       "signature already listed is refused")
    add.add_argument("target")
    add.add_argument("finding", metavar="FINDING",
                     help="a findings folder (its repro.bin) or an input file")
    add.add_argument("--to", metavar="FILE", required=True,
                     help="the known file to append to (created if missing; its existing "
                          "entries are kept)")
    add_pair_options(add)
    add_form_option(add)
    add_known_option(add)
    add.set_defaults(func=run_add)


def run_add(args) -> int:
    from fuzzplug.triage.known_add import add_known

    target = load_target_for(args, input_pair(args.finding))
    added = add_known(target, args.finding, args.to, form=args.form)
    if added.stub:
        sys.stdout.write(f"added {added.signature} to {added.path}, with the cause "
                         f"{added.stub}: fill in its title, status, label and analysis\n")
    else:
        sys.stdout.write(f"added {added.signature} to {added.path}, with the known "
                         f"cause(s) {' + '.join(added.causes)}\n")
    return 0

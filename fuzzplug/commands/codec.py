"""`fuzzplug encode` / `fuzzplug decode`: between the text and the binary form."""

from __future__ import annotations

import sys

from fuzzplug.core.opslang import encode, format_text
from fuzzplug.io import TEXT, add_form_option, atomic_write, load_text_ops, read_input
from fuzzplug.targets import load_target


def add_parser(sub) -> None:
    p = sub.add_parser("encode", help="text scenario -> binary input")
    p.add_argument("target")
    p.add_argument("file", help="a text scenario (by content, whatever its name)")
    p.add_argument("-o", "--output", help="write here (default: stdout)")
    p.set_defaults(func=run_encode)
    p = sub.add_parser("decode", help="binary input -> text scenario (a text scenario is "
                                      "parsed and printed in canonical form)")
    p.add_argument("target")
    p.add_argument("file", help="a binary input (libFuzzer corpus file, crash file) or a "
                                "findings folder")
    p.add_argument("-o", "--output", help="write here (default: stdout)")
    add_form_option(p)
    p.set_defaults(func=run_decode)


def run_encode(args) -> int:
    target = load_target(args.target)
    blob = encode(target.schema, load_text_ops(target.schema, args.file, target=target))
    if args.output:
        atomic_write(args.output, blob)
    else:
        sys.stdout.buffer.write(blob)
    return 0


def run_decode(args) -> int:
    """A text scenario is printed in its canonical form; a binary input as the scenario it
    decodes to, its scene normalised, each normalisation said in a `#` comment first."""
    target = load_target(args.target)
    loaded = read_input(target.schema, args.file, target=target, form=args.form)
    notes = "" if loaded.form == TEXT else "".join(
        f"# scene normalised: {note}\n" for note in loaded.normalised)
    text = notes + format_text(target.schema, loaded.ops)
    if args.output:
        atomic_write(args.output, text)
    else:
        sys.stdout.write(text)
    return 0

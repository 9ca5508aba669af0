"""`fuzzplug encode` / `fuzzplug decode`: between the text and the binary form."""

from __future__ import annotations

import sys

from fuzzplug.core.opslang import decode, encode, format_text
from fuzzplug.errors import InputError
from fuzzplug.io import atomic_write, is_text_scenario, load_text_ops, read_bytes
from fuzzplug.targets import load_target


def add_parser(sub) -> None:
    p = sub.add_parser("encode", help="text scenario (.ops) -> binary input")
    p.add_argument("target")
    p.add_argument("file", help="a .ops text scenario")
    p.add_argument("-o", "--output", help="write here (default: stdout)")
    p.set_defaults(func=run_encode)
    p = sub.add_parser("decode", help="binary input -> text scenario (a .ops file is parsed "
                                      "and printed in canonical form)")
    p.add_argument("target")
    p.add_argument("file", help="a binary input (libFuzzer corpus file, crash file)")
    p.add_argument("-o", "--output", help="write here (default: stdout)")
    p.set_defaults(func=run_decode)


def run_encode(args) -> int:
    target = load_target(args.target)
    blob = encode(target.schema, load_text_ops(target.schema, args.file))
    if args.output:
        atomic_write(args.output, blob)
    else:
        sys.stdout.buffer.write(blob)
    return 0


def run_decode(args) -> int:
    target = load_target(args.target)
    if is_text_scenario(args.file):
        # Already text: parse it (errors name file:line) and print its canonical form.
        ops = load_text_ops(target.schema, args.file)
    else:
        data = read_bytes(args.file)
        if not data:
            raise InputError(f"{args.file}: empty file, expected a binary op sequence")
        ops = decode(target.schema, data)
    text = format_text(target.schema, ops)
    if args.output:
        atomic_write(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


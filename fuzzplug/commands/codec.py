"""`fuzzplug encode` / `fuzzplug decode`: between the text and the binary form."""

from __future__ import annotations

import sys

from fuzzplug.io import atomic_write, load_ops, read_bytes
from fuzzplug.opslang import decode, encode, format_text, parse_text
from fuzzplug.errors import InputError
from fuzzplug.targets import load_target


def add_parser(sub) -> None:
    p = sub.add_parser("encode", help="text scenario (.ops) -> binary input")
    p.add_argument("target")
    p.add_argument("file", help="a .ops text scenario")
    p.add_argument("-o", "--output", help="write here (default: stdout)")
    p.set_defaults(func=run_encode)
    p = sub.add_parser("decode", help="binary input -> text scenario")
    p.add_argument("target")
    p.add_argument("file", help="a binary input (libFuzzer corpus file, crash file)")
    p.add_argument("-o", "--output", help="write here (default: stdout)")
    p.set_defaults(func=run_decode)


def run_encode(args) -> int:
    target = load_target(args.target)
    data = read_bytes(args.file)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{args.file}: not UTF-8 text; expected a .ops scenario") from None
    blob = encode(target.schema, parse_text(target.schema, text, path=args.file))
    if args.output:
        atomic_write(args.output, blob)
    else:
        sys.stdout.buffer.write(blob)
    return 0


def run_decode(args) -> int:
    target = load_target(args.target)
    data = read_bytes(args.file)
    if not data:
        raise InputError(f"{args.file}: empty file, expected a binary op sequence")
    text = format_text(target.schema, decode(target.schema, data))
    if args.output:
        atomic_write(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


__all__ = ["add_parser", "load_ops"]

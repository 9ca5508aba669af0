"""`fuzzplug export TARGET FILE --pytest [-o PATH]`: a reproducer as a regression test."""

from __future__ import annotations

import sys
from pathlib import Path

from fuzzplug.core.semcov import load_input
from fuzzplug.errors import OutputError
from fuzzplug.io import atomic_write
from fuzzplug.targets import load_target
from fuzzplug.triage.export import export_id, pytest_source


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write a self-contained pytest regression test for an "
                                      "input (its current verdict and signature)")
    p.add_argument("target")
    p.add_argument("file", help="an input: binary or .ops")
    p.add_argument("--pytest", action="store_true", required=True,
                   help="export as a pytest module (the only format)")
    p.add_argument("-o", "--output", metavar="PATH",
                   help="the test file, or a folder for it (default: "
                        "./test_regression_<signature id>.py)")
    p.set_defaults(func=run)


def run(args) -> int:
    target = load_target(args.target)
    ops = load_input(target.schema, args.file)
    outcome = target.evaluate(ops)
    name = f"test_regression_{export_id(target, ops, outcome)}.py"
    path = Path(args.output) if args.output else Path.cwd() / name
    if path.is_dir():
        path = path / name
    if path.resolve() == Path(args.file).resolve():
        raise OutputError(f"{path}: would overwrite the input; choose another -o")
    atomic_write(path, pytest_source(target, ops, outcome, source=str(args.file)))
    sys.stdout.write(f"wrote {path}: {outcome.verdict.value}"
                     f"{' ' + outcome.signature if outcome.signature else ''}\n")
    return 0

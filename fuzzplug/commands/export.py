"""`fuzzplug export TARGET FILE [--pytest] [--pre V --post V] [-o PATH]`: a reproducer as
a regression test, judged on the pair the input names (a scenario's `# pair:`, a finding's
record.json) unless --pre/--post say otherwise. An existing file is never replaced by
another input's test: exit 2 (the same test written again is allowed)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fuzzplug.commands import add_pair_options, input_pair, load_target_for
from fuzzplug.errors import OutputError
from fuzzplug.io import add_form_option, atomic_write, check_output_dir, read_input
from fuzzplug.targets import pair_name
from fuzzplug.triage.export import export_id, pytest_source


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write a self-contained pytest regression test for an "
                                      "input (its current verdict and signature)")
    p.add_argument("target")
    p.add_argument("file", help="an input: binary, text scenario, or a findings folder "
                                "(its repro.bin)")
    p.add_argument("--pytest", action="store_true",
                   help="export as a pytest module (the only format, and the default)")
    add_pair_options(p)
    p.add_argument("-o", "--output", metavar="PATH",
                   help="the test file (ending in .py), or a folder for it: an existing one, "
                        "or one to create, written with a trailing / (default: "
                        "./test_regression_<signature id>.py)")
    add_form_option(p)
    p.set_defaults(func=run)


def output_path(output: str | None, name: str) -> Path:
    """Where the test goes: `name` in the current folder; in the folder `output` names (an
    existing folder, or a new one when it ends in /, created); or the file `output`, which
    must end in .py (pytest collects nothing else, and a bare name is more likely a folder
    meant to exist)."""
    if output is None:
        return Path.cwd() / name
    path = Path(output)
    if path.is_dir():
        return path / name
    if output.endswith(("/", os.sep)):
        check_output_dir(path)
        return path / name  # atomic_write creates the folder
    if path.suffix != ".py":
        raise OutputError(f"{output}: not a folder, and not a .py file; name a test file "
                          "ending in .py, or a folder to create with a trailing /")
    return path


def run(args) -> int:
    target = load_target_for(args, input_pair(args.file), source=args.file)
    loaded = read_input(target.schema, args.file, target=target, form=args.form)
    ops = loaded.ops
    outcome = target.evaluate(ops)
    name = f"test_regression_{export_id(target, ops, outcome)}.py"
    path = output_path(args.output, name)
    if path.resolve() == loaded.path.resolve():
        raise OutputError(f"{path}: would overwrite the input; choose another -o")
    text = pytest_source(target, ops, outcome, source=str(args.file))
    if path.exists() and _body(path) != _body_of(text):
        raise OutputError(f"{path}: exists and tests another reproducer (two inputs with "
                          "one signature get one name); choose another -o, or remove it")
    atomic_write(path, text)
    pair = pair_name(target)
    sys.stdout.write(f"wrote {path}: {outcome.verdict.value}"
                     f"{' ' + outcome.signature if outcome.signature else ''}"
                     f"{f' on {pair}' if pair else ''}\n")
    return 0


def _body_of(text: str) -> str:
    """A test module without its docstring (which names the file it was exported from):
    two exports of the same reproducer on the same pair have the same body."""
    return text.split('"""\n', 1)[-1] if text.startswith('"""') else text


def _body(path: Path) -> str | None:
    try:
        return _body_of(path.read_text())
    except (OSError, UnicodeDecodeError):
        return None

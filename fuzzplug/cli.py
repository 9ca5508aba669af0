"""The `fuzzplug` command line.

Each verb lives in its own module under `fuzzplug.commands` with two functions:
`add_parser(subparsers)` (declares the verb and its options, sets `func=run`) and
`run(args) -> int`. Verbs are found by listing that package, so adding a verb is adding a
module. `--log-format` and `--log-level` go before or after the verb. Every `FuzzplugError`
becomes one line on stderr and exit status 2; usage errors are argparse's (also status 2).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from fuzzplug import __version__
from fuzzplug.core.known import user_known
from fuzzplug.errors import FuzzplugError
from fuzzplug.log import configure


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2, no usage dump
        sys.stderr.write(f"fuzzplug: error: {message}\n")
        raise SystemExit(2)


def _log_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """The log options; without `defaults` (a verb's parser) an option not given sets
    nothing, so the value given before the verb stands."""
    parser.add_argument("--log-format", choices=("console", "json"),
                        default="console" if defaults else argparse.SUPPRESS,
                        help="logs on stderr: readable lines (console) or JSON lines")
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"),
                        default="info" if defaults else argparse.SUPPRESS)


class _VerbParser(_Parser):
    """A verb's parser: it takes the log options too, so they work after the verb as well
    as before it (given after it, they win)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _log_options(self, defaults=False)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fuzzplug",
                     description="Differential fuzzing of Linux mm patches through "
                                 "executable models.")
    parser.add_argument("--version", action="version", version=f"fuzzplug {__version__}")
    _log_options(parser, defaults=True)
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_VerbParser)
    import fuzzplug.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"fuzzplug.commands.{info.name}")
        module.add_parser(sub)
    _describe_targets(sub)
    # the verbs in the order of use (argparse keeps them in its private list of choices)
    rank = {verb: i for i, verb in enumerate(VERB_ORDER)}
    sub._choices_actions.sort(key=lambda a: (rank.get(a.dest, len(rank)), a.dest))
    return parser


VERB_ORDER = ("targets", "versions", "fuzz", "replay", "report", "backport", "encode",
              "decode", "minimize", "cmin", "triage", "known", "export", "coverage",
              "hypothesis", "exhaustive", "selftest", "seeds", "dict", "options")
"""How `fuzzplug --help` lists the verbs: finding, reading, triage, other engines, farm
files (the README's table); a verb not listed comes last, by name."""


def _describe_targets(sub) -> None:
    """Every verb's positional TARGET gets a help naming the installed targets, read from
    the entry-point metadata (`fuzzplug.targets.target_names`), so that no target is
    imported to print a usage."""
    from fuzzplug.targets import target_names

    names = target_names()
    text = (f"the target: {', '.join(names)} (`fuzzplug targets` describes them; a plugin "
            "installed adds its own)")
    for verb_parser in sub.choices.values():
        for action in verb_parser._actions:
            if action.dest == "target" and not action.option_strings and not action.help:
                action.help, action.metavar = text, "TARGET"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure(args.log_format, args.log_level)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        with user_known(getattr(args, "known", None)):  # --known: the user's known files
            return int(args.func(args) or 0)
    except FuzzplugError as exc:
        sys.stderr.write(f"fuzzplug: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("fuzzplug: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())

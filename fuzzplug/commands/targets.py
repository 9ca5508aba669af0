"""`fuzzplug targets`: list the targets, name first on each line."""

from __future__ import annotations

from fuzzplug.targets import load_target, target_names


def add_parser(sub) -> None:
    p = sub.add_parser("targets", help="list the targets (name first on each line)")
    p.set_defaults(func=run)


def run(args) -> int:
    for name in target_names():
        target = load_target(name)
        print(f"{name}\t{target.description}")
    return 0

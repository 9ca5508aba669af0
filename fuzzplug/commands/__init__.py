"""One module per CLI verb: `add_parser(subparsers)` and `run(args) -> int`.

The helpers here are shared by the verbs (this package's own module, not a verb): the
`--pre`/`--post` options of a target with versions (`fuzzplug.targets.Versioned`).
"""

from __future__ import annotations


def add_pair_options(parser) -> None:
    """`--pre VERSION` and `--post VERSION`: the pair of model versions to compare, for a
    target with versions (`fuzzplug versions TARGET` lists them); a side not given keeps the
    target's default."""
    parser.add_argument("--pre", metavar="VERSION",
                        help="the pre side's model version (default: the target's; see "
                             "`fuzzplug versions TARGET`)")
    parser.add_argument("--post", metavar="VERSION",
                        help="the post side's model version (default: the target's)")


def load_target_for(args, pair: str | None = None):
    """The target `args.target`, comparing the pair `--pre`/`--post` ask for, else `pair`
    (`PRE..POST`, from an input's header or record), else its default pair."""
    from fuzzplug.targets import load_target, select_pair

    target = load_target(args.target)
    pre, post = getattr(args, "pre", None), getattr(args, "post", None)
    if pre or post:
        return select_pair(target, pre, post)
    return select_pair(target, pair=pair) if pair else target


def header_pair(path) -> str | None:
    """The `# pair: PRE..POST` of a scenario's header (`.ops`), if it has one: a scenario or
    a minimised finding replays with the pair it was found on."""
    from fuzzplug.core.opslang import parse_header
    from fuzzplug.io import is_text_scenario, read_bytes

    if not is_text_scenario(path):
        return None
    text = read_bytes(path).decode("utf-8", "replace")
    return parse_header(text).get("pair") or None

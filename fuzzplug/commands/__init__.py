"""One module per CLI verb: `add_parser(subparsers)` and `run(args) -> int`.

The helpers here are shared by the verbs (this package's own module, not a verb): the
`--pre`/`--post` options of a target with versions (`fuzzplug.targets.Versioned`), and
`--known FILE` on every verb that matches divergences against the known list.
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


def add_known_option(parser) -> None:
    """`--known FILE` (repeatable): a user's known file merged into the target's known list
    for this command, after those `FUZZPLUG_KNOWN` names (`fuzzplug.core.known`; the CLI
    sets the variable for the command, so the harness and workers it starts read them)."""
    parser.add_argument("--known", action="append", metavar="FILE",
                        help="a known file of your own ([[cause]] and [[finding]] tables, "
                             "as a target's known.toml) merged into the target's list; "
                             "repeatable; added to FUZZPLUG_KNOWN's")


def load_target_for(args, pair: str | None = None, source=None):
    """The target `args.target`, comparing the pair `--pre`/`--post` ask for, else `pair`
    (`PRE..POST`, from the input `source`'s header or record), else its default pair. An
    input that belongs to another target (its record.json names one) or names a pair the
    target does not have is refused, naming the input, not the options."""
    from fuzzplug.errors import InputError
    from fuzzplug.targets import Versioned, load_target, select_pair

    target = load_target(args.target)
    if source is not None:
        owner = input_target(source)
        if owner is not None and owner != target.name:
            verb = getattr(args, "verb", None) or "replay"
            raise InputError(f"{source}: a finding of target {owner}, not {target.name} "
                             f"(its record.json says so); try `fuzzplug {verb} {owner} ...`")
    pre, post = getattr(args, "pre", None), getattr(args, "post", None)
    if pre or post:
        return select_pair(target, pre, post)
    if pair and source is not None and not isinstance(target, Versioned):
        raise InputError(f"{source}: names the pair {pair} (its `# pair:` line or "
                         f"record.json), but target {target.name} has one pair of models; "
                         "is it another target's input?")
    if not pair:
        return target
    try:
        return select_pair(target, pair=pair)
    except InputError as exc:
        if source is None:
            raise
        raise InputError(f"{source}: names the pair {pair} (its `# pair:` line or "
                         f"record.json), which target {target.name} lacks: {exc}") from None


def _record_of(path):
    """The record.json beside a findings reproducer (a findings folder or its repro.bin),
    or None."""
    import json

    from fuzzplug.io import input_path

    p = input_path(path)
    record = p.with_name("record.json")
    if p.name != "repro.bin" or not record.is_file():
        return None
    try:
        data = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def input_target(path) -> str | None:
    """The target a findings reproducer's record.json names, if any."""
    name = (_record_of(path) or {}).get("target")
    return name if isinstance(name, str) and name else None


def input_pair(path) -> str | None:
    """The pair an input names, if any: a scenario's `# pair: PRE..POST` header, or the
    `pair` of a findings folder's `record.json` (beside its `repro.bin`). A finding replays
    on the pair it was found on."""
    from fuzzplug.core.opslang import parse_header
    from fuzzplug.io import input_path, read_bytes

    p = input_path(path)
    if p.name == "repro.bin" and p.with_name("record.json").is_file():
        pair = (_record_of(path) or {}).get("pair")
        return pair if isinstance(pair, str) and pair else None
    data = read_bytes(p)
    if not data.lstrip().startswith(b"#"):
        return None
    return parse_header(data.decode("utf-8", "replace")).get("pair") or None

"""`fuzzplug minimize TARGET FILE [-o OUT]`: shrink a divergent input, keeping its signature."""

from __future__ import annotations

import sys
from pathlib import Path

from fuzzplug.commands import add_pair_options, input_pair, load_target_for
from fuzzplug.core.opslang import encode, format_text
from fuzzplug.core.oracle import Verdict
from fuzzplug.core.words import plural
from fuzzplug.errors import InputError, OutputError
from fuzzplug.io import TEXT, add_form_option, atomic_write, read_input
from fuzzplug.targets import check_scene, pair_name
from fuzzplug.triage.minimize import minimize_ops


def add_parser(sub) -> None:
    p = sub.add_parser("minimize", help="shrink a divergent input (binary, text or a "
                                        "findings folder) while keeping exactly its "
                                        "signature")
    p.add_argument("target")
    p.add_argument("file", help="a divergent input: binary (crash file), text scenario, or "
                                "a findings folder (its repro.bin)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="write the binary form here and the text form to OUT.ops "
                        "(default: ./<input name>.min in the current folder; for a "
                        "findings folder, ./<folder name>.min)")
    add_pair_options(p)
    add_form_option(p)
    p.set_defaults(func=run)


def _size(target, ops, n_bytes: int) -> str:
    """Calls, ops and canonical binary bytes, for the before/after lines."""
    return (f"{plural(target.schema.calls(ops), 'call')}, {plural(len(ops), 'op')}, "
            f"{plural(n_bytes, 'byte')}")


def run(args) -> int:
    target = load_target_for(args, input_pair(args.file), source=args.file)
    loaded = read_input(target.schema, args.file, target=target, form=args.form)
    ops = loaded.ops
    file_size = None if loaded.form == TEXT else len(loaded.data)
    # A findings folder is named after its signature: OUT is <folder>.min, not repro.bin.min.
    name = Path(args.file).name if Path(args.file).is_dir() else loaded.path.name
    out = Path(args.output) if args.output else Path.cwd() / f"{name}.min"
    out_text = out.with_name(out.name + ".ops")
    source = loaded.path.resolve()
    if source in (out.resolve(), out_text.resolve()):
        raise OutputError(f"{out}: would overwrite the input {args.file}; choose another -o")
    outcome = target.evaluate(ops)
    if outcome.verdict is not Verdict.DIVERGENT:
        raise InputError(f"{args.file}: not divergent (verdict {outcome.verdict.value}); "
                         "only a divergent input can be minimised")
    small, _ = check_scene(target, minimize_ops(target, ops, outcome.signature))
    before_bytes, after = len(encode(target.schema, ops)), encode(target.schema, small)
    text = format_text(target.schema, small)
    pair = pair_name(target)
    header = (f"# name: {out.name}\n# signature: {outcome.signature}\n"
              f"# expect: {Verdict.DIVERGENT.value}\n"
              + (f"# pair: {pair}\n" if pair else "") +
              f"# minimized_from: {name} ({_size(target, ops, before_bytes)})\n")
    existed = out.exists()
    atomic_write(out, after)
    try:
        atomic_write(out_text, header + text)
    except OutputError:
        if not existed:
            out.unlink(missing_ok=True)
        raise
    # A binary file may be shorter than its canonical form: args cut off at the end of
    # the data take their defaults. The sizes compared are canonical; say so.
    file_note = ""
    if file_size is not None and file_size != before_bytes:
        file_note = f" (the file: {file_size} bytes)"
    sys.stdout.write(text)
    sys.stdout.write(f"# before: {_size(target, ops, before_bytes)}{file_note}\n"
                     f"# after:  {_size(target, small, len(after))}\n"
                     f"# signature: {outcome.signature}\n"
                     f"# wrote {out} and {out_text}\n")
    return 0

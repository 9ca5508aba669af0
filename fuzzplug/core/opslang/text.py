"""The op language's text form, for people: parsing a scenario (:func:`parse_text`, with the
line of each op: :func:`parse_text_lines`), printing ops (:func:`format_text`), and the
scenario's ``# key: value`` header (:func:`parse_header`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from fuzzplug.core.opslang.ops import Op, _check_op, _parse_arg, _unknown_arg
from fuzzplug.core.opslang.spec import ArgSpec, Schema, _show
from fuzzplug.errors import OpsSyntaxError

_HEADER = re.compile(r"#\s*([a-z_]+):(?:\s+(.*))?")


def parse_text(schema: Schema, text: str, *, path: str | None = None) -> tuple[Op, ...]:
    """Parse the text form into ops; :class:`OpsSyntaxError` with path and line on error."""
    return parse_text_lines(schema, text, path=path)[0]


def parse_text_lines(schema: Schema, text: str, *,
                     path: str | None = None) -> tuple[tuple[Op, ...], tuple[int, ...]]:
    """:func:`parse_text`, with the line number (from 1) each op was read from."""
    ops: list[Op] = []
    linenos: list[int] = []
    calls_from: int | None = None
    scene_lines: dict[str, int] = {}
    arg_index: Mapping[str, Mapping[str, ArgSpec]] = schema._arg_index
    for lineno, raw in enumerate(text.split("\n"), 1):
        tokens = raw.split("#", 1)[0].split()
        if not tokens:
            continue
        try:
            if len(ops) >= schema.max_ops:
                raise OpsSyntaxError(
                    f"too many ops: more than {schema.max_ops}; the limit is "
                    f"{schema.max_ops} (max_ops)"
                )
            spec = schema.spec(tokens[0])
            if spec.scene:
                if calls_from is not None:
                    raise OpsSyntaxError(
                        f"scene line {spec.name!r} after the first call (line {calls_from}); "
                        f"scene ops must come first"
                    )
                if spec.name in scene_lines:
                    raise OpsSyntaxError(
                        f"scene op {spec.name!r} given twice (first on line "
                        f"{scene_lines[spec.name]}); expected each scene op at most once"
                    )
                scene_lines[spec.name] = lineno
            elif calls_from is None:
                calls_from = lineno
            table = arg_index[spec.name]
            given: dict[str, int] = {}
            for token in tokens[1:]:
                key, eq, value = token.partition("=")
                if not eq or not key:
                    raise OpsSyntaxError(f"expected key=value, got {_show(token)}")
                arg = table.get(key)
                if arg is None:
                    raise OpsSyntaxError(_unknown_arg(spec, key))
                if key in given:
                    raise OpsSyntaxError(
                        f"{spec.name}: argument {key!r} given twice; expected each at most once"
                    )
                given[key] = _parse_arg(spec, arg, value)
        except OpsSyntaxError as err:
            raise OpsSyntaxError(err.bare, path=path, line=lineno) from None
        if given:
            args = tuple((arg.name, given.get(arg.name, arg.default)) for arg in spec.args)
        else:
            args = schema._defaults[spec.name]
        ops.append(Op(spec.name, args))
        linenos.append(lineno)
    return tuple(ops), tuple(linenos)


def format_text(schema: Schema, ops: Iterable[Op]) -> str:
    """The text form of ``ops``: one line per op, args in spec order, defaults omitted.

    An arg equal to its default is omitted unless ``always``. Each op must be well formed
    (:class:`InputError` otherwise; unknown FLAGS bits are allowed and print as a trailing
    hex int); sequence rules (scene order, the op limit) are not checked here.
    """
    lines = []
    for index, op in enumerate(ops):
        spec = _check_op(schema, op, f"op {index}", known_only=False)
        words = [spec.name]
        for arg, (_, value) in zip(spec.args, op.args):
            if value != arg.default or arg.always:
                words.append(f"{arg.name}={arg.format_value(value)}")
        lines.append(" ".join(words) + "\n")
    return "".join(lines)


def parse_header(text: str) -> dict[str, str]:
    """The scenario header: the leading ``# key: value`` comment lines, as a dict.

    Keys are lowercase ``[a-z_]+``. The header stops at the first line that is not a
    comment. A comment line without ``key:`` continues the previous key's value (joined
    with a space; ignored before the first key); a repeated key continues its value too.
    Never raises.
    """
    header: dict[str, str] = {}
    key: str | None = None
    for raw in text.split("\n"):
        line = raw.strip()
        if not line.startswith("#"):
            break
        match = _HEADER.fullmatch(line)
        if match is not None:
            key = match.group(1)
            value = (match.group(2) or "").strip()
        else:
            value = line[1:].strip()
        if key is None or not value:
            if key is not None and key not in header:
                header[key] = ""
            continue
        header[key] = f"{header[key]} {value}" if header.get(key) else value
    return header

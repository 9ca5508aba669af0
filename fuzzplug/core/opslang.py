"""A schema-driven op language: op sequences as text (for people) and bytes (for libFuzzer).

A target describes its operations with a :class:`Schema`: a tuple of :class:`OpSpec`, each
with typed arguments (:class:`ArgSpec`). This module knows nothing about any target; it
turns op sequences into text and bytes and back, and checks them against the schema.

Ops come in two groups. *Scene* ops (``OpSpec.scene``) describe the setup (a config, the
VMAs); each appears at most once and all of them precede the first *call*. Calls are the
operations under test and may repeat.

Text form
---------
One op per line, ``name key=value ...``; ``#`` starts a comment; blank lines are ignored.
Missing keys take their defaults. Values are decimal or ``0x`` hex ints; FLAGS also take
names joined with ``|`` (``0`` is none); CHOICE also takes a name. Example::

    # name: write fault on a mixed map
    # expect: same
    config arch=arm64
    vma start=0x100000 end=0x200000 flags=VM_READ|VM_WRITE|VM_MIXEDMAP
    vm_insert_mixed addr=0x100000 pfn=0x1234 flags=PFN_DEV
    fault addr=0x100000 flags=FAULT_FLAG_WRITE

Binary form
-----------
=====================  ===================================================================
bytes                  meaning
=====================  ===================================================================
byte 0                 format version (``Schema.version``); every value is accepted and,
                       today, decoded with the current rules
op byte ``b``          selects op id ``b % len(schema.ops)``
arg, per spec order    unsigned LEB128 varint: 7 bits a byte, low group first, bit 7 set
                       on every byte but the last; at most 10 bytes, masked to 64 bits
addr arg               two varints: ``v >> 12`` (page) then ``v & 0xfff`` (offset, masked
                       to 0xfff); the combined value is masked to 64 bits
FLAGS arg              a varint, masked to the known flag bits ``(1 << len(names)) - 1``
CHOICE arg             a varint, reduced modulo ``len(names)``
end of data            an arg that is missing or cut off mid-varint, and every arg after
                       it, takes its default (a final op byte is a whole op of defaults)
=====================  ===================================================================

:func:`decode` is total: every byte string decodes to a valid sequence. Scene ops after
the first call and repeated scene ops are dropped (their bytes still consumed); at most
``Schema.max_ops`` ops are kept. ``encode(decode(b))`` is the canonical form of ``b``.

Ops are independent byte runs: changing an arg byte without changing its continuation
bit (bit 7) changes that arg only; changing an op byte changes that op and re-frames the
bytes after it.

**Op ids are stable**: they are the op bytes of every stored corpus and crash file. Add new
ops at the end with the next id; never renumber, reuse or remove an id. Never add, remove
or reorder the args of an existing op either (that re-frames every stored input after
it): add a new op instead, or bump ``Schema.version``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from fuzzplug.errors import InputError, OpsSyntaxError, TargetError

__all__ = [
    "ADDR_LOW_MASK",
    "ADDR_SHIFT",
    "ArgKind",
    "ArgSpec",
    "MAX_VARINT_BYTES",
    "Op",
    "OpSpec",
    "Schema",
    "U64_MAX",
    "decode",
    "dictionary",
    "encode",
    "format_text",
    "parse_header",
    "parse_text",
    "parse_text_lines",
    "validate",
]

U64_MAX = (1 << 64) - 1
"""Largest INT value; INT args are unsigned 64-bit."""
MAX_VARINT_BYTES = 10
"""A varint stops after this many bytes (enough for 64 bits)."""
ADDR_SHIFT = 12
"""An ``addr`` arg is encoded as ``v >> ADDR_SHIFT`` then ``v & ADDR_LOW_MASK``."""
ADDR_LOW_MASK = (1 << ADDR_SHIFT) - 1

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT = re.compile(r"0[xX]([0-9a-fA-F]+)|([0-9]+)")
_HEADER = re.compile(r"#\s*([a-z_]+):(?:\s+(.*))?")
_DICT_NAME_BAD = re.compile(r"[^A-Za-z0-9_]")

# Decode plan modes (see Schema._plans).
_M_INT, _M_ADDR, _M_FLAGS, _M_CHOICE, _M_RANGE = range(5)
RANGE_SHIFT = 32
RANGE_PART = (1 << RANGE_SHIFT) - 1
_Plan = tuple[str, bool, tuple[tuple[str, int, int, int], ...]]
"""The decoder's view of an op: name, scene, and (name, default, mode, param) per arg."""


class ArgKind(enum.Enum):
    """How an argument's int value is read, written and reduced."""

    INT = "int"
    """An unsigned 64-bit int."""
    FLAGS = "flags"
    """A bitmask; bit ``i`` is ``names[i]``."""
    CHOICE = "choice"
    """An index into ``names``."""
    RANGE = "range"
    """An inclusive range ``LO-HI`` of two 32-bit ints, held as ``(HI << 32) | LO``;
    binary: two varints, LO then HI."""


def _show(token: str, limit: int = 40) -> str:
    """Quote a token for an error message: escaped, truncated, never raising."""
    if len(token) > limit:
        token = token[:limit] + "..."
    return repr(token)


def _check_ident(what: str, name: object) -> None:
    if not isinstance(name, str) or not _IDENT.fullmatch(name):
        raise TargetError(f"{what} {name!r} is not an identifier ([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True, slots=True)
class ArgSpec:
    """One argument of an op: its name, kind, default and text/binary options."""

    name: str
    kind: ArgKind
    default: int = 0
    names: tuple[str, ...] = ()
    """FLAGS: bit ``i`` is ``names[i]``; CHOICE: value ``i`` is ``names[i]``."""
    hex: bool = False
    """INT: write the value as ``0x`` hex in text."""
    addr: bool = False
    """INT: encode as two varints, ``v >> 12`` then ``v & 0xfff`` (page, offset)."""
    always: bool = False
    """Text: print the arg even when it equals its default."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(self.names))
        _check_ident("argument", self.name)
        if not isinstance(self.kind, ArgKind):
            raise TargetError(f"{self.name}: kind must be an ArgKind, got {self.kind!r}")
        for flag in self.names:
            if self.kind is ArgKind.CHOICE and isinstance(flag, str) and flag.isdigit():
                continue  # a choice may be spelled as its own index ("0", "1")
            _check_ident(f"{self.name}: name", flag)
        if len(set(self.names)) != len(self.names):
            raise TargetError(f"{self.name}: duplicate names in {self.names}")
        if self.kind in (ArgKind.INT, ArgKind.RANGE):
            if self.names:
                raise TargetError(f"{self.name}: an {self.kind.name} arg has no names")
        if self.kind is not ArgKind.INT and (self.hex or self.addr):
            raise TargetError(f"{self.name}: hex and addr apply to INT args only")
        if self.kind is ArgKind.FLAGS and not 1 <= len(self.names) <= 64:
            raise TargetError(f"{self.name}: a FLAGS arg needs 1 to 64 names")
        if self.kind is ArgKind.CHOICE and not self.names:
            raise TargetError(f"{self.name}: a CHOICE arg needs at least one name")
        if not isinstance(self.default, int) or not self.accepts(self.default, known_only=True):
            raise TargetError(f"{self.name}: default {self.default!r} is not a valid value")

    @property
    def mask(self) -> int:
        """The known bits of a FLAGS arg; every 64-bit value for other kinds."""
        if self.kind is ArgKind.FLAGS:
            return (1 << len(self.names)) - 1
        return U64_MAX

    def accepts(self, value: int, *, known_only: bool = True) -> bool:
        """Whether ``value`` is a valid value (``known_only``: FLAGS within known bits)."""
        if type(value) is not int or not 0 <= value <= U64_MAX:
            return False
        if self.kind is ArgKind.CHOICE:
            return value < len(self.names)
        if self.kind is ArgKind.FLAGS and known_only:
            return not value & ~self.mask
        return True

    def format_value(self, value: int) -> str:
        """The text form of ``value`` (which must be valid, unknown flag bits allowed)."""
        if self.kind is ArgKind.INT:
            return f"{value:#x}" if self.hex else str(value)
        if self.kind is ArgKind.RANGE:
            return f"{value & RANGE_PART:#x}-{value >> RANGE_SHIFT:#x}"
        if self.kind is ArgKind.CHOICE:
            return self.names[value]
        parts = [flag for bit, flag in enumerate(self.names) if value >> bit & 1]
        unknown = value & ~self.mask
        if unknown:
            parts.append(f"{unknown:#x}")
        return "|".join(parts) or "0"

    def parse_value(self, text: str) -> int:
        """Read a text value; raise :class:`OpsSyntaxError` naming this arg on failure."""
        if self.kind is ArgKind.FLAGS:
            value = 0
            for part in text.split("|"):
                value |= self._parse_flag(part)
            return value
        if self.kind is ArgKind.RANGE:
            parts = text.split("-")
            bounds = [self._parse_int(part) for part in parts]
            if len(parts) != 2 or None in bounds:
                raise OpsSyntaxError(
                    f"{self.name}: expected a range LO-HI of two ints, got {_show(text)}")
            lo, hi = bounds
            if lo > RANGE_PART or hi > RANGE_PART:
                raise OpsSyntaxError(f"{self.name}: range bound out of range (0..{RANGE_PART:#x})")
            return (hi << RANGE_SHIFT) | lo
        number = self._parse_int(text)
        if self.kind is ArgKind.INT:
            if number is None:
                raise OpsSyntaxError(
                    f"{self.name}: expected an int (decimal or 0x hex), got {_show(text)}"
                )
            return number
        if number is None:
            try:
                return self.names.index(text)
            except ValueError:
                raise OpsSyntaxError(
                    f"{self.name}: unknown choice {_show(text)}; expected one of: "
                    f"{', '.join(self.names)} (or an index 0..{len(self.names) - 1})"
                ) from None
        if number >= len(self.names):
            raise OpsSyntaxError(
                f"{self.name}: choice index {number} out of range; expected "
                f"0..{len(self.names) - 1} or one of: {', '.join(self.names)}"
            )
        return number

    def _parse_flag(self, part: str) -> int:
        number = self._parse_int(part)
        if number is not None:
            return number
        try:
            return 1 << self.names.index(part)
        except ValueError:
            what = f"unknown flag {_show(part)}" if part else "empty flag name"
            raise OpsSyntaxError(
                f"{self.name}: {what}; expected names from: {', '.join(self.names)} "
                f"(joined with |) or an int"
            ) from None

    def _parse_int(self, text: str) -> int | None:
        """A decimal or 0x int in 0..U64_MAX; None if not int syntax; raise if too big."""
        match = _INT.fullmatch(text)
        if match is None:
            return None
        hex_digits, dec_digits = match.groups()
        base, max_len = (16, 16) if hex_digits is not None else (10, 20)
        # Strip zeros and bound the length first: int() refuses decimal strings over 4300
        # digits, and no longer string fits in 64 bits anyway.
        digits = (hex_digits if hex_digits is not None else dec_digits).lstrip("0")
        if not digits:
            return 0
        value = int(digits, base) if len(digits) <= max_len else U64_MAX + 1
        if value > U64_MAX:
            raise OpsSyntaxError(f"{self.name}: value out of range (0..{U64_MAX:#x})")
        return value


@dataclass(frozen=True, slots=True)
class OpSpec:
    """One operation of a schema: its stable id, its args, and whether it is a scene op."""

    name: str
    op_id: int
    """The op byte; stable and append-only (see the module docstring)."""
    args: tuple[ArgSpec, ...]
    scene: bool = False
    """Scene ops describe the setup and precede every call."""
    doc: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", tuple(self.args))
        _check_ident("op", self.name)
        if type(self.op_id) is not int or not 0 <= self.op_id <= 255:
            raise TargetError(f"{self.name}: op_id must be an int in 0..255")
        for arg in self.args:
            if not isinstance(arg, ArgSpec):
                raise TargetError(f"{self.name}: args must be ArgSpec, got {arg!r}")
        arg_names = [arg.name for arg in self.args]
        if len(set(arg_names)) != len(arg_names):
            raise TargetError(f"{self.name}: duplicate argument names {arg_names}")

    @property
    def arg_names(self) -> tuple[str, ...]:
        """The names of the args, in spec order."""
        return tuple(arg.name for arg in self.args)


@dataclass(frozen=True)
class Schema:
    """The ops of one target, with the binary format version and the op limit.

    Lookups used by the parser and the decoder are computed once, here, at construction.
    """

    name: str
    version: int
    """Binary format version, 1..255; byte 0 of every encoded sequence."""
    ops: tuple[OpSpec, ...]
    max_ops: int = 64
    """The decoder keeps at most this many ops; the text parser refuses more."""

    # Lookups computed by __post_init__ (not init args, not compared, not in the repr).
    _by_name: Mapping[str, OpSpec] = field(init=False, repr=False, compare=False)
    _by_id: tuple[OpSpec, ...] = field(init=False, repr=False, compare=False)
    _arg_index: Mapping[str, Mapping[str, ArgSpec]] = field(
        init=False, repr=False, compare=False
    )
    _defaults: Mapping[str, tuple[tuple[str, int], ...]] = field(
        init=False, repr=False, compare=False
    )
    _plans: tuple[_Plan, ...] = field(init=False, repr=False, compare=False)
    _op_list: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ops = tuple(self.ops)
        object.__setattr__(self, "ops", ops)
        if type(self.version) is not int or not 1 <= self.version <= 255:
            raise TargetError(f"schema {self.name}: version must be 1..255")
        if type(self.max_ops) is not int or self.max_ops < 1:
            raise TargetError(f"schema {self.name}: max_ops must be at least 1")
        if not 1 <= len(ops) <= 256:
            raise TargetError(f"schema {self.name}: needs 1 to 256 ops")
        by_id: dict[int, OpSpec] = {}
        by_name: dict[str, OpSpec] = {}
        for spec in ops:
            if not isinstance(spec, OpSpec):
                raise TargetError(f"schema {self.name}: ops must be OpSpec, got {spec!r}")
            if spec.name in by_name:
                raise TargetError(f"schema {self.name}: duplicate op {spec.name!r}")
            if spec.op_id in by_id:
                raise TargetError(f"schema {self.name}: duplicate op id {spec.op_id}")
            by_name[spec.name] = spec
            by_id[spec.op_id] = spec
        if set(by_id) != set(range(len(ops))):
            raise TargetError(
                f"schema {self.name}: op ids must be exactly 0..{len(ops) - 1}, "
                f"got {sorted(by_id)}"
            )
        by_id_tuple = tuple(by_id[i] for i in range(len(ops)))
        object.__setattr__(self, "_by_name", MappingProxyType(by_name))
        object.__setattr__(self, "_by_id", by_id_tuple)
        object.__setattr__(
            self,
            "_arg_index",
            MappingProxyType(
                {s.name: MappingProxyType({a.name: a for a in s.args}) for s in ops}
            ),
        )
        object.__setattr__(
            self,
            "_defaults",
            MappingProxyType({s.name: tuple((a.name, a.default) for a in s.args) for s in ops}),
        )
        object.__setattr__(self, "_plans", tuple(_plan(spec) for spec in by_id_tuple))
        object.__setattr__(self, "_op_list", ", ".join(s.name for s in by_id_tuple))

    def spec(self, name: str) -> OpSpec:
        """The spec of op ``name``; :class:`OpsSyntaxError` listing the ops if unknown."""
        try:
            return self._by_name[name]
        except (KeyError, TypeError):
            raise OpsSyntaxError(
                f"unknown op {_show(str(name))}; expected one of: {self._op_list}"
            ) from None

    def by_id(self, op_id: int) -> OpSpec:
        """The spec with op id ``op_id`` (``IndexError`` outside 0..len(ops)-1)."""
        if not 0 <= op_id < len(self.ops):
            raise IndexError(f"schema {self.name}: no op id {op_id}")
        return self._by_id[op_id]

    @property
    def op_names(self) -> tuple[str, ...]:
        """Op names in id order."""
        return tuple(spec.name for spec in self._by_id)


def _plan(spec: OpSpec) -> _Plan:
    """The decoder's view of an op: name, scene, and (name, default, mode, param) per arg."""
    args = []
    for arg in spec.args:
        if arg.kind is ArgKind.FLAGS:
            args.append((arg.name, arg.default, _M_FLAGS, arg.mask))
        elif arg.kind is ArgKind.CHOICE:
            args.append((arg.name, arg.default, _M_CHOICE, len(arg.names)))
        elif arg.kind is ArgKind.RANGE:
            args.append((arg.name, arg.default, _M_RANGE, 0))
        elif arg.addr:
            args.append((arg.name, arg.default, _M_ADDR, 0))
        else:
            args.append((arg.name, arg.default, _M_INT, 0))
    return spec.name, spec.scene, tuple(args)


@dataclass(frozen=True, slots=True)
class Op:
    """One op of a sequence: its name and every arg of its spec, in spec order."""

    name: str
    args: tuple[tuple[str, int], ...]

    def get(self, key: str, default: int | None = None) -> int | None:
        """The value of arg ``key``, or ``default`` if the op has no such arg."""
        for name, value in self.args:
            if name == key:
                return value
        return default

    def __getitem__(self, key: str) -> int:
        """The value of arg ``key``; ``KeyError`` if the op has no such arg."""
        for name, value in self.args:
            if name == key:
                return value
        raise KeyError(key)

    @classmethod
    def make(cls, schema: Schema, name: str, /, **kwargs: int | str) -> Op:
        """Build a valid op: defaults filled, names and values checked.

        Values are ints, or strings in the text syntax (``"VM_READ|VM_WRITE"``, ``"arm64"``,
        ``"0x1000"``). Unknown names or bad values raise :class:`OpsSyntaxError`.
        """
        spec = schema.spec(name)
        table: Mapping[str, ArgSpec] = schema._arg_index[name]
        for key in kwargs:
            if key not in table:
                raise OpsSyntaxError(_unknown_arg(spec, key))
        args = []
        for arg in spec.args:
            value: Any = kwargs.get(arg.name, arg.default)
            if isinstance(value, str):
                value = _parse_arg(spec, arg, value)
            elif type(value) is not int or not arg.accepts(value, known_only=False):
                raise OpsSyntaxError(f"{spec.name}: {arg.name}: invalid value {value!r}")
            args.append((arg.name, value))
        return cls(name, tuple(args))


def _unknown_arg(spec: OpSpec, key: str) -> str:
    expected = ", ".join(spec.arg_names) if spec.args else "no arguments"
    return f"{spec.name}: unknown argument {_show(key)}; expected one of: {expected}"


def _parse_arg(spec: OpSpec, arg: ArgSpec, text: str) -> int:
    """``arg.parse_value`` with the op name prefixed to any error."""
    try:
        return arg.parse_value(text)
    except OpsSyntaxError as err:
        raise OpsSyntaxError(f"{spec.name}: {err.bare}") from None


# --------------------------------------------------------------------------- checking


def _check_op(schema: Schema, op: object, where: str, *, known_only: bool) -> OpSpec:
    """Check one op's shape and values; return its spec or raise :class:`InputError`."""
    if not isinstance(op, Op):
        raise InputError(f"{where}: not an Op: {op!r}")
    spec = schema._by_name.get(op.name)
    if spec is None:
        raise InputError(
            f"{where}: unknown op {op.name!r}; expected one of: {schema._op_list}"
        )
    args = op.args
    if not isinstance(args, tuple) or len(args) != len(spec.args):
        raise InputError(f"{where} ({op.name}): expected args {spec.arg_names}")
    for pair, arg in zip(args, spec.args):
        if not isinstance(pair, tuple) or len(pair) != 2 or pair[0] != arg.name:
            raise InputError(f"{where} ({op.name}): expected args {spec.arg_names} in order")
        if not arg.accepts(pair[1], known_only=known_only):
            if known_only and arg.accepts(pair[1], known_only=False):
                raise InputError(
                    f"{where} ({op.name}): {arg.name}: bits {pair[1] & ~arg.mask:#x} "
                    f"are not known flags and cannot be encoded"
                )
            raise InputError(f"{where} ({op.name}): {arg.name}: invalid value {pair[1]!r}")
    return spec


def validate(schema: Schema, ops: Iterable[Op]) -> None:
    """Raise :class:`InputError` unless ``ops`` is a valid, binary-representable sequence.

    Valid: known ops with every arg in spec order, values in range (FLAGS within the known
    bits, CHOICE an index into the names), scene ops first and each at most once, and at
    most ``schema.max_ops`` ops. Exactly these sequences satisfy ``decode(encode(ops)) ==
    ops``; every sequence :func:`decode` returns is valid.
    """
    ops = tuple(ops)
    if len(ops) > schema.max_ops:
        raise InputError(f"{len(ops)} ops; the limit is {schema.max_ops} (max_ops)")
    calls = False
    seen: set[str] = set()
    for index, op in enumerate(ops):
        spec = _check_op(schema, op, f"op {index}", known_only=True)
        if spec.scene:
            if calls:
                raise InputError(f"op {index}: scene op {spec.name!r} after the first call")
            if spec.name in seen:
                raise InputError(f"op {index}: scene op {spec.name!r} repeated")
            seen.add(spec.name)
        else:
            calls = True


# --------------------------------------------------------------------------- text form


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


# --------------------------------------------------------------------------- binary form


def _put_varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _read_varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Read a varint at ``pos``: (value masked to 64 bits, next pos), or (-1, end) if cut off."""
    start = pos
    stop = min(pos + MAX_VARINT_BYTES, end)
    value = 0
    shift = 0
    while pos < stop:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value & U64_MAX, pos
        shift += 7
    if pos - start == MAX_VARINT_BYTES:
        return value & U64_MAX, pos
    return -1, end


def encode(schema: Schema, ops: Iterable[Op], *, check: bool = True) -> bytes:
    """The binary form of ``ops``; :class:`InputError` unless :func:`validate` accepts it.
    ``check=False`` skips the validation, for callers that only rearrange ops the decoder
    or ``Op.make`` produced (the custom mutator, on every execution)."""
    ops = tuple(ops)
    if check:
        validate(schema, ops)
    by_name: Mapping[str, OpSpec] = schema._by_name
    out = bytearray((schema.version,))
    for op in ops:
        spec = by_name[op.name]
        out.append(spec.op_id)
        for arg, (_, value) in zip(spec.args, op.args):
            if arg.addr:
                _put_varint(out, value >> ADDR_SHIFT)
                _put_varint(out, value & ADDR_LOW_MASK)
            elif arg.kind is ArgKind.RANGE:
                _put_varint(out, value & RANGE_PART)
                _put_varint(out, value >> RANGE_SHIFT)
            else:
                _put_varint(out, value)
    return bytes(out)


def decode(schema: Schema, data: bytes) -> tuple[Op, ...]:
    """Decode any byte string into a valid op sequence; never raises (see the format table)."""
    end = len(data)
    plans = schema._plans
    n_ops = len(plans)
    limit = schema.max_ops
    out: list[Op] = []
    scene_seen = 0  # bitmask over op ids
    calls = False
    pos = 1  # byte 0 is the version: any value decodes with today's rules
    while pos < end and len(out) < limit:
        op_id = data[pos] % n_ops
        pos += 1
        name, scene, arg_plans = plans[op_id]
        args = []
        for arg_name, default, mode, param in arg_plans:
            value = default
            if pos < end:
                raw, pos = _read_varint(data, pos, end)
                if raw >= 0 and mode == _M_ADDR:
                    low, pos = _read_varint(data, pos, end)
                    raw = -1 if low < 0 else ((raw << ADDR_SHIFT) | (low & ADDR_LOW_MASK)) & U64_MAX
                elif raw >= 0 and mode == _M_RANGE:
                    high, pos = _read_varint(data, pos, end)
                    raw = -1 if high < 0 else ((high & RANGE_PART) << RANGE_SHIFT) | (raw & RANGE_PART)
                if raw >= 0:
                    if mode == _M_FLAGS:
                        value = raw & param
                    elif mode == _M_CHOICE:
                        value = raw % param
                    else:
                        value = raw
            args.append((arg_name, value))
        if scene:
            bit = 1 << op_id
            if calls or scene_seen & bit:
                continue
            scene_seen |= bit
        else:
            calls = True
        out.append(Op(name, tuple(args)))
    return tuple(out)


def dictionary(schema: Schema) -> str:
    """A libFuzzer/AFL dictionary: the version byte, each op with its default args, and
    each op once more per other choice of each of its CHOICE args (the architectures of a
    `config arch=`, so that a choice added at the end is one splice away).

    Each op entry is a whole op (op byte then the varints of its args), so libFuzzer can
    splice ops in and out. Entry names are ``version``, ``op_<name>`` and
    ``op_<name>_<arg>_<choice>``.
    """
    lines = [
        f"# libFuzzer dictionary for the {_DICT_NAME_BAD.sub('_', schema.name)} op language, "
        f"binary format version {schema.version}.",
        "# Generated by fuzzplug.core.opslang.dictionary(); each op entry is one whole op",
        "# (op byte, then LEB128 varints of its args: the defaults, or one other choice).",
        f'version="{_dict_bytes(bytes((schema.version,)))}"',
    ]
    for spec in schema._by_id:
        default_op = Op(spec.name, schema._defaults[spec.name])
        body = encode(schema, (default_op,))[1:]
        lines.append(f'op_{spec.name}="{_dict_bytes(body)}"')
        for arg in spec.args:
            if arg.kind is not ArgKind.CHOICE:
                continue
            for index, choice in enumerate(arg.names):
                if index == arg.default:
                    continue
                variant = Op.make(schema, spec.name, **{arg.name: index})
                body = encode(schema, (variant,))[1:]
                entry = _DICT_NAME_BAD.sub("_", f"op_{spec.name}_{arg.name}_{choice}")
                lines.append(f'{entry}="{_dict_bytes(body)}"')
    return "\n".join(lines) + "\n"


def _dict_bytes(data: bytes) -> str:
    return "".join(f"\\x{byte:02x}" for byte in data)

"""The op language's schema: a target's ops (:class:`Schema`, :class:`OpSpec`), their typed
args (:class:`ArgSpec`, :class:`ArgKind`), how an arg's value is read, printed and
checked, and the decoder's view of each op, computed once per schema (`_plan`)."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from fuzzplug.errors import OpsSyntaxError, TargetError

U64_MAX = (1 << 64) - 1
"""Largest INT value; INT args are unsigned 64-bit."""

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT = re.compile(r"0[xX]([0-9a-fA-F]+)|([0-9]+)")

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
    control: bool = False
    """A control op is neither scene nor call: it arms an injected failure or says which
    task runs the calls after it. Counts of calls (`Schema.calls`) leave it out."""

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

    def calls(self, ops) -> int:
        """How many of `ops` are calls: neither scene ops nor control ops (what a reproducer
        of "N calls" counts)."""
        return sum(1 for op in ops
                   if not (self._by_name[op.name].scene or self._by_name[op.name].control))

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

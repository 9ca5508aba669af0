"""An op of a sequence (:class:`Op`, built valid by `Op.make`) and the rules a sequence
obeys: known ops with every arg in spec order, values in range, scene ops first and each
at most once, at most ``max_ops`` (:func:`validate`; `_check_op` for one op)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fuzzplug.core.opslang.spec import ArgSpec, OpSpec, Schema, _show
from fuzzplug.errors import InputError, OpsSyntaxError


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

"""fuzzplug.core.opslang's Schema, OpSpec and Op: construction, checks and immutability."""

from __future__ import annotations

import dataclasses
import re

import pytest

from fuzzplug.core.opslang import ArgKind, ArgSpec, Op, OpSpec, Schema
from fuzzplug.errors import OpsSyntaxError, TargetError
from opslang_example import SCHEMA, op


def test_op_make_fills_defaults_and_reads_text_values() -> None:
    """Op.make accepts ints or text values and fills the rest from the spec."""
    made = op("vma", flags="VM_READ|VM_PFNMAP", end="0x400000")
    assert made == Op("vma", (("start", 0x100000), ("end", 0x400000), ("flags", 0b100001)))
    assert made["end"] == 0x400000 and made.get("flags") == 0b100001
    assert made.get("nope") is None and made.get("nope", 7) == 7
    with pytest.raises(KeyError):
        made["nope"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stat": 1}, "vma: unknown argument 'stat'"),
        ({"start": -1}, "vma: start: invalid value -1"),
        ({"start": True}, "vma: start: invalid value True"),
        ({"flags": "VM_RAED"}, "vma: flags: unknown flag 'VM_RAED'"),
    ],
)
def test_op_make_refuses_unknown_names_and_bad_values(kwargs: dict, message: str) -> None:
    """Op.make raises OpsSyntaxError naming the op and the arg."""
    with pytest.raises(OpsSyntaxError, match=re.escape(message)):
        Op.make(SCHEMA, "vma", **kwargs)


def test_schema_spec_raises_a_syntax_error_listing_the_ops_for_unknown_names() -> None:
    """Schema.spec never raises KeyError."""
    assert SCHEMA.spec("zap").op_id == 4
    assert SCHEMA.by_id(4).name == "zap"
    assert SCHEMA.op_names == ("config", "vma", "vm_insert_mixed", "fault", "zap", "fail_alloc")
    with pytest.raises(OpsSyntaxError, match="unknown op 'zapp'; expected one of: config, vma"):
        SCHEMA.spec("zapp")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Schema("s", 1, (OpSpec("a", 1, ()),)), "op ids must be exactly 0..0"),
        (lambda: Schema("s", 1, (OpSpec("a", 0, ()), OpSpec("a", 1, ()))), "duplicate op"),
        (lambda: Schema("s", 0, (OpSpec("a", 0, ()),)), "version must be 1..255"),
        (lambda: Schema("s", 1, ()), "needs 1 to 256 ops"),
        (lambda: OpSpec("bad name", 0, ()), "not an identifier"),
        (lambda: ArgSpec("f", ArgKind.FLAGS), "needs 1 to 64 names"),
        (lambda: ArgSpec("c", ArgKind.CHOICE, 2, names=("a", "b")), "default 2"),
        (lambda: ArgSpec("f", ArgKind.FLAGS, names=("A",), hex=True), "INT args only"),
        (lambda: ArgSpec("i", ArgKind.INT, 1 << 64), "is not a valid value"),
    ],
)
def test_a_malformed_schema_is_a_target_error(build, message: str) -> None:
    """Schema mistakes are caught when the target defines its schema."""
    with pytest.raises(TargetError, match=re.escape(message)):
        build()


def test_schemas_and_ops_are_frozen_and_hashable() -> None:
    """Frozen records: assignment fails, hashing works, equal values compare equal."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        SCHEMA.max_ops = 1  # type: ignore[misc]
    assert hash(op("zap")) == hash(op("zap"))
    assert hash(SCHEMA) == hash(dataclasses.replace(SCHEMA))
    assert ArgKind("flags") is ArgKind.FLAGS

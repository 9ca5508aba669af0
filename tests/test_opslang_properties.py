"""Properties of fuzzplug.core.opslang over random bytes, texts and op sequences."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fuzzplug.core.opslang import (
    Op,
    decode,
    encode,
    format_text,
    parse_header,
    parse_text,
    validate,
)
from fuzzplug.errors import OpsSyntaxError
from opslang_example import HYPOTHESIS, SCHEMA, assert_valid, op_sequences


@HYPOTHESIS
@given(st.binary(max_size=512))
def test_every_byte_string_decodes_to_a_valid_sequence(data: bytes) -> None:
    """decode is total: any bytes give a valid sequence, which validate() also accepts."""
    ops = decode(SCHEMA, data)
    assert_valid(SCHEMA, ops)
    validate(SCHEMA, ops)


@HYPOTHESIS
@given(st.binary(max_size=512))
def test_reencoding_a_decoded_byte_string_is_a_fixed_point(data: bytes) -> None:
    """encode(decode(b)) is canonical: decoding it gives the same ops and re-encodes equal."""
    ops = decode(SCHEMA, data)
    canonical = encode(SCHEMA, ops)
    assert decode(SCHEMA, canonical) == ops
    assert encode(SCHEMA, decode(SCHEMA, canonical)) == canonical


@HYPOTHESIS
@given(op_sequences())
def test_decoding_an_encoded_sequence_gives_it_back(ops: tuple[Op, ...]) -> None:
    """decode(encode(ops)) == ops for every valid sequence."""
    data = encode(SCHEMA, ops)
    assert data[0] == SCHEMA.version
    assert decode(SCHEMA, data) == ops


@HYPOTHESIS
@given(op_sequences(unknown_flag_bits=True))
def test_parsing_a_formatted_sequence_gives_it_back(ops: tuple[Op, ...]) -> None:
    """parse_text(format_text(ops)) == ops, unknown flag bits included."""
    text = format_text(SCHEMA, ops)
    assert text.count("\n") == len(ops)
    assert parse_text(SCHEMA, text) == ops


@HYPOTHESIS
@given(op_sequences(), st.data())
def test_changing_an_arg_byte_but_not_its_continuation_bit_changes_only_that_op(
    ops: tuple[Op, ...], data: st.DataObject
) -> None:
    """Varint boundaries survive a change that keeps bit 7, so other ops decode equal."""
    encoded = encode(SCHEMA, ops)
    starts = [len(encode(SCHEMA, ops[:i])) for i in range(len(ops) + 1)]
    arg_positions = [
        (index, pos)
        for index in range(len(ops))
        for pos in range(starts[index] + 1, starts[index + 1])
    ]
    if not arg_positions:
        return
    index, pos = data.draw(st.sampled_from(arg_positions))
    new = data.draw(st.integers(0, 0x7F)) | (encoded[pos] & 0x80)
    changed = decode(SCHEMA, encoded[:pos] + bytes((new,)) + encoded[pos + 1 :])
    assert len(changed) == len(ops)
    assert changed[index].name == ops[index].name
    assert changed[:index] == ops[:index]
    assert changed[index + 1 :] == ops[index + 1 :]


@HYPOTHESIS
@given(st.binary(max_size=256))
def test_garbage_text_raises_only_syntax_errors(data: bytes) -> None:
    """Any bytes decoded as latin-1 or UTF-8 parse or raise OpsSyntaxError, nothing else."""
    for text in (
        data.decode("latin-1"),
        data.decode("utf-8", errors="surrogateescape"),
        data.decode("utf-8", errors="replace"),
    ):
        try:
            ops = parse_text(SCHEMA, text, path="junk.ops")
        except OpsSyntaxError as err:
            assert err.path == "junk.ops"
            assert err.line is not None and err.line >= 1
        else:
            assert parse_text(SCHEMA, format_text(SCHEMA, ops)) == ops
        assert isinstance(parse_header(text), dict)

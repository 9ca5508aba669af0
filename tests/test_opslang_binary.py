"""The binary form of fuzzplug.core.opslang: encoding, decoding and the fuzzer dictionary."""

from __future__ import annotations

import dataclasses
import re

import pytest

from fuzzplug.core.opslang import U64_MAX, ArgKind, Op, decode, dictionary, encode
from fuzzplug.errors import InputError
from opslang_example import ARCHES, SCHEMA, body, op


def test_the_encoding_follows_the_documented_byte_layout() -> None:
    """Version byte, op byte, LEB128 args; addr args as page then offset varints."""
    data = encode(
        SCHEMA,
        (
            op("config", arch="arm64"),
            op("fault", addr=0x123456, flags="FAULT_FLAG_WRITE"),
            op("fail_alloc", nth=300),
        ),
    )
    assert data == bytes(
        [0x01]  # version
        + [0x00, 0x01, 0x02]  # config HAVE_PTE_SPECIAL=1 arch=2
        + [0x03, 0xA3, 0x02, 0xD6, 0x08, 0x01]  # fault: 0x123 = a3 02, 0x456 = d6 08, flags 1
        + [0x05, 0xAC, 0x02]  # fail_alloc nth=300
    )


def test_changing_one_arg_byte_in_a_concrete_sequence_changes_only_that_op() -> None:
    """zap's len=0x3000 is the varint 80 60; 60 -> 20 keeps bit 7 clear, so framing holds."""
    ops = (
        op("fault", addr=0x100000, flags="FAULT_FLAG_WRITE"),
        op("zap", addr=0x200000, len=0x3000),
        op("fail_alloc", nth=5),
    )
    data = encode(SCHEMA, ops)
    assert data == bytes.fromhex("01" "0380020001" "04800400" "8060" "0505")
    pos = data.index(bytes((0x80, 0x60))) + 1
    changed = decode(SCHEMA, data[:pos] + b"\x20" + data[pos + 1 :])
    assert changed[0] == ops[0] and changed[2] == ops[2]
    assert changed[1] == op("zap", addr=0x200000, len=0x1000)


def test_an_op_byte_at_the_end_decodes_to_the_op_with_defaults() -> None:
    """A final op byte with no arg bytes is a whole op with every arg at its default."""
    data = encode(SCHEMA, (op("fault", addr=0x5000),)) + bytes((4,))
    assert decode(SCHEMA, data) == (op("fault", addr=0x5000), op("zap"))


def test_an_arg_cut_off_mid_varint_takes_its_default_as_do_the_args_after_it() -> None:
    """Running out inside an op keeps the complete args and defaults the rest."""
    assert decode(SCHEMA, b"\x01\x02\x80") == (op("vm_insert_mixed"),)
    assert decode(SCHEMA, b"\x01\x02\x05") == (op("vm_insert_mixed"),)  # offset missing
    assert decode(SCHEMA, b"\x01\x02\x05\x07\x80") == (op("vm_insert_mixed", addr=0x5007),)
    assert decode(SCHEMA, b"\x01\x02\x05\x07\x09") == (
        op("vm_insert_mixed", addr=0x5007, pfn=9),
    )


def test_scene_ops_after_a_call_or_repeated_are_dropped_by_decode() -> None:
    """A scene op after the first call, or a second copy of one, decodes to nothing."""
    config, vma, fault = op("config", arch="ppc64"), op("vma", end=0x400000), op("fault")
    data = b"\x01" + body(config) + body(op("config")) + body(fault) + body(vma) + body(fault)
    assert decode(SCHEMA, data) == (config, fault, fault)


def test_decode_keeps_at_most_max_ops() -> None:
    """Ops past max_ops are ignored."""
    data = b"\x01" + b"\x05\x01" * 100
    assert decode(SCHEMA, data) == (op("fail_alloc", nth=1),) * SCHEMA.max_ops
    small = dataclasses.replace(SCHEMA, max_ops=3)
    assert len(decode(small, data)) == 3
    with pytest.raises(InputError, match="the limit is 3"):
        encode(small, (op("fail_alloc"),) * 4)


def test_empty_and_version_only_inputs_decode_to_no_ops() -> None:
    """b'' and a lone version byte are the empty sequence."""
    assert decode(SCHEMA, b"") == ()
    assert decode(SCHEMA, b"\x01") == ()
    assert encode(SCHEMA, ()) == b"\x01"


def test_any_version_byte_decodes_with_the_current_rules() -> None:
    """Byte 0 is accepted whatever its value and does not change the decoding."""
    rest = body(op("vma"), op("fault", flags=3), op("zap", len=5))
    expected = decode(SCHEMA, b"\x01" + rest)
    assert len(expected) == 3
    for version in range(256):
        assert decode(SCHEMA, bytes((version,)) + rest) == expected


def test_op_bytes_select_op_ids_modulo_the_number_of_ops() -> None:
    """Op byte b means op id b % 6 in a six-op schema."""
    assert [o.name for o in decode(SCHEMA, b"\x01\x05\x00\x0b\x00\xff")] == [
        "fail_alloc",
        "fail_alloc",
        "fault",
    ]


def test_overlong_varints_stop_at_ten_bytes_and_mask_to_64_bits() -> None:
    """Ten continuation bytes end a varint; the 11th byte starts the next op."""
    data = b"\x01\x05" + b"\xff" * 10 + b"\x05"
    assert decode(SCHEMA, data) == (op("fail_alloc", nth=U64_MAX), op("fail_alloc"))
    # addr: page varint saturates, offset 0x3fff masks to 0xfff, the sum masks to 64 bits.
    data = b"\x01\x03" + b"\xff" * 10 + b"\xff\x7f" + b"\x00"
    assert decode(SCHEMA, data) == (op("fault", addr=U64_MAX),)
    # The offset is masked before it is combined: page 1, offset 0x3fff -> 0x1fff.
    assert decode(SCHEMA, b"\x01\x03\x01\xff\x7f\x00") == (op("fault", addr=0x1FFF),)


def test_decode_masks_flags_to_known_bits_and_reduces_choices() -> None:
    """FLAGS keep only named bits; CHOICE values wrap modulo the number of names."""
    data = b"\x01\x00\x00\x05\x03\x00\x00\xff\x01"
    assert decode(SCHEMA, data) == (
        op("config", HAVE_PTE_SPECIAL=0, arch="arm64"),
        op("fault", addr=0, flags=0b111),
    )


def test_encode_refuses_sequences_it_cannot_represent() -> None:
    """Unknown flag bits, out-of-range choices and scene-order breaks are InputErrors."""
    bad = [
        ((op("fault", flags=0x100),), "not known flags"),
        ((Op("config", (("HAVE_PTE_SPECIAL", 1), ("arch", 3))),), "arch: invalid value 3"),
        ((Op("zap", (("addr", -1), ("len", 1))),), "addr: invalid value -1"),
        ((Op("zap", (("addr", 1 << 64), ("len", 1))),), "addr: invalid value"),
        ((Op("zap", (("addr", 1),)),), "expected args"),
        ((Op("nope", ()),), "unknown op 'nope'"),
        ((op("fault"), op("vma")), "after the first call"),
        ((op("vma"), op("vma")), "repeated"),
    ]
    for ops, message in bad:
        with pytest.raises(InputError, match=re.escape(message)):
            encode(SCHEMA, ops)


def test_dictionary_entries_are_afl_entries_that_each_decode_to_one_op() -> None:
    """Every dictionary line is a comment or name=\"\\xNN...\"; each entry is one whole op."""
    entry = re.compile(r'([A-Za-z0-9_]+)="((?:\\x[0-9a-f]{2})+)"')
    text = dictionary(SCHEMA)
    assert text.startswith("#") and text.endswith("\n")
    entries: dict[str, bytes] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = entry.fullmatch(line)
        assert match is not None, line
        assert match.group(1) not in entries
        entries[match.group(1)] = bytes.fromhex(match.group(2).replace("\\x", ""))
    assert entries.pop("version") == bytes((SCHEMA.version,))
    variants = {f"op_{spec.name}_{arg.name}_{choice}": (spec.name, {arg.name: choice})
                for spec in SCHEMA.ops for arg in spec.args if arg.kind is ArgKind.CHOICE
                for index, choice in enumerate(arg.names) if index != arg.default}
    assert sorted(entries) == sorted([f"op_{spec.name}" for spec in SCHEMA.ops] + list(variants))
    for name, value in entries.items():
        decoded = decode(SCHEMA, bytes((SCHEMA.version,)) + value)
        spec_name, kwargs = variants.get(name, (name.removeprefix("op_"), {}))
        assert decoded == (op(spec_name, **kwargs),)
        assert encode(SCHEMA, decoded)[1:] == value


def test_dictionary_has_one_entry_per_other_choice_of_a_choice_arg() -> None:
    """A CHOICE arg's other choices are each one whole-op entry: `config arch=<each>`."""
    text = dictionary(SCHEMA)
    for index, arch in enumerate(ARCHES):
        if index:
            assert f"op_config_arch_{arch}=" in text

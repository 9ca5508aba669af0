"""Tests of fuzzplug.core.opslang: text and binary op sequences over an example schema."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzzplug.core.opslang import (
    U64_MAX,
    ArgKind,
    ArgSpec,
    Op,
    OpSpec,
    Schema,
    decode,
    dictionary,
    encode,
    format_text,
    parse_header,
    parse_text,
    validate,
)
from fuzzplug.errors import InputError, OpsSyntaxError, TargetError

# --------------------------------------------------------------------------- example schema

ARCHES = ("x86_64", "ppc64", "arm64")
VM_FLAGS = ("VM_READ", "VM_WRITE", "VM_EXEC", "VM_SHARED", "VM_MIXEDMAP", "VM_PFNMAP")
VM_READ, VM_WRITE, VM_EXEC, VM_SHARED, VM_MIXEDMAP, VM_PFNMAP = (1 << i for i in range(6))
PFN_FLAGS = ("PFN_DEV", "PFN_MAP")
FAULT_FLAGS = ("FAULT_FLAG_WRITE", "FAULT_FLAG_MKWRITE", "FAULT_FLAG_REMOTE")


def _addr(default: int = 0x100000) -> ArgSpec:
    return ArgSpec("addr", ArgKind.INT, default, hex=True, addr=True, always=True)


SCHEMA = Schema(
    name="example",
    version=1,
    ops=(
        OpSpec(
            "config",
            0,
            (
                ArgSpec("HAVE_PTE_SPECIAL", ArgKind.INT, 1),
                ArgSpec("arch", ArgKind.CHOICE, 0, names=ARCHES),
            ),
            scene=True,
            doc="Kernel configuration.",
        ),
        OpSpec(
            "vma",
            1,
            (
                ArgSpec("start", ArgKind.INT, 0x100000, hex=True, addr=True, always=True),
                ArgSpec("end", ArgKind.INT, 0x200000, hex=True, addr=True),
                ArgSpec("flags", ArgKind.FLAGS, VM_READ | VM_WRITE | VM_MIXEDMAP, names=VM_FLAGS),
            ),
            scene=True,
            doc="The one VMA.",
        ),
        OpSpec(
            "vm_insert_mixed",
            2,
            (
                _addr(),
                ArgSpec("pfn", ArgKind.INT, 0x1000, hex=True),
                ArgSpec("flags", ArgKind.FLAGS, 0, names=PFN_FLAGS),
            ),
        ),
        OpSpec("fault", 3, (_addr(), ArgSpec("flags", ArgKind.FLAGS, 0, names=FAULT_FLAGS))),
        OpSpec("zap", 4, (_addr(), ArgSpec("len", ArgKind.INT, 0x1000, hex=True))),
        OpSpec("fail_alloc", 5, (ArgSpec("nth", ArgKind.INT, 0),)),
    ),
)
SCENE_SPECS = tuple(spec for spec in SCHEMA.ops if spec.scene)
CALL_SPECS = tuple(spec for spec in SCHEMA.ops if not spec.scene)
HYPOTHESIS = settings(max_examples=200, deadline=None)


def op(name: str, **kwargs: int | str) -> Op:
    """Shorthand for Op.make over the example schema."""
    return Op.make(SCHEMA, name, **kwargs)


def body(*ops: Op) -> bytes:
    """The encoding of ``ops`` without the version byte."""
    return encode(SCHEMA, ops)[1:]


def assert_valid(schema: Schema, ops: tuple[Op, ...]) -> None:
    """Check every validity rule independently of opslang.validate."""
    assert isinstance(ops, tuple)
    assert len(ops) <= schema.max_ops
    calls = False
    scenes: set[str] = set()
    for one in ops:
        spec = schema.spec(one.name)
        assert [name for name, _ in one.args] == [arg.name for arg in spec.args]
        for arg, (_, value) in zip(spec.args, one.args):
            assert type(value) is int and 0 <= value <= U64_MAX
            if arg.kind is ArgKind.FLAGS:
                assert value < 1 << len(arg.names)
            if arg.kind is ArgKind.CHOICE:
                assert value < len(arg.names)
        if spec.scene:
            assert not calls and spec.name not in scenes
            scenes.add(spec.name)
        else:
            calls = True


def arg_values(arg: ArgSpec, *, unknown_flag_bits: bool) -> st.SearchStrategy[int]:
    """Values of one arg: its default, small values, and the whole range."""
    if arg.kind is ArgKind.CHOICE:
        return st.integers(0, len(arg.names) - 1)
    if arg.kind is ArgKind.FLAGS:
        known = (1 << len(arg.names)) - 1
        top = U64_MAX if unknown_flag_bits else known
        return st.one_of(st.just(arg.default), st.integers(0, known), st.integers(0, top))
    return st.one_of(st.just(arg.default), st.integers(0, 0x3FFF), st.integers(0, U64_MAX))


@st.composite
def op_sequences(
    draw: st.DrawFn, *, unknown_flag_bits: bool = False, max_calls: int = 12
) -> tuple[Op, ...]:
    """Valid op sequences: some scene ops once each, in any order, then calls."""
    scene = draw(st.permutations(SCENE_SPECS))
    scene = scene[: draw(st.integers(0, len(scene)))]
    calls = draw(st.lists(st.sampled_from(CALL_SPECS), max_size=max_calls))
    ops = []
    for spec in [*scene, *calls]:
        kwargs = {
            arg.name: draw(arg_values(arg, unknown_flag_bits=unknown_flag_bits))
            for arg in spec.args
        }
        ops.append(Op.make(SCHEMA, spec.name, **kwargs))
    return tuple(ops)


# --------------------------------------------------------------------------- properties


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


# --------------------------------------------------------------------------- text form


def test_parsing_reads_comments_hex_flag_names_and_fills_defaults() -> None:
    """Comments and blank lines are skipped, hex and flag names read, missing keys defaulted."""
    text = (
        "# name: insert then fault\n"
        "\n"
        "config arch=arm64   # trailing comment\n"
        "  vma flags=VM_READ|VM_SHARED end=0x300000 start=0x100000  \n"
        "\tvm_insert_mixed addr=0x101000 pfn=4660 flags=PFN_DEV|PFN_MAP\n"
        "fault addr=0X101abc flags=1\n"
        "zap\n"
        "fail_alloc nth=0x10\n"
    )
    ops = parse_text(SCHEMA, text)
    assert ops == (
        Op("config", (("HAVE_PTE_SPECIAL", 1), ("arch", 2))),
        Op("vma", (("start", 0x100000), ("end", 0x300000), ("flags", VM_READ | VM_SHARED))),
        Op("vm_insert_mixed", (("addr", 0x101000), ("pfn", 4660), ("flags", 3))),
        Op("fault", (("addr", 0x101ABC), ("flags", 1))),
        Op("zap", (("addr", 0x100000), ("len", 0x1000))),
        Op("fail_alloc", (("nth", 16),)),
    )


def test_an_empty_text_parses_to_no_ops_and_no_ops_format_to_an_empty_text() -> None:
    """Only comments and whitespace mean an empty sequence; an empty sequence is ''."""
    assert parse_text(SCHEMA, "# just a comment\n\n   \n") == ()
    assert format_text(SCHEMA, ()) == ""


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (
            "config\nvm_insrt addr=1\n",
            2,
            "unknown op 'vm_insrt'; expected one of: config, vma, vm_insert_mixed, fault, zap",
        ),
        ("vma stat=0x1000", 1, "vma: unknown argument 'stat'; expected one of: start, end, flags"),
        (
            "# c\n\nfault flags=FAULT_FLAG_WRTE",
            3,
            "fault: flags: unknown flag 'FAULT_FLAG_WRTE'; expected names from: FAULT_FLAG_WRITE, ",
        ),
        ("fault flags=FAULT_FLAG_WRITE|", 1, "fault: flags: empty flag name; expected names"),
        ("fault addr", 1, "expected key=value, got 'addr'"),
        ("fault =5", 1, "expected key=value, got '=5'"),
        ("config\nfault\nvma", 3, "scene line 'vma' after the first call"),
        ("vma\nvma start=0", 2, "scene op 'vma' given twice"),
        ("fault addr=0x10000000000000000", 1, "addr: value out of range"),
        ("fault addr=18446744073709551616", 1, "addr: value out of range"),
        ("fault flags=0x10000000000000000", 1, "flags: value out of range"),
        ("fault addr=-1", 1, "fault: addr: expected an int (decimal or 0x hex), got '-1'"),
        ("zap len=0x", 1, "zap: len: expected an int"),
        ("zap len=1_000", 1, "zap: len: expected an int"),
        ("zap len=", 1, "zap: len: expected an int"),
        ("fault addr=1 addr=2", 1, "fault: argument 'addr' given twice"),
        ("config arch=sparc", 1, "unknown choice 'sparc'; expected one of: x86_64, ppc64, arm64"),
        ("config arch=3", 1, "choice index 3 out of range; expected 0..2"),
        ("fail_alloc nth=1\x00", 1, "expected an int"),
        ("fault\x00 addr=1", 1, "unknown op 'fault\\x00'"),
    ],
)
def test_a_bad_line_raises_a_syntax_error_with_its_line_and_the_expectation(
    text: str, line: int, expected: str
) -> None:
    """Each syntax error names the file and 1-based line and says what was expected."""
    with pytest.raises(OpsSyntaxError) as info:
        parse_text(SCHEMA, text, path="scenario.ops")
    assert info.value.line == line
    assert info.value.path == "scenario.ops"
    assert expected in info.value.bare
    assert str(info.value).startswith(f"scenario.ops:{line}: ")


def test_more_ops_than_max_ops_is_a_syntax_error_naming_the_limit() -> None:
    """The text parser refuses the op past max_ops, on that op's line."""
    small = dataclasses.replace(SCHEMA, max_ops=2)
    assert len(parse_text(small, "fault\nfault\n")) == 2
    with pytest.raises(OpsSyntaxError) as info:
        parse_text(small, "fault\n# c\nfault\nfault\n")
    assert info.value.line == 4
    assert "the limit is 2" in info.value.bare


@pytest.mark.parametrize(
    "junk",
    [
        b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00",
        b"\x00\x00\x00\x00",
        b"\xff\xfe\xfd config",
        b"PK\x03\x04\x14\x00\x08\x00",
        b"fault addr=\xff\xff",
    ],
)
def test_garbage_bytes_decoded_as_latin1_raise_a_syntax_error(junk: bytes) -> None:
    """Binary junk read as text is an OpsSyntaxError on line 1, not another exception."""
    with pytest.raises(OpsSyntaxError) as info:
        parse_text(SCHEMA, junk.decode("latin-1"), path="junk.ops")
    assert info.value.line == 1


def test_format_text_writes_spec_order_hex_flag_names_and_omits_defaults() -> None:
    """Defaults are omitted unless always; hex is lowercase; flags print in bit order."""
    ops = (
        op("config"),
        op("vma", flags=VM_SHARED | VM_READ),
        op("vm_insert_mixed", flags=0b10, pfn=0xABCDEF),
        op("fault", addr=0x1000, flags=(1 << 40) | 0b101),
        op("zap", len=0x2000),
        op("fail_alloc", nth=7),
        op("config", arch="ppc64", HAVE_PTE_SPECIAL=0),
        op("vma", flags=0),
    )
    assert format_text(SCHEMA, ops) == (
        "config\n"
        "vma start=0x100000 flags=VM_READ|VM_SHARED\n"
        "vm_insert_mixed addr=0x100000 pfn=0xabcdef flags=PFN_MAP\n"
        "fault addr=0x1000 flags=FAULT_FLAG_WRITE|FAULT_FLAG_REMOTE|0x10000000000\n"
        "zap addr=0x100000 len=0x2000\n"
        "fail_alloc nth=7\n"
        "config HAVE_PTE_SPECIAL=0 arch=ppc64\n"
        "vma start=0x100000 flags=0\n"
    )


def test_format_text_refuses_a_malformed_op() -> None:
    """An op whose args do not match its spec is an InputError, not bad text."""
    with pytest.raises(InputError, match="expected args"):
        format_text(SCHEMA, (Op("zap", (("len", 1), ("addr", 2))),))
    with pytest.raises(InputError, match="unknown op"):
        format_text(SCHEMA, (Op("zapp", ()),))


def test_parse_header_reads_leading_key_value_comments() -> None:
    """Header keys come from leading '# key: value' lines; bare comments continue a value."""
    text = (
        "# name: write fault after insert\n"
        "# intent: the patch should reject\n"
        "#   a read-only special pte\n"
        "#\n"
        "# expect: intended\n"
        "config\n"
        "# late: ignored\n"
    )
    assert parse_header(text) == {
        "name": "write fault after insert",
        "intent": "the patch should reject a read-only special pte",
        "expect": "intended",
    }


def test_parse_header_stops_at_the_first_non_comment_and_ignores_keyless_leading_lines() -> None:
    """A leading blank or op line ends the header; uppercase or URL-like words are not keys."""
    assert parse_header("\n# name: x\n") == {}
    assert parse_header("fault\n# name: x\n") == {}
    assert parse_header("# see http://example.org\n# Name: x\n# expect: same\n") == {
        "expect": "same"
    }
    assert parse_header("# expect:\n#   divergent\n") == {"expect": "divergent"}


# --------------------------------------------------------------------------- binary form


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


# --------------------------------------------------------------------------- schema and Op


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

"""The text form of fuzzplug.core.opslang: parsing, formatting and headers."""

from __future__ import annotations

import dataclasses

import pytest

from fuzzplug.core.opslang import Op, format_text, parse_header, parse_text
from fuzzplug.errors import InputError, OpsSyntaxError
from opslang_example import SCHEMA, VM_READ, VM_SHARED, op


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

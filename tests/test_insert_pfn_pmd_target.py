"""The insert_pfn_pmd target: its seeds' headers hold, its scene is normalised as
documented, its binary form is total, and each pair judges the write-after-read as the
chain's history says."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzzplug.core.opslang import decode, encode, parse_header, parse_text
from fuzzplug.core.oracle import Verdict
from fuzzplug.targets import select_pair
from fuzzplug.targets.insert_pfn_pmd import TARGET
from fuzzplug.targets.insert_pfn_pmd.scene import Scene, check_scene

SEEDS = sorted((Path(__file__).resolve().parents[1] / "corpora" / "insert_pfn_pmd").glob("1_*.ops"))
WRITE_AFTER_READ = ("mmap backing=fsdax\naccess addr=0x40201000 write=0\n"
                    "access addr=0x40201000 write=1\nexit\n")


def ops_of(text: str):
    return parse_text(TARGET.schema, text)


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.stem)
def test_each_seed_has_the_verdict_and_signature_its_header_states(path):
    """`# expect:` (and `# signature:` when given) under the header's `# pair:`."""
    header = parse_header(path.read_text())
    target = select_pair(TARGET, pair=header["pair"])
    outcome = target.evaluate(ops_of(path.read_text()))
    assert outcome.verdict.value == header["expect"]
    if "signature" in header:
        assert outcome.signature == header["signature"]


@pytest.mark.parametrize("arch,debug,pair,verdict", [
    ("x86_64", 0, ("v5.0", "v5.0+c6f3c5ee40c1"), Verdict.INTENDED),
    ("x86_64", 1, ("v5.0", "v5.0+c6f3c5ee40c1"), Verdict.DIVERGENT),
    ("x86_64", 1, ("v5.0", "v5.0+c6f3c5ee40c1+fce86ff5802b"), Verdict.INTENDED),
    ("x86_64", 1, ("v5.0+c6f3c5ee40c1", "v5.0+c6f3c5ee40c1+fce86ff5802b"), Verdict.INTENDED),
    ("ppc64", 0, ("v5.0", "v5.0+v1"), Verdict.DIVERGENT),
    ("ppc64", 0, ("v5.0", "v5.0+c6f3c5ee40c1"), Verdict.INTENDED),
    ("ppc64", 0, ("v5.0+v1", "v5.0+c6f3c5ee40c1"), Verdict.INTENDED),
    ("ppc64_radix", 1, ("v5.0", "v5.0+c6f3c5ee40c1"), Verdict.INTENDED),
    ("ppc64_radix", 1, ("v5.0+c6f3c5ee40c1", "v5.0+c6f3c5ee40c1+fce86ff5802b"), Verdict.SAME),
])
def test_each_pair_judges_the_fs_dax_write_after_read_as_the_history_says(arch, debug, pair,
                                                                          verdict):
    """v5.0 → c6f3c5ee40c1: intended, but a BUG on x86 with DEBUG_VM (fixed, intended, by
    fce86ff5802b); on ppc64 hash the v1 posting does not state check_mm's report, v2 does,
    and v2's leak fix is intended against v1."""
    text = f"config arch={arch} DEBUG_VM={debug}\n" + WRITE_AFTER_READ
    assert TARGET.with_pair(*pair).evaluate(ops_of(text)).verdict is verdict


def test_the_v1_posting_is_not_judged_by_the_leak_fix_rule_from_v5_0():
    """rules_between: the leak rule belongs to pairs that start at the v1 posting."""
    names = {r.name for r in TARGET.with_pair("v5.0", "v5.0+c6f3c5ee40c1").rules}
    assert "pgtable_leak_fixed" not in names
    names = {r.name for r in TARGET.with_pair("v5.0+v1", "v5.0+c6f3c5ee40c1").rules}
    assert names == {"present_entry_updated_with_access_flags", "no_pgtables_bytes_report",
                     "pgtable_leak_fixed"}


def test_arm64_and_devmap_off_are_scene_issues_normalised_to_the_defaults():
    """check_scene: arm64 becomes x86_64, DEVMAP=0 becomes 1, each with an issue."""
    ops, issues = check_scene(ops_of("config arch=arm64 DEVMAP=0\n"))
    assert [i.problem.split(":")[0] for i in issues] == ["arch", "DEVMAP=0"]
    assert Scene.from_ops(ops).config.arch.value == "x86_64"


def test_an_unaligned_or_empty_mapping_is_normalised():
    """check_scene: page-aligned, non-empty, at most 4 GiB."""
    ops, issues = check_scene(ops_of("mmap start=0x40000123 end=0x40000000\n"))
    scene = Scene.from_ops(ops)
    assert issues and scene.start < scene.end and not scene.start & 0xFFF


@pytest.mark.parametrize("data", [b"", b"\x00", bytes(range(256)), b"\xff" * 64,
                                  b"\x01\x03\x00\x00\x02\x05\x01\x06"])
def test_every_byte_string_decodes_and_evaluates(data):
    """The binary form is total: any bytes decode to ops that evaluate to a verdict."""
    ops = decode(TARGET.schema, data)
    assert TARGET.evaluate(ops).verdict in set(Verdict)


def test_text_and_binary_forms_round_trip():
    """encode then decode gives the same ops back."""
    ops = ops_of("config arch=ppc64\n" + WRITE_AFTER_READ)
    assert decode(TARGET.schema, encode(TARGET.schema, ops)) == ops

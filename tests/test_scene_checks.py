"""insert_pfn's scene checks (the `SceneChecked` capability): a text scene that contradicts
itself or the documented layout is refused at its line; the binary form, where every byte
string is valid, is normalised instead, and the trace says how."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzzplug.cli import main
from fuzzplug.core.opslang import decode, encode, format_text, parse_text
from fuzzplug.targets import SceneChecked, load_target

TARGET = load_target("insert_pfn")
SCHEMA = TARGET.schema
CALLS = "vm_insert_mixed addr=0x100000 pfn=0x10\nvm_insert_mixed_mkwrite addr=0x101000 pfn=0x80\n"


@pytest.mark.parametrize(("scene", "message"), [
    ("memmap ram=0x10-0x1fff", "memmap ram=0x10-0x1fff overlaps the page allocator's "
                               "reserved pfns 0x1000-0x1fff"),
    ("memmap device=0x1800-0x2800", "memmap device=0x1800-0x2800 overlaps the page "
                                    "allocator's reserved pfns"),
    ("memmap zero=0x1000", "memmap zero=0x1000 is one of the page allocator's reserved pfns"),
    ("vma start=0x110000 end=0x100000", "vma start=0x110000 is not below end=0x100000"),
    ("vma start=0x100000 end=0x100000", "vma start=0x100000 is not below end=0x100000"),
    ("vma start=0x100800", "vma start=0x100800 is not page-aligned"),
    ("vma end=0x110001", "vma end=0x110001 is not page-aligned"),
    ("vma pgoff=0x1000", "vma pgoff=0x1000 is one of the page allocator's reserved pfns "
                         "0x1000-0x1fff (the driver's fault maps page pgoff+i"),
    ("vma end=0x1100000 pgoff=0xff8", "vma pgoff=0xff8 with 0x1000 pages reaches the page "
                                      "allocator's reserved pfns 0x1000-0x1fff at page 0x8"),
    ("vm_insert_mixed pfn=0x1800", "vm_insert_mixed pfn=0x1800 is one of the page "
                                   "allocator's reserved pfns 0x1000-0x1fff (a driver inserts "
                                   "its own memory"),
    ("vm_insert_pfn pfn=0x10000001000", "vm_insert_pfn pfn=0x10000001000 is one of the page "
                                        "allocator's reserved pfns"),
])
def test_a_contradictory_text_scene_is_refused_at_its_line(tmp_path, capsys, scene, message):
    """A text scene contradicting itself or the layout: exit 2, `file:3: <what is wrong>`."""
    path = tmp_path / "bad.ops"
    path.write_text(f"# name: bad\nconfig arch=ppc64\n{scene}\n{CALLS}")
    assert main(["replay", "insert_pfn", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fuzzplug: error: {path}:3: {message}") and err.count("\n") == 1


def test_a_contradictory_binary_scene_is_normalised_and_the_trace_says_so(tmp_path, capsys):
    """In binary the scene is normalised; replay and decode say how; the text replays alike."""
    text = "memmap ram=0x10-0x1fff\nvma start=0x100800 end=0x110000\n" + CALLS
    ops = parse_text(SCHEMA, text)
    binary = tmp_path / "crash-x"
    binary.write_bytes(encode(SCHEMA, ops))
    assert main(["replay", "insert_pfn", str(binary)]) == 0
    out = capsys.readouterr().out
    assert ("scene normalised: memmap ram=0x10-0x1fff overlaps the page allocator's reserved "
            "pfns 0x1000-0x1fff (COW copies): ram taken as 0x10-0xfff") in out
    assert ("scene normalised: vma start=0x100800 is not page-aligned (mmap() hands out "
            "page-aligned VMAs): start rounded down to 0x100000") in out
    decoded = tmp_path / "x.ops"
    assert main(["decode", "insert_pfn", str(binary), "-o", str(decoded)]) == 0
    lines = decoded.read_text().splitlines()
    assert lines[:2] == [
        "# scene normalised: memmap ram=0x10-0x1fff overlaps the page allocator's reserved "
        "pfns 0x1000-0x1fff (COW copies): ram taken as 0x10-0xfff",
        "# scene normalised: vma start=0x100800 is not page-aligned (mmap() hands out "
        "page-aligned VMAs): start rounded down to 0x100000"]
    assert "memmap ram=0x10-0xfff" in lines
    capsys.readouterr()
    assert main(["replay", "insert_pfn", str(binary), str(decoded), "--json"]) == 0
    first, second = (line for line in capsys.readouterr().out.splitlines())
    assert first.split('"input"')[0] == second.split('"input"')[0]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=64))
def test_normalising_a_scene_keeps_the_verdict_and_gives_a_scene_the_text_form_accepts(data):
    """Normalised ops keep verdict and signature, are a fixpoint and pass the text check."""
    assert isinstance(TARGET, SceneChecked)
    ops = decode(SCHEMA, data)
    normal, _ = TARGET.check_scene(ops)
    a, b = TARGET.evaluate(ops), TARGET.evaluate(normal)
    assert (a.verdict, a.signature) == (b.verdict, b.signature)
    assert TARGET.check_scene(normal) == (normal, [])
    again = parse_text(SCHEMA, format_text(SCHEMA, normal))
    assert TARGET.check_scene(again)[1] == []


def test_a_binary_input_whose_driver_maps_the_allocators_pfns_is_normalised_to_a_known_verdict(
        tmp_path, capsys):
    """vma pgoff=0x1000 and a fault: the driver's page moves out of the pool; no COW copy
    shares its pfn, and the divergence left is a known one (no stray hpte observable)."""
    from fuzzplug.core.known import KnownList

    text = ("config HAVE_PTE_SPECIAL=0 arch=ppc64\nvma flags=VM_WRITE|VM_MIXEDMAP pgoff=0x1000\n"
            "fault addr=0x100000\nvm_insert_mixed_mkwrite addr=0x100000 pfn=0x1 flags=0\n")
    ops = parse_text(SCHEMA, text)
    outcome = TARGET.evaluate(ops)
    assert "hpte" not in outcome.signature
    assert KnownList.of(TARGET).match(outcome.signature, ops) is not None
    binary = tmp_path / "crash-pool"
    binary.write_bytes(encode(SCHEMA, ops))
    assert main(["replay", "insert_pfn", str(binary)]) == 0
    assert ("scene normalised: vma pgoff=0x1000 is one of the page allocator's reserved pfns "
            "0x1000-0x1fff (the driver's fault maps page pgoff+i of the VMA at pfn pgoff+i): "
            "pgoff taken as 0x2000") in capsys.readouterr().out


_POOLISH = st.sampled_from([0x0, 0x80, 0xff8, 0xfff, 0x1000, 0x1800, 0x1fff, 0x2000,
                            (1 << 40) + 0x1000, (1 << 40) - 4])


@settings(max_examples=150, deadline=None, derandomize=True)
@given(pgoff=_POOLISH, pages=st.sampled_from([1, 16, 0x1000, 1 << 41]), pfn=_POOLISH,
       call=st.sampled_from(["vm_insert_pfn", "vm_insert_mixed", "vm_insert_mixed_mkwrite"]))
def test_no_pfn_a_driver_maps_is_left_among_the_allocators_after_normalising(pgoff, pages,
                                                                             pfn, call):
    """Normalised, neither a call's pfn nor any page of the VMA (pgoff+i, as a PTE holds
    it) is a reserved pfn; the verdict is the normalised ops' and the text form accepts them."""
    from fuzzplug.kernel.state import ANON_POOL_END, ANON_POOL_START

    start = 0x100000
    ops = parse_text(SCHEMA, f"vma start={start:#x} end={start + pages * 0x1000:#x} "
                             f"pgoff={pgoff:#x}\n{call} addr={start:#x} pfn={pfn:#x}\n"
                             f"fault addr={start:#x}\n")
    normal, _ = TARGET.check_scene(ops)
    vma, insert = normal[0], normal[1]
    low = insert["pfn"] % (1 << 40)
    assert not ANON_POOL_START <= low < ANON_POOL_END
    n_pages = (vma["end"] - vma["start"]) >> 12
    first = vma["pgoff"] % (1 << 40)
    assert n_pages >= 1
    assert not ANON_POOL_START <= first < ANON_POOL_END
    assert (ANON_POOL_START - first) % (1 << 40) >= n_pages
    assert TARGET.check_scene(normal) == (normal, [])
    a, b = TARGET.evaluate(ops), TARGET.evaluate(normal)
    assert (a.verdict, a.signature) == (b.verdict, b.signature)

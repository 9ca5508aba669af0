"""insert_pfn_pmd through the command line: listed, its four versions, replay of its seeds
with their pairs, and a replay across another pair."""

from __future__ import annotations

from pathlib import Path

from fuzzplug.cli import main

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "corpora" / "insert_pfn_pmd"


def test_targets_lists_insert_pfn_pmd(capsys):
    """`fuzzplug targets` names the target with its description."""
    assert main(["targets"]) == 0
    assert "insert_pfn_pmd\tmm/huge_memory.c" in capsys.readouterr().out


def test_versions_lists_the_four_versions_in_chain_order(capsys):
    """`fuzzplug versions insert_pfn_pmd`: v5.0, the v1 posting, c6f3c5ee40c1, fce86ff5802b."""
    assert main(["versions", "insert_pfn_pmd"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert names == ["v5.0", "v5.0+v1", "v5.0+c6f3c5ee40c1",
                     "v5.0+c6f3c5ee40c1+fce86ff5802b"]


def test_replay_of_the_x86_debug_vm_seed_shows_the_alignment_bug(capsys):
    """The c6f3c5ee40c1 write-after-read on x86-64 with DEBUG_VM is divergent: a BUG."""
    path = SEEDS / "1_divergent_x86_debug_vm_unaligned_write_fault_bug.ops"
    main(["replay", "insert_pfn_pmd", str(path)])
    out = capsys.readouterr().out
    assert "divergent" in out and "bug:pmdp_set_access_flags" in out


def test_replay_with_pre_and_post_judges_the_same_input_on_the_fix_pair(capsys):
    """With --pre/--post naming c6f3c5ee40c1 and fce86ff5802b, the same input is the
    follow-up's intended change."""
    path = SEEDS / "1_divergent_x86_debug_vm_unaligned_write_fault_bug.ops"
    main(["replay", "insert_pfn_pmd", str(path), "--pre", "v5.0+c6f3c5ee40c1",
          "--post", "v5.0+c6f3c5ee40c1+fce86ff5802b"])
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith(": intended")
    assert "MISMATCH: # expect: divergent" in out  # the file's header is for its own pair


def test_replay_of_an_unknown_version_is_a_one_line_error(capsys):
    """A pair with a version the chain lacks: exit 2, one line, no traceback."""
    path = SEEDS / "1_intended_v1_pgtable_leak_fixed.ops"
    assert main(["replay", "insert_pfn_pmd", str(path), "--pre", "v4.13"]) == 2
    err = capsys.readouterr().err
    assert "no version" in err and "Traceback" not in err


def test_replay_refuses_a_scene_outside_the_targets_layout_in_one_line(tmp_path, capsys):
    """arm64 is not among insert_pfn_pmd's architectures: the text loader says so with
    file:line, exit 2, and leaves the file as it was."""
    path = tmp_path / "arm64.ops"
    path.write_text("config arch=arm64\naccess addr=0x40201000\n")
    assert main(["replay", "insert_pfn_pmd", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:1: arch:" in err and len(err.strip().splitlines()) == 1
    assert path.read_text() == "config arch=arm64\naccess addr=0x40201000\n"

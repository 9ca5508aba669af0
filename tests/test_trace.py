"""`fuzzplug replay`'s side-by-side trace (fuzzplug.triage.trace): fitted to the terminal,
wrapped not cut, PTE values as flags; scenario headers checked (`--check`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fuzzplug.cli import main
from fuzzplug.core.opslang import parse_text
from fuzzplug.targets import load_target

ROOT = Path(__file__).parents[1]
SEEDS = sorted((ROOT / "corpora" / "insert_pfn").glob("*.ops"))
PPC64 = ROOT / "corpora" / "insert_pfn" / "divergent_ppc64_set_pte_at_on_present_pte.ops"
TARGET = load_target("insert_pfn")
COMBINATION = """config HAVE_PTE_SPECIAL=0 arch=ppc64 DEBUG_VM=1
fault addr=0x100000
zap addr=0x100000
fault addr=0x100000
vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80
"""


def _replay(*args: str, capsys, status: int = 0) -> str:
    assert main(["replay", "insert_pfn", *args]) == status
    return capsys.readouterr().out


@pytest.mark.parametrize("columns", [60, 100, 180])
def test_the_trace_fits_the_terminal_and_wraps_instead_of_cutting(columns, capsys,
                                                                   monkeypatch):
    """No trace line is wider than the terminal, and each column keeps every character."""
    monkeypatch.setenv("COLUMNS", "1000")
    wide = _replay(str(PPC64), capsys=capsys)
    monkeypatch.setenv("COLUMNS", str(columns))
    narrow = _replay(str(PPC64), capsys=capsys)
    body = [line for line in narrow.splitlines() if line.startswith("   ")]
    assert body and all(len(line) <= max(columns, 86) for line in body)

    def column(text: str, side: int) -> str:
        cells = [(line.split(" |", 1) + [""])[side] for line in text.splitlines()
                 if line.startswith("   ")]
        return "".join("".join(cells).split())

    for side in (0, 1):
        assert column(narrow, side) == column(wide, side)


def test_the_trace_decodes_pte_values_into_flags(capsys, monkeypatch):
    """Hooks show entries as pfn and flags, a change as the bits set (+RW +DIRTY +SOFT_DIRTY)."""
    monkeypatch.setenv("COLUMNS", "1000")
    out = _replay(str(PPC64), capsys=capsys)
    flat = " ".join(out.split())
    assert "arch set_pte_at 0x100000: none -> pfn 0x80 PRESENT|USER|ACCESSED|SPECIAL" in flat
    assert ("arch set_pte_at 0x100000: pfn 0x80 PRESENT|USER|ACCESSED|SPECIAL|HASHPTE|DEVMAP|NX "
            "-> +RW +DIRTY +SOFT_DIRTY -HASHPTE") in flat
    assert not re.search(r"0x[0-9a-f]{9,}", out), "no raw 64-bit entry left"


def test_every_seed_scenario_passes_check(capsys):
    """`replay --check` over the seeds: every header agrees, exit 0, no MISMATCH line."""
    out = _replay(*map(str, SEEDS), "--check", capsys=capsys)
    assert "MISMATCH" not in out


def test_a_header_that_disagrees_is_flagged_and_check_fails(tmp_path, capsys):
    """Disagreeing `# expect:` and `# signature:` headers are flagged; `--check` exits 1."""
    path = tmp_path / "wrong.ops"
    body = PPC64.read_text().split("\n# ")[-1].split("\n", 1)[1]
    path.write_text("# name: wrong\n# expect: same\n"
                    "# signature: vm_insert_mixed_mkwrite/warn:x/00000000\n" + body)
    out = _replay(str(path), capsys=capsys)
    assert "MISMATCH: # expect: same, but the verdict is divergent" in out
    assert ("MISMATCH: # signature: vm_insert_mixed_mkwrite/warn:x/00000000, but the "
            "signature is vm_insert_mixed_mkwrite/bad_hpte:__hash_page_4K:") in out
    assert main(["replay", "insert_pfn", str(path), str(PPC64), "--check"]) == 1
    assert "1 of 2 inputs disagrees with its header" in capsys.readouterr().err


def test_replay_says_whether_a_divergence_is_known_and_by_which_causes(tmp_path, capsys):
    """replay marks a listed signature and the unlisted combination with their causes."""
    assert ("[known: causes ppc64_hash_stale_hpte + ppc64_set_pte_at_on_present_pte]"
            in _replay(str(PPC64), capsys=capsys))
    path = tmp_path / "combination.ops"
    path.write_text(COMBINATION)
    sig = TARGET.evaluate(parse_text(TARGET.schema, COMBINATION)).signature
    assert sig not in TARGET.known_findings()
    first = _replay(str(path), capsys=capsys).splitlines()[0]
    assert first.endswith(f"{sig}  [known: causes ppc64_set_pte_at_on_present_pte + "
                          "ppc64_hash_stale_hpte + devmap_without_pte_special]")
    record = _replay(str(path), "--json", capsys=capsys)
    assert '"known": {"by": "causes", "causes": ["ppc64_set_pte_at_on_present_pte", ' \
           '"ppc64_hash_stale_hpte", "devmap_without_pte_special"]}' in record

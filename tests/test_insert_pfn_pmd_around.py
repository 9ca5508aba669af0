"""insert_pfn_pmd through the CLI, around its core: the backport answer, the exhaustive
checker over the small domain, the harness under libFuzzer, and the farm files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fuzzplug.cli import main

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "harnesses" / "fuzz_insert_pfn_pmd.py"
FIX = "v5.0+c6f3c5ee40c1"
FCE = "v5.0+c6f3c5ee40c1+fce86ff5802b"


def test_backport_takes_fce86ff5802b_with_its_companion_and_shows_the_crash_gone(capsys):
    """`fuzzplug backport insert_pfn_pmd --depth 1`: the x86 crash class is present with
    the fix and gone with fce86ff5802b, each fix's change is shown, and the answer takes
    fce86ff5802b with 11cf9d863dcb as companion."""
    assert main(["backport", "insert_pfn_pmd", "--depth", "1", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines()
               if line.startswith("unaligned_address_hits_vm_bug_on"))
    assert row.split()[-3:] == ["present", "present", "gone"]
    assert "NOT shown" not in out
    assert "Take fce86ff5802b." in out and "11cf9d863dcb" in out


def test_exhaustive_proves_fce86ff5802b_changes_nothing_beyond_its_rule_to_depth_2(capsys):
    """On c6f3c5ee40c1..fce86ff5802b the small domain has no divergence, proven."""
    assert main(["exhaustive", "insert_pfn_pmd", "--pre", FIX, "--post", FCE, "--depth",
                 "2", "--jobs", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "there is no divergent signature" in out and "880 sequences" in out


def test_exhaustive_finds_the_crash_of_the_fix_and_knows_its_cause(capsys):
    """On v5.0..c6f3c5ee40c1 the VM_BUG_ON signature is found at depth 2 and recognised."""
    assert main(["exhaustive", "insert_pfn_pmd", "--depth", "2", "--jobs", "1",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert ("access/ret:NOPAGE->BUG+bug:pmdp_set_access_flags:address_HPAGE_PMD_MASK/532c8df4"
            " [known: cause unaligned_address_hits_vm_bug_on]") in out


def test_the_harness_runs_under_libfuzzer_from_the_seeds(tmp_path):
    """`harnesses/fuzz_insert_pfn_pmd.py CORPUS -runs=2000` exits 0: the known findings
    are suppressed and nothing else diverges."""
    assert os.access(HARNESS, os.X_OK)
    assert HARNESS.read_text().startswith("#!/usr/bin/env python3\n")
    corpus = tmp_path / "corpus"
    assert main(["seeds", "insert_pfn_pmd", "-o", str(corpus)]) == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUZZPLUG_")}
    proc = subprocess.run([sys.executable, str(HARNESS), str(corpus), "-runs=2000",
                           "-seed=1"], capture_output=True, text=True, env=env, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Done 2000 runs" in proc.stderr


def test_the_farm_files_carry_the_target_options(tmp_path):
    """`fuzzplug options insert_pfn_pmd` writes the target's max_len and timeout."""
    out = tmp_path / "fuzz_insert_pfn_pmd.options"
    assert main(["options", "insert_pfn_pmd", "-o", str(out)]) == 0
    text = out.read_text()
    assert "max_len = 256" in text and "timeout = 10" in text

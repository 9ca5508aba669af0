"""Tests that each harness survives packaging as OSS-Fuzz packs it and runs as a fuzzer.

OSS-Fuzz's `compile_python_fuzzer HARNESS ARGS...` runs `pyinstaller --distpath $OUT
--workpath=$FUZZ_WORKPATH --onefile --name <fuzzer>.pkg ARGS... HARNESS`; ARGS are what
oss-fuzz/build.sh passes, after its `pip3 install .`. The `packed` fixture
(tests/conftest.py) does the same from a regular install of fuzzplug (a wheel in a fresh
venv), outside the checkout and without `--paths`; the seed folders come from that
install's `fuzzplug seeds`.

The packed binary has no entry-point metadata and the harness imports its target directly;
it must also carry the known-findings TOML, which the harness reads at start-up (a binary
without it exits with FileNotFoundError before running any input).

Divergent seeds exist today, and the harness raises on them; runs that must exit 0 set
FUZZPLUG_RECORD, so the harness records findings instead.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import HARNESSES, PYI_ARGS
from fuzzplug.farm.files import compile_seeds
from fuzzplug.targets import load_target

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DIVERGENT = ("config arch=ppc64 DEBUG_VM=1\n"
             "vm_insert_mixed addr=0x100000 pfn=0x80\n"
             "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
"""insert_pfn: v4.14's mkwrite insert over a present PTE WARNs in ppc64's set_pte_at and
leaves a stale HPTE behind (the family is named after the first observable, bad_hpte)."""
TIMEOUT = 120


def test_packaging_test_packs_as_build_sh_does():
    """The PyInstaller arguments here are those oss-fuzz/build.sh gives each harness."""
    text = (ROOT / "oss-fuzz" / "build.sh").read_text()
    calls = re.findall(r'^\s*compile_python_fuzzer "\$harness" (.*)$', text, re.M)
    assert [call.split() for call in calls] == [list(PYI_ARGS)]


@pytest.fixture(scope="module")
def divergent_seed(installed) -> Path:
    """The divergent insert_pfn scenario, encoded by the installed `fuzzplug encode`."""
    top = installed.home.parent / "divergent"
    top.mkdir(exist_ok=True)
    (top / "divergent.ops").write_text(DIVERGENT)
    result = installed.run(installed.fuzzplug, "encode", "insert_pfn", top / "divergent.ops",
                           "-o", top / "divergent.bin", timeout=60)
    assert result.returncode == 0, result.stderr
    return top / "divergent.bin"


def run_packed(binary: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FUZZPLUG_")}
    return subprocess.run([str(binary), f"-artifact_prefix={cwd}/", *args], cwd=cwd,
                          env={**environ, **env}, capture_output=True, text=True,
                          timeout=TIMEOUT)


@pytest.mark.parametrize("fuzzer", [h.stem for h in HARNESSES])
def test_packed_harness_runs_a_seed_a_thousand_times(packed, seeds, fuzzer, tmp_path):
    """Regression mode on one seed file, -runs=1000: exit 0, every run of that input."""
    seed = sorted(seeds[fuzzer].iterdir())[0]
    result = run_packed(packed[fuzzer], "-runs=1000", str(seed), cwd=tmp_path,
                        FUZZPLUG_RECORD=str(tmp_path / "record"))
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Running 1 inputs 1000 time(s) each." in result.stderr
    assert f"Executed {seed}" in result.stderr


@pytest.mark.parametrize("fuzzer", [h.stem for h in HARNESSES])
def test_packed_harness_merges_the_seed_corpus_into_an_empty_folder(packed, seeds, fuzzer,
                                                                    tmp_path):
    """-merge=1 from the seed folder into an empty one: exit 0, and the merged folder holds
    seeds only, as many as libFuzzer reports."""
    merged = tmp_path / "merged"
    merged.mkdir()
    result = run_packed(packed[fuzzer], "-merge=1", str(merged), str(seeds[fuzzer]),
                        cwd=tmp_path, FUZZPLUG_RECORD=str(tmp_path / "record"))
    assert result.returncode == 0, result.stderr[-4000:]
    kept = {p.name: p.read_bytes() for p in merged.iterdir()}
    assert kept, result.stderr[-4000:]
    seed_files = {p.name: p.read_bytes() for p in seeds[fuzzer].iterdir()}
    assert kept.items() <= seed_files.items()
    reported = re.search(r"MERGE-OUTER: (\d+) new files", result.stderr)
    assert reported and int(reported.group(1)) == len(kept)


def test_packed_insert_pfn_harness_crashes_on_a_divergent_seed(packed, divergent_seed,
                                                               tmp_path):
    """With nothing suppressed and nothing recorded, the known-divergent seed crashes the
    binary, from the frame named after the signature family."""
    result = run_packed(packed["fuzz_insert_pfn"], str(divergent_seed), cwd=tmp_path,
                        FUZZPLUG_NO_KNOWN="1")
    output = result.stdout + result.stderr  # atheris prints the exception on stdout
    assert result.returncode != 0
    assert "Divergence" in output
    assert "divergent__vm_insert_mixed_mkwrite__bad_hpte" in output
    assert DIVERGENT.splitlines()[-1] in output  # the text-form reproducer


def test_packed_insert_pfn_harness_records_the_divergence_instead(packed, divergent_seed,
                                                                  tmp_path):
    """With FUZZPLUG_RECORD the same seed exits 0, and the finding is the seed itself."""
    record = tmp_path / "record"
    result = run_packed(packed["fuzz_insert_pfn"], "-runs=1000", str(divergent_seed),
                        cwd=tmp_path, FUZZPLUG_NO_KNOWN="1", FUZZPLUG_RECORD=str(record))
    assert result.returncode == 0, result.stderr[-4000:]
    inputs = sorted(record.glob("*.bin"))
    assert [p.read_bytes() for p in inputs] == [divergent_seed.read_bytes()]
    assert sorted(record.glob("counts.*.json"))


def test_packed_harness_bundles_the_known_findings_not_the_metadata(packed):
    """The archive holds the known-findings TOML and no fuzzplug dist-info: the harness
    finds its target and its suppressions without installed metadata."""
    from PyInstaller.archive.readers import CArchiveReader

    for fuzzer, binary in packed.items():
        names = list(CArchiveReader(str(binary)).toc)
        assert f"fuzzplug/targets/{fuzzer.removeprefix('fuzz_')}/known.toml" in names
        assert not [n for n in names if n.startswith("fuzzplug-")], binary


@pytest.mark.parametrize("fuzzer", [h.stem for h in HARNESSES])
def test_packed_harness_runs_over_its_whole_seed_corpus(packed, seeds, fuzzer, tmp_path):
    """The seed folder as the corpus, -runs=500 with FUZZPLUG_RECORD: every seed loads and
    runs, then libFuzzer fuzzes on; exit 0."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for seed in seeds[fuzzer].iterdir():
        (corpus / seed.name).write_bytes(seed.read_bytes())
    result = run_packed(packed[fuzzer], "-runs=500", "-seed=1", str(corpus), cwd=tmp_path,
                        FUZZPLUG_RECORD=str(tmp_path / "record"))
    assert result.returncode == 0, result.stderr[-4000:]
    count = len(list(seeds[fuzzer].iterdir()))
    assert re.search(rf"INFO: +{count} files found in {re.escape(str(corpus))}", result.stderr)
    assert "INITED" in result.stderr and "Done 500 runs" in result.stderr


def test_every_seed_of_every_harness_is_in_its_corpus(seeds):
    """The seed folders the binaries ran are the targets' compiled scenarios."""
    for fuzzer, folder in seeds.items():
        target = load_target(fuzzer.removeprefix("fuzz_"))
        assert {p.name for p in folder.iterdir()} == set(compile_seeds(target))


def test_packed_insert_pfn_harness_feeds_semantic_features_back(packed, tmp_path):
    """The packed binary runs in semantic mode by default (nothing instrumented) and its
    counters work: a corpus with a deeper input has more libFuzzer features (`ft:`)."""
    from fuzzplug.core.opslang import encode, parse_text

    target = load_target("insert_pfn")
    scene = ("config HAVE_PTE_SPECIAL=0\nvma flags=VM_READ|VM_WRITE|VM_SHARED|VM_MAYREAD|"
             "VM_MAYWRITE|VM_MIXEDMAP vm_ops=0\nfault addr=0x100000\n")
    deep = scene + "fault addr=0x100000 flags=FAULT_FLAG_WRITE\nzap addr=0x100000\n"
    ft = {}
    for name, texts in (("shallow", [scene]), ("deeper", [scene, deep])):
        corpus = tmp_path / name
        corpus.mkdir()
        for i, text in enumerate(texts):
            (corpus / f"in{i}").write_bytes(encode(target.schema,
                                                   parse_text(target.schema, text)))
        result = run_packed(packed["fuzz_insert_pfn"], str(corpus), "-runs=0", cwd=tmp_path,
                            FUZZPLUG_RECORD=str(tmp_path / f"record-{name}"))
        assert result.returncode == 0, result.stderr[-4000:]
        assert "INFO: fuzzplug feedback: semantic" in result.stderr
        assert "Instrumenting" not in result.stderr
        ft[name] = int(re.findall(r"ft: (\d+)", result.stderr)[-1])
    assert ft["deeper"] > ft["shallow"] > 0

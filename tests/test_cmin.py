"""Tests of fuzzplug.triage.cmin and the `cmin` verb: the kept corpus covers every branch id and
(verdict, signature) class of the input corpus, inputs are never touched, and a run
restarted from a partial journal ends where an uninterrupted run does."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from fuzzplug.cli import main
from fuzzplug.core.opslang import decode, encode, parse_text
from fuzzplug.core.semcov import branch_hits
from fuzzplug.errors import InputError, OutputError
from fuzzplug.targets import load_target
from fuzzplug.triage.cmin import journal_path, run_cmin, select

TARGET = load_target("insert_pfn")
SCHEMA = TARGET.schema
DIVERGENT = (
    "config arch=ppc64 DEBUG_VM=1\nvm_insert_mixed addr=0x100000 pfn=0x80\n"
    "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n",
    "vm_insert_mixed addr=0x100000 pfn=0x81\nvm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n",
    "vma flags=VM_READ|VM_WRITE|VM_MAYWRITE|VM_MIXEDMAP\n"
    "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n",
    "config HAVE_PTE_SPECIAL=0\nvm_insert_mixed_mkwrite addr=0x100000 pfn=0x10 flags=0\n",
)


def make_corpus(folder: Path, n_random: int = 150, seed: int = 7) -> Path:
    """Random binary inputs, the divergent seeds (binary and .ops), a duplicate, and a
    longer twin of one seed (same ops: a trailing scene op after the calls is dropped)."""
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    for _ in range(n_random):
        data = bytes([1]) + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 48)))
        (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
    for i, text in enumerate(DIVERGENT):
        (folder / f"seed{i}.ops").write_text(text)
        (folder / f"seed{i}.bin").write_bytes(encode(SCHEMA, parse_text(SCHEMA, text)))
    twin = encode(SCHEMA, parse_text(SCHEMA, DIVERGENT[1])) + bytes([0, 1, 1, 0, 0, 0])
    assert decode(SCHEMA, twin) == parse_text(SCHEMA, DIVERGENT[1])
    (folder / "seed1.long").write_bytes(twin)
    sub = folder / "sub"
    sub.mkdir()
    (sub / "copy-of-seed0").write_bytes((folder / "seed0.bin").read_bytes())
    return folder


def features(paths) -> tuple[set, set]:
    branches, classes = set(), set()
    for path in paths:
        data = path.read_bytes()
        ops = parse_text(SCHEMA, data.decode()) if path.suffix == ".ops" else decode(SCHEMA, data)
        outcome = TARGET.evaluate(ops)
        branches |= {(v, b) for v, ids in branch_hits(outcome).items() for b in ids}
        classes.add((outcome.verdict.value, outcome.signature))
    return branches, classes


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    return {str(p.relative_to(root)): (hashlib.sha1(p.read_bytes()).hexdigest(),
                                       p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def outputs(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if not p.name.startswith(".")}


@pytest.fixture
def corpus(tmp_path) -> Path:
    return make_corpus(tmp_path / "in")


def test_cmin_keeps_the_union_of_branch_ids_and_classes(corpus, tmp_path):
    """Fewer files reach every (version, branch id) and (verdict, signature) of the corpus."""
    out = tmp_path / "out"
    result = run_cmin(TARGET, [str(corpus)], str(out))
    kept = [p for p in out.iterdir() if not p.name.startswith(".")]
    every = [p for p in corpus.rglob("*") if p.is_file()]
    assert features(kept) == features(every)
    assert len(kept) == len(result.kept) < len(every)
    assert result.branches_kept == result.branches_in


def test_cmin_never_touches_its_inputs(corpus, tmp_path):
    """Every input keeps its content and modification time; none is added or removed."""
    before = snapshot(corpus)
    run_cmin(TARGET, [str(corpus)], str(tmp_path / "out"))
    assert snapshot(corpus) == before


def test_kept_files_are_named_by_the_sha1_of_their_content(corpus, tmp_path):
    """Each output is named by its sha1 and is a binary input (.ops kept as binary)."""
    out = tmp_path / "out"
    run_cmin(TARGET, [str(corpus)], str(out))
    for name, data in outputs(out).items():
        assert name == hashlib.sha1(data).hexdigest()
        assert encode(SCHEMA, decode(SCHEMA, data))  # a valid binary input


def test_cmin_prefers_the_shorter_of_two_inputs_with_the_same_features(corpus, tmp_path):
    """The seed and its longer twin decode alike; the twin is never kept."""
    out = tmp_path / "out"
    run_cmin(TARGET, [str(corpus)], str(out))
    twin = (corpus / "seed1.long").read_bytes()
    assert hashlib.sha1(twin).hexdigest() not in outputs(out)


def test_a_rerun_after_a_simulated_kill_gives_the_same_result(corpus, tmp_path):
    """A journal cut short is resumed: evaluations reused, OUT_DIR as after a clean run."""
    clean = tmp_path / "clean"
    full = run_cmin(TARGET, [str(corpus)], str(clean))
    journal = json.loads(journal_path(clean).read_text())
    keys = sorted(journal["features"])
    partial = dict(journal, features={k: journal["features"][k] for k in keys[::2]},
                   pending=[], written=[])
    killed = tmp_path / "killed"
    killed.mkdir()
    journal_path(killed).write_text(json.dumps(partial))
    resumed_first = run_cmin(TARGET, [str(corpus)], str(killed), journal_every=0.0)
    assert resumed_first.reused == len(keys[::2])
    assert resumed_first.evaluated == len(keys) - len(keys[::2])
    assert outputs(killed) == outputs(clean)

    # Killed again, now while writing: one file written, a temporary left, all pending.
    again = tmp_path / "again"
    again.mkdir()
    name, data = next(iter(outputs(clean).items()))
    (again / name).write_bytes(data)
    (again / f".{name}.abc123.tmp").write_bytes(data[:3])
    journal_path(again).write_text(json.dumps(dict(journal, pending=sorted(outputs(clean)),
                                                    written=[])))
    resumed = run_cmin(TARGET, [str(corpus)], str(again))
    assert resumed.evaluated == 0
    assert outputs(again) == outputs(clean)
    assert not list(again.glob(".*.tmp"))
    assert [n for n, _ in resumed.kept] == [n for n, _ in full.kept]


def test_a_second_run_reuses_every_evaluation(corpus, tmp_path):
    """Run twice into one folder: the second run evaluates nothing and keeps the same files."""
    out = tmp_path / "out"
    first = run_cmin(TARGET, [str(corpus)], str(out))
    kept = outputs(out)
    second = run_cmin(TARGET, [str(corpus)], str(out))
    assert (second.evaluated, second.reused) == (0, first.evaluated)
    assert outputs(out) == kept


def test_a_journal_for_another_fingerprint_is_not_reused(corpus, tmp_path):
    """A journal recorded for other models (another fingerprint) is ignored, not trusted."""
    out = tmp_path / "out"
    run_cmin(TARGET, [str(corpus)], str(out))
    journal = json.loads(journal_path(out).read_text())
    journal["fingerprint"]["branch_ids"] = "0" * 40
    for record in journal["features"].values():
        record["branches"] = {}
    journal_path(out).write_text(json.dumps(journal))
    again = run_cmin(TARGET, [str(corpus)], str(out))
    assert again.reused == 0 and again.branches_kept == again.branches_in != {}


def test_stale_outputs_of_an_earlier_run_are_replaced(corpus, tmp_path):
    """Re-running into the same folder with fewer inputs leaves exactly the new result."""
    out = tmp_path / "out"
    run_cmin(TARGET, [str(corpus)], str(out))
    small = tmp_path / "small"
    small.mkdir()
    (small / "one.ops").write_text(DIVERGENT[0])
    result = run_cmin(TARGET, [str(small)], str(out))
    assert list(outputs(out)) == [n for n, _ in result.kept] and len(result.kept) == 1


def test_an_output_folder_with_foreign_files_is_refused(corpus, tmp_path):
    """cmin does not mix its output with files it did not write."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "someone-elses").write_bytes(b"\x01\x05")
    with pytest.raises(OutputError, match="did not write"):
        run_cmin(TARGET, [str(corpus)], str(out))


def test_an_output_folder_inside_an_input_folder_is_refused(corpus):
    """OUT_DIR inside IN_DIR would write into the inputs: refused before anything runs."""
    before = snapshot(corpus)
    with pytest.raises(InputError, match="overlaps"):
        run_cmin(TARGET, [str(corpus)], str(corpus / "min"))
    assert snapshot(corpus) == before


def test_an_unusable_input_stops_the_run_before_anything_is_written(corpus, tmp_path):
    """A .ops with a syntax error: InputError naming file:line, OUT_DIR never created."""
    (corpus / "zz-bad.ops").write_text("vm_insert_pfn addr=0x100000\nvm_insert_pfn pfn=?\n")
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"zz-bad\.ops:2:"):
        run_cmin(TARGET, [str(corpus)], str(out))
    assert not out.exists()


def test_select_covers_the_union_prefers_short_and_drops_what_later_picks_cover():
    """Widest first, then shortest (then name); a pick the later ones cover is dropped."""
    items = [
        (frozenset("abc"), 10, "wide"),
        (frozenset("ad"), 3, "p"),
        (frozenset("be"), 3, "q"),
        (frozenset("cf"), 3, "r"),
        (frozenset("cf"), 2, "s"),   # shorter twin of "r": preferred
        (frozenset("ad"), 3, "o"),   # same length as "p": the name decides
    ]
    assert select(items) == [2, 4, 5]
    assert select([]) == []


def test_the_verb_prints_files_in_and_out_and_branch_ids_kept(corpus, tmp_path, capsys):
    """`cmin insert_pfn IN -o OUT`: exit 0, files in/out and per-version branch id counts."""
    out = tmp_path / "out"
    assert main(["cmin", "insert_pfn", str(corpus), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    n_in = len([p for p in corpus.rglob("*") if p.is_file()])
    assert f"files in: {n_in} " in text
    assert f"files out: {len(outputs(out))} in {out}" in text
    for version in TARGET.branch_ids():
        assert f"branch ids {version}: " in text


def test_out_dir_holds_only_the_kept_inputs_and_the_journal_lives_beside_it(corpus, tmp_path,
                                                                           capsys):
    """`cmin -o OUT` leaves only kept inputs in OUT; the journal is OUT.cmin-state.json."""
    out = tmp_path / "out"
    assert main(["cmin", "insert_pfn", str(corpus), "-o", str(out)]) == 0
    capsys.readouterr()
    names = sorted(p.name for p in out.iterdir())
    assert names and all(
        p.is_file() and p.name == hashlib.sha1(p.read_bytes()).hexdigest() for p in out.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == [corpus.name, "out",
                                                          "out.cmin-state.json"]


def test_a_journal_left_inside_out_dir_by_an_older_version_is_moved_out(corpus, tmp_path):
    """An old OUT/.cmin-state.json is reused as the journal and moved out of OUT."""
    out = tmp_path / "out"
    first = run_cmin(TARGET, [str(corpus)], str(out))
    journal_path(out).rename(out / ".cmin-state.json")
    again = run_cmin(TARGET, [str(corpus)], str(out))
    assert again.reused == first.evaluated and again.evaluated == 0
    assert not (out / ".cmin-state.json").exists() and journal_path(out).is_file()

"""Corpus minimisation over semantic features: `fuzzplug cmin TARGET IN_DIR... -o OUT_DIR`.

An input's *features* are the model branch ids it reaches, tagged with the model version
(`fuzzplug.core.semcov.branch_hits`), and its class: the (verdict, signature) pair. cmin keeps
a smallest set of inputs whose features cover the union of every input's features: greedy
set cover (take the input adding the most uncovered features; ties by length, then name),
then a pass that drops any kept input whose features the others all cover (longest first).
Inputs with the same canonical binary form have the same features; the shortest stands for
them.

Each input is evaluated through the target's budgeted evaluation first
(`fuzzplug.targets.evaluate_settled`: the full one only for what the budget cannot settle),
which gives `evaluate`'s verdict, signature and branch ids; `cmin_progress` is logged every
`PROGRESS_EVERY` seconds while evaluating.

Inputs are only read. All of them are read and parsed before anything is written, so an
unusable file stops the run with OUT_DIR untouched. OUT_DIR receives the kept inputs under
the sha1 of their content (the raw bytes of a binary input, the binary form of a `.ops`
scenario), each written atomically.

OUT_DIR holds the kept inputs and nothing else (libFuzzer takes every file of a corpus
folder for an input). The journal lives beside it, `OUT_DIR.cmin-state.json` (for
`-o corpus/min`, `corpus/min.cmin-state.json`; a journal an older fuzzplug left inside
OUT_DIR is moved there). Rewritten atomically, at most once a second while evaluating and
at each phase, it makes a run restartable: it records each evaluated input's
features by the sha1 of its canonical binary form, and which output files cmin is writing or
has written. A run killed at any point and started again reuses every recorded evaluation
and ends with the same OUT_DIR as an uninterrupted run. The journal is tied to a fingerprint
of the target (name, schema version, declared branch ids, fuzzplug version); a journal with
another fingerprint is not reused. It cannot see a change to a model that leaves all of
these alone: delete the journal after editing a model.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from fuzzplug import __version__
from fuzzplug.core.semcov import LoadedInput, branch_hits, input_files, load_inputs
from fuzzplug.errors import InputError, OutputError
from fuzzplug.io import atomic_write, ensure_dir
from fuzzplug.log import get_logger
from fuzzplug.targets import evaluate_settled

__all__ = ["CminResult", "STATE_SUFFIX", "features_record", "fingerprint", "journal_path",
           "report", "run_cmin", "select"]

STATE_SUFFIX = ".cmin-state.json"
LEGACY_STATE_NAME = ".cmin-state.json"  # inside OUT_DIR, before the journal moved out
STATE_FORMAT = 1
JOURNAL_EVERY = 1.0
"""Seconds between journal writes while evaluating."""
PROGRESS_EVERY = 2.0
"""Seconds between two `cmin_progress` events while evaluating."""


def journal_path(out_dir: str | Path) -> Path:
    """The journal of a cmin run into `out_dir`: beside it, `<OUT_DIR>.cmin-state.json`."""
    out = Path(out_dir).absolute()
    return out.parent / f"{out.name}{STATE_SUFFIX}"


def fingerprint(target) -> dict:
    """What the recorded features depend on, as far as the Target protocol shows it."""
    ids = sorted(f"{v}\t{b}" for v, bs in target.branch_ids().items() for b in bs)
    return {"target": target.name, "schema_version": target.schema.version,
            "branch_ids": hashlib.sha1("\n".join(ids).encode()).hexdigest(),
            "fuzzplug": __version__}


def features_record(outcome) -> dict:
    """What the journal records of an outcome: verdict, signature, branch ids per version."""
    return {"verdict": outcome.verdict.value, "signature": outcome.signature,
            "branches": {v: sorted(ids) for v, ids in branch_hits(outcome).items()}}


def _feature_set(record: dict) -> frozenset[str]:
    out = {f"branch\t{v}\t{b}" for v, ids in record["branches"].items() for b in ids}
    out.add(f"class\t{record['verdict']}\t{record['signature'] or ''}")
    return frozenset(out)


def _valid_record(record: object) -> bool:
    return (isinstance(record, dict) and isinstance(record.get("verdict"), str)
            and (record.get("signature") is None or isinstance(record.get("signature"), str))
            and isinstance(record.get("branches"), dict)
            and all(isinstance(v, str) and isinstance(ids, list)
                    and all(isinstance(b, str) for b in ids)
                    for v, ids in record["branches"].items()))


@dataclass(slots=True)
class _State:
    """The journal: recorded features by canonical sha1, and the output files cmin owns."""

    path: Path
    fingerprint: dict
    features: dict[str, dict] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path, fp: dict) -> "_State":
        state = cls(path, fp)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return state
        except (OSError, ValueError, UnicodeDecodeError):
            get_logger(journal=str(path)).warning("cmin_journal_unreadable")
            return state
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            get_logger(journal=str(path)).warning("cmin_journal_unknown_format")
            return state
        owned = [n for key in ("pending", "written") for n in data.get(key) or []
                 if isinstance(n, str)]
        state.written = sorted(set(owned))  # files cmin wrote, whatever the fingerprint
        if data.get("fingerprint") != fp:
            get_logger(journal=str(path)).info("cmin_journal_other_fingerprint")
            return state
        features = data.get("features")
        if isinstance(features, dict):
            state.features = {k: v for k, v in features.items() if _valid_record(v)}
        return state

    def save(self) -> None:
        atomic_write(self.path, json.dumps({
            "format": STATE_FORMAT, "fingerprint": self.fingerprint,
            "features": self.features, "pending": self.pending, "written": self.written,
        }, sort_keys=True, indent=0) + "\n")


@dataclass(slots=True)
class CminResult:
    """What a cmin run read, kept and wrote."""

    files_in: int
    unique_in: int
    kept: list[tuple[str, Path]]
    """(output name, the input it came from), in output-name order."""
    branches_in: dict[str, int]
    branches_kept: dict[str, int]
    classes_in: int
    classes_kept: int
    declared: dict[str, int]
    evaluated: int
    reused: int
    removed_stale: list[str] = field(default_factory=list)


def select(items: list[tuple[frozenset[str], int, str]]) -> list[int]:
    """Greedy set cover: indices of a subset of `items` (features, length, name) covering
    the union of all features. Take the item adding the most uncovered features, ties by
    length then name (lazy greedy, exact); then drop any kept item the others cover,
    longest first. Sorted indices."""
    uncovered: set[str] = set().union(*(f for f, _, _ in items)) if items else set()
    heap = [(-len(f), length, name, i) for i, (f, length, name) in enumerate(items)]
    heapq.heapify(heap)
    chosen: list[int] = []
    while uncovered and heap:
        _, length, name, i = heapq.heappop(heap)
        gain = len(items[i][0] & uncovered)
        if gain == 0:
            continue
        entry = (-gain, length, name, i)
        if heap and heap[0] < entry:  # a stale bound: someone else may now be better
            heapq.heappush(heap, entry)
            continue
        chosen.append(i)
        uncovered -= items[i][0]
    counts: dict[str, int] = {}
    for i in chosen:
        for feature in items[i][0]:
            counts[feature] = counts.get(feature, 0) + 1
    kept = set(chosen)
    for i in sorted(chosen, key=lambda i: (-items[i][1], items[i][2])):
        if all(counts[f] > 1 for f in items[i][0]):
            kept.discard(i)
            for feature in items[i][0]:
                counts[feature] -= 1
    return sorted(kept)


def _check_out_dir(out: Path, in_dirs: list[str]) -> None:
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory")
    resolved = out.resolve()
    for d in in_dirs:
        src = Path(d).resolve()
        if resolved == src or resolved.is_relative_to(src) or src.is_relative_to(resolved):
            raise InputError(f"{out}: output folder overlaps input folder {d}; cmin never "
                             "writes into its inputs")


def run_cmin(target, in_dirs: list[str], out_dir: str, *,
             journal_every: float = JOURNAL_EVERY, form: str | None = None) -> CminResult:
    """Minimise the inputs under `in_dirs` into `out_dir` (see the module docstring);
    `form` forces every input's form (`fuzzplug.io.read_input`)."""
    log = get_logger(target=target.name, out=str(out_dir))
    out = Path(out_dir)
    _check_out_dir(out, in_dirs)
    # All or nothing, and no writes yet.
    inputs = load_inputs(target.schema, input_files(in_dirs), target=target, form=form)
    ensure_dir(out)
    journal = journal_path(out)
    legacy = out / LEGACY_STATE_NAME
    if legacy.is_file():  # an older fuzzplug's journal, inside OUT_DIR: move it out
        if journal.exists():
            legacy.unlink()
        else:
            os.replace(legacy, journal)
    state = _State.load(journal, fingerprint(target))
    foreign = sorted(p.name for p in out.iterdir()
                     if not p.name.startswith(".") and p.name not in state.written)
    if foreign:
        raise OutputError(f"{out}: holds files cmin did not write ({foreign[0]}, ...); "
                          "use an empty or new folder")

    # Evaluate: one representative per canonical form, journal as we go.
    groups: dict[str, list[LoadedInput]] = {}
    for item in inputs:
        groups.setdefault(hashlib.sha1(item.canonical).hexdigest(), []).append(item)
    evaluated = reused = 0
    last_save = last_progress = started = time.monotonic()
    for key in sorted(groups):
        if key in state.features:
            reused += 1
            continue
        # The budgeted evaluation first: evaluate's verdict, signature and branch ids
        # where it settles the input (milliseconds for most two-task inputs).
        state.features[key] = features_record(evaluate_settled(target, groups[key][0].ops))
        evaluated += 1
        now = time.monotonic()
        if now - last_save >= journal_every:
            state.save()
            last_save = now
        if now - last_progress >= PROGRESS_EVERY:
            last_progress = now
            log.info("cmin_progress", evaluated=evaluated, reused=reused,
                     files_in=len(inputs), elapsed_s=round(now - started, 1))
    state.save()

    # Select.
    keys = sorted(groups)
    reps = [min(groups[k], key=lambda it: (len(it.stored), it.path.name, str(it.path)))
            for k in keys]
    feats = [_feature_set(state.features[k]) for k in keys]
    chosen = select([(f, len(rep.stored), rep.path.name) for f, rep in zip(feats, reps)])
    kept = sorted((hashlib.sha1(reps[i].stored).hexdigest(), reps[i]) for i in chosen)
    names = [name for name, _ in kept]

    # Write: announce the names first, so a kill mid-write leaves only files we own.
    state.pending = names
    state.written = sorted(set(state.written) | set(names))
    state.save()
    removed = []
    for stale in sorted(set(state.written) - set(names)):
        path = out / stale
        if path.is_file():
            path.unlink()
            removed.append(stale)
    for tmp in out.glob(".*.tmp"):  # left by an atomic write that was killed
        tmp.unlink(missing_ok=True)
    for name, rep in kept:
        path = out / name
        if not (path.is_file() and path.read_bytes() == rep.stored):
            atomic_write(path, rep.stored)
    state.pending, state.written = [], names
    state.save()

    def union(indices) -> tuple[dict[str, int], int]:
        per: dict[str, set[str]] = {}
        classes = set()
        for i in indices:
            record = state.features[keys[i]]
            for v, ids in record["branches"].items():
                per.setdefault(v, set()).update(ids)
            classes.add((record["verdict"], record["signature"]))
        return {v: len(ids) for v, ids in sorted(per.items())}, len(classes)

    branches_in, classes_in = union(range(len(keys)))
    branches_kept, classes_kept = union(chosen)
    result = CminResult(
        files_in=len(inputs), unique_in=len(keys), kept=[(n, r.path) for n, r in kept],
        branches_in=branches_in, branches_kept=branches_kept, classes_in=classes_in,
        classes_kept=classes_kept,
        declared={v: len(ids) for v, ids in target.branch_ids().items()},
        evaluated=evaluated, reused=reused, removed_stale=removed)
    log.info("cmin_finished", files_in=result.files_in, kept=len(kept), evaluated=evaluated,
             reused=reused)
    return result


def report(result: CminResult, out_dir: str) -> str:
    """The human summary: files in and out, branch ids and classes kept."""
    lines = [f"files in: {result.files_in} ({result.unique_in} distinct)",
             f"files out: {len(result.kept)} in {out_dir}"]
    for version in sorted(set(result.branches_in) | set(result.declared)):
        lines.append(f"branch ids {version}: {result.branches_kept.get(version, 0)} kept of "
                     f"{result.branches_in.get(version, 0)} reached by the inputs "
                     f"({result.declared.get(version, 0)} declared)")
    lines.append(f"(verdict, signature) classes: {result.classes_kept} kept of "
                 f"{result.classes_in}")
    lines.append(f"evaluated: {result.evaluated}, reused from the journal: {result.reused}")
    return "\n".join(lines) + "\n"


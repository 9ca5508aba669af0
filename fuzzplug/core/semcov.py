"""Semantic coverage: which model branch ids a set of inputs reaches, per model version.

A model records a stable branch id for every branch it takes (`k.branch("function:...")`);
an `Outcome` carries them per op and side (`outcome.pre.branches`, `outcome.post.branches`,
each a list of lists). The ids a model *declares* come from `target.branch_ids()`, which a
target built on Python models computes with `declared_branch_ids` (an AST scan of the
modules it runs). This is the tool's notion of coverage, independent of the interpreter's
line coverage that libFuzzer sees: `fuzzplug coverage` reports it, `fuzzplug cmin`
preserves it.

Input folders are read the libFuzzer way: every regular file below the folder, recursively,
is one input, except hidden files and folders (a name starting with `.`: the cmin journal,
the fuzz recorder's inbox, temporary files). Each is read in the form its content has, text
scenario or binary (`fuzzplug.io.input_form`).
"""

from __future__ import annotations

import ast
import hashlib
import inspect
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType

from fuzzplug.core.opslang import Op, encode
from fuzzplug.core.oracle import Outcome
from fuzzplug.errors import InputError
from fuzzplug.io import BINARY, TEXT, load_ops, read_input

__all__ = [
    "CoverageReport",
    "LoadedInput",
    "branch_hits",
    "coverage",
    "declared_branch_ids",
    "input_files",
    "load_input",
    "load_inputs",
]


@cache
def _ids_in(module: ModuleType) -> frozenset[str]:
    tree = ast.parse(inspect.getsource(module))
    found = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "branch" and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return frozenset(found)


def declared_branch_ids(*modules: ModuleType) -> frozenset[str]:
    """Every branch id the modules declare: the string constants of their `<x>.branch("id")`
    calls, read from their source. A target passes the modules one model version runs (the
    version's own module and the shared helpers it calls that have branches)."""
    out: frozenset[str] = frozenset()
    for module in modules:
        out |= _ids_in(module)
    return out


def branch_hits(outcome: Outcome) -> dict[str, frozenset[str]]:
    """The branch ids each model version took over the whole run, by version."""
    hits: dict[str, set[str]] = {}
    for side in (outcome.pre, outcome.post):
        ids = hits.setdefault(side.version, set())
        for op_branches in side.branches:
            ids.update(op_branches)
    return {version: frozenset(ids) for version, ids in hits.items()}


def input_files(dirs: list[str] | tuple[str, ...]) -> list[Path]:
    """Every input file below the folders (recursive, hidden names skipped), sorted, each
    once; `InputError` for a folder that is missing or not a folder."""
    found: dict[Path, Path] = {}
    for d in dirs:
        root = Path(d)
        if not root.exists():
            raise InputError(f"{root}: no such directory")
        if not root.is_dir():
            raise InputError(f"{root}: not a directory, expected a folder of inputs")
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if any(part.startswith(".") for part in rel.parts):
                continue
            if path.is_dir():
                continue
            if not path.is_file():
                raise InputError(f"{path}: not a regular file")
            found.setdefault(path.resolve(), path)
    return sorted(found.values(), key=lambda p: (str(p.parent), p.name))


def load_input(schema, path: str | Path, *, target=None,
               form: str | None = None) -> tuple[Op, ...]:
    """`fuzzplug.io.load_ops`: an input's ops, in the form its content has (or `form`)."""
    return load_ops(schema, path, target=target, form=form)


@dataclass(frozen=True, slots=True)
class LoadedInput:
    """One input, read and parsed: its path, raw bytes, content hash, ops, canonical
    binary form, and its form (`text` or `binary`, by content)."""

    path: Path
    data: bytes
    sha1: str
    ops: tuple[Op, ...]
    canonical: bytes
    form: str = BINARY

    @property
    def is_text(self) -> bool:
        return self.form == TEXT

    @property
    def stored(self) -> bytes:
        """What an output corpus holds for it: the raw bytes of a binary input, the binary
        form of a text scenario."""
        return self.canonical if self.is_text else self.data


def load_inputs(schema, paths: list[Path], *, target=None,
                form: str | None = None) -> list[LoadedInput]:
    """Read and parse every input first (all or nothing): `InputError` names the first
    unusable file (unreadable, empty, text that is not a scenario, a syntax error, a
    scene the target refuses, not encodable). `form` forces every input's form."""
    loaded = []
    for path in paths:
        item = read_input(schema, path, target=target, form=form)
        try:
            canonical = encode(schema, item.ops)
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
        loaded.append(LoadedInput(path, item.data, hashlib.sha1(item.data).hexdigest(),
                                  item.ops, canonical, item.form))
    return loaded


@dataclass(slots=True)
class CoverageReport:
    """Per branch id, how many inputs reach it in each model version."""

    target: str
    inputs: int
    declared: dict[str, frozenset[str]]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    """branch id → version → number of inputs that reached it."""

    def status(self, branch: str) -> str:
        """`unreached` (no model that declares it reaches it), `partial` (some model that
        declares it does not), `reached`, or `undeclared` (reached, declared by none)."""
        declaring = [v for v, ids in self.declared.items() if branch in ids]
        if not declaring:
            return "undeclared"
        reached = [v for v in declaring if self.counts.get(branch, {}).get(v, 0) > 0]
        if not reached:
            return "unreached"
        return "partial" if len(reached) < len(declaring) else "reached"

    def rows(self) -> list[dict]:
        """One record per branch id: unreached first, then partial, reached, undeclared;
        by id within each group."""
        order = {"unreached": 0, "partial": 1, "reached": 2, "undeclared": 3}
        every = set(self.counts)
        for ids in self.declared.values():
            every |= ids
        out = []
        for branch in every:
            status = self.status(branch)
            counts = self.counts.get(branch, {})
            out.append({
                "branch": branch,
                "status": status,
                "declared_in": sorted(v for v, ids in self.declared.items() if branch in ids),
                "inputs": {v: counts.get(v, 0) for v in self.versions()},
            })
        out.sort(key=lambda r: (order[r["status"]], r["branch"]))
        return out

    def versions(self) -> list[str]:
        """The model versions: those that declare ids, then any other that reached one."""
        out = list(self.declared)
        for per in self.counts.values():
            out += [v for v in per if v not in out]
        return out

    def totals(self) -> dict:
        per_version = {}
        for version, ids in self.declared.items():
            reached = sum(1 for b in ids if self.counts.get(b, {}).get(version, 0) > 0)
            per_version[version] = {
                "declared": len(ids), "reached": reached,
                "percent": round(100.0 * reached / len(ids), 1) if ids else 100.0}
        statuses: dict[str, int] = {}
        for row in self.rows():
            statuses[row["status"]] = statuses.get(row["status"], 0) + 1
        return {"inputs": self.inputs, "versions": per_version, "branches": statuses}


def coverage(target, inputs: list[LoadedInput]) -> CoverageReport:
    """Evaluate every input and count, per branch id and model version, the inputs that
    reach it."""
    report = CoverageReport(target.name, len(inputs),
                            {v: frozenset(ids) for v, ids in target.branch_ids().items()})
    for item in inputs:
        for version, ids in branch_hits(target.evaluate(item.ops)).items():
            for branch in ids:
                per = report.counts.setdefault(branch, {})
                per[version] = per.get(version, 0) + 1
    return report

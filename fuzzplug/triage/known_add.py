"""`fuzzplug known add TARGET FINDING --to FILE`: list a finding in a user's known file.

A farm triages a new finding without editing the installed package: the entry goes to the
farm's own known file (`FUZZPLUG_KNOWN`, `--known`; merged as `fuzzplug.core.known`
says), in the same TOML form as a target's known.toml. The finding is re-run on its pair;
its `[[finding]]` (target, signature, pairs, causes, its reproducer in the text form) is
appended to the file, with a `[[cause]]` stub to fill in (title, status, label, analysis;
`observables` left commented out, so that until someone declares them the cause explains
this signature only). A divergence the known list already recognises by its causes names
them and needs no stub. The file is written atomically and its existing text kept as it
is; a signature already listed (by the target or any user file) is refused, and so is an
input that is not divergent.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from fuzzplug.core.known import KnownList, parse_signature, read_known_file
from fuzzplug.core.opslang import format_text
from fuzzplug.core.oracle import Verdict, signature_id
from fuzzplug.errors import InputError
from fuzzplug.io import atomic_write, read_input
from fuzzplug.targets import pair_name

__all__ = ["Added", "add_known"]

HEADER = """\
# A farm's own known findings, merged into the targets' known lists by fuzzplug
# (FUZZPLUG_KNOWN=FILE for the harness, --known FILE on the verbs that match findings).
# The same [[cause]] and [[finding]] tables as a target's known.toml, each with the
# target it belongs to and the pairs of versions it applies to (default: the target's
# default pair). An entry with the id of a target's cause, or the signature of a target's
# finding, replaces it.
"""


@dataclass(frozen=True, slots=True)
class Added:
    """What `add_known` wrote: the signature, the causes the entry names, and the stub's
    id if it wrote one."""

    signature: str
    causes: tuple[str, ...]
    stub: str | None
    path: Path


def _string(text: str) -> str:
    """A TOML string: multi-line for a reproducer, else a basic string."""
    if "\n" in text and '"""' not in text and "\\" not in text:
        return '"""\n' + text.strip("\n") + '\n"""'
    return json.dumps(text)  # JSON's escapes are TOML's


def _array(items) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def add_known(target, finding: str, to: str | Path, form: str | None = None) -> Added:
    """Append the finding `finding` (a findings folder or an input file) of `target` to the
    known file `to` (see the module docstring)."""
    path = Path(to)
    existing = ""
    if path.exists():
        read_known_file(path)  # a malformed file is refused, and left as it is
        existing = path.read_text(encoding="utf-8")
    loaded = read_input(target.schema, finding, target=target, form=form)
    outcome = target.evaluate(loaded.ops)
    if outcome.verdict is not Verdict.DIVERGENT:
        raise InputError(f"{finding}: not divergent (verdict {outcome.verdict.value}); only "
                         "a divergence is listed as known")
    sig = outcome.signature
    known = KnownList.of(target, extra=[path] if path.exists() else [])
    match = known.match(sig, loaded.ops)
    if match is not None and match.exact:
        where = known.findings[sig].get("known_file") or f"{target.name}'s known list"
        raise InputError(f"{sig}: already listed in {where} ({match.describe()})")
    pair = pair_name(target)
    pairs = f"pairs = {_array([pair])}\n" if pair else ""
    op, observables, _ = parse_signature(sig)
    entries = []
    stub = None
    if match is not None:
        causes = match.causes
    else:
        stub = f"untriaged_{signature_id(sig)}"
        n = 2
        while stub in known.causes:
            stub, n = f"untriaged_{signature_id(sig)}_{n}", n + 1
        causes = (stub,)
        entries.append(
            f"# Added by `fuzzplug known add`: fill in title, status, label and analysis.\n"
            f"[[cause]]\n"
            f"target = {json.dumps(target.name)}\n"
            f"id = {json.dumps(stub)}\n"
            f'title = "TODO: what goes wrong, in one line"\n'
            f'status = ""  # the target\'s own status word (see its known.toml)\n'
            f'# label = "latent"  # real bug, relaxed upstream, latent, by design, '
            f"pre-existing bug, benign, config-only\n"
            f"fixes = []\n{pairs}"
            f"ops = {_array([op])}\n"
            f"# observables = {_array(observables)}  # declare them to recognise this "
            f"cause combined with others\n"
            f'analysis = """\nTODO: the root cause: why the sides differ, who reaches it.\n"""\n')
    text = format_text(target.schema, loaded.ops)
    entries.append(f"[[finding]]\n"
                   f"target = {json.dumps(target.name)}\n"
                   f"signature = {json.dumps(sig)}\n"
                   f"causes = {_array(causes)}\n{pairs}"
                   f"reproducer = {_string(text)}\n")
    body = "\n".join(entries)
    new = (existing.rstrip("\n") + "\n\n" if existing.strip() else HEADER + "\n") + body
    try:
        data = tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:  # not reached: the entries are well formed
        raise InputError(f"{path}: the entry would not parse: {exc}") from None
    if not any(f.get("signature") == sig for f in data.get("finding", [])):
        raise InputError(f"{path}: the entry for {sig} did not read back")
    atomic_write(path, new)
    read_known_file(path)
    return Added(sig, tuple(causes), stub, path)

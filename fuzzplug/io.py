"""Reading inputs and writing outputs safely.

Inputs are only ever read. Outputs are written atomically: to a temporary name in the same
folder, then renamed over the destination, so a reader (or a crash) never sees half a file.
Every problem is a `FuzzplugError` with a one-line message (the CLI exits 2 on it).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fuzzplug.core.opslang import Op, Schema, decode, parse_text
from fuzzplug.errors import InputError, OutputError

MAX_INPUT_BYTES = 1 << 20


def read_bytes(path: str | Path) -> bytes:
    """The bytes of an input file; InputError for a missing path, a folder, an unreadable
    file or one over 1 MiB."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, expected a file")
    try:
        size = p.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise InputError(f"{p}: {size} bytes, over the {MAX_INPUT_BYTES}-byte input limit")
        return p.read_bytes()
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from None


def is_text_scenario(path: str | Path) -> bool:
    return Path(path).suffix == ".ops"


def load_ops(schema: Schema, path: str | Path) -> tuple[Op, ...]:
    """An input as ops: a `.ops` file is parsed as text (syntax errors name file:line),
    anything else is decoded as the binary form (total: any bytes are a sequence, but an
    empty file is refused as almost certainly a mistake)."""
    if is_text_scenario(path):
        return load_text_ops(schema, path)
    data = read_bytes(path)
    if not data:
        raise InputError(f"{path}: empty file, expected a binary op sequence")
    return decode(schema, data)


def load_text_ops(schema: Schema, path: str | Path) -> tuple[Op, ...]:
    """A text scenario's ops; InputError for non-UTF-8 bytes, a syntax error (file:line)
    or a scenario without a single op."""
    data = read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); a .ops scenario "
                         "must be text") from None
    ops = parse_text(schema, text, path=str(path))
    if not ops:
        raise InputError(f"{path}: no ops; expected a scenario (one op per line)")
    return ops


def check_output_dir(path: str | Path) -> Path:
    """That a folder can be created (or used) at `path`, without creating anything: it is a
    folder already, or its first existing ancestor is a writable folder. OutputError if not."""
    p = Path(path)
    if p.exists():
        if not p.is_dir():
            raise OutputError(f"{p}: exists and is not a directory")
        if not os.access(p, os.W_OK | os.X_OK):
            raise OutputError(f"{p}: directory is not writable")
        return p
    parent = p.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{p}: cannot create directory: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{p}: cannot create directory: {parent} is not writable")
    return p


def ensure_dir(path: str | Path) -> Path:
    """Create an output folder (and parents); OutputError if it cannot be made or written."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputError(f"{p}: exists and is not a directory")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{p}: cannot create directory: {exc.strerror or exc}") from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise OutputError(f"{p}: directory is not writable")
    return p


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write `data` to `path` atomically (temporary file in the same folder, then rename)."""
    p = Path(path)
    ensure_dir(p.parent if str(p.parent) else ".")
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputError(f"{p}: cannot write: {exc.strerror or exc}") from None
    return p

"""Reading inputs and writing outputs safely.

An input's form (text scenario or binary op sequence) is decided by its content, not its
file name (`input_form`), unless the user forces one (`--form`); a findings folder stands
for its `repro.bin`. Inputs are only
ever read. Outputs are written atomically: to a temporary name in the same
folder, then renamed over the destination, so a reader (or a crash) never sees half a file.
Every problem is a `FuzzplugError` with a one-line message (the CLI exits 2 on it).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from fuzzplug.core.opslang import Op, Schema, decode, parse_header, parse_text_lines
from fuzzplug.errors import InputError, OpsSyntaxError, OutputError

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


TEXT, BINARY, NEITHER = "text", "binary", "neither"
FORMS = (TEXT, BINARY)
"""What `--form` may force on a verb that reads inputs (`add_form_option`)."""

VERSION_BYTE = 0x01  # the first byte of every binary input fuzzplug writes (`encode`)

# A scenario line, once its comment is cut and any control character is taken as a space:
# a word, then `key=value` words. Text of such lines is a scenario, even with an op name the
# schema does not have: the loader then names the line, rather than the bytes being run as a
# binary input nobody wrote.
_WORD = r"[A-Za-z_][A-Za-z0-9_]*"
_SCENARIO_LINE = re.compile(rf"{_WORD}(?:[ \t]+{_WORD}=\S*)*")


def _is_control(ch: str) -> bool:
    return not ch.isprintable() and ch not in "\t\r\n"


def input_form(schema: Schema, data: bytes) -> str:
    """What an input's bytes are, whatever its file name. Every byte string is a valid
    binary input (the decoder is total), so the text form is recognised by what a person
    writing a scenario writes, and everything else is binary:

    - `binary` when the first byte is fuzzplug's version byte (0x01: every binary file
      fuzzplug writes begins with it) or the bytes are not UTF-8;
    - `neither`, refused: a JSON object (a findings record, a summary: not an input);
    - `text` (a scenario, which the loader then checks line by line, naming the first line
      that is wrong: an unknown op, a stray control character...) when the text begins with
      a `#` line (a header or comment, ended by a newline), or a line's first word is an op
      of the schema, or every line that is not blank or a comment reads as `word
      key=value...` with at least one `key=value` (a scenario with a mistyped op name);
    - `binary`: everything else, prose and blank files included, as libFuzzer reads them
      (its inputs can be any bytes, printable ones too).

    Where the content leaves the form open, `--form text|binary` (`read_input(form=)`)
    settles it."""
    if data[:1] == bytes((VERSION_BYTE,)):
        return BINARY
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return BINARY
    if text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, dict) and document:
            return NEITHER
    lines = text.split("\n")
    if len(lines) > 1 and lines[0].lstrip().startswith("#"):
        return TEXT
    cleaned = ["".join(" " if _is_control(ch) else ch for ch in line.split("#", 1)[0]).strip()
               for line in lines]
    content = [line for line in cleaned if line]
    if not content:
        return BINARY
    ops = set(schema.op_names)
    if any(line.split()[0] in ops for line in content):
        return TEXT
    if (all(_SCENARIO_LINE.fullmatch(line) for line in content)
            and any("=" in line for line in content)):
        return TEXT
    return BINARY


def _control_character(text: str) -> tuple[int, str] | None:
    """The first control character of a scenario (not tab, CR or LF): (line, its escape)."""
    for lineno, line in enumerate(text.split("\n"), 1):
        for ch in line:
            if _is_control(ch):
                return lineno, f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"U+{ord(ch):04X}"
    return None


@dataclass(frozen=True, slots=True)
class LoadedOps:
    """An input read from a file: the file (a findings folder's `repro.bin`), its bytes,
    its form, its ops (scene normalised for the binary form), the scene normalisations
    made, and a text scenario's header."""

    path: Path
    data: bytes
    form: str
    ops: tuple[Op, ...]
    normalised: tuple[str, ...] = ()
    header: dict = field(default_factory=dict)


def input_path(path: str | Path) -> Path:
    """The file an input argument names: the file itself, or a findings folder's
    `repro.bin`; InputError for any other folder."""
    p = Path(path)
    if p.is_dir():
        if (p / "repro.bin").is_file():
            return p / "repro.bin"
        raise InputError(f"{p}: is a directory, expected a file or a findings folder "
                         "(one holding repro.bin)")
    return p


def read_input(schema: Schema, path: str | Path, *, target=None,
               form: str | None = None) -> LoadedOps:
    """Read an input file (or a findings folder's `repro.bin`) in the form its content has
    (`input_form`), or in `form` (`text` or `binary`) when the caller forces one. A text
    scenario is parsed (a syntax error, an unknown op or a control character names
    `file:line`) and, if `target` checks scenes (`fuzzplug.targets.SceneChecked`), a scene
    that contradicts itself or the target's layout is refused at its `file:line`; a binary
    input is decoded (an empty file is refused as almost certainly a mistake) and its scene
    normalised, each normalisation said in `normalised`."""
    from fuzzplug.targets import check_scene

    p = input_path(path)
    data = read_bytes(p)
    if not data:
        raise InputError(f"{p}: empty file, expected a scenario or a binary op sequence")
    if form is not None and form not in FORMS:
        raise InputError(f"unknown input form {form!r}; expected one of: {', '.join(FORMS)}")
    form = form or input_form(schema, data)
    if form == BINARY:
        ops, issues = check_scene(target, decode(schema, data))
        return LoadedOps(p, data, form, ops,
                         tuple(f"{i.problem}: {i.normalised}" for i in issues))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{p}: not UTF-8 text, so not a scenario (use --form binary for a "
                         "binary input)") from None
    if form == NEITHER:
        raise InputError(f"{p}: a JSON document, not an input (a scenario or a binary op "
                         "sequence)")
    control = _control_character(text)
    if control is not None:
        raise OpsSyntaxError(f"control character {control[1]} in a scenario line; expected "
                             "printable text (use --form binary for a binary input)",
                             path=str(p), line=control[0])
    ops, lines = parse_text_lines(schema, text, path=str(p))
    if not ops:
        raise InputError(f"{p}: no ops in this scenario (only blank lines and comments)")
    _, issues = check_scene(target, ops)
    if issues:
        raise OpsSyntaxError(issues[0].problem, path=str(p), line=lines[issues[0].index])
    return LoadedOps(p, data, form, ops, header=parse_header(text))


def load_ops(schema: Schema, path: str | Path, *, target=None,
             form: str | None = None) -> tuple[Op, ...]:
    """An input's ops (`read_input`)."""
    return read_input(schema, path, target=target, form=form).ops


def load_text_ops(schema: Schema, path: str | Path, *, target=None) -> tuple[Op, ...]:
    """A text scenario's ops; InputError if the file is not one (`input_form`)."""
    loaded = read_input(schema, path, target=target)
    if loaded.form != TEXT:
        raise InputError(f"{loaded.path}: not a text scenario (binary bytes); expected one "
                         "op per line")
    return loaded.ops


def add_form_option(parser) -> None:
    """`--form text|binary` on a verb that reads inputs: how to read an input whose content
    leaves its form open (`input_form`)."""
    parser.add_argument("--form", choices=FORMS, default=None,
                        help="read every input as a text scenario or as binary bytes "
                             "(default: decided by each input's content)")


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

"""What a fuzz farm (OSS-Fuzz, ClusterFuzzLite, a plain libFuzzer run) takes beside a harness.

For the fuzzer `fuzz_<target>` a farm looks in its output folder for three files:

- `fuzz_<target>_seed_corpus.zip`: the starting corpus, one binary input per member. Made
  from the target's text scenarios (`target.seeds_dir()`, `*.ops`), each encoded to the
  binary form and named by the SHA-1 of its bytes, as libFuzzer names corpus files.
- `fuzz_<target>.dict`: the libFuzzer dictionary of the op language (`opslang.dictionary`).
- `fuzz_<target>.options`: libFuzzer flags ClusterFuzz passes to every run (`[libfuzzer]`).

Everything here is deterministic: the same scenarios give byte-identical files (sorted
names, fixed zip timestamps and modes), so a rebuild changes nothing that did not change.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from fuzzplug.core.opslang import encode
from fuzzplug.errors import InputError
from fuzzplug.io import load_ops

MAX_LEN = 512
"""libFuzzer's `-max_len` for a target that declares none (`FarmTuned`)."""
TIMEOUT = 10
"""libFuzzer's per-input `-timeout`, in seconds, for a target that declares none."""


@dataclass(frozen=True, slots=True)
class FarmOptions:
    """The libFuzzer options a target runs with, wherever it runs: `fuzzplug fuzz`, the
    self-test's harness runs, and the farm's `.options` file."""

    max_len: int = MAX_LEN
    """`-max_len`: the longest input libFuzzer makes, in bytes."""
    timeout: int = TIMEOUT
    """`-timeout`: seconds one input may run before libFuzzer reports a hang."""


def farm_options(target) -> FarmOptions:
    """The target's own options (`fuzzplug.targets.FarmTuned`), else the defaults."""
    from fuzzplug.targets import FarmTuned

    if isinstance(target, FarmTuned):
        return target.farm_options
    return FarmOptions()


_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
_ZIP_MODE = 0o100644 << 16  # a regular file, rw-r--r--


def seed_scenarios(target) -> list[Path]:
    """The target's seed scenarios (`*.ops` in `target.seeds_dir()`), sorted; InputError if
    it ships none, since a farm started from nothing is almost certainly a mistake."""
    folder = target.seeds_dir()
    if folder is None:
        raise InputError(f"target {target.name!r} ships no seed scenarios "
                         "(its seeds_dir() is None)")
    paths = sorted(Path(folder).glob("*.ops"))
    if not paths:
        raise InputError(f"{folder}: no *.ops seed scenarios for target {target.name!r}")
    return paths


def compile_seeds(target) -> dict[str, bytes]:
    """Each seed scenario in its binary form, by file name (the SHA-1 of the bytes), in
    name order; scenarios that encode to the same bytes give one seed."""
    seeds: dict[str, bytes] = {}
    for path in seed_scenarios(target):
        ops = load_ops(target.schema, path, target=target)
        try:
            data = encode(target.schema, ops)
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
        seeds[hashlib.sha1(data).hexdigest()] = data
    return dict(sorted(seeds.items()))


def seed_zip(seeds: dict[str, bytes]) -> bytes:
    """A flat zip of `seeds` (name → bytes), reproducible byte for byte."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(seeds):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = _ZIP_MODE
            info.create_system = 3  # Unix, whatever the host, so the mode bits are read
            archive.writestr(info, seeds[name])
    return buffer.getvalue()


def options_text(dict_name: str, options: FarmOptions = FarmOptions()) -> str:
    """A libFuzzer `.options` file naming the dictionary `dict_name` (a file name beside it
    in the farm's output folder), with the target's `options`."""
    if not dict_name or "/" in dict_name or any(c.isspace() for c in dict_name):
        raise InputError(f"dictionary name {dict_name!r}: expected a bare file name "
                         "(it is looked up beside the .options file)")
    return ("[libfuzzer]\n"
            f"max_len = {options.max_len}\n"
            f"dict = {dict_name}\n"
            f"timeout = {options.timeout}\n")


def fuzzer_name(target_name: str) -> str:
    """The fuzzer (harness and binary) name of a target: `harnesses/fuzz_<target>.py`."""
    return f"fuzz_{target_name}"

"""The README: it names nothing a clone does not hold, and its plain-libFuzzer commands run
as written and stop."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
TOP = {p.name for p in ROOT.iterdir()} - {".git", ".venv", "work", "findings", "build",
                                          "dist", ".pytest_cache", ".hypothesis"}


def _paths() -> list[str]:
    """Every inline-code span of the README that is a path into the repository: its first
    part is a top-level entry of the checkout (placeholders and globs left out)."""
    out = []
    for span in re.findall(r"`([^`\n]+)`", README):
        for word in span.split():
            word = word.rstrip(".,;:)").split(":")[0]
            if "/" in word and word.split("/")[0] in TOP and not re.search(r"[<*{]", word):
                out.append(word)
    return out


def test_the_readme_names_no_path_a_clone_does_not_hold():
    """Every repository path the README names exists, and none points outside (`../`)."""
    paths = _paths()
    assert len(paths) > 20
    assert [p for p in paths if not (ROOT / p).exists()] == []
    assert "../" not in README


def _plain_libfuzzer_block() -> str:
    section = README.split("### Plain libFuzzer", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


@pytest.mark.slow
def test_the_plain_libfuzzer_commands_run_as_written_and_stop(tmp_path):
    """The README's plain-libFuzzer block runs as written (shorter times) and stops, exit 0."""
    block = _plain_libfuzzer_block()
    assert "-max_total_time=" in block
    assert all("-max_total_time=" in cmd or "-merge=1" in cmd
               for cmd in block.replace("\\\n", " ").splitlines()
               if cmd.startswith("harnesses/")), "a harness command that may not stop"
    script = re.sub(r"-max_total_time=\d+", "-max_total_time=3", block)
    (tmp_path / "harnesses").symlink_to(ROOT / "harnesses")
    venv = Path(sys.prefix)
    if (venv / "bin" / "activate").is_file():
        (tmp_path / ".venv").symlink_to(venv)
    else:  # not run from a venv: an activate that puts this interpreter first
        (tmp_path / ".venv" / "bin").mkdir(parents=True)
        (tmp_path / ".venv" / "bin" / "activate").write_text(
            f'export PATH="{Path(sys.executable).parent}:$PATH"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUZZPLUG_")}
    result = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list((tmp_path / "work" / "corpus").iterdir())) >= 14
    assert (tmp_path / "work" / "insert_pfn.dict").is_file()
    assert list((tmp_path / "work" / "merged").iterdir())
    assert not list((tmp_path / "work" / "crashes").iterdir())

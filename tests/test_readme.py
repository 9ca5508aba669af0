"""The README and the docs: they name nothing a clone does not hold, their links resolve inside
the repository, they speak of the tool and not of how it was built, and the plain-libFuzzer
commands of docs/farm.md run as written and stop."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.rglob("*.md"))]
TOP = {p.name for p in ROOT.iterdir()} - {".git", ".venv", "work", "findings", "build",
                                          "dist", ".pytest_cache", ".hypothesis"}


def _text(page: Path) -> str:
    return page.read_text()


def _prose(text: str) -> str:
    """The text without fenced code blocks and inline-code spans, where links are not links."""
    text = re.sub(r"^[ \t]*```.*?^[ \t]*```", "", text, flags=re.M | re.S)
    return re.sub(r"`[^`\n]+`", "", text)


def _paths(text: str) -> list[str]:
    """Every inline-code span of a page that is a path into the repository: its first part is
    a top-level entry of the checkout (placeholders and globs left out)."""
    out = []
    for span in re.findall(r"`([^`\n]+)`", text):
        for word in span.split():
            word = word.rstrip(".,;:)").split(":")[0]
            if "/" in word and word.split("/")[0] in TOP and not re.search(r"[<*{]", word):
                out.append(word)
    return out


def _links(text: str) -> list[str]:
    """Every relative markdown link target of a page (no scheme, not a bare #anchor), without
    its #fragment."""
    out = []
    for target in re.findall(r"\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)",
                             _prose(text)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue
        out.append(target.split("#", 1)[0])
    return out


def _inside(path: Path) -> bool:
    return path.resolve().is_relative_to(ROOT)


def test_the_readme_and_the_docs_name_no_path_a_clone_does_not_hold():
    """Every repository path README.md and docs/ name exists, and no `../` leaves the repository."""
    assert DOCS.is_dir() and len(PAGES) > 1
    paths = {page.relative_to(ROOT).as_posix(): _paths(_text(page)) for page in PAGES}
    assert sum(len(p) for p in paths.values()) > 20
    assert {page: [p for p in found if not (ROOT / p).exists()]
            for page, found in paths.items() if any(not (ROOT / p).exists() for p in found)} == {}
    leaving = {}
    for page in PAGES:
        for up in re.findall(r"(?:\.\./)+[^\s)`'\"\]]*", _text(page)):
            if not _inside(page.parent / up):
                leaving.setdefault(page.relative_to(ROOT).as_posix(), []).append(up)
    assert leaving == {}


def test_every_relative_link_of_the_readme_and_the_docs_resolves_to_a_file_of_the_repository():
    """Each relative markdown link in README.md and docs/ names a file or folder in the checkout."""
    broken = {}
    count = 0
    for page in PAGES:
        for target in _links(_text(page)):
            count += 1
            dest = page.parent / target if target else page
            if not (_inside(dest) and dest.exists()):
                broken.setdefault(page.relative_to(ROOT).as_posix(), []).append(target)
    assert count > 10
    assert broken == {}


def test_the_readme_is_a_front_door_of_at_most_300_lines_that_links_the_docs_index():
    """README.md is at most 300 lines long and links docs/README.md, the index of the docs."""
    text = _text(README)
    assert len(text.splitlines()) <= 300
    assert "docs/README.md" in _links(text)
    assert (DOCS / "README.md").is_file()


def test_no_readme_or_docs_line_tells_the_history_of_how_the_tool_was_built():
    """No line of README.md or docs/ says "issue #N", "this session" or "last session"."""
    history = re.compile(r"issue #\d+|this session|last session", re.I)
    found = [f"{page.relative_to(ROOT).as_posix()}:{n}: {line.strip()}"
             for page in PAGES
             for n, line in enumerate(_text(page).splitlines(), 1) if history.search(line)]
    assert found == []


def _plain_libfuzzer_block() -> str:
    section = _text(DOCS / "farm.md").split("### Plain libFuzzer", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


@pytest.mark.slow
def test_the_plain_libfuzzer_commands_run_as_written_and_stop(tmp_path):
    """docs/farm.md's plain-libFuzzer block runs as written (shorter times) and stops, exit 0."""
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

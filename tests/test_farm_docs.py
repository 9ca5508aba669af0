"""docs/farm.md gives each target's libFuzzer options as `fuzzplug options` writes them: what
a farm gets is what the page says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fuzzplug.cli import main
from fuzzplug.targets import BUILTIN

FARM = Path(__file__).parents[1] / "docs" / "farm.md"


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_the_farm_page_gives_the_options_the_target_ships(name, capsys):
    """The row of the target in docs/farm.md has the max_len and timeout of its .options."""
    assert main(["options", name]) == 0
    options = dict(re.findall(r"^(\w+) = (\S+)$", capsys.readouterr().out, re.M))
    rows = [line for line in FARM.read_text().splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, rows
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert cells[1:3] == [options["max_len"], f"{options['timeout']} s"]

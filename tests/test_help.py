"""`fuzzplug --help` lists the verbs in the order of use, and every verb's TARGET says which
targets are installed, read from their metadata without importing any."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fuzzplug.cli import VERB_ORDER, main
from fuzzplug.targets import target_names


def _help(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    return capsys.readouterr().out


def test_the_verbs_are_listed_in_the_order_of_use(capsys):
    """targets, versions, fuzz, replay, report... come in VERB_ORDER, each once."""
    out = _help(["--help"], capsys)
    listed = [line.split()[0] for line in out.splitlines()
              if line.startswith("    ") and not line.startswith("     ")]
    assert listed == list(VERB_ORDER)


def test_a_verbs_target_names_the_installed_targets(capsys):
    """`fuzzplug replay --help` shows TARGET with the installed target names."""
    out = _help(["replay", "--help"], capsys)
    assert "TARGET FILE [FILE ...]" in out
    text = " ".join(out.split())
    assert f"TARGET the target: {', '.join(target_names())}" in text


def test_building_the_command_line_imports_no_target():
    """The help lists the targets from their entry points: no target module is imported."""
    code = ("import sys; from fuzzplug.cli import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m.startswith('fuzzplug.targets.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.strip() == "[]"

"""Logs (fuzzplug.log): the log options work before or after the verb, and every key the
code logs is registered with its one meaning."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from fuzzplug.cli import main
from fuzzplug.log import KEYS

PACKAGE = Path(__file__).resolve().parents[1] / "fuzzplug"
LOG_METHODS = {"debug", "info", "warning", "error"}


def _logged_keys() -> dict[str, set[str]]:
    """Every keyword given to `get_logger(...)`, `.bind(...)` or a log call with a constant
    event name, in fuzzplug's source: key → where."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id == "get_logger":
                event = "<context>"
            elif isinstance(func, ast.Attribute) and func.attr == "bind":
                event = "<context>"
            elif (isinstance(func, ast.Attribute) and func.attr in LOG_METHODS and node.args
                  and isinstance(node.args[0], ast.Constant)
                  and isinstance(node.args[0].value, str)):
                event = node.args[0].value
            else:
                continue
            for keyword in node.keywords:
                if keyword.arg:
                    found.setdefault(keyword.arg, set()).add(f"{path.name}:{event}")
    return found


def test_every_log_key_is_registered_with_its_one_meaning():
    """Every key the code logs is in KEYS, and KEYS lists no key the code no longer logs."""
    logged = _logged_keys()
    assert {k: sorted(v) for k, v in logged.items() if k not in KEYS} == {}
    assert sorted(set(KEYS) - set(logged)) == []


@pytest.mark.parametrize("argv", [
    ["--log-format", "json", "seeds", "insert_pfn", "-o", "{out}"],
    ["seeds", "insert_pfn", "-o", "{out}", "--log-format", "json"],
    ["--log-format", "console", "seeds", "insert_pfn", "-o", "{out}", "--log-format", "json"],
], ids=["before", "after", "after-wins"])
def test_the_log_format_works_before_or_after_the_verb(argv, tmp_path, capsys):
    """`--log-format json` before or after the verb (after wins) makes JSON lines."""
    assert main([a.format(out=tmp_path / "seeds") for a in argv]) == 0
    (line,) = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert record["event"] == "seeds_written" and record["out"] == str(tmp_path / "seeds")


def test_the_log_level_works_after_the_verb(tmp_path, capsys):
    """`--log-level warning` after the verb silences the info event."""
    assert main(["seeds", "insert_pfn", "-o", str(tmp_path), "--log-level", "warning"]) == 0
    assert capsys.readouterr().err == ""

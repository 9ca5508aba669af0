"""Structured logs: constant snake_case event names, context through bind().

`configure("json")` writes one JSON object per line to stderr (for machines);
`configure("console")` a readable line (for people). Every module logs through
`get_logger()`; tests read the events with `structlog.testing.capture_logs()`.
"""

from __future__ import annotations

import logging
import sys

import structlog


class _StderrLogger:
    """Writes each line to whatever `sys.stderr` is at that moment (tests swap it)."""

    def msg(self, message: str) -> None:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def configure(fmt: str = "console", level: str = "info") -> None:
    renderer = (structlog.processors.JSONRenderer(sort_keys=True) if fmt == "json"
                else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            getattr(logging, level.upper(), logging.INFO)),
        logger_factory=lambda *args: _StderrLogger(),
        cache_logger_on_first_use=False,
    )


def get_logger(**context):
    return structlog.get_logger("fuzzplug").bind(**context)

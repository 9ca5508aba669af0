"""The tool's own errors: one root, :class:`FuzzplugError`.

Kernel failures are never exceptions: the models report them as the kernel does (return
codes, WARN and BUG events). These classes are for fuzzplug itself: bad input, bad files,
unwritable outputs. The CLI turns each into a one-line message and exit status 2.
"""

from __future__ import annotations


class FuzzplugError(Exception):
    """Root of every error fuzzplug raises on purpose."""


class InputError(FuzzplugError):
    """An input the user gave is unusable: a missing path, garbage, a syntax error."""


class OpsSyntaxError(InputError):
    """A text op sequence does not parse; carries the file and line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        self.path = path
        self.line = line
        self.bare = message
        where = ""
        if path is not None and line is not None:
            where = f"{path}:{line}: "
        elif line is not None:
            where = f"line {line}: "
        elif path is not None:
            where = f"{path}: "
        super().__init__(f"{where}{message}")


class OutputError(FuzzplugError):
    """An output cannot be written (read-only folder, a file where a folder is expected)."""


class TargetError(FuzzplugError):
    """A target name is unknown or its plugin failed to load."""

"""Structured logs: constant snake_case event names, context through bind().

`configure("json")` writes one JSON object per line to stderr (for machines);
`configure("console")` a readable line (for people). Every module logs through
`get_logger()`; tests read the events with `structlog.testing.capture_logs()`.

A key means one thing in every event that carries it: `KEYS` lists each with its meaning
(`tests/test_log.py` checks that every key the code logs is there). Paths end in `_dir` or
are named after what they hold (`out`, `zip`, `inbox`, `journal`); counts are plural nouns
(`signatures`, `execs`, `seeds`); durations end in `_s` (`budget_s` asked for, `elapsed_s`
taken).
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


KEYS: dict[str, str] = {
    # context (bind)
    "target": "the target's name",
    "engine": "the engine: hypothesis",
    "depth": "the exhaustive checker's depth (calls per sequence at most)",
    "mutant": "a mutant's name",
    "pid": "the logging process's id",
    "out": "the path of an output folder",
    "journal": "the path of cmin's journal",
    # durations
    "budget_s": "seconds the run was asked to take",
    "elapsed_s": "seconds taken so far, or in all",
    # paths
    "corpus_dir": "the path of the corpus folder being grown",
    "findings_dir": "the path of the findings folder",
    "inbox": "the name of a recorder's inbox folder",
    "zip": "the path of a seed zip",
    "folder": "the name of a finding's folder in the findings folder",
    # counts
    "corpus_size": "inputs in the corpus (libFuzzer's `corp`)",
    "cov": "libFuzzer's coverage counter",
    "execs": "inputs executed",
    "exec_per_s": "inputs executed per second",
    "signatures": "distinct divergent signatures recorded or found",
    "new": "distinct divergent signatures the known list does not recognise",
    "known_signatures": "distinct known signatures met (suppressed or recorded)",
    "known_listed": "signatures in the target's known list",
    "hits": "times a signature was met",
    "seeds": "seed inputs written",
    "files": "files moved",
    "files_in": "input files read",
    "kept": "inputs kept",
    "evaluated": "inputs evaluated",
    "reused": "evaluations taken from the journal",
    "evaluations": "candidates evaluated",
    "accepted": "candidates accepted",
    "ops_before": "ops before minimisation",
    "ops_after": "ops after minimisation",
    "runs": "Hypothesis runs made",
    "run": "the number of the Hypothesis run (from 1)",
    "calls": "calls in a reproducer",
    "domain_calls": "distinct calls of the small domain",
    "scenes": "scenes of the small domain",
    "jobs": "worker processes",
    "op_steps": "op steps the exhaustive checker ran",
    "states": "distinct states the exhaustive checker explored",
    # values
    "signature": "a divergence's signature",
    "causes": "the known causes that explain a signature (ids)",
    "by": "how the known list recognised it: signature or causes",
    "known": "whether the known list recognises the signature",
    "seed": "a random seed (libFuzzer's -seed, a Hypothesis run's seed)",
    "status": "a mutant's outcome: killed, survived, equivalent, crashed",
    "proven": "whether the exhaustive checker's statement holds for the whole domain",
    "exit_status": "libFuzzer's exit status",
    "version": "a model version of the target's chain (`fuzzplug versions`)",
    "feedback": "the harness's feedback mode: semantic, bytecode or both",
    "mutator": "the harness's mutator mode: ops or bytes",
    "requested": "the feedback mode asked for",
    "fallback": "the feedback mode used instead",
    "reason": "why the feedback mode fell back",
    "atheris_version": "the version of atheris found",
    "phase": "what a fuzz run is doing: reading_corpus (before libFuzzer's first status "
             "line) or fuzzing",
    "fuzz_s": "seconds of a fuzz run's --time given to libFuzzer",
    "end_s": "seconds of a fuzz run's --time kept for confirming candidates and minimising",
    "candidates": "inputs the budgeted evaluation could not settle (candidates)",
    "candidate": "the file name of a candidate (`candidate-<sha1>`)",
    "candidates_dir": "the path of the folder candidates are written to (none: not written)",
    "provisional_signature": "a candidate's signature as its budget named it, before "
                             "confirmation",
    "verdict": "an evaluation's verdict",
    "confirmed": "candidates the confirmer has settled (confirmed or dropped) so far",
    "shrunk": "whether a confirmed candidate is kept shrunk (its input shows the signature)",
    "child_pid": "the process id of a child process fuzzplug started",
    "results": "results a child process wrote",
}
"""Every log key and its one meaning."""


def get_logger(**context):
    return structlog.get_logger("fuzzplug").bind(**context)

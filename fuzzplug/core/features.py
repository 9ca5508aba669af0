"""Semantic features of one evaluation: what makes a run new, as libFuzzer's feedback.

The harness in semantic mode (`fuzzplug.engines.feedback`) hits one counter per feature;
libFuzzer keeps an input that reaches a feature no earlier input reached. A feature is a
str, an int or a tuple of those (its `repr` is stable across processes, which the counter
mapping needs). `outcome_features` is what every target has, from its `Outcome` alone:

- `("succ", side, previous, branch)`: each branch id a side took, after the branch id
  before it in the same op (or after the op's name, for the op's first branch): the
  models' own coverage, with the order of branches (a path, not only a set of edges);
- `("ret", side, op, ret)`: what each op returned on each side;
- `("verdict", verdict, signature)` and `("rule", rule)`: the oracle's judgement (a new
  signature is a new feature even when no new branch led to it).

`side` is 0 (pre-patch) or 1 (post-patch). A target adds its own (`Featured`): a target
over the kernel models adds a coarse class of the states reached.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence

from fuzzplug.core.opslang import Op
from fuzzplug.core.oracle import Outcome


def outcome_features(calls: Sequence[Op], outcome: Outcome) -> Iterator[Hashable]:
    """The generic features of a run (see the module docstring). `calls` are the run's
    call ops (scene ops left out), index for index with the outcome's runs."""
    for side, record in enumerate((outcome.pre, outcome.post)):
        for op, run in zip(calls, record.runs):
            previous = op.name
            for branch in run.branches:
                yield ("succ", side, previous, branch)
                previous = branch
            yield ("ret", side, op.name, run.ret)
    yield ("verdict", outcome.verdict.value, outcome.signature)
    for rule in set(outcome.rules_applied):
        yield ("rule", rule)

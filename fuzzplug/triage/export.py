"""Exporting a reproducer as a self-contained regression test: `fuzzplug export --pytest`.

The test file embeds the reproducer in text form, replays it through
`select_pair(load_target(TARGET), pair=PAIR).evaluate(parse_text(...))` (PAIR: the pair of
versions it was judged on, None for a target without versions) and asserts the verdict and
signature that the input gave when it was exported. It imports only fuzzplug's public entry
points (`fuzzplug.targets.load_target` and `select_pair`,
`fuzzplug.core.opslang.parse_text`), so it runs from any folder where fuzzplug is
importable.
"""

from __future__ import annotations

import hashlib

from fuzzplug.core.opslang import Op, encode, format_text
from fuzzplug.core.oracle import Outcome, signature_id
from fuzzplug.targets import pair_name

__all__ = ["export_id", "pytest_source"]


def export_id(target, ops: tuple[Op, ...], outcome: Outcome) -> str:
    """The id in the default file name: the signature id, or for an input that is not
    divergent a short hash of its binary form."""
    if outcome.signature is not None:
        return signature_id(outcome.signature)
    return hashlib.sha1(encode(target.schema, ops)).hexdigest()[:12]


def _test_name(outcome: Outcome) -> str:
    if outcome.signature is None:
        return f"test_reproducer_still_gives_verdict_{outcome.verdict.value}"
    return "test_reproducer_still_gives_the_exported_verdict_and_signature"


def pytest_source(target, ops: tuple[Op, ...], outcome: Outcome, *, source: str) -> str:
    """The text of a pytest module asserting `outcome`'s verdict and signature for `ops`."""
    text = format_text(target.schema, ops)
    # format_text writes identifiers, ints, '=', '|', '-', spaces and newlines only, so the
    # text sits in a triple-quoted string as is; repr() guards against anything else.
    if '"' in text or "\\" in text:
        literal = repr(text)
    else:
        literal = '"""\\\n' + text + '"""'
    source = "".join(c if c.isprintable() and c not in '"\\' else "?" for c in source)
    sig = outcome.signature
    pair = pair_name(target)
    doc = (f"divergent with signature {sig}" if sig is not None
           else f"verdict {outcome.verdict.value}") + (f", on the pair {pair}" if pair else "")
    return f'''"""Regression test exported by `fuzzplug export` (target {target.name}).

Expected: {doc}.
Exported from {source}. It replays the reproducer below through the target and asserts the
verdict and the signature the input gave at export time. When the model or the oracle
changes on purpose, re-export; when this fails unexpectedly, `fuzzplug replay` the text.
"""

from fuzzplug.core.opslang import parse_text
from fuzzplug.targets import load_target, select_pair

TARGET = {target.name!r}
PAIR = {pair!r}
REPRODUCER = {literal}
EXPECTED_VERDICT = {outcome.verdict.value!r}
EXPECTED_SIGNATURE = {sig!r}


def {_test_name(outcome)}():
    """The reproducer still gives the verdict and signature recorded when it was exported."""
    target = select_pair(load_target(TARGET), pair=PAIR)
    outcome = target.evaluate(parse_text(target.schema, REPRODUCER))
    assert outcome.verdict.value == EXPECTED_VERDICT
    assert outcome.signature == EXPECTED_SIGNATURE
'''

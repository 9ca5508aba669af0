"""The op-level mutator: valid, bounded, deterministic output on any input, and the
changes it is meant to make."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzzplug.core.opslang import decode, encode, parse_text
from fuzzplug.engines.domain import domain_for
from fuzzplug.farm.files import compile_seeds
from fuzzplug.engines.mutator import (
    DecodeCache,
    OpMutator,
    check_mutator,
    requested_mutator,
    setup_kwargs,
)
from fuzzplug.errors import InputError
from fuzzplug.targets.insert_pfn import TARGET

SCHEMA = TARGET.schema
DOMAIN = domain_for(TARGET)
BYTES_CALLED = []


def _bytes_mutate(data: bytes, max_size: int) -> bytes:
    BYTES_CALLED.append(len(data))
    return data[:max_size]


MUTATOR = OpMutator(SCHEMA, _bytes_mutate, DOMAIN.calls(), DOMAIN.scenes)
OPS_ONLY = OpMutator(SCHEMA, None, DOMAIN.calls(), DOMAIN.scenes)
SEED = encode(SCHEMA, parse_text(SCHEMA, "fault addr=0x100000\nzap addr=0x100000\n"))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=200), st.binary(max_size=200), st.integers(1, 512),
       st.integers(0, 2**32 - 1))
def test_every_output_is_canonical_and_within_max_size(data, other, max_size, seed):
    """Whatever the bytes: no exception, at most max_size bytes, and the canonical
    encoding of the sequence it decodes to."""
    for out in (OPS_ONLY.mutate(data, max_size, seed),
                OPS_ONLY.crossover(data, other, max_size, seed)):
        assert len(out) <= max_size
        assert encode(SCHEMA, decode(SCHEMA, out)) == out


def test_the_mutator_is_deterministic_for_an_input_and_a_seed():
    """libFuzzer replays mutations by seed."""
    assert [OPS_ONLY.mutate(SEED, 512, s) for s in range(50)] == \
        [OPS_ONLY.mutate(SEED, 512, s) for s in range(50)]


def test_about_half_of_the_mutations_are_libfuzzers_own():
    """BYTE_SHARE of the seeds go to libFuzzer's byte mutator (atheris.Mutate)."""
    BYTES_CALLED.clear()
    for s in range(400):
        MUTATOR.mutate(SEED, 512, s)
    assert 150 < len(BYTES_CALLED) < 250


def test_op_mutations_change_the_sequence_at_the_op_level():
    """Inserts, deletes and argument changes happen; calls meet on addresses already used."""
    base = decode(SCHEMA, SEED)
    lengths, addrs = set(), set()
    for s in range(300):
        ops = decode(SCHEMA, OPS_ONLY.mutate(SEED, 512, s))
        lengths.add(len(ops) - len(base))
        addrs |= {op["addr"] for op in ops if op.get("addr") is not None}
    assert {-1, 0, 1} <= lengths
    assert 0x100000 in addrs and 0x101000 in addrs


def test_crossover_joins_the_head_of_one_input_to_the_tail_of_another():
    a = encode(SCHEMA, parse_text(SCHEMA, "config arch=arm64\nfault addr=0x100000\n"))
    b = encode(SCHEMA, parse_text(SCHEMA, "zap addr=0x100000\nfail_alloc nth=2\n"))
    outs = {tuple(op.name for op in decode(SCHEMA, OPS_ONLY.crossover(a, b, 512, s)))
            for s in range(100)}
    assert ("config", "fault", "zap", "fail_alloc") in outs
    assert ("config", "fail_alloc") in outs


def test_the_mutator_mode_comes_from_the_environment():
    """FUZZPLUG_MUTATOR: ops by default; bytes gives libFuzzer's mutator alone."""
    assert requested_mutator({}) == "ops"
    assert requested_mutator({"FUZZPLUG_MUTATOR": "bytes"}) == "bytes"
    with pytest.raises(InputError, match="ops, bytes"):
        check_mutator("afl")
    assert setup_kwargs(object(), TARGET, "bytes") == {}
    assert set(setup_kwargs(object(), TARGET, "ops")) == {"custom_mutator", "custom_crossover"}


def test_a_schema_without_scene_ops_and_without_a_domain_is_mutated_too():
    """A plugin's schema may have no scene ops (and the mutator no domain): every change is
    then to calls, and the output stays canonical."""
    from fuzzplug.core.opslang import ArgKind, ArgSpec, OpSpec, Schema

    schema = Schema("counter", 1, (OpSpec("inc", 0, (ArgSpec("n", ArgKind.INT, 1),)),
                                   OpSpec("reset", 1, ())))
    mutator = OpMutator(schema, None)
    data = encode(schema, parse_text(schema, "inc n=3\nreset\n"))
    for seed in range(300):
        out = mutator.mutate(data, 64, seed)
        assert encode(schema, decode(schema, out)) == out
        out = mutator.crossover(data, out, 64, seed)
        assert encode(schema, decode(schema, out)) == out


def test_the_op_mutator_remembers_what_its_output_decodes_to():
    """Every output the op mutator remembers in the decode cache it shares with the
    harness is what `decode` makes of it: the harness may run the remembered ops instead
    of decoding; and the cache keeps answering right across its generations."""
    rng = random.Random(5)
    cache = DecodeCache(SCHEMA, limit=64)
    mutator = OpMutator(SCHEMA, None, DOMAIN.calls(), DOMAIN.scenes, decoded=cache)
    pool = list(compile_seeds(TARGET).values())
    for _ in range(2000):
        a = rng.choice(pool)
        max_size = rng.choice((512, 64, 8))
        if rng.random() < 0.5:
            data = mutator.crossover(a, rng.choice(pool), max_size, rng.randrange(1 << 30))
        else:
            data = mutator.mutate(a, max_size, rng.randrange(1 << 30))
        assert cache.decode(data) == decode(SCHEMA, data)
        pool.append(data)
    for data in pool[-200:]:
        assert cache.decode(data) == decode(SCHEMA, data)

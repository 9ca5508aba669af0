"""Tests of fuzzplug.triage.minimize and the `minimize` verb: a minimised input keeps exactly its
signature, is never longer, and is as plain as the search can make it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fuzzplug.cli import main
from fuzzplug.core.opslang import (
    ArgKind,
    ArgSpec,
    Op,
    OpSpec,
    Schema,
    decode,
    encode,
    format_text,
    parse_header,
    parse_text,
    validate,
)
from fuzzplug.core.oracle import Finding, OpRun, Outcome, SideRecord, Verdict
from fuzzplug.errors import InputError
from fuzzplug.targets import load_target
from fuzzplug.triage.minimize import MinimizeStats, minimize_ops, simplicity

TARGET = load_target("insert_pfn")
SCHEMA = TARGET.schema

# The divergent scenarios of the brief, each a different bug.
SEEDS = {
    "ppc64_set_pte_at": "config arch=ppc64 DEBUG_VM=1\n"
                        "vm_insert_mixed addr=0x100000 pfn=0x80\n"
                        "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n",
    "pfn_mismatch": "vm_insert_mixed addr=0x100000 pfn=0x81\n"
                    "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n",
    "private_no_cow": "vma flags=VM_READ|VM_WRITE|VM_MAYWRITE|VM_MIXEDMAP\n"
                      "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n",
    "no_pte_special": "config HAVE_PTE_SPECIAL=0\n"
                      "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x10 flags=0\n",
}


def ops_of(text: str) -> tuple[Op, ...]:
    return parse_text(SCHEMA, text)


def sig_of(ops: tuple[Op, ...]) -> str | None:
    outcome = TARGET.evaluate(ops)
    return outcome.signature if outcome.verdict is Verdict.DIVERGENT else None


def calls(ops: tuple[Op, ...]) -> int:
    return sum(1 for op in ops if not SCHEMA.spec(op.name).scene)


def assert_minimised(before: tuple[Op, ...], after: tuple[Op, ...], sig: str) -> None:
    validate(SCHEMA, after)
    outcome = TARGET.evaluate(after)
    assert outcome.verdict is Verdict.DIVERGENT
    assert outcome.signature == sig
    assert calls(after) <= calls(before)
    assert len(encode(SCHEMA, after)) <= len(encode(SCHEMA, before))
    assert simplicity(SCHEMA, after) <= simplicity(SCHEMA, before)


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_each_seed_is_divergent(name):
    """The brief's four scenarios are divergent: the other tests build on them."""
    assert sig_of(ops_of(SEEDS[name])) is not None


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_minimising_a_seed_keeps_its_signature_and_does_not_grow_it(name):
    """Each seed minimises to an input with its exact signature, no more calls or bytes."""
    ops = ops_of(SEEDS[name])
    sig = sig_of(ops)
    assert_minimised(ops, minimize_ops(TARGET, ops, sig), sig)


# --- random noise around the seeds ------------------------------------------------------------

CALL_NAMES = tuple(spec.name for spec in SCHEMA.ops if not spec.scene)


def _value(arg: ArgSpec) -> st.SearchStrategy[int]:
    if arg.name == "addr":
        return st.builds(lambda page, off: 0x100000 + page * 0x1000 + off,
                         st.integers(0, 17), st.sampled_from([0, 0, 0, 0x123]))
    if arg.name == "pfn":
        return st.one_of(st.sampled_from([0x1, 0x10, 0x11, 0x80, 0x81, 0x8F, 0x90]),
                         st.integers(0, 1 << 20))
    if arg.kind is ArgKind.FLAGS:
        return st.integers(0, arg.mask)
    if arg.kind is ArgKind.CHOICE:
        return st.integers(0, len(arg.names) - 1)
    return st.integers(0, 0x4000)


@st.composite
def calls_strategy(draw) -> Op:
    name = draw(st.sampled_from(CALL_NAMES))
    args = {arg.name: draw(_value(arg)) for arg in SCHEMA.spec(name).args}
    return Op.make(SCHEMA, name, **args)


@st.composite
def noisy_seeds(draw) -> tuple[Op, ...]:
    """A seed with random calls inserted anywhere among its calls."""
    ops = list(ops_of(SEEDS[draw(st.sampled_from(sorted(SEEDS)))]))
    first_call = next(i for i, op in enumerate(ops) if not SCHEMA.spec(op.name).scene)
    for extra in draw(st.lists(calls_strategy(), max_size=10)):
        ops.insert(draw(st.integers(first_call, len(ops))), extra)
    return tuple(ops)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(noisy_seeds())
def test_minimisation_keeps_the_signature_and_never_grows_an_input(ops):
    """Around any noise: same signature, no more calls or bytes, the same result twice."""
    sig = sig_of(ops)
    assume(sig is not None)
    small = minimize_ops(TARGET, ops, sig)
    assert_minimised(ops, small, sig)
    assert minimize_ops(TARGET, ops, sig) == small


@settings(max_examples=25, deadline=None)
@given(noisy_seeds())
def test_a_minimised_input_is_a_fixpoint(ops):
    """Minimising a minimised input changes nothing."""
    sig = sig_of(ops)
    assume(sig is not None)
    small = minimize_ops(TARGET, ops, sig)
    assert minimize_ops(TARGET, small, sig) == small


# --- what the passes do -------------------------------------------------------------------------

def test_irrelevant_calls_are_dropped():
    """A zap of another address and a fault elsewhere go; the two calls of the bug stay."""
    noisy = ops_of("config arch=ppc64 DEBUG_VM=1\n"
                   "zap addr=0x108000 len=0x2000\n"
                   "vm_insert_mixed addr=0x100000 pfn=0x80\n"
                   "fault addr=0x10c000\n"
                   "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n"
                   "fault addr=0x100000 flags=FAULT_FLAG_WRITE\n")
    sig = sig_of(noisy)
    assert sig == sig_of(ops_of(SEEDS["ppc64_set_pte_at"]))
    small = minimize_ops(TARGET, noisy, sig)
    assert [op.name for op in small] == ["config", "vm_insert_mixed", "vm_insert_mixed_mkwrite"]


def test_a_value_shared_by_two_calls_is_simplified_in_both():
    """Both calls on 0x101000 move to the default address together, keeping the bug."""
    moved = ops_of(SEEDS["ppc64_set_pte_at"].replace("0x100000", "0x101000"))
    sig = sig_of(moved)
    small = minimize_ops(TARGET, moved, sig)
    assert [op["addr"] for op in small if op.get("addr") is not None] == [0x100000, 0x100000]


def test_scene_ops_that_change_nothing_are_dropped_and_the_scene_is_ordered():
    """A default `memmap`, and `vma` before `config`: the memmap goes, config comes first."""
    ops = ops_of("vma start=0x100000 end=0x110000\n"
                 "memmap\n"
                 "config arch=ppc64 DEBUG_VM=1\n"
                 "vm_insert_mixed addr=0x100000 pfn=0x80\n"
                 "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
    sig = sig_of(ops)
    small = minimize_ops(TARGET, ops, sig)
    assert small == minimize_ops(TARGET, ops_of(SEEDS["ppc64_set_pte_at"]), sig)
    assert [op.name for op in small][0] == "config"
    assert "memmap" not in [op.name for op in small]


def test_args_move_to_their_defaults():
    """Flags that do not matter for the bug are cleared back to their defaults."""
    ops = ops_of("vm_insert_mixed addr=0x100000 pfn=0x81 flags=PFN_DEV|PFN_MAP|PFN_SG_LAST\n"
                 "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
    sig = sig_of(ops)
    text = format_text(SCHEMA, minimize_ops(TARGET, ops, sig))
    assert "PFN_SG_LAST" not in text


def test_an_input_without_the_signature_is_refused():
    """Asking to keep a signature the input does not have is an InputError."""
    with pytest.raises(InputError, match="does not reproduce"):
        minimize_ops(TARGET, ops_of(SEEDS["pfn_mismatch"]), "no/such/signature")


def test_the_evaluation_budget_is_respected():
    """With max_evaluations the search stops early and still returns a valid reproducer."""
    noisy = ops_of("config arch=ppc64 DEBUG_VM=1\n" + "fault addr=0x10c000\n" * 20
                   + "vm_insert_mixed addr=0x100000 pfn=0x80\n"
                     "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
    sig = sig_of(noisy)
    stats = MinimizeStats()
    small = minimize_ops(TARGET, noisy, sig, max_evaluations=5, stats=stats)
    assert stats.evaluations <= 5
    assert_minimised(noisy, small, sig)


# --- any target, through the protocol ------------------------------------------------------------

LIST_SCHEMA = Schema(name="lists", version=1, max_ops=16, ops=(
    OpSpec("mode", 0, (ArgSpec("strict", ArgKind.CHOICE, 0, names=("no", "yes")),), scene=True),
    OpSpec("push", 1, (ArgSpec("x", ArgKind.INT, 7),)),
    OpSpec("pop", 2, ()),
))


@dataclasses.dataclass
class ListTarget:
    """A toy target: divergent when a `push` of 100 or more follows a `pop` in strict mode."""

    name: str = "lists"
    description: str = "toy"
    schema: Schema = LIST_SCHEMA

    def evaluate(self, ops):
        pre, post = SideRecord("a"), SideRecord("b")
        strict = any(op.name == "mode" and op["strict"] for op in ops)
        popped = False
        calls_ = [op for op in ops if op.name != "mode"]
        for index, op in enumerate(calls_):
            pre.add(index, OpRun("0"))
            post.add(index, OpRun("0"))
            popped = popped or op.name == "pop"
            if strict and popped and op.name == "push" and op["x"] >= 100:
                finding = Finding(index, "push", ["ret"], "push/ret/x", "push__ret")
                return Outcome(Verdict.DIVERGENT, finding, pre, post)
        return Outcome(Verdict.SAME, None, pre, post)

    def branch_ids(self):
        return {"a": frozenset(), "b": frozenset()}

    def known_findings(self):
        return {}

    def seeds_dir(self):
        return None


def test_minimize_ops_works_for_any_target():
    """On a toy target: the strict scene stays, one pop and one push of exactly 100 remain."""
    ops = parse_text(LIST_SCHEMA, "mode strict=yes\npush x=3\npop\npush x=9\npop\n"
                                  "push x=5000\npush x=1\n")
    small = minimize_ops(ListTarget(), ops, "push/ret/x")
    assert format_text(LIST_SCHEMA, small) == "mode strict=yes\npop\npush x=100\n"


# --- the verb -----------------------------------------------------------------------------------

def test_the_verb_writes_the_binary_and_a_text_form_with_a_header(tmp_path, monkeypatch, capsys):
    """It writes ./FILE.min and ./FILE.min.ops (with a header) and prints text and sizes."""
    src = tmp_path / "noisy.ops"
    src.write_text("config arch=ppc64 DEBUG_VM=1\nfault addr=0x10c000\n"
                   "vm_insert_mixed addr=0x100000 pfn=0x80\n"
                   "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
    before = src.read_bytes()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert main(["minimize", "insert_pfn", str(src)]) == 0
    out = capsys.readouterr().out
    binary, text = cwd / "noisy.ops.min", cwd / "noisy.ops.min.ops"
    small = decode(SCHEMA, binary.read_bytes())
    assert binary.read_bytes() == encode(SCHEMA, small)
    header = parse_header(text.read_text())
    sig = sig_of(ops_of(before.decode()))
    assert header["signature"] == sig and header["expect"] == "divergent"
    assert parse_text(SCHEMA, text.read_text()) == small
    assert sig_of(small) == sig
    assert format_text(SCHEMA, small) in out
    assert "# before: 3 calls" in out and "# after:  2 calls" in out
    assert src.read_bytes() == before
    assert sorted(p.name for p in cwd.iterdir()) == ["noisy.ops.min", "noisy.ops.min.ops"]


def test_the_verb_refuses_an_input_that_is_not_divergent(tmp_path, capsys):
    """A `same` input: exit 2, one line naming the verdict, nothing written."""
    src = tmp_path / "same.ops"
    src.write_text("vm_insert_pfn addr=0x100000 pfn=0x80\n")
    out = tmp_path / "out"
    assert main(["minimize", "insert_pfn", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fuzzplug: error: ") and "not divergent" in err
    assert err.count("\n") == 1
    assert not out.exists() and not Path(f"{out}.ops").exists()


def test_the_verb_refuses_to_overwrite_its_input(tmp_path, capsys):
    """`-o FILE` naming the input itself is refused; the input is unchanged."""
    src = tmp_path / "crash"
    src.write_bytes(encode(SCHEMA, ops_of(SEEDS["pfn_mismatch"])))
    before = src.read_bytes()
    assert main(["minimize", "insert_pfn", str(src), "-o", str(src)]) == 2
    assert "overwrite the input" in capsys.readouterr().err
    assert src.read_bytes() == before

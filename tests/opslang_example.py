"""The example schema the opslang tests run on, with shorthands and Hypothesis strategies
over it (not a test module)."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st

from fuzzplug.core.opslang import U64_MAX, ArgKind, ArgSpec, Op, OpSpec, Schema, encode


ARCHES = ("x86_64", "ppc64", "arm64")
VM_FLAGS = ("VM_READ", "VM_WRITE", "VM_EXEC", "VM_SHARED", "VM_MIXEDMAP", "VM_PFNMAP")
VM_READ, VM_WRITE, VM_EXEC, VM_SHARED, VM_MIXEDMAP, VM_PFNMAP = (1 << i for i in range(6))
PFN_FLAGS = ("PFN_DEV", "PFN_MAP")
FAULT_FLAGS = ("FAULT_FLAG_WRITE", "FAULT_FLAG_MKWRITE", "FAULT_FLAG_REMOTE")


def _addr(default: int = 0x100000) -> ArgSpec:
    return ArgSpec("addr", ArgKind.INT, default, hex=True, addr=True, always=True)


SCHEMA = Schema(
    name="example",
    version=1,
    ops=(
        OpSpec(
            "config",
            0,
            (
                ArgSpec("HAVE_PTE_SPECIAL", ArgKind.INT, 1),
                ArgSpec("arch", ArgKind.CHOICE, 0, names=ARCHES),
            ),
            scene=True,
            doc="Kernel configuration.",
        ),
        OpSpec(
            "vma",
            1,
            (
                ArgSpec("start", ArgKind.INT, 0x100000, hex=True, addr=True, always=True),
                ArgSpec("end", ArgKind.INT, 0x200000, hex=True, addr=True),
                ArgSpec("flags", ArgKind.FLAGS, VM_READ | VM_WRITE | VM_MIXEDMAP, names=VM_FLAGS),
            ),
            scene=True,
            doc="The one VMA.",
        ),
        OpSpec(
            "vm_insert_mixed",
            2,
            (
                _addr(),
                ArgSpec("pfn", ArgKind.INT, 0x1000, hex=True),
                ArgSpec("flags", ArgKind.FLAGS, 0, names=PFN_FLAGS),
            ),
        ),
        OpSpec("fault", 3, (_addr(), ArgSpec("flags", ArgKind.FLAGS, 0, names=FAULT_FLAGS))),
        OpSpec("zap", 4, (_addr(), ArgSpec("len", ArgKind.INT, 0x1000, hex=True))),
        OpSpec("fail_alloc", 5, (ArgSpec("nth", ArgKind.INT, 0),)),
    ),
)
SCENE_SPECS = tuple(spec for spec in SCHEMA.ops if spec.scene)
CALL_SPECS = tuple(spec for spec in SCHEMA.ops if not spec.scene)
HYPOTHESIS = settings(max_examples=200, deadline=None)


def op(name: str, **kwargs: int | str) -> Op:
    """Shorthand for Op.make over the example schema."""
    return Op.make(SCHEMA, name, **kwargs)


def body(*ops: Op) -> bytes:
    """The encoding of ``ops`` without the version byte."""
    return encode(SCHEMA, ops)[1:]


def assert_valid(schema: Schema, ops: tuple[Op, ...]) -> None:
    """Check every validity rule independently of opslang.validate."""
    assert isinstance(ops, tuple)
    assert len(ops) <= schema.max_ops
    calls = False
    scenes: set[str] = set()
    for one in ops:
        spec = schema.spec(one.name)
        assert [name for name, _ in one.args] == [arg.name for arg in spec.args]
        for arg, (_, value) in zip(spec.args, one.args):
            assert type(value) is int and 0 <= value <= U64_MAX
            if arg.kind is ArgKind.FLAGS:
                assert value < 1 << len(arg.names)
            if arg.kind is ArgKind.CHOICE:
                assert value < len(arg.names)
        if spec.scene:
            assert not calls and spec.name not in scenes
            scenes.add(spec.name)
        else:
            calls = True


def arg_values(arg: ArgSpec, *, unknown_flag_bits: bool) -> st.SearchStrategy[int]:
    """Values of one arg: its default, small values, and the whole range."""
    if arg.kind is ArgKind.CHOICE:
        return st.integers(0, len(arg.names) - 1)
    if arg.kind is ArgKind.FLAGS:
        known = (1 << len(arg.names)) - 1
        top = U64_MAX if unknown_flag_bits else known
        return st.one_of(st.just(arg.default), st.integers(0, known), st.integers(0, top))
    return st.one_of(st.just(arg.default), st.integers(0, 0x3FFF), st.integers(0, U64_MAX))


@st.composite
def op_sequences(
    draw: st.DrawFn, *, unknown_flag_bits: bool = False, max_calls: int = 12
) -> tuple[Op, ...]:
    """Valid op sequences: some scene ops once each, in any order, then calls."""
    scene = draw(st.permutations(SCENE_SPECS))
    scene = scene[: draw(st.integers(0, len(scene)))]
    calls = draw(st.lists(st.sampled_from(CALL_SPECS), max_size=max_calls))
    ops = []
    for spec in [*scene, *calls]:
        kwargs = {
            arg.name: draw(arg_values(arg, unknown_flag_bits=unknown_flag_bits))
            for arg in spec.args
        }
        ops.append(Op.make(SCHEMA, spec.name, **kwargs))
    return tuple(ops)


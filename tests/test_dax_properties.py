"""Properties of the DAX models over random scenes and op sequences (Hypothesis).

Both versions: a run never raises out of the model (a BUG or a hang is a result, not an
exception), is deterministic (the same scene and ops give the same snapshot, results and
steps), keeps the mapping's and kernel's structural invariants, leaves no lock, locked entry
or stray page reference behind after an op that completed, and returns every lock it took
(the step log is balanced).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dax_scenes import A0, MODELS
from fuzzplug.explore.daxfile import (
    OPS,
    DaxScene,
    VmaSpec,
    boot,
    run_op,
)
from fuzzplug.explore.daxview import check_invariants, leaks, snapshot
from fuzzplug.kernel.state import Arch, Config
from fuzzplug.kernel.types import PAGE_SIZE

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scenes(draw) -> DaxScene:
    layout = tuple(draw(st.lists(st.one_of(st.none(), st.integers(1, 50)), min_size=1,
                                 max_size=5)))
    vmas, addr = [], A0
    for _ in range(draw(st.integers(0, 3))):
        pages = draw(st.integers(1, 5))
        vmas.append(VmaSpec(addr, pages, draw(st.integers(0, 2)), draw(st.booleans()),
                            draw(st.booleans())))
        addr += (pages + 1) * PAGE_SIZE
    config = Config(HAVE_PTE_SPECIAL=draw(st.booleans()), DEVMAP=draw(st.booleans()),
                    arch=draw(st.sampled_from(list(Arch))), DEBUG_VM=draw(st.booleans()),
                    PAT=draw(st.booleans()))
    return DaxScene(config=config, layout=layout,
                    i_size=draw(st.one_of(st.none(), st.integers(0, 6))), vmas=tuple(vmas))


@st.composite
def ops(draw) -> tuple[str, dict]:
    name = draw(st.sampled_from(OPS))
    addr = A0 + draw(st.integers(0, 20)) * PAGE_SIZE
    if name == "load":
        return name, {"addr": addr}
    if name == "store":
        return name, {"addr": addr, "val": draw(st.integers(100, 199))}
    if name == "write":
        return name, {"page": draw(st.integers(0, 6)), "pages": draw(st.integers(1, 3)),
                      "val": draw(st.integers(200, 299))}
    if name == "punch_hole":
        return name, {"page": draw(st.integers(0, 6)), "pages": draw(st.integers(1, 3))}
    if name == "truncate":
        return name, {"pages": draw(st.integers(0, 7))}
    if name in ("msync", "munmap"):
        return name, {"addr": addr, "len": draw(st.integers(1, 4)) * PAGE_SIZE}
    if name == "fail_alloc":
        return name, {"nth": draw(st.integers(1, 6))}
    return name, {}


def _run(model, scene: DaxScene, sequence) -> tuple:
    m = boot(model, scene)
    results = []
    for name, args in sequence:
        res = run_op(m, name, **args)
        results.append((res.to_json(), res.steps))
        if res.stop is not None:
            break
        assert m.mapping._check_invariants() == [], (name, args)
        assert leaks(m) == [], (name, args, leaks(m))
        held = [s.held for s in res.steps]
        assert not held or held[-1] == (), "an op ended holding a lock"
    return m, results


@SETTINGS
@given(scenes(), st.lists(ops(), min_size=1, max_size=8))
def test_every_run_completes_keeps_its_invariants_and_releases_its_locks(scene, sequence):
    """No exception leaves the model; after each completed op the mapping's counters match
    its tree, nothing stays locked or referenced, and the op's last step holds no lock."""
    for model in MODELS:
        m, _ = _run(model, scene, sequence)
        # the kernel's own invariants may break (print_bad_pte reports them); the model's
        # structure must not: _check_invariants asserts on that.
        check_invariants(m)


@SETTINGS
@given(scenes(), st.lists(ops(), min_size=1, max_size=8))
def test_a_run_is_deterministic(scene, sequence):
    """The same scene and ops twice: the same results, steps and final snapshot."""
    for model in MODELS:
        m1, r1 = _run(model, scene, sequence)
        m2, r2 = _run(model, scene, sequence)
        assert r1 == r2
        assert snapshot(m1) == snapshot(m2)

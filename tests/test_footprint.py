"""Footprints (`fuzzplug.runtime.footprint`) are complete for writes: every cell a step
changes is among the cells the step recorded as written."""

from __future__ import annotations

import pytest

from fuzzplug.core.opslang import parse_text
from fuzzplug.explore import dpor
from fuzzplug.explore import daxfile, daxtasks, daxtrack
from fuzzplug.runtime.footprint import ANY
from fuzzplug.targets.dax_fault import tasks
from fuzzplug.targets.dax_fault.schema import SCHEMA, Scene
from fuzzplug.targets.dax_fault.target import TARGET

PROGRAMS = (
    "load addr=0x101000\nstore addr=0x101000 val=0x66\ntask id=1\nwrite page=1 pages=1 val=0x40\n",
    "store addr=0x100000 val=0x66\ntask id=1\npunch_hole page=0 pages=1\n",
    "config HAVE_PTE_SPECIAL=0\nload addr=0x101000\ntask id=1\ntruncate pages=1\nfsync\n",
    # a private mapping: the COW fault's anon_vma, wp_page_copy's PTE window
    "vma start=0x100000 pages=4 pgoff=0 shared=0 write=1\nload addr=0x100000\n"
    "store addr=0x100000 val=0x66\ntask id=1\nload addr=0x100000\n",
    # fsync's mkclean window against a store
    "store addr=0x100000 val=0x66\nfsync\ntask id=1\nstore addr=0x100000 val=0x77\n",
)


class Checking:
    """A chooser that takes the lowest task (or replays `inner`) and compares every
    cell's value before and after each step with the step's recorded writes."""

    def __init__(self, m, inner):
        self.m = m
        self.inner = inner
        self.before = None
        self.missing: list = []

    def choose(self, sched, enabled, forced=False):
        self.before = daxtrack.cell_values(self.m)
        return self.inner.choose(sched, enabled, forced)

    def observe(self, event):
        self.inner.observe(event)
        after = daxtrack.cell_values(self.m)
        written = event.fp.writes()
        kinds = {kind for kind, key in written if key == ANY}
        for kind in self.before.keys() | after.keys():
            a, b = self.before.get(kind, {}), after.get(kind, {})
            for key in a.keys() | b.keys():
                if a.get(key) != b.get(key) and kind not in kinds \
                        and (kind, key) not in written:
                    self.missing.append((event.tid, event.label, kind, key))


@pytest.mark.parametrize("text", PROGRAMS)
@pytest.mark.parametrize("model", [TARGET.pre_model, TARGET.post_model],
                         ids=lambda m: m.VERSION)
def test_every_cell_a_step_changes_is_in_its_recorded_writes(text, model):
    """Over every interleaving (reduced) of small two-task programs, on both versions."""
    ops = parse_text(SCHEMA, text)
    t = tasks.split([op for op in ops if not SCHEMA.spec(op.name).scene])
    scene = Scene.from_ops(ops).dax
    missing = []
    runs = 0

    def run(chooser):
        m = daxfile.boot(model, scene)
        checking = Checking(m, chooser)
        result = daxtasks.run_tasks(m, tasks.model_programs(t), checking)
        missing.extend(checking.missing)
        return result

    for _ in dpor.explore(run, max_runs=300):
        runs += 1
    assert runs
    assert not missing, missing[:5]

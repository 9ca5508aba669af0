"""The window between ptep_clear_flush() and set_pte_at() under the PTE lock:
`dax_mapping_entry_mkclean()` (fs/dax.c) and `wp_page_copy()` (mm/memory.c), in
v4.13 and v4.14 alike, clear a present PTE and set it again while holding the PTE lock.
Another CPU's user access walks the page table without that lock, sees the entry empty and
faults; its fault waits for the lock. The model stops the clearing task there
(`fuzzplug.kernel.mm.pte_window`, `Scheduler.spin_hold`) with the lock held: the other task
may run any step but one that takes the lock."""

from __future__ import annotations

import pytest

from fuzzplug.core.opslang import parse_text
from fuzzplug.core.oracle import Verdict
from fuzzplug.explore import daxfile, daxtasks, daxtrack, daxview, dpor
from fuzzplug.runtime.footprint import ANY
from fuzzplug.targets.dax_fault import interleavings, tasks
from fuzzplug.targets.dax_fault.schema import SCHEMA, Scene
from fuzzplug.targets.dax_fault.target import TARGET

MODELS = [TARGET.pre_model, TARGET.post_model]
WINDOW = "pte cleared"
# fsync write-protects the PTE a store made writable and dirty (mkclean's window); task 1
# loads the block.
MKCLEAN = "store addr=0x100000 val=0x66\nfsync\ntask id=1\nload addr=0x100000\n"
# A private writable mapping: a load maps the block read-only, the store copies it
# (wp_page_copy's window); task 1 loads the page.
COW = ("vma start=0x100000 pages=4 pgoff=0 shared=0 write=1\n"
       "load addr=0x100000\nstore addr=0x100000 val=0x66\ntask id=1\nload addr=0x100000\n")


def _parts(text: str):
    ops = parse_text(SCHEMA, text)
    return ops, tasks.split([op for op in ops if not SCHEMA.spec(op.name).scene]), \
        Scene.from_ops(ops).dax


class InWindow:
    """Task 0 until it stops in a PTE window; then task 1 as long as it may run; then the
    lowest-numbered task. Records, at each choice made while task 0 is in the window,
    the tasks that may run and where task 1 stands."""

    def __init__(self, inner=None):
        self.inner = inner
        self.seen: list[tuple[tuple[int, ...], str | None]] = []

    def choose(self, sched, enabled, forced=False):
        t0, t1 = sched.tasks
        if t0.pending is not None and WINDOW in t0.pending.label:
            self.seen.append((tuple(enabled), t1.pending.label if t1.pending else None))
            return 1 if 1 in enabled else 0
        if not any(WINDOW in e.label for e in sched.trace) and 0 in enabled:
            return 0
        return enabled[0]

    def observe(self, event) -> None:
        if self.inner is not None:
            self.inner.observe(event)


def _window_steps(trace) -> list:
    """The steps other tasks took while a task was stopped in a PTE window."""
    out = []
    for i, e in enumerate(trace):
        if WINDOW in e.label:
            start = max(j for j in range(i) if trace[j].tid == e.tid)
            out += [s for s in trace[start + 1:i] if s.tid != e.tid]
    return out


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.VERSION)
def test_a_load_in_fsyncs_mkclean_window_faults_on_the_empty_pte_and_reads_the_stored_data(model):
    """Task 1's load walks the PTE fsync has cleared: the MMU and handle_pte_fault() see
    pte_none, the DAX read fault sleeps on the entry fsync holds, then finds the PTE set
    again (insert_pfn: present) and the retried load reads 0x66; the PTE ends clean and
    read-only, the entry untagged."""
    _, t, scene = _parts(MKCLEAN)
    chooser = InWindow()
    run = tasks.run_version(model, scene, t, chooser)
    inside = _window_steps(run.trace)
    assert inside and all(s.tid == 1 for s in inside)
    branches = [b for s in inside for b in s.branches]
    assert "mmu_access:x86_64:not_present" in branches
    assert "handle_pte_fault:pte_none" in branches
    after = [b for e in run.trace[run.trace.index(inside[-1]) + 1:] if e.tid == 1
             for b in e.branches]
    assert "insert_pfn:present" in after
    (load,) = run.result.calls[1]
    assert (load.result.ret.status.value, load.result.ret.value) == ("ok", 0x66)
    assert [c.result.ret for c in run.result.calls[0]][1] == 0  # fsync
    pte = daxfile.pte_at(run.m.k, 0x100000)
    assert pte.val & 1 and not pte.val & 0x2 and not pte.val & 0x40  # present, !RW, !DIRTY
    assert daxview.dirty_indices(run.m) == []


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.VERSION)
def test_a_fault_in_the_cow_window_waits_for_the_pte_lock_then_finds_the_copy(model):
    """Task 1's load sees the PTE wp_page_copy() cleared and faults; its insert reaches the
    PTE lock task 0 holds and is not offered to the schedule until task 0 has set the
    copy's PTE; the insert then finds it present and the retried load reads the private
    copy (0x66)."""
    _, t, scene = _parts(COW)
    chooser = InWindow()
    run = tasks.run_version(model, scene, t, chooser)
    waiting = [enabled for enabled, where in chooser.seen
               if where is not None and where.startswith("get_locked_pte: ptl:")]
    assert waiting and all(enabled == (0,) for enabled in waiting)
    inside = _window_steps(run.trace)
    assert "mmu_access:x86_64:not_present" in [b for s in inside for b in s.branches]
    assert not any("ptl:" in s.label for s in inside)
    (load,) = run.result.calls[1]
    assert (load.result.ret.status.value, load.result.ret.value) == ("ok", 0x66)
    store = run.result.calls[0][1].result.ret
    assert store.status.value == "ok"
    cow = daxfile.pte_at(run.m.k, 0x100000)
    assert run.m.k.pages[cow.val >> 12 & ((1 << 40) - 1)].anon


@pytest.mark.parametrize("text", [MKCLEAN, COW], ids=["mkclean", "cow"])
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.VERSION)
def test_no_step_takes_a_pte_lock_another_task_holds_in_its_window_in_any_class(
        model, text):
    """A run of every class of interleavings of the two programs (the reduced search,
    complete): a step that starts by taking the PTE lock never runs while the other task
    is stopped in its window, and some run has a step of the other task there."""
    _, t, scene = _parts(text)
    stats = dpor.Exploration()
    reached = 0
    for run in dpor.explore(lambda ch: tasks.run_version(model, scene, t, ch),
                            max_runs=5000, stats=stats):
        inside = _window_steps(run.trace)
        reached += bool(inside)
        assert not any("ptl:" in s.label for s in inside), [s.label for s in inside]
    assert stats.complete
    assert reached


@pytest.mark.parametrize("text", [MKCLEAN, COW], ids=["mkclean", "cow"])
def test_the_window_runs_replay_through_the_oracle_without_a_divergence(text):
    """Each version's run with task 1 inside the window, replayed as an input with its
    schedule: the versions do not differ beyond the intended rules."""
    ops, t, scene = _parts(text)
    for model in MODELS:
        run = tasks.run_version(model, scene, t, InWindow())
        schedule = interleavings.schedule_ops(tasks.runs_of(run.trace))
        outcome = TARGET.evaluate(tuple(ops) + tuple(schedule))
        assert outcome.verdict in (Verdict.SAME, Verdict.INTENDED), outcome.signature


@pytest.mark.parametrize("text", [MKCLEAN, COW], ids=["mkclean", "cow"])
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.VERSION)
def test_the_steps_around_and_inside_a_window_record_every_cell_they_change(model, text):
    """Footprints stay complete with the window: every cell a step of the window run
    changes (the PTE lock's holder among them) is among its recorded writes."""
    _, t, scene = _parts(text)
    m = daxfile.boot(model, scene)
    missing = []
    labels = []

    class Checking(InWindow):
        def choose(self, sched, enabled, forced=False):
            self.before = daxtrack.cell_values(m)
            return super().choose(sched, enabled, forced)

        def observe(self, event):
            after = daxtrack.cell_values(m)
            written = event.fp.writes()
            labels.append(event.label)
            kinds = {kind for kind, key in written if key == ANY}
            for kind in self.before.keys() | after.keys():
                a, b = self.before.get(kind, {}), after.get(kind, {})
                for key in a.keys() | b.keys():
                    if a.get(key) != b.get(key) and kind not in kinds \
                            and (kind, key) not in written:
                        missing.append((event.tid, event.label, kind, key))

    daxtasks.run_tasks(m, tasks.model_programs(t), Checking())
    assert any(WINDOW in label for label in labels)
    assert not missing, missing[:5]

"""The lock/step table of the DAX models (issue #13's interleaving points) matches the code."""

from __future__ import annotations

import ast
import inspect

from dax_scenes import A, BOTH, machine, run
from fuzzplug.kernel import dax_v4_13, dax_v4_14


def _marked_steps(module) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "step" and len(node.args) == 2
                and isinstance(node.args[1], ast.Constant)):
            found.add(node.args[1].value)
    return found


def test_every_step_the_code_marks_is_named_in_the_v4_13_table():
    """The module docstring's lock/step table names each marked step (v4.14 refers to it)."""
    steps = _marked_steps(dax_v4_13) | _marked_steps(dax_v4_14)
    missing = sorted(s for s in steps if s not in dax_v4_13.__doc__)
    assert missing == []


@BOTH
def test_a_write_over_a_mapped_hole_goes_through_its_steps_in_the_tables_order(model):
    """pwrite64 over a hole a VMA read: inode lock, allocation, entry invalidation, then the
    page-table unmap, the copy, i_size, unlock; each step records the locks held."""
    m = machine(model)
    run(m, "load", addr=A(1))
    res = run(m, "write", page=1, pages=1, val=40)
    names = [s.name for s in res.steps]
    order = ["down_write(i_rwsem)", "write:iomap_begin", "invalidate:entries",
             "invalidate:unmap", "write:copy", "write:iomap_end", "up_write(i_rwsem)"]
    assert [n for n in names if n in order] == order
    copy = next(s for s in res.steps if s.name == "write:copy")
    assert copy.held == ("i_rwsem:w",)
    unmap = names.index("invalidate:unmap")
    assert "down_write(i_mmap_rwsem)" in names[unmap:]


@BOTH
def test_a_fault_holds_i_mmap_sem_and_the_entry_lock_across_iomap_begin_and_insert(model):
    """A store to a hole: dax_fault:iomap_begin and dax_fault:insert run with mmap_sem and
    i_mmap_sem (read) and the entry lock held; all are released at the end."""
    m = machine(model)
    res = run(m, "store", addr=A(1), val=5)
    by_name = {s.name: s.held for s in res.steps}
    held = ("mmap_sem:r", "i_mmap_sem:r", "entry_lock:1")
    assert by_name["dax_fault:iomap_begin"] == held
    assert by_name["dax_fault:insert"] == held
    assert res.steps[-1].held == ()

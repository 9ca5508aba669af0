"""What the kernel models run on: fuzzplug's execution runtime, below the models.

- `sched`: tasks as greenlets, switch points where a kernel path may sleep or spin, and the
  scheduler that picks the next task (`Chooser`);
- `footprint`: the cells of state each step of a task reads and writes, recorded by the
  state itself;
- `physmem`: the data in physical memory (RAM, the pmem media and dirty CPU cache lines).

The models call into this package (a lock, a switch point, a store of a page's data); it
imports no model and nothing of the differential core.
"""

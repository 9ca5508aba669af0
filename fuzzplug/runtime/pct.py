"""PCT: a schedule of random priorities with change points (a `Chooser`).

Burckhardt, Kothari, Musuvathi and Nagarakatte, "A Randomized Scheduler with Probabilistic
Guarantees of Finding Bugs" (ASPLOS 2010). The *depth* of a concurrency bug is the number
of ordering constraints between steps of different tasks that every run showing it
satisfies (an atomicity violation over one window is 2: the window's first step before
the other task's step, that step before the window's last one). PCT runs the tasks by
strict priority: the enabled task of highest priority takes each step. The `n` tasks start
with the distinct priorities `d .. d+n-1`, in an order drawn at random; `d - 1` change
points `k_1 .. k_{d-1}` are drawn among the run's `k` steps, and when the run's `k_i`-th
step has been taken, the task that took it drops to priority `i`, below every starting
priority. A bug of depth `d` shows in a run with probability at least `1 / (n * k^(d-1))`:
one order of the starting priorities and one step for each change point suffice.

Here the draw is the input's: `Pct(order, points)` is one such schedule, `order` the tasks
from highest priority to lowest, `points` the change points in their order (`points[i-1]`
is `k_i`, a step index from 1; a point beyond the run's end never fires). The fuzzer's
bytes choose them (dax_fault's `pct` line, `fuzzplug.targets.dax_fault.pct`), so random
bytes are random PCT schedules, and a mutation that moves one point by one step, or swaps
two priorities, is a small change of the schedule.

Steps are counted as the scheduler takes them (`observe`), forced ones included, so a
`Pct` given after the runs of a fixed prefix (`FollowSchedule(runs, then=pct)`) counts the
prefix's steps too.
"""

from __future__ import annotations


class Pct:
    """One PCT schedule (see the module docstring): `order`, the task ids from highest
    starting priority to lowest (a task not named ranks below every named one, by id);
    `points`, the change points `k_1 .. k_{d-1}` (step indices from 1)."""

    def __init__(self, order: tuple[int, ...], points: tuple[int, ...]):
        self.order = tuple(order)
        self.points = tuple(points)
        depth = len(self.points) + 1
        # Starting priorities d .. d+n-1, highest first; change point i gives priority i.
        n = len(self.order)
        self.priority: dict[int, int] = {tid: depth + n - 1 - rank
                                         for rank, tid in enumerate(self.order)}
        self._at: dict[int, int] = {}
        for i, step in enumerate(self.points, start=1):
            self._at.setdefault(step, i)  # two points at one step: the first one fires
        self.steps = 0

    def _rank(self, tid: int) -> tuple[int, int]:
        return (self.priority.get(tid, 0), -tid)

    def choose(self, sched, enabled: list[int], forced: bool = False) -> int:
        if forced:
            return enabled[0]
        return max(enabled, key=self._rank)

    def observe(self, event) -> None:
        self.steps += 1
        i = self._at.get(self.steps)
        if i is not None:
            self.priority[event.tid] = i

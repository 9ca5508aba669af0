"""insert_pfn's stepper (the target's `Steppable` capability): both models' kernels after a
prefix, each call run and judged by the target's own `compare_op`, the per-op comparison
`InsertPfnTarget.evaluate` uses, so the oracle logic lives once.
`tests/test_exhaustive.py` checks that stepping and evaluating agree on random sequences.
"""

from __future__ import annotations

from collections.abc import Hashable

from fuzzplug.core.opslang import Op
from fuzzplug.core.oracle import Finding
from fuzzplug.explore.clone import check_kernel_layout, clone_kernel, kernel_key, renamed_key
from fuzzplug.targets.insert_pfn.compare import compare_op
from fuzzplug.targets.insert_pfn.scene import Scene, normal_call


class InsertPfnStepper:
    """insert_pfn: both models' kernels after the prefix, each call run and judged by the
    target's own `compare_op`, as `InsertPfnTarget.evaluate` does, with the pages whose
    difference an intended rule carries over (`carried`, part of the key)."""

    merges = True

    def __init__(self, target, scene: tuple[Op, ...], *, renaming=None, _state=None):
        self.target = target
        self.renaming = renaming
        self.pre_model = target.pre_model
        self.post_model = target.post_model
        if _state is not None:
            (self.kpre, self.kpost, self.dead_pre, self.dead_post, self.calls,
             self.carried) = _state
            return
        booted = Scene.from_ops(scene)
        self.kpre = booted.boot(self.pre_model)
        self.kpost = booted.boot(self.post_model)
        check_kernel_layout(self.kpre)
        self.dead_pre = self.dead_post = False
        self.calls = 0
        self.carried: frozenset[int] = frozenset()

    def step(self, op: Op) -> Finding | None:
        kpre, kpost = self.kpre, self.kpost
        op = normal_call(op)[0]
        a, b, finding, _, self.carried = compare_op(self.target, kpre, kpost, op, self.calls,
                                                    self.dead_pre, self.dead_post,
                                                    self.carried)
        self.dead_pre, self.dead_post = self.dead_pre or a.oops, self.dead_post or b.oops
        self.calls += 1
        kpre.events.clear()
        kpre.branches.clear()
        kpost.events.clear()
        kpost.branches.clear()
        return finding

    def clone(self) -> "InsertPfnStepper":
        state = (clone_kernel(self.kpre), clone_kernel(self.kpost), self.dead_pre,
                 self.dead_post, self.calls, self.carried)
        return InsertPfnStepper(self.target, (), renaming=self.renaming, _state=state)

    @property
    def finished(self) -> bool:
        """Both tasks are dead: every later call returns "dead" on both sides with no events
        and no state change, and the states were equal when the last call was judged, so
        no extension can diverge."""
        return self.dead_pre and self.dead_post

    def key(self) -> Hashable:
        if self.finished:
            return "both dead"
        pre, post = kernel_key(self.kpre), kernel_key(self.kpost)
        key = (pre, post, self.dead_pre, self.dead_post, self.carried)
        if self.renaming is None:
            return key
        image = (renamed_key(pre, self.renaming), renamed_key(post, self.renaming),
                 self.dead_pre, self.dead_post,
                 frozenset(self.renaming.vpn(vpn) for vpn in self.carried))
        return frozenset((key, image))  # the same for a state and its image

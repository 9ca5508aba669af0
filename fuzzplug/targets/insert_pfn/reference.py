"""The readable oracle as the fast path reads it: `FastEvaluation` (`fast.py`) takes this
module and reads these names from it, the op language's tables (`schema`), the scene
(`scene`), the calls' helpers (`calls`), and the rules and their judges (`rules`,
`compare`), so that both evaluations share them."""

from __future__ import annotations

from fuzzplug.targets.insert_pfn.calls import _pfn_t, dax_view
from fuzzplug.targets.insert_pfn.compare import (
    _judge_reuse_store,
    _judge_zero_pfn_mismatch,
    _Sides,
)
from fuzzplug.targets.insert_pfn.rules import PATH_BRANCHES, RULED_OPS, promise_diffs
from fuzzplug.targets.insert_pfn.scene import Scene, normal_call
from fuzzplug.targets.insert_pfn.schema import FAULT_FLAG_BITS, PROT_BITS, SCHEMA, _to_kernel

__all__ = ["FAULT_FLAG_BITS", "PATH_BRANCHES", "PROT_BITS", "RULED_OPS", "SCHEMA", "Scene",
           "_Sides", "_judge_reuse_store", "_judge_zero_pfn_mismatch", "_pfn_t", "_to_kernel",
           "dax_view", "normal_call", "promise_diffs"]

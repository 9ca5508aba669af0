"""The `config` scene op of the targets that run on the kernel models.

The compile-time switches and the architecture are the models' (`fuzzplug.kernel.state.Config`,
`Arch`), so every target built on them spells them the same way; each target decides what a
combination means for it (dax_fault normalises `DEVMAP=1` without `HAVE_PTE_SPECIAL`).
"""

from __future__ import annotations

from fuzzplug.core.opslang import ArgKind, ArgSpec, OpSpec
from fuzzplug.kernel.state import Arch

BOOL = ("0", "1")


def config_op(op_id: int = 0) -> OpSpec:
    """`config HAVE_PTE_SPECIAL=1 DEVMAP=1 arch=x86_64 DEBUG_VM=0 PAT=1` (the defaults)."""
    return OpSpec("config", op_id, scene=True, doc="compile-time switches and the architecture",
                  args=(
                      ArgSpec("HAVE_PTE_SPECIAL", ArgKind.CHOICE, 1, names=BOOL),
                      ArgSpec("DEVMAP", ArgKind.CHOICE, 1, names=BOOL),
                      ArgSpec("arch", ArgKind.CHOICE, 0, names=tuple(a.value for a in Arch)),
                      ArgSpec("DEBUG_VM", ArgKind.CHOICE, 0, names=BOOL),
                      ArgSpec("PAT", ArgKind.CHOICE, 1, names=BOOL),
                  ))

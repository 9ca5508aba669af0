"""Scenes and helpers for the DAX model tests (not a test module).

A scene is booted on `fuzzplug.kernel.dax_v4_13` or `dax_v4_14` with
`fuzzplug.explore.daxfile.boot`; ops run through `daxfile.run_op`, as the dax_fault target
will run them. The numbers: the file is mapped at A(0) = 0x100000 onwards, file page i at
A(i) in the default VMA (MAP_SHARED, PROT_READ|PROT_WRITE, 4 pages from file page 0); the
pmem device is the memory map's device range 0x80-0x8f, block b at pfn DEV + b (block 0 is
the super block, so the file's first block is block 1); page-cache pages come from RAM
0x10-0x1f; the zero page is pfn 0x1.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from fuzzplug.kernel import dax_v4_13, dax_v4_14
from fuzzplug.explore.daxfile import (
    Access,
    AccessStatus,
    DaxMachine,
    DaxScene,
    OpResult,
    VmaSpec,
    boot,
    pte_at,
    run_op,
)
from fuzzplug.kernel.state import Arch, Config, Memmap
from fuzzplug.kernel.types import PAGE_SHIFT, PAGE_SIZE, pte_t

MODELS = (dax_v4_13, dax_v4_14)
BOTH = pytest.mark.parametrize("model", MODELS, ids=["v4.13", "v4.14"])
V13 = pytest.mark.parametrize("model", [dax_v4_13], ids=["v4.13"])
V14 = pytest.mark.parametrize("model", [dax_v4_14], ids=["v4.14"])

A0 = 0x100000
DEV = 0x80
RAM = 0x10
ZERO = 0x1
ANON = 0x1000

SHARED = VmaSpec(A0, 4, 0, shared=True, writable=True)
PRIVATE = VmaSpec(A0, 4, 0, shared=False, writable=True)
# A second mapping of the same file pages, at A(8).
SHARED_2 = VmaSpec(A0 + 8 * PAGE_SIZE, 4, 0, shared=True, writable=True)
PRIVATE_2 = VmaSpec(A0 + 8 * PAGE_SIZE, 4, 0, shared=False, writable=True)

BLOCK, HOLE = 11, None  # a layout entry: a block holding token 11, or a hole
LAYOUT = (11, None, 13, None)  # file pages 0 and 2 on blocks 1 and 2, holes at 1 and 3


def A(i: int) -> int:
    """The address of file page i in the default VMA."""
    return A0 + i * PAGE_SIZE


def machine(model: ModuleType, layout: tuple = LAYOUT, vmas: tuple = (SHARED,),
            i_size: int | None = None, memmap: Memmap = Memmap(), **config) -> DaxMachine:
    """Boot a scene (config defaults: x86-64, pte_special, devmap, PAT=0 so prots keep
    their bits, no DEBUG_VM)."""
    cfg = {"HAVE_PTE_SPECIAL": True, "DEVMAP": True, "arch": Arch.x86_64, "DEBUG_VM": False,
           "PAT": False}
    cfg.update(config)
    return boot(model, DaxScene(config=Config(**cfg), memmap=memmap, layout=layout,
                                i_size=i_size, vmas=vmas))


def run(m: DaxMachine, name: str, **args) -> OpResult:
    """Run an op that must not stop (BUG or hang); return its result."""
    res = run_op(m, name, **args)
    assert res.stop is None, (name, res)
    return res


def branches_of(m: DaxMachine, name: str, **args) -> tuple[OpResult, list[str]]:
    """Run an op; its result and the branch ids it took."""
    b0 = len(m.k.branches)
    res = run_op(m, name, **args)
    return res, m.k.branches[b0:]


def load(m: DaxMachine, addr: int) -> Access:
    res = run(m, "load", addr=addr)
    return res.ret


def store(m: DaxMachine, addr: int, val: int) -> Access:
    res = run(m, "store", addr=addr, val=val)
    return res.ret


def ok(access: Access, faults: int | None = None) -> bool:
    """The access completed (after `faults` faults, when given)."""
    return access.status is AccessStatus.OK and (faults is None or access.faults == faults)


def pte(m: DaxMachine, addr: int) -> pte_t:
    return pte_at(m.k, addr)


def pfn_of(m: DaxMachine, addr: int) -> int:
    return pte(m, addr).val >> PAGE_SHIFT & ((1 << 40) - 1)


def block_pfn(block: int) -> int:
    return DEV + block


__all__ = ["A", "A0", "ANON", "BOTH", "DEV", "HOLE", "LAYOUT", "MODELS", "PAGE_SIZE",
           "PRIVATE", "PRIVATE_2", "RAM", "SHARED", "SHARED_2", "V13", "V14", "ZERO",
           "block_pfn", "branches_of", "load", "machine", "ok", "pfn_of", "pte", "run",
           "store"]

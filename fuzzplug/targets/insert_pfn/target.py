"""The insert_pfn target: "mm: add vm_insert_mixed_mkwrite()" (upstream b2770da64254).

Runs one op sequence on the v4.13 model (`fuzzplug.kernel.v4_13`) and the v4.14 model
(`fuzzplug.kernel.v4_14`), op by op, and compares what a caller and the rest of the kernel
can observe (see `fuzzplug.explore.observe` and `fuzzplug.core.oracle`). The only
differences allowed are those in `INTENDED_RULES`, the commit message's stated intent;
everything else is divergent.

The models form a chain (`CHAIN`): v4.13, v4.14, then v4.14 with each upstream fix of the
patch (f2c57d91b0d9, then cae85cb8add3). `with_pair(pre, post)` (the `Versioned`
capability) compares any two of them, under the rules of the commits between them
(`INTENDED_RULES` for the seed, `FIX_RULES` for the fixes, each from its commit message),
and with the known findings listed for that pair.

The op language (text form; `docs` in README "The op language"):

    config HAVE_PTE_SPECIAL=1 DEVMAP=1 arch=x86_64 DEBUG_VM=0 PAT=1
    vma start=0x100000 end=0x110000 flags=VM_READ|VM_WRITE|VM_SHARED|VM_MAYWRITE|VM_MIXEDMAP vm_ops=pfn_mkwrite pgoff=0x80
    memmap ram=0x10-0x1f device=0x80-0x8f zero=0x1
    vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80 flags=PFN_DEV|PFN_MAP
    fault addr=0x100000 flags=FAULT_FLAG_WRITE
"""

from __future__ import annotations

import copy
import functools
import inspect
import sys
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import ModuleType

from fuzzplug.core.known import Cause, causes_from_toml
from fuzzplug.core.opslang import ArgKind, ArgSpec, Op, OpSpec, Schema
from fuzzplug.core.oracle import Finding, OpRun, Outcome, SideRecord, Verdict, events_diff, family
from fuzzplug.farm.files import FarmOptions
from fuzzplug.errors import InputError
from fuzzplug.explore.configop import BOOL, config_op
from fuzzplug.kernel import (
    arch,
    mm,
    v4_13,
    v4_14,
    v4_14_f2c57d91b0d9,
    v4_14_f2c57d91b0d9_cae85cb8add3,
)
from fuzzplug.kernel.mm import do_user_fault, fault_result_name, vma_page_prot
from fuzzplug.explore.observe import entry_diff, entry_key, observables, signature, state_diff
from fuzzplug.kernel.state import (
    ANON_POOL_END,
    ANON_POOL_START,
    Arch,
    Config,
    EventKind,
    Kernel,
    Memmap,
    Oops,
    VmOps,
)
from fuzzplug.kernel.types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_NX,
    _PAGE_PCD,
    _PAGE_PRESENT,
    _PAGE_PWT,
    _PAGE_RW,
    _PAGE_USER,
    EBUSY,
    ENOMEM,
    FAULT_FLAG_USER,
    FAULT_FLAG_WRITE,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    PFN_DEV,
    PFN_MAP,
    PFN_SG_CHAIN,
    PFN_SG_LAST,
    U64,
    VM_EXEC,
    VM_MAYREAD,
    VM_MAYWRITE,
    VM_MIXEDMAP,
    VM_PFNMAP,
    VM_READ,
    VM_SHARED,
    VM_WRITE,
    __pfn_to_pfn_t,
    errname,
    pgprot_t,
    pte_dirty,
    pte_pfn,
    pte_t,
    pte_write,
    pte_young,
)
from fuzzplug.targets import MutatesPostModel, SceneIssue, corpus_dir

# --- the op language --------------------------------------------------------------------------

VM_FLAG_BITS = (("VM_READ", VM_READ), ("VM_WRITE", VM_WRITE), ("VM_EXEC", VM_EXEC),
                ("VM_SHARED", VM_SHARED), ("VM_MAYREAD", VM_MAYREAD),
                ("VM_MAYWRITE", VM_MAYWRITE), ("VM_PFNMAP", VM_PFNMAP),
                ("VM_MIXEDMAP", VM_MIXEDMAP))
PFN_FLAG_BITS = (("PFN_SG_CHAIN", PFN_SG_CHAIN), ("PFN_SG_LAST", PFN_SG_LAST),
                 ("PFN_DEV", PFN_DEV), ("PFN_MAP", PFN_MAP))
PROT_BITS = (("_PAGE_PRESENT", _PAGE_PRESENT), ("_PAGE_RW", _PAGE_RW),
             ("_PAGE_USER", _PAGE_USER), ("_PAGE_PWT", _PAGE_PWT), ("_PAGE_PCD", _PAGE_PCD),
             ("_PAGE_ACCESSED", _PAGE_ACCESSED), ("_PAGE_DIRTY", _PAGE_DIRTY),
             ("_PAGE_NX", _PAGE_NX))
FAULT_FLAG_BITS = (("FAULT_FLAG_WRITE", FAULT_FLAG_WRITE),)
VM_OPS_BITS = (("pfn_mkwrite", VmOps.pfn_mkwrite), ("page_mkwrite", VmOps.page_mkwrite))


def _flags(table) -> tuple[str, ...]:
    return tuple(name for name, _ in table)


def _mask(table, names: tuple[str, ...]) -> int:
    return sum(1 << i for i, (name, _) in enumerate(table) if name in names)


def _to_kernel(table, value: int) -> int:
    """A FLAGS arg's value (bit i = table[i]) as the kernel's flag word."""
    out = 0
    for i, (_, bit) in enumerate(table):
        if value >> i & 1:
            out |= bit
    return out


DEFAULT_START = 0x100000
DEFAULT_END = 0x110000
DEFAULT_PFN = 0x80


def _addr(name="addr", default=DEFAULT_START):
    return ArgSpec(name, ArgKind.INT, default, hex=True, addr=True, always=True)


def _pfn():
    return ArgSpec("pfn", ArgKind.INT, DEFAULT_PFN, hex=True, always=True)


SCHEMA = Schema(
    name="insert_pfn",
    version=1,
    max_ops=48,
    ops=(
        config_op(0),
        OpSpec("vma", 1, scene=True, doc="the one VMA: range, flags, callbacks, pgoff", args=(
            _addr("start", DEFAULT_START),
            _addr("end", DEFAULT_END),
            ArgSpec("flags", ArgKind.FLAGS, _mask(VM_FLAG_BITS, (
                "VM_READ", "VM_WRITE", "VM_SHARED", "VM_MAYREAD", "VM_MAYWRITE",
                "VM_MIXEDMAP")), names=_flags(VM_FLAG_BITS)),
            ArgSpec("vm_ops", ArgKind.FLAGS, 1, names=_flags(VM_OPS_BITS)),
            ArgSpec("pgoff", ArgKind.INT, DEFAULT_PFN, hex=True),
        )),
        OpSpec("memmap", 2, scene=True, doc="RAM, device memory and the zero page", args=(
            ArgSpec("ram", ArgKind.RANGE, (0x1F << 32) | 0x10),
            ArgSpec("device", ArgKind.RANGE, (0x8F << 32) | 0x80),
            ArgSpec("zero", ArgKind.INT, 0x1, hex=True),
        )),
        OpSpec("vm_insert_pfn", 3, args=(_addr(), _pfn())),
        OpSpec("vm_insert_pfn_prot", 4, args=(
            _addr(), _pfn(),
            ArgSpec("prot", ArgKind.FLAGS, _mask(PROT_BITS, (
                "_PAGE_PRESENT", "_PAGE_RW", "_PAGE_USER", "_PAGE_ACCESSED", "_PAGE_NX")),
                names=_flags(PROT_BITS)),
        )),
        OpSpec("vm_insert_mixed", 5, args=(
            _addr(), _pfn(),
            ArgSpec("flags", ArgKind.FLAGS, _mask(PFN_FLAG_BITS, ("PFN_DEV", "PFN_MAP")),
                    names=_flags(PFN_FLAG_BITS)),
        )),
        OpSpec("vm_insert_mixed_mkwrite", 6, args=(
            _addr(), _pfn(),
            ArgSpec("flags", ArgKind.FLAGS, _mask(PFN_FLAG_BITS, ("PFN_DEV", "PFN_MAP")),
                    names=_flags(PFN_FLAG_BITS)),
        )),
        OpSpec("fault", 7, doc="a user access (a store with FAULT_FLAG_WRITE) through the "
               "MMU; only an access the MMU refuses faults, into the architecture's page "
               "fault handler and handle_mm_fault", args=(
            _addr(),
            ArgSpec("flags", ArgKind.FLAGS, 0, names=_flags(FAULT_FLAG_BITS)),
        )),
        OpSpec("zap", 8, doc="unmap [addr, addr+len) (zap_page_range_single)", args=(
            _addr(), ArgSpec("len", ArgKind.INT, PAGE_SIZE, hex=True),
        )),
        OpSpec("fail_alloc", 9, doc="the nth next allocation fails (0: none)", args=(
            ArgSpec("nth", ArgKind.INT, 1),
        )),
    ),
)


# --- the scene ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Scene:
    """What the scene ops set up, with the documented defaults."""

    config: Config
    memmap: Memmap
    vm_start: int
    vm_end: int
    vm_flags: int
    vm_ops: VmOps
    vm_pgoff: int

    @classmethod
    def from_ops(cls, ops: tuple[Op, ...]) -> "Scene":
        """The scene the ops set up, normalised as `check_scene` says."""
        by = {op.name: op for op in ops if op.name in ("config", "vma", "memmap")}
        cfg = by.get("config") or _DEFAULT_CONFIG
        vma = _normal_vma(by["vma"])[0] if "vma" in by else _DEFAULT_VMA
        mem = _normal_memmap(by["memmap"])[0] if "memmap" in by else _DEFAULT_MEMMAP
        config = Config(HAVE_PTE_SPECIAL=bool(cfg["HAVE_PTE_SPECIAL"]),
                        DEVMAP=bool(cfg["DEVMAP"]), arch=list(Arch)[cfg["arch"]],
                        DEBUG_VM=bool(cfg["DEBUG_VM"]), PAT=bool(cfg["PAT"]))
        memmap = Memmap(ram=_range(mem["ram"]), device=_range(mem["device"]), zero=mem["zero"])
        return cls(config, memmap, vma["start"], vma["end"],
                   _to_kernel(VM_FLAG_BITS, vma["flags"]),
                   VmOps(_to_kernel(VM_OPS_BITS, vma["vm_ops"])), vma["pgoff"])

    def boot(self, model: ModuleType) -> Kernel:
        prot = vma_page_prot(self.vm_flags, bool(self.vm_ops), self.config.arch)
        k = Kernel(self.config, self.memmap, vm_start=self.vm_start, vm_end=self.vm_end,
                   vm_flags=self.vm_flags, vm_ops=self.vm_ops, vm_pgoff=self.vm_pgoff,
                   vm_page_prot=prot)
        k.version = model.VERSION
        return k


def _range(value: int) -> tuple[int, int]:
    return value & 0xFFFFFFFF, value >> 32


_DEFAULT_CONFIG = Op.make(SCHEMA, "config")
_DEFAULT_VMA = Op.make(SCHEMA, "vma")
_DEFAULT_MEMMAP = Op.make(SCHEMA, "memmap")
_TOP_PAGE = U64 & PAGE_MASK  # the last page an address can start
_EMPTY_RANGE = (0x1, 0x0)  # LO above HI: no pfn
_POOL = f"the page allocator's reserved pfns {ANON_POOL_START:#x}-{ANON_POOL_END - 1:#x}"


def _with(op: Op, **values: int) -> Op:
    return Op(op.name, tuple((k, values.get(k, v)) for k, v in op.args))


def _normal_vma(op: Op) -> tuple[Op, list[tuple[str, str]]]:
    """The `vma` op as mmap() could have made it: bounds page-aligned (start down, end up),
    and at least one page long. Each change as (problem, what the binary form does)."""
    start, end = op["start"], op["end"]
    notes = []
    if start & ~PAGE_MASK:
        start &= PAGE_MASK
        notes.append((f"vma start={op['start']:#x} is not page-aligned (mmap() hands out "
                      "page-aligned VMAs)", f"start rounded down to {start:#x}"))
    if end & ~PAGE_MASK:
        end = (end + PAGE_SIZE - 1) & PAGE_MASK & U64
        notes.append((f"vma end={op['end']:#x} is not page-aligned (mmap() hands out "
                      "page-aligned VMAs)", f"end rounded up to {end:#x}"))
    if start >= end:
        if start == _TOP_PAGE:
            start = _TOP_PAGE - PAGE_SIZE
        end = start + PAGE_SIZE
        notes.append((f"vma start={op['start']:#x} is not below end={op['end']:#x} (a VMA "
                      "holds at least one page)", f"the VMA is the page at {start:#x}"))
    return (_with(op, start=start, end=end) if notes else op), notes


def _clamp(lo: int, hi: int) -> tuple[int, int]:
    """An inclusive pfn range with the page allocator's reserved pfns taken out: the part
    below them if there is one, else the part above, else nothing."""
    if hi < ANON_POOL_START or lo >= ANON_POOL_END or lo > hi:
        return lo, hi
    if lo < ANON_POOL_START:
        return lo, ANON_POOL_START - 1
    if hi >= ANON_POOL_END:
        return ANON_POOL_END, hi
    return _EMPTY_RANGE


def _normal_memmap(op: Op) -> tuple[Op, list[tuple[str, str]]]:
    """The `memmap` op with no RAM, device memory or zero page among the page allocator's
    reserved pfns (`_clamp`; the zero page goes back to its default pfn)."""
    values, notes = {}, []
    for name in ("ram", "device"):
        lo, hi = _range(op[name])
        new = _clamp(lo, hi)
        if new != (lo, hi):
            values[name] = (new[1] << 32) | new[0]
            notes.append((f"memmap {name}={lo:#x}-{hi:#x} overlaps {_POOL} (COW copies)",
                          f"{name} taken as {new[0]:#x}-{new[1]:#x}"
                          + (" (none)" if new == _EMPTY_RANGE else "")))
    if ANON_POOL_START <= op["zero"] < ANON_POOL_END:
        values["zero"] = _DEFAULT_MEMMAP["zero"]
        notes.append((f"memmap zero={op['zero']:#x} is one of {_POOL}",
                      f"the zero page at its default pfn {values['zero']:#x}"))
    return (_with(op, **values) if values else op), notes


def check_scene(ops: tuple[Op, ...]) -> tuple[tuple[Op, ...], list[SceneIssue]]:
    """The scene checked against itself and the documented layout (README "The op
    language"): VMA bounds page-aligned, start below end; no RAM, device memory or zero
    page among the page allocator's reserved pfns. Returns the ops normalised (what
    `evaluate` runs) and the issues, in op order."""
    out, issues = list(ops), []
    for index, op in enumerate(ops):
        if op.name == "vma":
            out[index], notes = _normal_vma(op)
        elif op.name == "memmap":
            out[index], notes = _normal_memmap(op)
        else:
            continue
        issues += [SceneIssue(index, problem, normalised) for problem, normalised in notes]
    return tuple(out), issues


# --- the calls, as each side makes them ---------------------------------------------------------

def _pfn_t(op: Op):
    return __pfn_to_pfn_t(op["pfn"], _to_kernel(PFN_FLAG_BITS, op["flags"]))


def dax_view(ret: int) -> str:
    """What dax_iomap_pte_fault() (fs/dax.c, v4.13 and v4.14) makes of an insert's return:
    0 and -EBUSY ("somebody else faulted on the same PTE") are VM_FAULT_NOPAGE, -ENOMEM is
    VM_FAULT_OOM, any other error VM_FAULT_SIGBUS."""
    if ret in (0, -EBUSY):
        return "VM_FAULT_NOPAGE"
    if ret == -ENOMEM:
        return "VM_FAULT_OOM"
    return "VM_FAULT_SIGBUS"


def _call(k: Kernel, model: ModuleType, op: Op, dax: bool) -> str:
    """Make the call `op` on one side, as that side's kernel has it; the return as text.
    With `dax` (rule `ebusy_is_success`) vm_insert_mixed_mkwrite()'s return is the one its
    DAX caller sees; otherwise the raw return."""
    vma = k.vma
    name = op.name
    if name == "vm_insert_pfn":
        return errname(model.vm_insert_pfn(vma, op["addr"], op["pfn"]))
    if name == "vm_insert_pfn_prot":
        prot = pgprot_t(_to_kernel(PROT_BITS, op["prot"]))
        return errname(model.vm_insert_pfn_prot(vma, op["addr"], op["pfn"], prot))
    if name == "vm_insert_mixed":
        return errname(model.vm_insert_mixed(vma, op["addr"], _pfn_t(op)))
    if name == "vm_insert_mixed_mkwrite":
        if hasattr(model, "vm_insert_mixed_mkwrite"):
            ret = model.vm_insert_mixed_mkwrite(vma, op["addr"], _pfn_t(op))
            k.event(EventKind.RET, "vm_insert_mixed_mkwrite", ret=errname(ret))
            return dax_view(ret) if dax else errname(ret)
        return _mkwrite_equivalent(k, model, op)
    if name == "fault":
        flags = _to_kernel(FAULT_FLAG_BITS, op["flags"]) | FAULT_FLAG_USER
        return fault_result_name(do_user_fault(k, op["addr"], flags, model.handle_mm_fault))
    if name == "zap":
        model.zap_page_range_single(vma, op["addr"], op["len"])
        return "void"
    if name == "fail_alloc":
        k.fail_nth_alloc(op["nth"])
        return "void"
    raise AssertionError(f"not a call: {name}")


def _mkwrite_equivalent(k: Kernel, model: ModuleType, op: Op) -> str:
    """Rule `mkwrite_is_insert_then_write_fault`: what v4.13 did where v4.14 calls
    vm_insert_mixed_mkwrite(): vm_insert_mixed(), and when that succeeded as DAX sees it
    (0 or -EBUSY), the user's write access at `addr`, through the MMU: on the read-only
    entry DAX maps it faults and goes through do_wp_page() (dax_pfn_mkwrite →
    finish_mkwrite_fault → wp_page_reuse with the VMA's pfn_mkwrite); on an entry that
    already permits the store the MMU does it without a fault (it sets the hardware's
    accessed/dirty bits, never SOFT_DIRTY). A write access that never completes (ppc64
    hash: a stale HPTE) is what the caller sees: "livelock"."""
    ret = model.vm_insert_mixed(k.vma, op["addr"], _pfn_t(op))
    k.event(EventKind.RET, "vm_insert_mixed", ret=errname(ret))
    if ret in (0, -EBUSY):
        access = do_user_fault(k, op["addr"], FAULT_FLAG_WRITE | FAULT_FLAG_USER,
                               model.handle_mm_fault)
        if access is arch.ACCESS_LIVELOCK:
            return fault_result_name(access)
    return dax_view(ret)


# --- the chain of versions ----------------------------------------------------------------------

SEED = "b2770da64254"
F2C = "f2c57d91b0d9"
CAE = "cae85cb8add3"


@dataclass(frozen=True, slots=True)
class ChainVersion:
    """One version of the chain: its model, and the commit that makes it from the version
    before (None for the first)."""

    model: ModuleType
    commit: str | None
    subject: str
    upstream: str
    """Where upstream has the commit (its release; the stable 4.14 posting for the fixes)."""

    @property
    def name(self) -> str:
        return self.model.VERSION


CHAIN: tuple[ChainVersion, ...] = (
    ChainVersion(v4_13, None, "Linux v4.13, before the patch", "v4.13"),
    ChainVersion(v4_14, SEED, "mm: add vm_insert_mixed_mkwrite()", "v4.14-rc1"),
    ChainVersion(v4_14_f2c57d91b0d9, F2C, "mm: Fix warning in insert_pfn()",
                 "v4.20; stable 4.14 (AUTOSEL)"),
    ChainVersion(v4_14_f2c57d91b0d9_cae85cb8add3, CAE,
                 "mm/memory.c: fix modifying of page protection by insert_pfn()",
                 "v5.1, Fixes: b2770da64254; stable 4.14 (AUTOSEL), after f2c57d91b0d9"),
)
"""v4.13 → v4.14 (the seed) → v4.14 + f2c57d91b0d9 → v4.14 + f2c57d91b0d9 + cae85cb8add3:
each model is the one before with exactly one commit applied (`tests/test_model_siblings.py`).
Any two versions compare, the older as pre; the default pair is the seed's."""
VERSIONS = tuple(v.name for v in CHAIN)
SEED_PAIR = (v4_13.VERSION, v4_14.VERSION)


def chain_version(name: str) -> ChainVersion:
    """The chain's version called `name`; `InputError` if there is none."""
    for version in CHAIN:
        if version.name == name:
            return version
    raise InputError(f"insert_pfn has no version {name!r}; its versions: "
                     f"{', '.join(VERSIONS)}")


def commits_between(pre: str, post: str) -> tuple[str, ...]:
    """The commits that make `post` from `pre`, in order; `InputError` unless `pre` comes
    before `post` in the chain."""
    i, j = VERSIONS.index(chain_version(pre).name), VERSIONS.index(chain_version(post).name)
    if i >= j:
        raise InputError(f"{pre}..{post}: the pre version must come before the post version "
                         f"in the chain ({' → '.join(VERSIONS)})")
    return tuple(v.commit for v in CHAIN[i + 1:j + 1])


# --- the intended delta -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class IntendedRule:
    """One entry of the intended delta: the op it covers, what it allows or demands, the
    kernel source that justifies it, and the commit whose intent it is."""

    name: str
    op: str
    says: str
    source: str
    commit: str = SEED


INTENDED_RULES: tuple[IntendedRule, ...] = (
    IntendedRule(
        name="mkwrite_is_insert_then_write_fault",
        op="vm_insert_mixed_mkwrite",
        says="v4.14's vm_insert_mixed_mkwrite(vma, addr, pfn) is compared with v4.13's "
             "vm_insert_mixed(vma, addr, pfn) followed, when that succeeded (0 or -EBUSY), "
             "by the user write access at addr through the MMU, which on DAX's read-only "
             "entry faults and is served by do_wp_page() with the VMA's pfn_mkwrite "
             "(dax_pfn_mkwrite → finish_mkwrite_fault → wp_page_reuse). "
             "Returns, observable events and the state after the op must then be equal.",
        source="b2770da64254 commit message: \"If 'mkwrite' is set insert_pfn() will do the "
               "work that was previously done by wp_page_reuse() as part of the "
               "dax_pfn_mkwrite() call path\"; fs/dax.c v4.13 dax_insert_mapping() → "
               "vm_insert_mixed(), dax_pfn_mkwrite() → finish_mkwrite_fault(); mm/memory.c "
               "v4.13 do_wp_page() → wp_pfn_shared()."),
    IntendedRule(
        name="ebusy_is_success",
        op="vm_insert_mixed_mkwrite",
        says="For that op the return is compared as its DAX caller sees it: 0 and -EBUSY "
             "are both VM_FAULT_NOPAGE (v4.14 returns 0 where v4.13's vm_insert_mixed() "
             "returned -EBUSY for the same present entry), -ENOMEM is VM_FAULT_OOM, any "
             "other error VM_FAULT_SIGBUS.",
        source="fs/dax.c v4.13 and v4.14 dax_iomap_pte_fault(): \"-EBUSY is fine, somebody "
               "else faulted on the same PTE\"; the only callers of vm_insert_mixed_mkwrite() "
               "are DAX's (v4.14 fs/dax.c)."),
    IntendedRule(
        name="mkwrite_promise",
        op="vm_insert_mixed_mkwrite",
        says="When v4.14's vm_insert_mixed_mkwrite() returns 0, or reuses a present entry "
             "for the requested pfn whatever it returns (cae85cb8add3 returns -EBUSY there), "
             "the PTE at addr maps the requested pfn and is young and dirty, and writable "
             "when the VMA has VM_WRITE; anything less is divergent (intended effect "
             "missing), whatever v4.13 did. And it never makes an entry writable on a VMA "
             "without VM_WRITE (maybe_mkwrite; an entry a driver already made writable "
             "stays as it was). For a pair that starts at v4.14 or later (both sides have "
             "vm_insert_mixed_mkwrite), the promise is the pre side's as much as the post "
             "side's: only a promise the post side breaks where the pre side kept it counts.",
        source="b2770da64254: \"a PTE entry can be marked as dirty and writeable as it is "
               "first inserted\"; insert_pfn() out_mkwrite: pte_mkyoung, pte_mkdirty, "
               "maybe_mkwrite (include/linux/mm.h: RW iff VM_WRITE); cae85cb8add3: \"Use "
               "ptep_set_access_flags() instead to modify the pfn which is built to deal "
               "with modifying existing PTE\" (the reuse still upgrades the entry)."),
)
"""The seed's intended delta (b2770da64254): it applies to every pair that spans
v4.13 → v4.14."""

FIX_RULES: tuple[IntendedRule, ...] = (
    IntendedRule(
        name="zero_pfn_mismatch_is_silent",
        op="vm_insert_mixed_mkwrite",
        commit=F2C,
        says="On a present entry for another pfn both sides still return -EBUSY and leave "
             "the entry alone; the mismatch WARN_ON_ONCE no longer fires when the mapped pfn "
             "is the zero pfn. Nothing else changes. The warning is the same one, its "
             "condition spelt anew (WARN_ON_ONCE(!is_zero_pfn(pte_pfn(*pte))) inside the "
             "mismatch test): the two are compared as one, and, being a WARN_ON_ONCE, it "
             "prints on the post side at a mismatch with another pfn where the pre side "
             "had already spent its once on zero-pfn mismatches. Applies where the pre side "
             "runs the code the fix replaced (its mismatch WARN) and both take the mismatch "
             "path.",
        source="f2c57d91b0d9 commit message: \"So just restrict the warning only to the "
               "case when the PFN in PTE is not zero page\"; \"the race is otherwise "
               "harmless\"; its code comment: \"If they don't match, we are likely racing "
               "with block allocation and mapping invalidation so just skip the update\"."),
    IntendedRule(
        name="reuse_stores_with_ptep_set_access_flags",
        op="vm_insert_mixed_mkwrite",
        commit=CAE,
        says="On a present entry for the requested pfn, the upgraded entry (young, dirty, "
             "maybe writable) is stored with ptep_set_access_flags(), update_mmu_cache() "
             "only when that changed the entry, instead of set_pte_at() and "
             "update_mmu_cache(). Allowed to differ, in that op and at that address only: "
             "(1) the bits of the entry that the architecture's ptep_set_access_flags() "
             "keeps as they were where set_pte_at() rewrites them (ppc64 hash: "
             "H_PAGE_HASHPTE and the slot bits F_SECOND/F_GIX, which set_pte_filter() "
             "strips; ppc64 radix: _PAGE_SOFT_DIRTY, which radix__ptep_set_access_flags() "
             "does not OR in; x86-64 and arm64: none); (2) that page's HPTEs (ppc64 hash); "
             "(3) the pre side's reports from the old store: set_pte_at()'s VM_WARN_ON and "
             "stale-HPTE report, and the second HPTE of update_mmu_cache()'s preload "
             "(__hash_page_4K). The entry's difference is carried over later ops for as long "
             "as neither side changes that page's translation; anything else a later op "
             "shows is compared as usual. Applies where the pre side runs the code the fix "
             "replaced (the reuse through set_pte_at).",
        source="cae85cb8add3 commit message: \"on some architectures set_pte_at() cannot "
               "cope with a situation where there is already some (different) valid entry "
               "present. Use ptep_set_access_flags() instead to modify the pfn which is built "
               "to deal with modifying existing PTE.\"; the reported warning: "
               "\"VM_WARN_ON(pte_hw_valid(*ptep) && !pte_protnone(*ptep))\"; the arch hooks: "
               "arch/powerpc/mm/pgtable.c set_pte_at()/set_pte_filter(), asm/book3s/64/hash.h "
               "hash__ptep_set_access_flags(), asm/book3s/64/radix.h "
               "radix__ptep_set_access_flags(), arch/x86/mm/pgtable.c and "
               "arch/arm64/mm/fault.c ptep_set_access_flags()."),
    IntendedRule(
        name="reuse_returns_ebusy",
        op="vm_insert_mixed_mkwrite",
        commit=CAE,
        says="On that reuse path the raw return is -EBUSY where it was 0: the fix jumps to "
             "out_unlock with retval still -EBUSY. Only that (0 on the pre side, -EBUSY on "
             "the post side, both sides reusing the entry); DAX, the only caller, sees "
             "VM_FAULT_NOPAGE either way. Not stated in the message: its code does it, and "
             "it changes nothing a caller sees.",
        source="cae85cb8add3 as posted for stable 4.14 (AUTOSEL, linux-mm archive): the "
               "present case ends in \"goto out_unlock\" after ptep_set_access_flags(), with "
               "retval = -EBUSY from before the pte_none() test (upstream's insert_pfn() of "
               "v5.1 returns VM_FAULT_NOPAGE on both paths); fs/dax.c dax_iomap_pte_fault(): "
               "\"-EBUSY is fine\"."),
)
"""The fixes' intended deltas, each from its commit message: they apply to every pair that
spans the fix."""

RULES = INTENDED_RULES + FIX_RULES
RULED_OPS = frozenset(rule.op for rule in RULES)
# __vm_insert_mixed's choice of path (insert_page or insert_pfn) is part of every signature.
PATH_BRANCHES = ("vm_insert_mixed:",)


def rules_between(pre: str, post: str) -> tuple[IntendedRule, ...]:
    """The intended delta of a pair: the rules of the commits between them."""
    commits = commits_between(pre, post)
    return tuple(rule for rule in RULES if rule.commit in commits)


def _entry_at(k: Kernel, op: Op) -> pte_t:
    return k.mm.pgtable.get(_vpn(op), pte_t(0))


def _vpn(op: Op) -> int:
    return (op.get("addr", 0) & U64) >> PAGE_SHIFT


def promise_diffs(k: Kernel, op: Op, raw_ret: int | None, before: pte_t,
                  reused: bool = False) -> list[str]:
    """Rule `mkwrite_promise`, checked on a side after a mkwrite insert: writable only
    through maybe_mkwrite (never on a VMA without VM_WRITE, unless the entry already was),
    and after a 0 return, or a reuse of the present entry whatever the return, the
    requested pfn, young, dirty, and writable with VM_WRITE."""
    entry = _entry_at(k, op)
    if (not k.vma.vm_flags & VM_WRITE and pte_write(entry) and not pte_write(before)
            and entry.val):
        return ["promise:pte.RW_without_VM_WRITE"]
    if raw_ret != 0 and not reused:
        return []
    missing = []
    if not entry.val:
        return ["promise:pte.presence"]
    if pte_pfn(entry) != op["pfn"] & ((1 << 40) - 1):
        missing.append("promise:pte.pfn")
    if not pte_young(entry):
        missing.append("promise:pte.ACCESSED")
    if not pte_dirty(entry):
        missing.append("promise:pte.DIRTY")
    if k.vma.vm_flags & VM_WRITE and not pte_write(entry):
        missing.append("promise:pte.RW")
    return missing


# --- the oracle ----------------------------------------------------------------------------------

def run_op(k: Kernel, model: ModuleType, op: Op, dead: bool, dax: bool = True) -> OpRun:
    """One call on one side: its return, and the events and branch ids it produced. A BUG
    ends the call (and the task: later ops on that side are `dead`)."""
    if dead:
        return OpRun(ret="dead", oops=True)
    e0, b0 = len(k.events), len(k.branches)
    try:
        ret = _call(k, model, op, dax)
        oops = False
    except Oops:
        ret, oops = "BUG", True
    return OpRun(ret=ret, events=k.events[e0:], branches=k.branches[b0:], oops=oops)


def _raw_ret(run: OpRun) -> int | None:
    for e in run.events:
        if e.kind is EventKind.RET and e.function == "vm_insert_mixed_mkwrite":
            return {"0": 0}.get(e.get("ret"), -1)
    return None


REUSE = "insert_pfn:present:mkwrite:reuse"
MISMATCH = "insert_pfn:present:mkwrite:pfn_mismatch"
MISMATCH_ZERO_PFN = "insert_pfn:present:mkwrite:pfn_mismatch:zero_pfn"
REUSE_STORED = ("insert_pfn:present:mkwrite:reuse:changed",
                "insert_pfn:present:mkwrite:reuse:unchanged")
SEED_WARN = ("warn", "insert_pfn", "pte_pfn(*pte) != pfn_t_to_pfn(pfn)")
F2C_WARN = ("warn", "insert_pfn", "!is_zero_pfn(pte_pfn(*pte))")
OLD_STORE_REPORTS = ("set_pte_at", "__hash_page_4K")
"""Functions whose reports come from the store cae85cb8add3 replaced: set_pte_at() (its
VM_WARN_ON, its filter's stale HPTE) and update_mmu_cache()'s hash preload."""
STORE_KEEPS = {
    Arch.x86_64: frozenset(),
    Arch.arm64: frozenset(),
    Arch.ppc64: frozenset({"pte.HASHPTE", "pte.F_SECOND", "pte.F_GIX0", "pte.F_GIX1",
                           "pte.F_GIX2"}),
    Arch.ppc64_radix: frozenset({"pte.SOFT_DIRTY"}),
}
"""Per architecture, the PTE bits ptep_set_access_flags() leaves as they were where
set_pte_at() rewrites them (rule `reuse_stores_with_ptep_set_access_flags`)."""


@dataclass(slots=True)
class _Sides:
    """One op on both sides, as the rules see it: the observables still to compare, and
    what the rules accounted for."""

    a: OpRun
    b: OpRun
    events_a: list[tuple]
    events_b: list[tuple]
    ret_a: str
    ret_b: str
    skip: set[int]
    applied: list[str]
    carried: set[int]


def _fired(run: OpRun, warn: tuple) -> list:
    return [e for e in run.events if e.kind is EventKind.WARN
            and (e.kind.value, e.function, e.get("condition")) == warn]


def _judge_zero_pfn_mismatch(sides: _Sides, kpre: Kernel, kpost: Kernel, op: Op) -> None:
    """Rule `zero_pfn_mismatch_is_silent` (f2c57d91b0d9)."""
    if MISMATCH not in sides.a.branches or MISMATCH not in sides.b.branches:
        return
    pre_warn = _fired(sides.a, SEED_WARN)
    if not pre_warn:
        return  # the pre side does not run the code the fix replaced
    sides.events_b = [SEED_WARN if e == F2C_WARN else e for e in sides.events_b]
    if MISMATCH_ZERO_PFN in sides.b.branches and SEED_WARN in sides.events_a \
            and SEED_WARN not in sides.events_b:
        sides.events_a.remove(SEED_WARN)
        sides.applied.append("zero_pfn_mismatch_is_silent")
    elif SEED_WARN in sides.events_b and SEED_WARN not in sides.events_a \
            and not any(e.get("printed", True) for e in pre_warn):
        sides.events_b.remove(SEED_WARN)
        sides.applied.append("zero_pfn_mismatch_is_silent")


def _judge_reuse_store(sides: _Sides, kpre: Kernel, kpost: Kernel, op: Op,
                       raw_returns: bool) -> None:
    """Rules `reuse_stores_with_ptep_set_access_flags` and `reuse_returns_ebusy`
    (cae85cb8add3)."""
    if REUSE not in sides.a.branches or any(b in sides.a.branches for b in REUSE_STORED):
        return  # the pre side does not run the store the fix replaced
    if not any(b in sides.b.branches for b in REUSE_STORED):
        return
    vpn = _vpn(op)
    entry = set(entry_diff(kpre, kpost, vpn))
    allowed = STORE_KEEPS[kpre.config.arch] | {"hpte.presence", "hpte.pfn", "hpte.perm"}
    rule = "reuse_stores_with_ptep_set_access_flags"
    if entry and entry <= allowed:
        sides.skip.add(vpn)
        sides.carried.add(vpn)
        sides.applied.append(rule)
    reports = [e for e in sides.events_a
               if e[1] in OLD_STORE_REPORTS and e not in sides.events_b]
    if reports:
        sides.events_a = [e for e in sides.events_a if e not in reports]
        if rule not in sides.applied:
            sides.applied.append(rule)
    if raw_returns and (sides.ret_a, sides.ret_b) == ("0", errname(-EBUSY)):
        sides.ret_b = sides.ret_a
        sides.applied.append("reuse_returns_ebusy")


def compare_op(target: "InsertPfnTarget", kpre: Kernel, kpost: Kernel, op: Op, index: int,
               dead_pre: bool, dead_post: bool, carried: frozenset[int] = frozenset(),
               ) -> tuple[OpRun, OpRun, Finding | None, tuple[str, ...], frozenset[int]]:
    """Run one call on both sides and compare what can be observed: returns, observable
    events, state, and for the ruled op the pair's intended-delta rules. `carried`: pages
    whose translation differs as a rule allowed in an earlier op, not compared while
    neither side changes it. Returns both runs, the finding if the sides differ beyond the
    rules, the rules the op matched through, and the pages carried on."""
    names = target.rule_names
    seed = "mkwrite_is_insert_then_write_fault" in names
    ruled = op.name in RULED_OPS
    before_pre = _entry_at(kpre, op) if ruled else pte_t(0)
    before_post = _entry_at(kpost, op) if ruled else pte_t(0)
    saved = {vpn: (entry_key(kpre, vpn), entry_key(kpost, vpn)) for vpn in carried}
    a = run_op(kpre, target.pre_model, op, dead_pre, dax=seed)
    b = run_op(kpost, target.post_model, op, dead_post, dax=seed)
    dead_pre, dead_post = dead_pre or a.oops, dead_post or b.oops
    kept = {vpn for vpn, key in saved.items()
            if (entry_key(kpre, vpn), entry_key(kpost, vpn)) == key}
    sides = _Sides(a, b, observables(a.events), observables(b.events), a.ret, b.ret,
                   set(kept), [], set(kept))
    promises: list[str] = []
    if ruled and not (dead_pre and dead_post):
        if seed:
            sides.applied.append("mkwrite_is_insert_then_write_fault")
        if "zero_pfn_mismatch_is_silent" in names:
            _judge_zero_pfn_mismatch(sides, kpre, kpost, op)
        if "reuse_stores_with_ptep_set_access_flags" in names:
            _judge_reuse_store(sides, kpre, kpost, op, raw_returns=not seed)
        post_promise = promise_diffs(kpost, op, _raw_ret(b), before_post, REUSE in b.branches)
        if seed:
            promises = post_promise
        else:
            pre_promise = promise_diffs(kpre, op, _raw_ret(a), before_pre, REUSE in a.branches)
            promises = [d for d in post_promise if d not in pre_promise]
    diffs = []
    if sides.ret_a != sides.ret_b:
        diffs.append(f"ret:{a.ret}->{b.ret}")
    diffs += events_diff(sides.events_a, sides.events_b)
    diffs += state_diff(kpre, kpost, frozenset(sides.skip))
    diffs += promises
    applied = tuple(sides.applied)
    if not diffs:
        return a, b, None, applied, frozenset(sides.carried)
    finding = Finding(index, op.name, diffs,
                      signature(op.name, diffs, a.branches, b.branches, PATH_BRANCHES),
                      family(op.name, diffs), applied[0] if applied else None,
                      sorted(set(a.branches)), sorted(set(b.branches)))
    return a, b, finding, (), frozenset(sides.carried)


def _pte_text(entry: pte_t) -> str:
    if not entry.val:
        return "none"
    decoded = entry.to_json()
    return f"pfn {decoded['pfn']:#x} {decoded['flags']}"


def _pte_change(old: pte_t, new: pte_t) -> str:
    """The new entry: the bits set and cleared when it maps the same pfn, else whole."""
    if not (old.val and new.val) or pte_pfn(old) != pte_pfn(new):
        return _pte_text(new)
    before = old.to_json()["flags"].split("|")
    after = new.to_json()["flags"].split("|")
    return " ".join([f"+{b}" for b in after if b not in before and b != "0"]
                    + [f"-{b}" for b in before if b not in after and b != "0"])


@functools.cache
def _known_toml() -> dict:
    """known.toml beside this module, read once."""
    return tomllib.loads(resources.files(__package__).joinpath("known.toml").read_text())


SHARED_MODELS = (mm, arch)
"""Kernel modules both version models call whose branches record ids of their own: the mm
helpers, and the architecture code (the MMU step and ppc64's hash MMU)."""


class InsertPfnTarget(MutatesPostModel):
    """The insert_pfn target (satisfies `fuzzplug.targets.Target` and `Versioned`): by
    default v4.13 against v4.14, the seed; `with_pair` compares any two versions of the
    chain."""

    name = "insert_pfn"
    description = ("mm: add vm_insert_mixed_mkwrite() (b2770da64254): insert_pfn and "
                   "__vm_insert_mixed, v4.13 vs v4.14, and the fixes upstream took after it")
    schema = SCHEMA
    pre_model = v4_13
    post_model = v4_14
    pair = SEED_PAIR
    rules = INTENDED_RULES

    @property
    def rule_names(self) -> frozenset[str]:
        return frozenset(rule.name for rule in self.rules)

    def versions(self) -> tuple[str, ...]:
        """The chain, oldest first (`CHAIN`)."""
        return VERSIONS

    def with_pair(self, pre: str, post: str) -> "InsertPfnTarget":
        """A copy comparing chain version `pre` with `post`, under the rules of the commits
        between them."""
        rules = rules_between(pre, post)
        clone = copy.copy(self)
        clone.pre_model = chain_version(pre).model
        clone.post_model = chain_version(post).model
        clone.pair = (pre, post)
        clone.rules = rules
        return clone

    def commit_of(self, version: str) -> str | None:
        """The commit that makes `version` from its predecessor in the chain."""
        found = chain_version(version)
        return None if found.commit is None else f'{found.commit} ("{found.subject}")'

    def evaluate(self, ops: tuple[Op, ...]) -> Outcome:
        """The oracle's outcome for `ops`: `reference_evaluate`'s, computed by the fast
        path (`fast.py`, proven equal by tests/test_fast_eval.py)."""
        return _FAST.evaluate(self.pre_model, self.post_model, self.rule_names, ops)

    def reference_evaluate(self, ops: tuple[Op, ...]) -> Outcome:
        """The oracle as it reads best: boot both kernels, run each call on both sides
        (`compare_op`), stop at the first difference beyond the rules."""
        scene = Scene.from_ops(ops)
        kpre, kpost = scene.boot(self.pre_model), scene.boot(self.post_model)
        pre, post = SideRecord(kpre.version, kpre), SideRecord(kpost.version, kpost)
        finding = None
        rules_applied: list[str] = []
        dead_pre = dead_post = False
        carried: frozenset[int] = frozenset()
        calls = [op for op in ops if not SCHEMA.spec(op.name).scene]
        for index, op in enumerate(calls):
            a, b, finding, applied, carried = compare_op(self, kpre, kpost, op, index,
                                                         dead_pre, dead_post, carried)
            dead_pre, dead_post = dead_pre or a.oops, dead_post or b.oops
            pre.add(index, a)
            post.add(index, b)
            if finding is not None:
                break
            rules_applied.extend(applied)
        return Outcome(Verdict.of(finding, rules_applied), finding, pre, post, rules_applied)

    def branch_ids(self) -> dict[str, frozenset[str]]:
        from fuzzplug.core.semcov import declared_branch_ids

        return {m.VERSION: declared_branch_ids(m, *SHARED_MODELS)
                for m in (self.pre_model, self.post_model)}

    def known_findings(self) -> dict[str, dict]:
        """The triaged signatures of this pair (`known.toml`: a finding without `pairs`
        belongs to the seed's pair)."""
        return known_findings_of(pair_text(*self.pair))

    def known_causes(self) -> dict[str, Cause]:
        """The `[[cause]]`s of known.toml that explain divergences of this pair (the
        `KnownCauses` capability; a cause without `pairs` is the seed pair's)."""
        return known_causes_of(pair_text(*self.pair))

    def seeds_dir(self) -> Path | None:
        return corpus_dir(self.name)

    def check_scene(self, ops: tuple[Op, ...]) -> tuple[tuple[Op, ...], list[SceneIssue]]:
        """The `SceneChecked` capability: `check_scene` above."""
        return check_scene(ops)

    def describe_event(self, event: dict) -> str | None:
        """The `Traced` capability: an architecture hook's old and new entry as pfn and
        flags, as `--json`'s state shows PTEs (`pte_t.to_json`): `none -> pfn 0x80
        PRESENT|...` for a new entry, `pfn 0x80 PRESENT|... -> +RW +DIRTY` for a change of
        bits; other events are the trace's own."""
        if event.get("kind") != "arch" or "old" not in event:
            return None
        old, new = pte_t(event["old"]), pte_t(event["new"])
        head = f"arch {event['function']} {event.get('addr', 0):#x}"
        if old.val == new.val:
            return head
        return f"{head}: {_pte_text(old)} -> {_pte_change(old, new)}"

    # --- optional capabilities (fuzzplug.targets: SmallDomain, Steppable, Mutable,
    # --- FarmTuned, Featured, Versioned), each in a module of its own beside this one

    farm_options = FarmOptions(max_len=512, timeout=10)
    """max_len: room for about 48 ops with their args (an op with all args is 5 to 20
    bytes); longer inputs only repeat ops. timeout: one input runs both models in
    milliseconds; ten seconds catches a hang without flagging a slow machine."""

    def small_domain(self):
        from fuzzplug.targets.insert_pfn.domain import small_domain

        return small_domain()

    def stepper(self, scene_ops: tuple[Op, ...], renaming=None):
        from fuzzplug.targets.insert_pfn.stepper import InsertPfnStepper

        return InsertPfnStepper(self, scene_ops, renaming=renaming)

    def features(self, ops: tuple[Op, ...], outcome: Outcome):
        """The semantic features of one evaluation (`features.py`): the generic ones and a
        coarse class of the states reached; computed by the fast path (`fast.features`,
        proven equal to `features.features` by tests/test_fast_eval.py)."""
        from fuzzplug.targets.insert_pfn.fast import features

        return features(_FAST.scene_names, ops, outcome)

    def mutants(self):
        """The mutants whose edits apply to this pair's post model (all of them for the
        seed's pair; fewer for a fixed model, where a fix rewrote the text they edit)."""
        from fuzzplug.selftest.mutants import mutate_source
        from fuzzplug.targets.insert_pfn.mutants import MUTANTS

        if self.post_model is v4_14:
            return MUTANTS
        source = inspect.getsource(self.post_model)
        out = []
        for mutant in MUTANTS:
            try:
                mutate_source(source, mutant)
            except AssertionError:
                continue
            out.append(mutant)
        return tuple(out)



def pair_text(pre: str, post: str) -> str:
    return f"{pre}..{post}"


def known_findings_of(pair: str) -> dict[str, dict]:
    """The known findings of one pair (`PRE..POST`), signature → record with its
    `cause_records`."""
    data = _known_toml()
    causes = {c["id"]: c for c in data.get("cause", [])}
    seed = pair_text(*SEED_PAIR)
    return {f["signature"]: dict(f, cause_records=[causes[c] for c in f["causes"]])
            for f in data.get("finding", []) if pair in f.get("pairs", [seed])}


def known_causes_of(pair: str) -> dict[str, Cause]:
    """The causes that explain divergences of one pair by their observables (`pairs`, else
    the seed's pair), and every cause a finding of that pair names."""
    data = _known_toml()
    seed = pair_text(*SEED_PAIR)
    named = {c for f in data.get("finding", []) if pair in f.get("pairs", [seed])
             for c in f["causes"]}
    causes = causes_from_toml(data)
    listed = {c["id"] for c in data.get("cause", []) if pair in c.get("pairs", [seed])}
    return {cid: cause for cid, cause in causes.items() if cid in listed | named}


from fuzzplug.targets.insert_pfn.fast import FastEvaluation  # noqa: E402 (needs this module)

_FAST = FastEvaluation(sys.modules[__name__])
TARGET = InsertPfnTarget()

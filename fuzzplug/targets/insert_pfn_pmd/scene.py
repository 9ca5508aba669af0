"""insert_pfn_pmd's scene: what `config` and `mmap` set up, booting it on a version model,
and its normalisation (`check_scene`, the `SceneChecked` capability).

The layout: the mapping is shared (both backings refuse or fall back on private ones), its
range page-aligned and at most 4 GiB below 2^47, its file offset below 2^20 pages; the
fs-DAX file is exactly as long as the mapping covers (`pgoff` + its pages). The
architectures are x86_64, ppc64 (hash) and ppc64_radix (arm64 has no DAX PMD support in
v5.0's device DAX and is normalised to x86_64), with DEVMAP=1 (both backings need devmap
pfns: vmf_insert_pfn_pmd() BUG_ONs otherwise on a VMA without VM_MIXEDMAP);
HAVE_PTE_SPECIAL and PAT change nothing at the PMD level (device memory is write-back).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from fuzzplug.core.opslang import Op
from fuzzplug.core.opslang.text import format_text
from fuzzplug.kernel.huge_state import HugeKernel, dax_file, dax_region
from fuzzplug.kernel.huge_types import PMD_SIZE, PUD_SIZE
from fuzzplug.kernel.state import Arch, Config
from fuzzplug.kernel.types import (
    PAGE_MASK,
    PAGE_SHARED,
    PAGE_READONLY,
    PAGE_SHIFT,
    VM_MAYREAD,
    VM_MAYWRITE,
    VM_READ,
    VM_SHARED,
    VM_WRITE,
)
from fuzzplug.targets import SceneIssue
from fuzzplug.targets.insert_pfn_pmd.schema import BACKINGS, SCHEMA

ARCHES = (Arch.x86_64, Arch.ppc64, Arch.ppc64_radix)
ADDR_LIMIT = 1 << 47
MAX_LEN = 4 << 30
MAX_PGOFF = 1 << 20


@dataclass(frozen=True, slots=True)
class Scene:
    """What the scene ops set up, normalised."""

    config: Config
    backing: str
    start: int
    end: int
    pgoff: int
    write: bool
    hole: bool
    dirty: bool

    @classmethod
    def from_ops(cls, ops: tuple[Op, ...]) -> "Scene":
        normal, _ = check_scene(ops)
        by = {op.name: op for op in normal if op.name in ("config", "mmap")}
        cfg = by.get("config") or Op.make(SCHEMA, "config")
        m = by.get("mmap") or Op.make(SCHEMA, "mmap")
        config = Config(DEVMAP=True, arch=list(Arch)[cfg["arch"]],
                        DEBUG_VM=bool(cfg["DEBUG_VM"]))
        return cls(config, BACKINGS[m["backing"]], m["start"], m["end"], m["pgoff"],
                   bool(m["write"]), bool(m["hole"]), bool(m["dirty"]))

    def boot(self, model: ModuleType) -> HugeKernel:
        vm_flags = VM_READ | VM_MAYREAD | VM_SHARED
        if self.write:
            vm_flags |= VM_WRITE | VM_MAYWRITE
        device = self.backing.startswith("devdax")
        # vm_get_page_prot(): a shared writable device-DAX VMA is writable; a file DAX VMA
        # is write-notified (->page_mkwrite, ->pfn_mkwrite): read-only, as any read mapping.
        prot = PAGE_SHARED if device and self.write else PAGE_READONLY
        region = file = None
        if device:
            region = dax_region(align=PMD_SIZE if self.backing == "devdax_2m" else PUD_SIZE)
        else:
            nr_pages = self.pgoff + ((self.end - self.start) >> PAGE_SHIFT)
            extents = -(-nr_pages // (PMD_SIZE >> PAGE_SHIFT))
            file = dax_file(nr_pages=nr_pages,
                            holes=set(range(extents)) if self.hole else set(),
                            inode_dirty=self.dirty)
        return HugeKernel(self.config, model, vm_start=self.start, vm_end=self.end,
                          vm_flags=vm_flags, vm_pgoff=self.pgoff, vm_page_prot=prot,
                          region=region, file=file, vm_sync=self.backing == "fsdax_sync")


def _with(op: Op, **values: int) -> Op:
    return Op(op.name, tuple((k, values.get(k, v)) for k, v in op.args))


def _normal_config(op: Op) -> tuple[Op, list[str]]:
    problems = []
    values = {}
    if op["arch"] >= len(Arch) or list(Arch)[op["arch"]] not in ARCHES:
        problems.append("arch: insert_pfn_pmd runs x86_64, ppc64 and ppc64_radix")
        values["arch"] = 0
    if not op["DEVMAP"]:
        problems.append("DEVMAP=0: DAX huge entries need devmap pfns")
        values["DEVMAP"] = 1
    return _with(op, **values), problems


def _normal_mmap(op: Op) -> tuple[Op, list[str]]:
    problems = []
    start, end, pgoff = op["start"], op["end"], op["pgoff"]
    if start & ~PAGE_MASK or end & ~PAGE_MASK:
        problems.append("start and end must be page aligned")
        start, end = start & PAGE_MASK, end & PAGE_MASK
    if not start < end <= ADDR_LIMIT or end - start > MAX_LEN or not start:
        problems.append("the range must be non-empty, at most 4 GiB, in (0, 2^47]")
        start = min(start, ADDR_LIMIT - MAX_LEN) or PUD_SIZE
        end = start + min(max(end - start, PMD_SIZE), MAX_LEN) if end > start else start + PUD_SIZE
    if pgoff >= MAX_PGOFF:
        problems.append("pgoff must be below 2^20")
        pgoff %= MAX_PGOFF
    if op["backing"] >= len(BACKINGS):
        problems.append("backing: one of " + ", ".join(BACKINGS))
    values = dict(start=start, end=end, pgoff=pgoff, backing=op["backing"] % len(BACKINGS),
                  write=op["write"] % 2, hole=op["hole"] % 2, dirty=op["dirty"] % 2)
    return _with(op, **values), problems


def check_scene(ops: tuple[Op, ...]) -> tuple[tuple[Op, ...], list[SceneIssue]]:
    """The ops with their scene normalised, and the issues found (the text loader refuses
    a scene with any)."""
    out, issues = [], []
    for index, op in enumerate(ops):
        if op.name == "config":
            new, problems = _normal_config(op)
        elif op.name == "mmap":
            new, problems = _normal_mmap(op)
        else:
            new, problems = op, []
        for problem in problems:
            issues.append(SceneIssue(index, problem, format_text(SCHEMA, (new,)).strip()))
        out.append(new)
    return tuple(out), issues

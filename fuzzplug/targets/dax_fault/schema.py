"""dax_fault's op language and its scene: what the ops mean and how any input is normalised.

Scene ops (each at most once, before the first call; a missing one takes its defaults):

    config HAVE_PTE_SPECIAL=1 DEVMAP=1 arch=x86_64 DEBUG_VM=0 PAT=1
    memmap ram=0x110-0x11f device=0x180-0x18f zero=0x101
    file pages=4 blocks=p0|p2 token=11 i_size=4
    vma start=0x100000 pages=4 pgoff=0 shared=1 write=1
    vma2 start=0x108000 pages=0 ...     (a second mapping; pages=0: none)
    vma3 start=0x110000 pages=0 ...     (a third)

Calls (any number, in order):

    load addr=0x100000                 a user load (daxfile.user_load)
    store addr=0x100000 val=0x55       a user store of token val (daxfile.user_store)
    write page=0 pages=1 val=0x40      pwrite64() of pages pages at file page page
    punch_hole page=0 pages=1          fallocate(PUNCH_HOLE|KEEP_SIZE)
    truncate pages=2                   ftruncate()
    fsync                              fsync()
    msync addr=0x100000 len=0x1000     msync(MS_SYNC)
    munmap addr=0x100000 len=0x1000    munmap()
    fail_alloc nth=1 site=any          the nth next allocation (at `site`, or at any) fails

Tasks and the schedule (issue #13; `fuzzplug.targets.dax_fault.tasks`):

    task id=1                          the calls after it are task 1's (ids 0 to MAX_TASKS - 1;
                                       before any `task` line, calls are task 0's)
    sched task=1 steps=2               a run of the schedule: task 1 takes up to 2 steps
                                       (at most MAX_RUN_STEPS; 0: a run of none, skipped)

    pct prio=t1_t0_t2 depth=3 at1=17 at2=13
                                       a PCT schedule (`fuzzplug.targets.dax_fault.pct`) for
                                       the steps the `sched` runs leave: the tasks' starting
                                       priorities, highest first, and depth-1 change points
                                       (after the run's at<i>-th step, the task that took it
                                       drops to priority i, below every starting one)

    Defaults: `task id=1`, `sched task=0 steps=1`, `pct prio=t0_t1_t2 depth=1`, a missing
    `at<i>` is 1; the text form writes the ids, steps, prio and depth always. Text
    refuses an id of MAX_TASKS or more, more than MAX_RUN_STEPS steps, and a `task` line
    naming the task the calls already go to, a depth outside 1..MAX_PCT_DEPTH, a change
    point it uses outside 1..MAX_PCT_STEP, and a second `pct` line (`tasks.check_tasks`);
    binary normalises them.

An input whose calls all belong to one task runs as before (sequentially, `task`/`sched`
lines ignored): every one-task input keeps its meaning and verdict. With calls in two or
more tasks, each task runs its calls in order on its own CPU and the `sched` runs, in input
order, decide which task takes each step; when they run out, the `pct` line decides, and
without one, round robin (see `fuzzplug.runtime.sched.FollowSchedule`).

Op ids are append-only (`fuzzplug.core.opslang`). The binary form is total; the scene is
normalised deterministically (`Scene.from_ops`, documented there), so every byte string is
a valid, runnable scene. Addresses are bytes, file offsets and lengths are pages, tokens
are the data a page holds (`fuzzplug.runtime.physmem`).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

from fuzzplug.core.opslang import ArgKind, ArgSpec, Op, OpSpec, Schema
from fuzzplug.explore.configop import BOOL, config_op
from fuzzplug.explore.daxfile import DaxScene, VmaSpec
from fuzzplug.kernel.state import ANON_POOL_START, Arch, Config, Memmap
from fuzzplug.kernel.types import PAGE_MASK, PAGE_SIZE

DEFAULT_START = 0x100000
MAX_FILE_PAGES = 8
"""The file's layout covers at most this many pages (`file pages=`)."""
MAX_PAGES = 16
"""Longest VMA, write, punch and truncate, in pages; and the largest i_size and pgoff."""
MAX_FILE_OFFSET = 64
"""write/punch_hole/truncate offsets are reduced below this many pages."""
MAX_LEN = 64 * PAGE_SIZE
"""msync and munmap lengths are clamped to this many bytes."""
USER_TOP = 1 << 47
"""x86-64's TASK_SIZE (4-level paging): a VMA lies below it."""
RANGE_SPAN = 32
"""A memmap range holds at most this many pfns."""
PFN_LIMIT = ANON_POOL_START
"""Memmap pfns lie below the mm models' anonymous pool."""
FIRST_MIB = 0x100
"""Memmap pfns lie above the first MiB: no kernel's zero page (in the kernel image) or pmem
lives there, and x86's PAT treats memory there as not RAM (lookup_memtype(): UC-), which
would give the zero page's PTE a cache mode no real kernel gives it."""

MAX_TASKS = 3
"""`task id=` is reduced modulo this: at most three tasks (CPUs)."""
MAX_RUN_STEPS = 64
"""`sched steps=` is clamped to this many steps."""
TASK_OPS = frozenset({"task", "sched", "pct"})
"""The ops that say which task the calls belong to and how the tasks interleave: neither
scene ops nor calls of a task."""

ALLOC_SITES = ("any", "pud_alloc", "pmd_alloc", "pte_alloc", "anon_vma_prepare",
               "alloc_page_vma", "radix_tree_preload", "__page_cache_alloc")
"""`fail_alloc site=`: `any` counts every allocation (the mm models' numbering), the others
only the allocations at that site (`Kernel.should_fail_alloc` site names). The versions
allocate differently (v4.13 allocates a page-cache page and two more tree preloads per
hole read), so `any` numbering hits different sites after a hole read; a named site hits
the same allocation on both sides whenever both make it (rule `fewer_allocations`)."""

PAGE_BITS = tuple(f"p{i}" for i in range(MAX_FILE_PAGES))
PRIORITIES = tuple(itertools.permutations(range(MAX_TASKS)))
"""`pct prio=`: the orders of the tasks' starting priorities, highest first."""
PRIO_NAMES = tuple("_".join(f"t{tid}" for tid in order) for order in PRIORITIES)
"""`pct prio=t1_t0_t2`: task 1 highest, then task 0, then task 2."""
MAX_PCT_DEPTH = 4
"""`pct depth=` is 1 to this (so 0 to 3 change points, `at1` to `at3`)."""
MAX_PCT_STEP = 64
"""A change point `pct at<i>=` is a step index from 1 to this."""


def _addr(name: str = "addr", default: int = DEFAULT_START) -> ArgSpec:
    return ArgSpec(name, ArgKind.INT, default, hex=True, addr=True, always=True)


def _vma(name: str, op_id: int, start: int, pages: int) -> OpSpec:
    return OpSpec(name, op_id, scene=True, doc="an mmap() of the file (pages=0: none)", args=(
        _addr("start", start),
        ArgSpec("pages", ArgKind.INT, pages),
        ArgSpec("pgoff", ArgKind.INT, 0),
        ArgSpec("shared", ArgKind.CHOICE, 1, names=BOOL),
        ArgSpec("write", ArgKind.CHOICE, 1, names=BOOL),
    ))


SCHEMA = Schema(
    name="dax_fault",
    version=1,
    max_ops=40,
    ops=(
        config_op(0),
        OpSpec("memmap", 1, scene=True, doc="RAM (hole pages), pmem (the device), zero page",
               args=(
                   ArgSpec("ram", ArgKind.RANGE, (0x11F << 32) | 0x110),
                   ArgSpec("device", ArgKind.RANGE, (0x18F << 32) | 0x180),
                   ArgSpec("zero", ArgKind.INT, 0x101, hex=True),
               )),
        OpSpec("file", 2, scene=True, doc="the file: blocks and holes, tokens, i_size", args=(
            ArgSpec("pages", ArgKind.INT, 4),
            ArgSpec("blocks", ArgKind.FLAGS, 0b0101, names=PAGE_BITS),
            ArgSpec("token", ArgKind.INT, 11),
            ArgSpec("i_size", ArgKind.INT, 4),
        )),
        _vma("vma", 3, DEFAULT_START, 4),
        _vma("vma2", 4, DEFAULT_START + 8 * PAGE_SIZE, 0),
        _vma("vma3", 5, DEFAULT_START + 16 * PAGE_SIZE, 0),
        OpSpec("load", 6, doc="a user load", args=(_addr(),)),
        OpSpec("store", 7, doc="a user store of token val", args=(
            _addr(), ArgSpec("val", ArgKind.INT, 0x55, hex=True))),
        OpSpec("write", 8, doc="pwrite64() of pages pages (tokens val, val+1...) at page",
               args=(ArgSpec("page", ArgKind.INT, 0), ArgSpec("pages", ArgKind.INT, 1),
                     ArgSpec("val", ArgKind.INT, 0x40, hex=True))),
        OpSpec("punch_hole", 9, doc="fallocate(PUNCH_HOLE|KEEP_SIZE) of pages at page", args=(
            ArgSpec("page", ArgKind.INT, 0), ArgSpec("pages", ArgKind.INT, 1))),
        OpSpec("truncate", 10, doc="ftruncate() to pages pages", args=(
            ArgSpec("pages", ArgKind.INT, 2),)),
        OpSpec("fsync", 11, doc="fsync()", args=()),
        OpSpec("msync", 12, doc="msync(MS_SYNC) of [addr, addr+len)", args=(
            _addr(), ArgSpec("len", ArgKind.INT, PAGE_SIZE, hex=True))),
        OpSpec("munmap", 13, doc="munmap() of [addr, addr+len)", args=(
            _addr(), ArgSpec("len", ArgKind.INT, PAGE_SIZE, hex=True))),
        OpSpec("fail_alloc", 14, doc="the nth next allocation (at site) fails; nth=0 disarms",
               control=True, args=(ArgSpec("nth", ArgKind.INT, 1),
                     ArgSpec("site", ArgKind.CHOICE, 0, names=ALLOC_SITES))),
        OpSpec("task", 15, doc="the calls after it belong to task id (0 to MAX_TASKS - 1)",
               control=True, args=(ArgSpec("id", ArgKind.INT, 1, always=True),)),
        OpSpec("sched", 16, doc="a run of the schedule: task takes up to steps steps",
               control=True, args=(ArgSpec("task", ArgKind.INT, 0, always=True),
                     ArgSpec("steps", ArgKind.INT, 1, always=True))),
        OpSpec("pct", 17, doc="a PCT schedule: priorities highest first, d-1 change points",
               control=True, args=(
                   ArgSpec("prio", ArgKind.CHOICE, 0, names=PRIO_NAMES, always=True),
                   ArgSpec("depth", ArgKind.INT, 1, always=True),
                   ArgSpec("at1", ArgKind.INT, 1),
                   ArgSpec("at2", ArgKind.INT, 1),
                   ArgSpec("at3", ArgKind.INT, 1))),
    ),
)
VMA_OPS = ("vma", "vma2", "vma3")
SCENE_OPS = frozenset(spec.name for spec in SCHEMA.ops if spec.scene)


# --- the scene, normalised -------------------------------------------------------------------

def normalise_config(cfg: Op) -> Config:
    """The config op as a Config. `DEVMAP=1` needs `HAVE_PTE_SPECIAL=1`: no architecture of
    v4.13/v4.14 has __HAVE_ARCH_PTE_DEVMAP without __HAVE_ARCH_PTE_SPECIAL (devmap exists on
    x86-64 and ppc64 only, both with pte_special), and DAX misbehaves on that impossible
    combination in both versions (design note §7 d). So `HAVE_PTE_SPECIAL=0 DEVMAP=1` is
    normalised to `HAVE_PTE_SPECIAL=0 DEVMAP=0`: a pmem device without ZONE_DEVICE struct
    pages on an architecture without pte_special, which is a real configuration."""
    special = bool(cfg["HAVE_PTE_SPECIAL"])
    return Config(HAVE_PTE_SPECIAL=special, DEVMAP=bool(cfg["DEVMAP"]) and special,
                  arch=list(Arch)[cfg["arch"]], DEBUG_VM=bool(cfg["DEBUG_VM"]),
                  PAT=bool(cfg["PAT"]))


def _above_first_mib(pfn: int, limit: int) -> int:
    pfn %= limit
    return pfn + FIRST_MIB if pfn < FIRST_MIB else pfn


def _span(value: int, min_len: int) -> tuple[int, int]:
    lo, hi = sorted((value & 0xFFFFFFFF, value >> 32))
    size = max(min_len, min(hi - lo + 1, RANGE_SPAN))
    lo = _above_first_mib(lo, PFN_LIMIT - RANGE_SPAN)
    return lo, lo + size - 1


def normalise_memmap(mem: Op) -> Memmap:
    """The memmap op as a Memmap a DAX scene can boot: each range ordered, at most
    RANGE_SPAN pfns, between the first MiB and the anonymous pool (its low end reduced
    modulo PFN_LIMIT - RANGE_SPAN, and moved up by FIRST_MIB pfns if it falls in the first
    MiB); the device at least 2 pfns (block 0 is the super block) and moved to just above
    RAM if they overlap; the zero pfn placed the same way and, if it falls in RAM or the
    device, moved to the lowest pfn above the first MiB in neither."""
    ram = _span(mem["ram"], 1)
    device = _span(mem["device"], 2)
    if device[0] <= ram[1] and ram[0] <= device[1]:
        size = device[1] - device[0]
        device = (ram[1] + 1, ram[1] + 1 + size)
    zero = _above_first_mib(mem["zero"], PFN_LIMIT)

    def taken(pfn: int) -> bool:
        return ram[0] <= pfn <= ram[1] or device[0] <= pfn <= device[1]

    if taken(zero):
        zero = next(pfn for pfn in range(FIRST_MIB, PFN_LIMIT) if not taken(pfn))
    return Memmap(ram=ram, device=device, zero=zero)


def normalise_layout(f: Op, device_blocks: int) -> tuple[tuple[int | None, ...], int]:
    """The file op as a layout and i_size: `pages` (at most MAX_FILE_PAGES) pages, page i a
    block holding token + i when bit p<i> of `blocks` is set, else a hole; blocks beyond
    the device's free blocks become holes (the file must fit); i_size in pages, at most
    MAX_PAGES."""
    pages = min(f["pages"], MAX_FILE_PAGES)
    free = device_blocks - 1
    layout = []
    for i in range(pages):
        if f["blocks"] >> i & 1 and free > 0:
            layout.append((f["token"] + i) & ((1 << 64) - 1))
            free -= 1
        else:
            layout.append(None)
    return tuple(layout), min(f["i_size"], MAX_PAGES)


def normalise_vmas(vma_ops: list[Op]) -> tuple[VmaSpec, ...]:
    """The vma ops, in order, as mmap() would place them: start page-aligned down and below
    USER_TOP (reduced modulo it), at most MAX_PAGES pages (pages=0: no mapping), pgoff at
    most MAX_PAGES; a mapping that overlaps an earlier one is dropped (mmap without
    MAP_FIXED would have placed it elsewhere; dropping is the deterministic choice)."""
    out: list[VmaSpec] = []
    for op in vma_ops:
        pages = min(op["pages"], MAX_PAGES)
        if not pages:
            continue
        start = (op["start"] & PAGE_MASK) % USER_TOP
        start = min(start, USER_TOP - pages * PAGE_SIZE)
        end = start + pages * PAGE_SIZE
        if any(start < v.start + v.pages * PAGE_SIZE and v.start < end for v in out):
            continue
        out.append(VmaSpec(start=start, pages=pages, pgoff=min(op["pgoff"], MAX_PAGES),
                           shared=bool(op["shared"]), writable=bool(op["write"])))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Scene:
    """The scene ops of an input, normalised: the `DaxScene` both versions boot."""

    dax: DaxScene

    @classmethod
    def from_ops(cls, ops: tuple[Op, ...]) -> "Scene":
        """The scene of `ops`: its scene ops' (the last of each name), normalised; a
        function of those ops alone, so remembered for the last `SCENE_CACHE` sets of
        them (every input of the fuzz loop asks, and inputs share scenes)."""
        by = {op.name: op for op in ops if op.name in SCENE_OPS}
        return _scene_of(tuple(sorted(by.items())))

    @classmethod
    def _normalised(cls, by: dict[str, Op]) -> "Scene":
        def get(name: str) -> Op:
            return by.get(name) or Op.make(SCHEMA, name)

        config = normalise_config(get("config"))
        memmap = normalise_memmap(get("memmap"))
        layout, i_size = normalise_layout(get("file"),
                                          memmap.device[1] - memmap.device[0] + 1)
        vma_ops = [get(name) for name in VMA_OPS]
        vmas = normalise_vmas(vma_ops)
        return cls(DaxScene(config=config, memmap=memmap, layout=layout, i_size=i_size,
                            vmas=vmas))


SCENE_CACHE = 1024
"""Normalised scenes `Scene.from_ops` remembers (least recently used dropped)."""


@functools.lru_cache(maxsize=SCENE_CACHE)
def _scene_of(scene_ops: tuple[tuple[str, Op], ...]) -> Scene:
    return Scene._normalised(dict(scene_ops))


def call_args(op: Op) -> dict[str, int]:
    """A call's arguments as `daxfile.run_op` takes them, reduced to the modelled range:
    file offsets below MAX_FILE_OFFSET pages, lengths at most MAX_PAGES pages (write,
    punch_hole, truncate) or MAX_LEN bytes (msync, munmap); addresses and tokens as given
    (an address outside every VMA is a SIGSEGV, or a no-op for msync/munmap)."""
    name = op.name
    if name in ("write", "punch_hole"):
        args = {"page": op["page"] % MAX_FILE_OFFSET, "pages": min(op["pages"], MAX_PAGES)}
        if name == "write":
            args["val"] = op["val"]
        return args
    if name == "truncate":
        return {"pages": min(op["pages"], MAX_PAGES)}
    if name in ("msync", "munmap"):
        return {"addr": op["addr"], "len": min(op["len"], MAX_LEN)}
    if name == "fail_alloc":
        return {"nth": op["nth"], "site": op["site"]}
    return dict(op.args)

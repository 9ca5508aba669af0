"""A DAX file on ext4 in a booted kernel: its scene, booting it on a version model, the user's
loads and stores, and the ops of the dax_fault target (`run_op`, `OPS`).

The version models are `fuzzplug.kernel.dax_v4_13` and `dax_v4_14` (each on its mm model,
`v4_13` / `v4_14`). This module is the same for both: it builds the scene, drives the model
through its entry points and reads the state back.

A scene (`DaxScene`): the configuration and memory map of the mm models; the file's layout
at boot, one entry per page (None: a hole; a token: a block holding that data, written to
the media); i_size in pages; the VMAs mapping the file (`VmaSpec`: address, length, file
offset, shared or private, writable or not), mapped as ext4_file_mmap() and mmap_region()
do (VM_MIXEDMAP, ext4_dax_vm_ops, a write-protected prot for shared writable mappings since
the ops have page_mkwrite/pfn_mkwrite).

The user's accesses (`user_load`, `user_store`) stand for the CPU. Each attempt of the
instruction goes through the configured architecture's MMU (`fuzzplug.kernel.arch.mmu_access`),
once, as on the hardware: an access the entry permits completes there, with the MMU setting
what that MMU sets (x86: A, and D for a store, never SOFT_DIRTY; ppc64 hash: an HPTE hit or
__hash_page(); radix: R/C; arm64: AF/DBM), and the data is read from or written to the pfn
the MMU reached (`Kernel.memory`; on ppc64 hash the pfn of the HPTE it used, which a stale
HPTE makes differ from the linux PTE's). An access the MMU refuses enters the
architecture's page-fault handler (`fuzzplug.kernel.mm.do_page_fault`) with the MMU's error
code, and when that returns without an error the instruction re-executes: VM_FAULT_NOPAGE
means exactly that, the handler did its work and the access is retried. The retries are
bounded (`MAX_FAULTS_PER_ACCESS`): an access that still faults after that many faults is
reported as `LIVELOCK` — in the kernel it would fault forever, which is a finding. So is
an attempt the MMU's own fault handling never lets complete (`arch.ACCESS_LIVELOCK`: on
ppc64's hash MMU a stale HPTE that refuses the access after every hash fault).

Beside it: `daxtrack` (the cells of the machine's state a step touches, for runs of several
tasks), `daxtasks` (running several tasks on one machine, `run_tasks`) and `daxview` (what
the oracle compares: the file, the mapping, hole pages, leaks, `snapshot`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from types import ModuleType

from fuzzplug.kernel.fs import (
    TaskHang,
    block_device,
    down_read,
    file,
    inode,
    pmem_pfn_flags,
    rw_semaphore,
    super_block,
    up_read,
)
from fuzzplug.kernel.arch import ACCESS_LIVELOCK, mmu_access
from fuzzplug.runtime.footprint import ANY, R, RECORDER
from fuzzplug.kernel.mm import do_page_fault, vma_page_prot
from fuzzplug.runtime.physmem import PhysMemory
from fuzzplug.kernel.state import (
    Config,
    EventKind,
    Kernel,
    Memmap,
    Oops,
    VmOps,
    vm_area_struct,
)
from fuzzplug.kernel.types import (
    FAULT_FLAG_USER,
    FAULT_FLAG_WRITE,
    PAGE_SHIFT,
    PAGE_SIZE,
    VM_FAULT_OOM,
    VM_FAULT_SIGBUS,
    VM_FAULT_SIGSEGV,
    VM_MAYREAD,
    VM_MAYWRITE,
    VM_MIXEDMAP,
    VM_READ,
    VM_SHARED,
    VM_WRITE,
    pte_t,
)
from fuzzplug.explore.daxtrack import SYNC_KINDS, cells_differ, data_values_now, differ_now

# The views the oracle compares live in `daxview`; these stay importable from here too.
from fuzzplug.explore.daxview import (  # noqa: F401
    file_view,
    hole_pages,
    leaks,
    mapping_view,
    observable_events,
)

MAX_FAULTS_PER_ACCESS = 8
MAX_FAULTS_AMONG_TASKS = 64
"""With other tasks: the faults one access may take, each retried because another task
wrote what it read, before it is a LIVELOCK (`user_access`)."""
DEFAULT_START = 0x100000


# --- the scene ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class VmaSpec:
    """One mmap() of the file: [start, start + pages pages), from file page `pgoff`,
    MAP_SHARED or MAP_PRIVATE, PROT_READ with or without PROT_WRITE (the file is open
    O_RDWR, so VM_MAYWRITE is always set)."""

    start: int = DEFAULT_START
    pages: int = 4
    pgoff: int = 0
    shared: bool = True
    writable: bool = True

    def vm_flags(self) -> int:
        flags = VM_READ | VM_MAYREAD | VM_MAYWRITE | VM_MIXEDMAP
        if self.writable:
            flags |= VM_WRITE
        if self.shared:
            flags |= VM_SHARED
        return flags


@dataclass(frozen=True, slots=True)
class DaxScene:
    """What a run starts from (see the module docstring). `layout[i]` is file page i at boot:
    None for a hole, else the token its block holds; `i_size` in pages (default: the
    layout's length)."""

    config: Config = Config()
    memmap: Memmap = Memmap()
    layout: tuple[int | None, ...] = (None, None, None, None)
    i_size: int | None = None
    vmas: tuple[VmaSpec, ...] = (VmaSpec(),)


class DaxKernel(Kernel):
    """The Kernel of a DAX run: an allocation failure can also be armed at a named site
    (`fail_alloc_at`), since the two versions make different allocations and "the nth next
    allocation" hits different sites on each (v4.13 allocates a page-cache page and two
    tree preloads per hole read that v4.14 does not). Counting and events are the Kernel's:
    a site-armed failure is recorded like an nth-armed one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fail_site: tuple[str, int] | None = None  # (site, allocations there to go)
        # The DAX file's super block, whose `current` is the running task (the system calls
        # that reach the mm without the file, msync and munmap, take mmap_sem through it).
        self.sb: super_block | None = None
        # RAM is the page allocator's here: page-cache pages freed go back to it (the per-cpu
        # list) and are handed out again (`fuzzplug.kernel.fs.__page_cache_alloc`).
        self.pcp_list = []

    def should_fail_alloc(self, site: str) -> bool:
        armed = self.fail_site
        if armed is not None and armed[0] == site:
            if armed[1] <= 1:
                self.fail_site = None
                self.alloc_count += 1
                self.event(EventKind.ALLOC_FAIL, site)
                return True
            self.fail_site = (site, armed[1] - 1)
        return super().should_fail_alloc(site)

    def fail_alloc_at(self, site: str, nth: int) -> None:
        """The nth next allocation at `site` fails (0: disarm)."""
        self.fail_site = (site, nth) if nth > 0 else None


@dataclass(slots=True, eq=False)
class DaxMachine:
    """A booted scene: the version model, its kernel, the file's super block, inode, file."""

    model: ModuleType
    k: Kernel
    sb: super_block
    inode: inode
    file: file
    tasks: list = field(default_factory=list)  # the task_structs of a run with several tasks
    cells: object = None  # its `daxtrack.CellCache` once tracked (`daxtrack.track`)

    @property
    def mapping(self):
        return self.inode.i_mapping

    @property
    def memory(self) -> PhysMemory:
        return self.k.memory


def mmap_file(m: DaxMachine, spec: VmaSpec, vma: vm_area_struct | None = None) -> vm_area_struct:
    """mmap() of the file (mm/mmap.c mmap_region → ext4_file_mmap): vm_ops = the version's
    ext4_dax_vm_ops, VM_MIXEDMAP (VM_HUGEPAGE is not modelled), vma_set_page_prot() with
    write-notify (the ops have page_mkwrite and pfn_mkwrite), linked into the mm and into the
    file's i_mmap. `vma`: the Kernel's boot VMA, reused for the first mapping."""
    k = m.k
    flags = spec.vm_flags()
    prot = vma_page_prot(flags, True)
    start = spec.start
    end = start + spec.pages * PAGE_SIZE
    ops = VmOps.pfn_mkwrite | VmOps.page_mkwrite
    if vma is None:
        vma = vm_area_struct(start, end, flags, prot, spec.pgoff, ops, k.mm)
        k.mm.mmap.append(vma)
        k.mm.mmap.sort(key=lambda v: v.vm_start)
    else:
        vma.vm_start, vma.vm_end, vma.vm_flags = start, end, flags
        vma.vm_page_prot, vma.vm_pgoff, vma.vm_ops = prot, spec.pgoff, ops
    vma.vm_file = m.file
    m.mapping.i_mmap.append(vma)
    return vma


def boot(model: ModuleType, scene: DaxScene) -> DaxMachine:
    """Boot the scene on a DAX version model (`dax_v4_13` or `dax_v4_14`): the kernel with
    its memory data, the pmem device (the memory map's device range; block 0 is the super
    block), the file's blocks and i_size, the mappings, and the version's vm_ops callbacks
    as the mm model's fault handlers."""
    first = scene.vmas[0] if scene.vmas else VmaSpec()
    k = DaxKernel(scene.config, scene.memmap, vm_start=first.start,
               vm_end=first.start + first.pages * PAGE_SIZE, vm_flags=first.vm_flags(),
               vm_ops=VmOps(0), vm_pgoff=first.pgoff, vm_page_prot=vma_page_prot(0, False))
    k.version = model.VERSION
    k.memory = PhysMemory(scene.memmap)
    lo, hi = scene.memmap.device
    bdev = block_device(k, lo, hi - lo + 1, pmem_pfn_flags(scene.config.DEVMAP))
    sb = super_block(k, bdev, free_blocks=set(range(1, bdev.nr_blocks)))
    k.sb = sb
    k.mm.mmap_sem = rw_semaphore("mmap_sem")
    ino = inode(sb)
    m = DaxMachine(model, k, sb, ino, file(ino.i_mapping))
    for lblk, token in enumerate(scene.layout):
        if token is None:
            continue
        assert sb.free_blocks, "the scene's file does not fit on the device"
        block = min(sb.free_blocks)
        sb.free_blocks.discard(block)
        ino.i_blocks[lblk] = block
        k.memory.write_nt(bdev.base_pfn + block, token)
    pages = len(scene.layout) if scene.i_size is None else scene.i_size
    ino.i_size = ino.i_disksize = pages * PAGE_SIZE
    if scene.vmas:
        mmap_file(m, scene.vmas[0], k.vma)
        for spec in scene.vmas[1:]:
            mmap_file(m, spec)
    else:
        k.mm.mmap.clear()
    ops = model.ext4_dax_vm_ops
    k.fault_handler = ops.fault
    k.pfn_mkwrite_handler = ops.pfn_mkwrite
    k.page_mkwrite_handler = ops.page_mkwrite
    return m


# --- the user's accesses --------------------------------------------------------------------------

class AccessStatus(enum.Enum):
    """How a load or store ended. String values: results serialise stably."""

    OK = "ok"
    SIGBUS = "SIGBUS"
    SIGSEGV = "SIGSEGV"
    OOM = "OOM"
    LIVELOCK = "livelock"  # still faulting after MAX_FAULTS_PER_ACCESS faults


@dataclass(frozen=True, slots=True)
class Access:
    """A load or store: how it ended, the value a load returned, how many faults it took."""

    status: AccessStatus
    value: int | None = None
    faults: int = 0

    def to_json(self) -> dict:
        return {"status": self.status.value, "value": self.value, "faults": self.faults}


def pte_at(k: Kernel, addr: int) -> pte_t:
    return k.mm.pgtable.get(addr >> PAGE_SHIFT, pte_t(0))


def _reached_pfn(k: Kernel, since: int) -> int:
    """The pfn the access the MMU just served reached (its MMU event, recorded since
    `since`)."""
    served = [e for e in k.events[since:] if e.kind is EventKind.MMU]
    return served[-1].get("pfn")


def user_access(m: DaxMachine, addr: int, write: bool, token: int | None = None) -> Access:
    """One user load or store at `addr` (see the module docstring): each attempt through
    the MMU once; a refused attempt is a fault, taken under mmap_sem (read); the attempt the
    MMU serves does the access at the pfn it reached.

    Alone, an access that still faults after MAX_FAULTS_PER_ACCESS faults is a LIVELOCK.
    With other tasks (`Kernel.sched`), each retry is a switch point, and a fault that
    changed nothing it read (no cell it touched differs from before it, and no other task
    wrote one of them while it ran, even to put it back: nothing to do, and nobody else did
    anything) would be repeated exactly: the access waits until one of those
    cells changes (`sched.Wait.SPIN`), and is a LIVELOCK when nothing else can run; so is one
    that faults MAX_FAULTS_PER_ACCESS times in a row without another task taking a step,
    and one that faults MAX_FAULTS_AMONG_TASKS times in all: two stores to the zero page
    without pte_special (v4.14) are each retried because the other's fault took and
    dropped the entry lock it read, forever, as the kernel's would be; without that bound
    their runs went on until the scheduler's step limit failed them."""
    k = m.k
    sched = k.sched
    flags = FAULT_FLAG_USER | (FAULT_FLAG_WRITE if write else 0)
    handle_mm_fault = m.model.mm_model.handle_mm_fault
    faults = 0
    quiet = 0  # faults in a row with no step of another task among them
    while True:
        since = len(k.events)
        error_code = mmu_access(k, addr, write)
        if error_code is None:
            pfn = _reached_pfn(k, since)
            if write:
                m.memory.store(pfn, token)
                return Access(AccessStatus.OK, None, faults)
            return Access(AccessStatus.OK, m.memory.load(pfn), faults)
        if error_code is ACCESS_LIVELOCK:
            # The MMU's own fault handling never lets the instruction complete (ppc64 hash:
            # a stale HPTE refuses it after every hash fault) and no page fault is taken.
            # Alone, a LIVELOCK; with other tasks, it spins until a cell its attempt read
            # changes (another task's unmap, say), as a fault that changed nothing does.
            if sched is None:
                return Access(AccessStatus.LIVELOCK, None, faults)
            cells = frozenset(c for c in RECORDER.fp.touched() if c[0] not in _SYNC_KINDS)
            now = data_values_now(m)
            for kind, key in cells:  # deciding to wait reads them
                RECORDER.fp.touch(kind, key, R)
            if not sched.spin(f"{'store' if write else 'load'} {addr:#x}: faults forever in "
                              "the MMU, wait for a change",
                              cells, lambda: differ_now(m, now, cells),
                              _resume("mmu_spin", addr, write, token, faults, now, cells)):
                return Access(AccessStatus.LIVELOCK, None, faults)
            quiet = 0
            continue
        if ((quiet if sched is not None else faults) == MAX_FAULTS_PER_ACCESS
                or faults == MAX_FAULTS_AMONG_TASKS):
            return Access(AccessStatus.LIVELOCK, None, faults)
        if sched is not None:
            watch = sched.watch()
            before = watch.before = data_values_now(m)
        down_read(m.sb, k.mm.mmap_sem)
        ret = do_page_fault(k, addr, flags, error_code, handle_mm_fault)
        up_read(m.sb, k.mm.mmap_sem)
        if sched is not None:
            sched.unwatch(watch)
        faults += 1
        if ret & VM_FAULT_OOM:
            return Access(AccessStatus.OOM, None, faults)
        if ret & VM_FAULT_SIGBUS:
            return Access(AccessStatus.SIGBUS, None, faults)
        if ret & VM_FAULT_SIGSEGV:
            return Access(AccessStatus.SIGSEGV, None, faults)
        if sched is None:
            continue
        # The fault's cells: every cell of data its steps touched (and this attempt's MMU
        # walk). Not the locks and wait queues it took and dropped: how many readers a
        # semaphore has when the fault is over changes nothing a retried fault would do
        # (no modelled fault path tries a lock and goes another way when it is taken), so
        # a lock another task holds or drops is no reason to retry, nor a change to wait for.
        cells = {c for c in RECORDER.fp.touched() if c[0] not in _SYNC_KINDS}
        cells |= {c for c in watch.touched if c[0] not in _SYNC_KINDS}
        quiet = 0 if watch.others else quiet + 1
        after = data_values_now(m)
        for kind, key in cells:  # deciding to wait reads them
            RECORDER.fp.touch(kind, key, R)
        # Another task wrote one of them while the fault ran (and perhaps put it back): the
        # next fault reads another sequence of values and may take another path. Retry.
        written = watch.written
        kinds = {kind for kind, key in written if key == ANY}
        interfered = any(c in written or c[0] in kinds for c in cells)
        if not interfered and not cells_differ(before, after, cells):
            frozen = frozenset(cells)
            if not sched.spin(f"{'store' if write else 'load'} {addr:#x}: fault changed "
                              "nothing, wait for a change",
                              frozen, lambda: differ_now(m, after, frozen),
                              _resume("spin", addr, write, token, faults, after, frozen)):
                return Access(AccessStatus.LIVELOCK, None, faults)
            quiet = 0
        else:
            # The fault count is not in `resume`: a stateful search sees a state repeat
            # when an access retries forever, and ends it as a LIVELOCK there.
            if sched.point(f"{'store' if write else 'load'} {addr:#x}: retry",
                           ("retry", addr, write, token, quiet)) == "livelock":
                return Access(AccessStatus.LIVELOCK, None, faults)


def _resume(kind: str, addr: int, write: bool, token, faults: int, values: dict,
            cells) -> tuple:
    """What an access waiting at a SPIN depends on (`sched.Pending.resume`): its locals
    that live on, and the values its wait compares with (the state it waits to change)."""
    return (kind, addr, write, token,
            tuple(sorted((kind_, repr(key), repr(values.get(kind_, {}) if key == ANY
                                                else values.get(kind_, {}).get(key)))
                         for kind_, key in cells)))


_SYNC_KINDS = SYNC_KINDS
"""Cells of synchronisation, not data (`user_access`): the values it keeps (`before`,
`after`, what a SPIN compares with) are those of the data cells
(`daxtrack.data_values_now`)."""


def user_load(m: DaxMachine, addr: int) -> Access:
    return user_access(m, addr, False)


def user_store(m: DaxMachine, addr: int, token: int) -> Access:
    return user_access(m, addr, True, token)


# --- the ops --------------------------------------------------------------------------------------

class Stop(enum.Enum):
    """How a call ended when it did not return: a BUG (oops), or a hang (the only task would
    sleep forever on a lock). Later calls on that kernel are meaningless."""

    BUG = "BUG"
    HANG = "HANG"


@dataclass(frozen=True, slots=True)
class OpResult:
    """What one op returned (an int for a system call, an Access for a load or store, None
    for fail_alloc) or how it stopped, where, and the steps it went through."""

    ret: object
    stop: Stop | None = None
    where: str = ""
    steps: tuple = ()

    def to_json(self) -> dict:
        ret = self.ret.to_json() if isinstance(self.ret, Access) else self.ret
        return {"ret": ret, "stop": self.stop.value if self.stop else None, "where": self.where}


OPS = ("load", "store", "write", "punch_hole", "truncate", "fsync", "msync", "munmap",
       "fail_alloc")


def run_op(m: DaxMachine, name: str, **args: int) -> OpResult:
    """Run one op of the dax_fault target on the machine, to completion. Addresses are
    bytes; file offsets and lengths are in pages (`page`, `pages`); tokens are ints.

    - load(addr), store(addr, val): a user access (see `user_access`);
    - write(page, pages, val): pwrite64() of `pages` pages at file page `page`, the i-th
      page holding token val + i;
    - punch_hole(page, pages): fallocate(FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE);
    - truncate(pages): ftruncate() to `pages` pages;
    - fsync(); msync(addr, len): msync(MS_SYNC) of [addr, addr + len) bytes;
    - munmap(addr, len); fail_alloc(nth): the nth next allocation of the kernel fails;
      fail_alloc(nth, site): the nth next allocation at that site (`DaxKernel`).
    """
    model = m.model
    steps_before = len(m.sb.current.steps)
    try:
        if name == "load":
            ret = user_load(m, args["addr"])
        elif name == "store":
            ret = user_store(m, args["addr"], args["val"])
        elif name == "write":
            tokens = [args["val"] + i for i in range(args["pages"])]
            ret = model.sys_pwrite64(m.file, tokens, args["page"] * PAGE_SIZE)
        elif name == "punch_hole":
            ret = model.sys_fallocate(m.file, model.FALLOC_FL_PUNCH_HOLE
                                      | model.FALLOC_FL_KEEP_SIZE, args["page"] * PAGE_SIZE,
                                      args["pages"] * PAGE_SIZE)
        elif name == "truncate":
            ret = model.sys_ftruncate(m.file, args["pages"] * PAGE_SIZE)
        elif name == "fsync":
            ret = model.sys_fsync(m.file)
        elif name == "msync":
            ret = model.sys_msync(m.k.mm, args["addr"], args["len"], model.MS_SYNC)
        elif name == "munmap":
            ret = model.sys_munmap(m.k.mm, args["addr"], args["len"])
        elif name == "fail_alloc" and args.get("site"):
            m.k.fail_alloc_at(args["site"], args["nth"])
            ret = None
        elif name == "fail_alloc":
            m.k.fail_nth_alloc(args["nth"])
            ret = None
        else:
            raise ValueError(f"not a dax_fault op: {name}")
    except Oops as oops:
        return OpResult(None, Stop.BUG, oops.function,
                        tuple(m.sb.current.steps[steps_before:]))
    except TaskHang as hang:
        return OpResult(None, Stop.HANG, f"{hang.function}: {hang.waits_for}",
                        tuple(m.sb.current.steps[steps_before:]))
    return OpResult(ret, None, "", tuple(m.sb.current.steps[steps_before:]))

"""insert_pfn's small domain for the engines, and the reductions proven for its models.

The domain (`small_domain()`, the target's `SmallDomain` capability): three addresses
(the VMA's start, start+PAGE, vm_end: outside), five pfns of every kind (RAM 0x10, device
0x80 and 0x81, the zero page 0x1, MMIO 0x40), three pfn flag sets, read and write faults, a
one-page zap, one injected allocation failure, two prots; scenes: every config of
HAVE_PTE_SPECIAL x DEVMAP x arch x DEBUG_VM (PAT=1) x six VMAs: four with the pfn_mkwrite
callback (shared writable, private writable, shared read-only mixedmaps, a shared writable
pfnmap) and two without callbacks, so without write-notify (shared and private writable
mixedmaps).

The reductions the exhaustive checker may apply (`fuzzplug.engines.exhaustive`), each a
proof about the stock models of the chain, `fuzzplug.kernel.v4_13`, `v4_14` and the two
fixed models (`proofs_hold`, for any pair of them; off for a mutant): the pfn_t flags
equivalence (`equivalence`: under DEVMAP=0 the three flag sets are one class, under DEVMAP=1
two), the calls outside the VMA (`inert`), and the start/start+PAGE renaming with pfns
0x80/0x81 (`RENAMING_PROOF`). The fixes touch insert_pfn() only, past the range checks, and
read the pfns only through pfn_t_to_pfn(), pte_pfn() and is_zero_pfn() (the zero page, 0x1,
is not renamed), so each proof carries over to them word for word; `tests/test_exhaustive.py`
checks the reductions on a fix pair too.

Not reduced: no two configs are merged (each architecture's hooks differ, DEVMAP and
HAVE_PTE_SPECIAL change the paths, DEBUG_VM adds checks that change the result whenever they
fire) and no VMA is merged with another.
"""

from __future__ import annotations

import itertools
from functools import cache

from fuzzplug.core.opslang import Op, OpSpec
from fuzzplug.engines.domain import Domain, Scene
from fuzzplug.explore.clone import Renaming
from fuzzplug.targets.insert_pfn.schema import DEFAULT_END, DEFAULT_START, SCHEMA

ARCHES = next(a.names for a in SCHEMA.spec("config").args if a.name == "arch")
"""Every architecture of the op language's `config arch=` (x86_64, ppc64 with the hash MMU,
arm64, ppc64_radix): the domain follows the choice list as it grows."""

PROVEN_FOR = frozenset({"fuzzplug.kernel.v4_13", "fuzzplug.kernel.v4_14",
                        "fuzzplug.kernel.v4_14_f2c57d91b0d9",
                        "fuzzplug.kernel.v4_14_f2c57d91b0d9_cae85cb8add3"})
"""The model modules (the chain's) the reductions below were proven for, as either side."""


def proofs_hold(target) -> bool:
    """Whether the target runs models the reductions were proven for, on both sides."""
    models = (getattr(target, "pre_model", None), getattr(target, "post_model", None))
    return all(models) and all(m.__name__ in PROVEN_FOR for m in models)


@cache
def small_domain() -> Domain:
    """insert_pfn's small domain (see the module docstring); built once."""
    page = 0x1000
    addrs = (DEFAULT_START, DEFAULT_START + page, 0x110000)  # start, start+PAGE, vm_end
    pfns = (0x10, 0x80, 0x81, 0x1, 0x40)  # RAM, device, device, zero page, MMIO
    pfn_flags = _flag_values(SCHEMA.spec("vm_insert_mixed"), "flags",
                             ("0", "PFN_DEV", "PFN_DEV|PFN_MAP"))
    fault_flags = _flag_values(SCHEMA.spec("fault"), "flags", ("0", "FAULT_FLAG_WRITE"))
    prot_arg = SCHEMA.spec("vm_insert_pfn_prot").args[2]
    prots = (prot_arg.default, prot_arg.parse_value("_PAGE_PRESENT|_PAGE_USER"))
    values = {
        "vm_insert_pfn": (("addr", addrs), ("pfn", pfns)),
        "vm_insert_pfn_prot": (("addr", addrs), ("pfn", pfns), ("prot", prots)),
        "vm_insert_mixed": (("addr", addrs), ("pfn", pfns), ("flags", pfn_flags)),
        "vm_insert_mixed_mkwrite": (("addr", addrs), ("pfn", pfns), ("flags", pfn_flags)),
        "fault": (("addr", addrs), ("flags", fault_flags)),
        "zap": (("addr", addrs), ("len", (page,))),
        "fail_alloc": (("nth", (1,)),),
    }
    shared_rw = "VM_READ|VM_WRITE|VM_SHARED|VM_MAYREAD|VM_MAYWRITE|VM_MIXEDMAP"
    private_rw = "VM_READ|VM_WRITE|VM_MAYREAD|VM_MAYWRITE|VM_MIXEDMAP"
    vmas = (  # (name, flags, vm_ops)
        ("shared_rw_mkwrite", shared_rw, "pfn_mkwrite"),
        ("private_rw", private_rw, "pfn_mkwrite"),
        ("shared_ro", "VM_READ|VM_SHARED|VM_MAYREAD|VM_MIXEDMAP", "pfn_mkwrite"),
        ("pfnmap", "VM_READ|VM_WRITE|VM_SHARED|VM_MAYREAD|VM_MAYWRITE|VM_PFNMAP",
         "pfn_mkwrite"),
        # Without write-notify: no mkwrite callback, so vm_page_prot is writable and a write
        # to a present entry dirties it without a write-protect fault (the entry's dirty bit
        # is then the only record of the write, until zap_pte_range() moves it to the page).
        ("shared_rw_no_notify", shared_rw, "0"),
        ("private_rw_no_ops", private_rw, "0"),
    )
    scenes, names = [], []
    for special, devmap, arch, debug in itertools.product(
            ("1", "0"), ("1", "0"), ARCHES, ("0", "1")):
        config = Op.make(SCHEMA, "config", HAVE_PTE_SPECIAL=special, DEVMAP=devmap,
                         arch=arch, DEBUG_VM=debug)
        for vma_name, flags, vm_ops in vmas:
            scenes.append((config, Op.make(SCHEMA, "vma", flags=flags, vm_ops=vm_ops)))
            names.append(f"special={special} devmap={devmap} {arch} debug_vm={debug} "
                         f"{vma_name}")
    return Domain(
        "insert_pfn", tuple(scenes), values,
        description=(
            "addresses: VMA start, start+PAGE, vm_end (outside); pfns: RAM 0x10, device "
            "0x80 and 0x81, zero page 0x1, MMIO 0x40; pfn flags 0, PFN_DEV, "
            "PFN_DEV|PFN_MAP; fault flags 0, WRITE; zap of one page; fail_alloc nth=1; "
            "prots: the default and a read-only, not-young one; scenes: "
            "HAVE_PTE_SPECIAL x DEVMAP x arch x DEBUG_VM (PAT=1) x 6 VMAs (shared "
            "writable mixedmap with pfn_mkwrite, private writable mixedmap, shared "
            "read-only mixedmap, shared writable pfnmap, and without write-notify: shared "
            "writable mixedmap and private writable mixedmap without vm_ops callbacks)"),
        equivalence=equivalence,
        inert=inert,
        renaming=Renaming(vpns=((DEFAULT_START >> 12, (DEFAULT_START + page) >> 12),),
                          pfns=((0x80, 0x81),)),
        applies_to=proofs_hold,
        scene_names=tuple(names))


def _flag_values(spec: OpSpec, arg_name: str, texts: tuple[str, ...]) -> tuple[int, ...]:
    arg = next(a for a in spec.args if a.name == arg_name)
    return tuple(arg.parse_value(t) for t in texts)


def equivalence(scene: Scene, op: Op) -> Op:
    """The pfn_t flags of vm_insert_mixed(_mkwrite) reach the models only through
    pfn_t_devmap() (PFN_DEV and PFN_MAP both set, and DEVMAP): track_pfn_insert,
    pfn_t_valid, pfn_t_pte and the WARN_ON_ONCE compare use pfn_t_to_pfn(), which drops the
    flags, and the target's promise check reads the op's pfn only. So under DEVMAP=0 every
    flag set is one class, and under DEVMAP=1 the classes are {devmap} and {the rest}. The
    representative is the first member in domain order (flags 0 when it is in the class)."""
    if op.name not in ("vm_insert_mixed", "vm_insert_mixed_mkwrite"):
        return op
    devmap_on = True
    for scene_op in scene:
        if scene_op.name == "config":
            devmap_on = bool(scene_op["DEVMAP"])
    arg = SCHEMA._arg_index[op.name]["flags"]
    both = arg.parse_value("PFN_DEV|PFN_MAP")
    flags = op["flags"]
    if devmap_on and flags & both == both:
        return op
    return Op(op.name, tuple((k, 0 if k == "flags" else v) for k, v in op.args))


RENAMING_PROOF = """Swapping the pages at start and start+PAGE
together with pfns 0x80 and 0x81 is a symmetry of both models over this domain. Every scene
has pgoff 0x80, so the pfn a fault maps (linear_page_index: pgoff + page offset) and the
pfn vm_normal_page() calls linear in a pfnmap are 0x80 at start and 0x81 at start+PAGE,
and swap together; both pfns are device memory of the same kind (same pfn_valid(),
track_pfn_insert(), struct page kind), and below the same highest_memmap_pfn; both
pages are in one PTE table, and ppc64's hash table keys its HPTEs by page and names
their pfns, so it renames with the page table; x86's swap type would read a pfn's low
bits, but every prot of the domain is present, so no entry decodes as a swap entry; COW
pages come from the allocator in allocation order, whatever the address; a zap of one page touches that page only. Nothing the oracle compares
names an address or a pfn: returns, observable events (kind, function, condition or
signal), state descriptors (`pte.DIRTY`, `page.refcount`...), branch ids, and the promise
check and the fixes' rules read the op's own address and pfn, which the renaming maps with
the state (the pages a rule carries over are renamed in the stepper's key). The
domain's calls are closed under the swap (addresses start, start+PAGE, vm_end; pfns 0x10,
0x80, 0x81, 0x1, 0x40), so each call's image is a call of the domain."""


def inert(scene: Scene, op: Op) -> bool:
    """A call at an address outside the VMA. In both models vm_insert_pfn_prot()
    checks its BUG_ONs (on the VMA's flags and pfn_valid(), fixed by the scene) and then
    returns -EFAULT before anything else; vm_insert_mixed() and __vm_insert_mixed() check
    their BUG_ON (the VMA's flags) and return -EFAULT before track_pfn_insert(); v4.13's
    stand-in for vm_insert_mixed_mkwrite() makes no fault after an error, and DAX sees
    -EFAULT as VM_FAULT_SIGBUS on both sides (no promise check when the return is not 0);
    a fault outside the VMA is a SIGSEGV from do_user_fault() before handle_mm_fault(); a
    zap outside the VMA returns at once. None of them reads or writes the page table,
    struct pages, counters, allocations or WARN_ON_ONCE state, and both sides behave alike:
    no divergence, and the state is unchanged or both tasks are dead (a BUG_ON)."""
    start, end = DEFAULT_START, DEFAULT_END
    for scene_op in scene:
        if scene_op.name == "vma":
            start, end = scene_op["start"], scene_op["end"]
    addr = op.get("addr")
    if addr is None or op.name == "fail_alloc":
        return False
    if op.name == "zap":
        return addr >= end or addr + op["len"] <= start
    return addr >= end or addr < start

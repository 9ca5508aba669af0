"""Small op domains: a few scenes and a few values per argument, for the engines.

The Hypothesis engine draws ops from a domain and the exhaustive checker enumerates it. A
`Domain` lists scenes (each a tuple of scene ops, the setup) and, for each call op, the values
each argument ranges over; the calls of the domain are the product of those values.

`domain_for(target)` returns the domain declared for the target (keyed by target name) or
else one derived from the schema's `ArgSpec`s (`schema_domain`). The `Target` protocol has
no place for a small domain yet; the addition this module stands in for is an optional
`Target.small_domain() -> Domain`, next to the schema it narrows.

A domain may also declare reductions for the exhaustive checker, each a proof about
particular model code: an op equivalence (`equivalence`: maps a call to the representative
of its class under a scene, where every member behaves identically in every state), inert
calls (`inert`: never diverge, never change the state) and a state symmetry (`renaming`).
They name the model modules they were proven for (`proven_for`) and are applied only when
the target's models are exactly those (never to a mutant).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from fuzzplug.opslang import ArgKind, ArgSpec, Op, OpSpec, Schema

Scene = tuple[Op, ...]
Equivalence = Callable[[Scene, Op], Op]


@dataclass(frozen=True, slots=True)
class Renaming:
    """A symmetry: a swap of virtual pages together with a swap of pfns that maps every
    state and call of the domain to another one that behaves the same (same divergences,
    same signatures, renamed states). The exhaustive checker then keeps one state per pair
    (`fuzzplug.engines.incremental.InsertPfnStepper.key`)."""

    vpns: tuple[tuple[int, int], ...]
    """Virtual page numbers swapped, as pairs."""
    pfns: tuple[tuple[int, int], ...]
    """Pfns swapped, as pairs."""

    def vpn(self, v: int) -> int:
        for a, b in self.vpns:
            if v == a:
                return b
            if v == b:
                return a
        return v

    def pfn(self, p: int) -> int:
        for a, b in self.pfns:
            if p == a:
                return b
            if p == b:
                return a
        return p


@dataclass(frozen=True, slots=True)
class Domain:
    """Scenes and per-argument values of a target's ops, with an optional op equivalence."""

    target: str
    scenes: tuple[Scene, ...]
    """Each scene: the scene ops (a missing scene op takes its defaults)."""
    values: Mapping[str, tuple[tuple[str, tuple[int, ...]], ...]]
    """Call op name → ((arg name, values), ...) in spec order; ops not listed are left out."""
    description: str = ""
    equivalence: Equivalence | None = None
    proven_for: tuple[str, ...] = ()
    """The model module names (`pre_model.__name__`, `post_model.__name__`) the
    equivalence was proven for."""
    scene_names: tuple[str, ...] = field(default=())
    renaming: "Renaming | None" = None
    """A symmetry of the models over every scene of the domain (see `Renaming`)."""
    inert: Callable[[Scene, Op], bool] | None = None
    """Calls that, for the models in `proven_for`, never diverge from any state and leave
    it unchanged (or both tasks dead); the exhaustive checker runs them from the initial
    state only (a sequence through one behaves as the same sequence without it)."""

    def calls(self) -> tuple[Op, ...]:
        """Every call op of the domain, in a fixed order (op order, then argument values)."""
        out = []
        for name, args in self.values.items():
            names = [arg for arg, _ in args]
            for combo in itertools.product(*(vals for _, vals in args)):
                out.append(Op(name, tuple(zip(names, combo))))
        return tuple(out)

    def equivalence_applies(self, target) -> bool:
        """Whether the declared equivalence was proven for this target's models."""
        if self.equivalence is None:
            return False
        models = (getattr(target, "pre_model", None), getattr(target, "post_model", None))
        if any(m is None for m in models):
            return False
        return tuple(m.__name__ for m in models) == self.proven_for

    def reduced_calls(self, scene: Scene, target) -> tuple[Op, ...]:
        """The calls with one representative per equivalence class (when it applies)."""
        calls = self.calls()
        if not self.equivalence_applies(target):
            return calls
        seen: dict[Op, None] = {}
        for op in calls:
            seen.setdefault(self.equivalence(scene, op), None)
        return tuple(seen)

    def renaming_for(self, target) -> "Renaming | None":
        """The declared state symmetry, when its proof applies to the models."""
        return self.renaming if self.equivalence_applies(target) else None

    def is_inert(self, scene: Scene, op: Op, target) -> bool:
        """Whether `op` is inert in `scene` (only when the proof applies to the models)."""
        return (self.inert is not None and self.equivalence_applies(target)
                and self.inert(scene, op))

    def scene_name(self, index: int) -> str:
        if index < len(self.scene_names):
            return self.scene_names[index]
        return f"scene{index}"


# --- a domain from the schema alone ----------------------------------------------------------

def _arg_values(arg: ArgSpec) -> tuple[int, ...]:
    """A few values of an argument: its default first, then a couple of neighbours."""
    if arg.kind is ArgKind.CHOICE:
        rest = [v for v in range(len(arg.names)) if v != arg.default]
        return (arg.default, *rest)
    if arg.kind is ArgKind.FLAGS:
        return tuple(dict.fromkeys((arg.default, 0, arg.mask)))
    if arg.kind is ArgKind.RANGE:
        return (arg.default,)
    if arg.addr:
        return tuple(dict.fromkeys((arg.default, arg.default + 0x1000)))
    return tuple(dict.fromkeys((arg.default, 0, 1)))


def schema_domain(schema: Schema) -> Domain:
    """A domain derived from the schema: the default scene and, for each CHOICE argument of
    a scene op, one scene per other choice; each call argument over a few values
    (`_arg_values`)."""
    scene_specs = [s for s in schema.ops if s.scene]
    scenes: list[Scene] = [()]
    names = ["defaults"]
    for spec in scene_specs:
        for arg in spec.args:
            if arg.kind is not ArgKind.CHOICE:
                continue
            for value in range(len(arg.names)):
                if value == arg.default:
                    continue
                scenes.append((Op.make(schema, spec.name, **{arg.name: value}),))
                names.append(f"{spec.name}.{arg.name}={arg.names[value]}")
    values = {spec.name: tuple((arg.name, _arg_values(arg)) for arg in spec.args)
              for spec in schema.ops if not spec.scene}
    return Domain(schema.name, tuple(scenes), values,
                  description="derived from the schema: defaults and a few neighbours",
                  scene_names=tuple(names))


# --- insert_pfn ---------------------------------------------------------------------------------

def _insert_pfn_domain() -> Domain:
    from fuzzplug.targets.insert_pfn import DEFAULT_START, SCHEMA

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
    vmas = (
        ("shared_rw_mkwrite", "VM_READ|VM_WRITE|VM_SHARED|VM_MAYREAD|VM_MAYWRITE|VM_MIXEDMAP"),
        ("private_rw", "VM_READ|VM_WRITE|VM_MAYREAD|VM_MAYWRITE|VM_MIXEDMAP"),
        ("shared_ro", "VM_READ|VM_SHARED|VM_MAYREAD|VM_MIXEDMAP"),
        ("pfnmap", "VM_READ|VM_WRITE|VM_SHARED|VM_MAYREAD|VM_MAYWRITE|VM_PFNMAP"),
    )
    scenes, names = [], []
    for special, devmap, arch, debug in itertools.product(
            ("1", "0"), ("1", "0"), ("x86_64", "ppc64", "arm64"), ("0", "1")):
        config = Op.make(SCHEMA, "config", HAVE_PTE_SPECIAL=special, DEVMAP=devmap,
                         arch=arch, DEBUG_VM=debug)
        for vma_name, flags in vmas:
            scenes.append((config, Op.make(SCHEMA, "vma", flags=flags)))
            names.append(f"special={special} devmap={devmap} {arch} debug_vm={debug} "
                         f"{vma_name}")
    return Domain(
        "insert_pfn", tuple(scenes), values,
        description=(
            "addresses: VMA start, start+PAGE, vm_end (outside); pfns: RAM 0x10, device "
            "0x80 and 0x81, zero page 0x1, MMIO 0x40; pfn flags 0, PFN_DEV, "
            "PFN_DEV|PFN_MAP; fault flags 0, WRITE; zap of one page; fail_alloc nth=1; "
            "prots: the default and a read-only, not-young one; scenes: "
            "HAVE_PTE_SPECIAL x DEVMAP x arch x DEBUG_VM (PAT=1) x 4 VMAs (shared "
            "writable mixedmap with pfn_mkwrite, private writable mixedmap, shared "
            "read-only mixedmap, shared writable pfnmap)"),
        equivalence=insert_pfn_equivalence,
        inert=insert_pfn_inert,
        renaming=Renaming(vpns=((DEFAULT_START >> 12, (DEFAULT_START + page) >> 12),),
                          pfns=((0x80, 0x81),)),
        proven_for=("fuzzplug.kernel.v4_13", "fuzzplug.kernel.v4_14"),
        scene_names=tuple(names))


def _flag_values(spec: OpSpec, arg_name: str, texts: tuple[str, ...]) -> tuple[int, ...]:
    arg = next(a for a in spec.args if a.name == arg_name)
    return tuple(arg.parse_value(t) for t in texts)


def insert_pfn_equivalence(scene: Scene, op: Op) -> Op:
    """insert_pfn: the pfn_t flags of vm_insert_mixed(_mkwrite) reach the models only through
    pfn_t_devmap() (PFN_DEV and PFN_MAP both set, and DEVMAP): track_pfn_insert,
    pfn_t_valid, pfn_t_pte and the WARN_ON_ONCE compare use pfn_t_to_pfn(), which drops the
    flags, and the target's promise check reads the op's pfn only. So under DEVMAP=0 every
    flag set is one class, and under DEVMAP=1 the classes are {devmap} and {the rest}. The
    representative is the first member in domain order (flags 0 when it is in the class)."""
    if op.name not in ("vm_insert_mixed", "vm_insert_mixed_mkwrite"):
        return op
    from fuzzplug.targets.insert_pfn import SCHEMA

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


INSERT_PFN_RENAMING_PROOF = """insert_pfn: swapping the pages at start and start+PAGE
together with pfns 0x80 and 0x81 is a symmetry of both models over this domain. Every scene
has pgoff 0x80, so the pfn a fault maps (linear_page_index: pgoff + page offset) and the
pfn vm_normal_page() calls linear in a pfnmap are 0x80 at start and 0x81 at start+PAGE,
and swap together; both pfns are device memory of the same kind (same pfn_valid(),
track_pfn_insert(), struct page kind), and below the same highest_memmap_pfn; both
pages are in one PTE table, and ppc64's hash table keys its HPTEs by page and names
their pfns, so it renames with the page table; x86's swap type would read a pfn's low
bits, but every prot of the domain is present, so no entry decodes as a swap entry; COW
pages come from the allocator in allocation order,
whatever the address; a zap of one page touches that page only. Nothing the oracle compares
names an address or a pfn: returns, observable events (kind, function, condition or
signal), state descriptors (`pte.DIRTY`, `page.refcount`...), branch ids, and the promise
check reads the op's own address and pfn, which the renaming maps with the state. The
domain's calls are closed under the swap (addresses start, start+PAGE, vm_end; pfns 0x10,
0x80, 0x81, 0x1, 0x40), so each call's image is a call of the domain."""


def insert_pfn_inert(scene: Scene, op: Op) -> bool:
    """insert_pfn: a call at an address outside the VMA. In both models vm_insert_pfn_prot()
    checks its BUG_ONs (on the VMA's flags and pfn_valid(), fixed by the scene) and then
    returns -EFAULT before anything else; vm_insert_mixed() and __vm_insert_mixed() check
    their BUG_ON (the VMA's flags) and return -EFAULT before track_pfn_insert(); v4.13's
    stand-in for vm_insert_mixed_mkwrite() makes no fault after an error, and DAX sees
    -EFAULT as VM_FAULT_SIGBUS on both sides (no promise check when the return is not 0);
    a fault outside the VMA is a SIGSEGV from do_user_fault() before handle_mm_fault(); a
    zap outside the VMA returns at once. None of them reads or writes the page table,
    struct pages, counters, allocations or WARN_ON_ONCE state, and both sides behave alike:
    no divergence, and the state is unchanged or both tasks are dead (a BUG_ON)."""
    from fuzzplug.targets.insert_pfn import DEFAULT_END, DEFAULT_START

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


_DECLARED: dict[str, Callable[[], Domain]] = {"insert_pfn": _insert_pfn_domain}
_cache: dict[str, Domain] = {}


def domain_for(target) -> Domain:
    """The target's small domain: its own `small_domain()` if it has one (the protocol
    addition proposed above), else the one declared here for its name, else one derived
    from its schema."""
    own = getattr(target, "small_domain", None)
    if callable(own):
        domain = own()
        if domain is not None:
            return domain
    name = target.name
    if name not in _cache:
        maker = _DECLARED.get(name)
        _cache[name] = maker() if maker is not None else schema_domain(target.schema)
    return _cache[name]

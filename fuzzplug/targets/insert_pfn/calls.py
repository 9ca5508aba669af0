"""insert_pfn's calls, as each side makes them: each call op on one side's model (`_call`),
v4.13's equivalent of the mkwrite insert, and the return as DAX sees it (`dax_view`)."""

from __future__ import annotations

from types import ModuleType

from fuzzplug.core.opslang import Op
from fuzzplug.kernel import arch
from fuzzplug.kernel.mm import do_user_fault, fault_result_name
from fuzzplug.kernel.state import EventKind, Kernel
from fuzzplug.kernel.types import (
    EBUSY,
    ENOMEM,
    FAULT_FLAG_USER,
    FAULT_FLAG_WRITE,
    __pfn_to_pfn_t,
    errname,
    pgprot_t,
)
from fuzzplug.targets.insert_pfn.schema import (
    FAULT_FLAG_BITS,
    PFN_FLAG_BITS,
    PROT_BITS,
    _to_kernel,
)


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

"""mm-wide helpers the modelled paths call, unchanged by the seed patch.

Shared by both version models. Each names the C it models (Linux v4.13.9, unchanged in
v4.14.5 for what is used here):

- include/linux/mm.h: maybe_mkwrite, get_page, put_page (put_page_testzero), page_mapcount,
  mm counters, vm_get_page_prot (mm/mmap.c, each architecture's protection_map) and
  vma_wants_writenotify (mm/mmap.c);
- include/linux/mm.h: pud_alloc, pmd_alloc (the page-table levels above the PTE table);
- mm/rmap.c: page_add_file_rmap, page_remove_rmap, page_add_new_anon_rmap,
  anon_vma_prepare (__anon_vma_prepare: the anon_vma_chain, then the anon_vma);
  mm/util.c: page_rmapping; include/linux/mm.h: struct zap_details;
- mm/page_alloc.c / mm/mempolicy.c: alloc_page_vma (the anonymous pool, in pfn order);
- mm/page-writeback.c, mm/swap.c: set_page_dirty, mark_page_accessed;
- include/linux/pfn_t.h: pfn_t_devmap, pfn_t_valid (which need the config and the memmap);
- mm/swap_state.c lookup_swap_cache, mm/swapfile.c free_swap_and_cache, mm/migrate.c
  migration_entry_wait and include/linux/swapops.h migration_entry_to_page, for a kernel
  with CONFIG_SWAP and no swap area configured;
- mm/mmap.c: find_vma;
- the user access: the MMU's own handling first (`fuzzplug.kernel.arch.mmu_access`), and
  only when it faults the architecture's page-fault handler (arch/x86/mm/fault.c
  __do_page_fault, arch/arm64/mm/fault.c do_page_fault, arch/powerpc/mm/fault.c
  do_page_fault): the VMA and access checks, handle_mm_fault of the version under test, and
  the signal for an error result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from fuzzplug.kernel.arch import ACCESS_LIVELOCK, AccessLivelock, access_error, mmu_access
from fuzzplug.kernel.state import (
    ANON_POOL_END,
    PMD_TABLE_SHIFT,
    PTE_TABLE_SHIFT,
    PUD_TABLE_SHIFT,
    Arch,
    EventKind,
    Kernel,
    PageKind,
    mm_struct,
    page,
    pte_ptr,
    vm_area_struct,
)
from fuzzplug.kernel.types import (
    ENOMEM,
    FAULT_FLAG_WRITE,
    PAGE_COPY,
    PAGE_COPY_EXEC,
    PAGE_EXECONLY,
    PAGE_NONE,
    PAGE_READONLY,
    PAGE_READONLY_EXEC,
    PAGE_SHARED,
    PAGE_SHARED_EXEC,
    PAGE_SHIFT,
    VM_EXEC,
    VM_FAULT_HWPOISON,
    VM_FAULT_HWPOISON_LARGE,
    VM_FAULT_OOM,
    VM_FAULT_SIGBUS,
    VM_FAULT_SIGSEGV,
    VM_READ,
    VM_SHARED,
    VM_WRITE,
    mm_counter,
    pfn_t,
    pfn_t_devmap_flags,
    pfn_t_to_pfn,
    pgprot_t,
    pte_mkwrite,
    pte_t,
    non_swap_entry,
    swp_entry_t,
    vm_fault_name,
)


# --- the fault context (include/linux/mm.h: struct vm_fault) ---------------------------------

@dataclass(slots=True)
class vm_fault:
    """`struct vm_fault`: what the fault path carries from function to function."""

    vma: vm_area_struct
    address: int
    flags: int
    pgoff: int
    pte: pte_ptr | None = None
    orig_pte: pte_t = pte_t(0)
    page: page | None = None
    cow_page: page | None = None


# --- pfns and pages ---------------------------------------------------------------------------

def pfn_valid(k: Kernel, pfn: int) -> bool:
    """pfn_valid(): the pfn has a struct page (SPARSEMEM: its section has a memmap)."""
    return k.memmap.kind(pfn, k.config.DEVMAP) is not PageKind.NONE


def pfn_t_valid(k: Kernel, pfn: pfn_t) -> bool:
    return pfn_valid(k, pfn_t_to_pfn(pfn))


def pfn_t_devmap(k: Kernel, pfn: pfn_t) -> bool:
    return pfn_t_devmap_flags(pfn, k.config.DEVMAP)


def is_zero_pfn(k: Kernel, pfn: int) -> bool:
    return pfn == k.memmap.zero


def highest_memmap_pfn(k: Kernel) -> int:
    """The highest pfn with a memmap (mm/internal.h); the anonymous pool ends the map."""
    return max(ANON_POOL_END - 1, k.memmap.ram[1], k.memmap.device[1], k.memmap.zero)


def pfn_to_page(k: Kernel, pfn: int) -> page:
    """pfn_to_page(): the struct page of a valid pfn (created on first sight for pool pfns,
    unallocated until alloc_page_vma hands them out)."""
    p = k.pages.get(pfn)
    if p is None:
        kind = k.memmap.kind(pfn, k.config.DEVMAP)
        assert kind is not PageKind.NONE, "pfn_to_page() of a pfn without a struct page"
        if kind is PageKind.ANON:
            p = page(pfn, kind, _refcount=0, allocated=False)
        else:
            p = page(pfn, kind)  # held once by its owner (page cache, pgmap, the kernel)
        k.pages[pfn] = p
    return p


def PageAnon(p: page) -> bool:
    return p.anon


ANON_VMA = "anon_vma"  # what page_rmapping() gives for an anonymous page: never a file's mapping


def page_rmapping(p: page) -> object | None:
    """page_rmapping() — mm/util.c: page->mapping without the PAGE_MAPPING_ANON bit: the
    anon_vma of an anonymous page (one token stands for every anon_vma), else the page-cache
    mapping (None for a page of no mapping)."""
    return ANON_VMA if p.anon else p.mapping


@dataclass(frozen=True, slots=True)
class zap_details:
    """`struct zap_details` (include/linux/mm.h): with check_mapping set (what
    unmap_mapping_range() passes when even_cows is 0), a zap leaves alone the present
    entries whose normal page belongs to another mapping: the private COW copies."""

    check_mapping: object | None = None


def page_count(p: page) -> int:
    return p._refcount


def page_mapcount(p: page) -> int:
    return p._mapcount


def get_page(k: Kernel, p: page) -> None:
    """get_page(): VM_BUG_ON_PAGE(page_ref_count(page) <= 0), then take a reference."""
    k.VM_BUG_ON(p._refcount <= 0, "get_page", "page_ref_count(page) <= 0")
    p._refcount += 1
    k.event(EventKind.REF, "get_page", pfn=p.pfn, refcount=p._refcount)


def put_page(k: Kernel, p: page) -> None:
    """put_page() -> put_page_testzero(): VM_BUG_ON_PAGE(page_ref_count(page) == 0) under
    DEBUG_VM (without it the count goes below zero and nothing is freed), then drop a
    reference; at zero the page is freed (ZONE_DEVICE pages go back to their pgmap, which the
    model does not distinguish) and freeing clears page->mapping, so an anonymous page is no
    longer PageAnon."""
    k.VM_BUG_ON(p._refcount == 0, "put_page", "page_ref_count(page) == 0")
    p._refcount -= 1
    if p._refcount == 0 and p.anon:
        p.anon = False
    k.event(EventKind.REF, "put_page", pfn=p.pfn, refcount=p._refcount)
    if p._refcount == 0 and k.pcp_list is not None and p.kind is PageKind.RAM:
        free_hot_cold_page(k, p)  # __put_page() -> __put_single_page()


def free_hot_cold_page(k: Kernel, p: page) -> None:
    """free_hot_cold_page(page, false) — mm/page_alloc.c (v4.13), as __put_single_page()
    (mm/swap.c) calls it when the last reference to a RAM page goes (a kernel whose RAM is
    the page allocator's, `Kernel.pcp_list`): free_pcp_prepare() checks the page only under
    DEBUG_VM (free_pages_check(): a mapped page or one with a mapping is reported by
    bad_page(), "BUG: Bad page state", and not freed), clears its flags
    (PAGE_FLAGS_CHECK_AT_PREP: PG_dirty, PG_referenced...), then list_add() puts it at the
    head of the CPU's list, where the next allocation takes it first (__rmqueue_pcplist():
    list_first_entry() for a hot allocation). Not modelled: the list's drain to the buddy
    lists at pcp->high (far above the RAM of a scene) and one list per CPU (an allocation
    that finds its own list empty drains every CPU's before it fails, drain_all_pages() in
    __alloc_pages_direct_reclaim(), so it fails only when no page is free anywhere; which
    free page a hole gets is not compared). PG_locked is not checked: the models drop a
    truncated page's last reference with the page still locked, where the kernel's pagevec
    reference (not modelled) keeps it until after unlock_page(); no switch point lies
    between, so no other task sees the difference."""
    if k.config.DEBUG_VM and (p._mapcount != 0 or p.mapping is not None):
        reason = "non-NULL mapping" if p.mapping is not None else "nonzero mapcount"
        k.WARN_ON(True, "bad_page", f"BUG: Bad page state ({reason})")
        return
    p.dirty = False
    p.referenced = False
    if any(q is p for q in k.pcp_list):  # freed twice (a reference taken on a free page):
        return  # list corruption in the kernel; the model keeps one entry
    k.pcp_list.insert(0, p)


def page_add_file_rmap(k: Kernel, p: page) -> None:
    p._mapcount += 1
    k.event(EventKind.RMAP, "page_add_file_rmap", pfn=p.pfn, mapcount=p._mapcount)


def page_remove_rmap(k: Kernel, p: page) -> None:
    p._mapcount -= 1
    k.event(EventKind.RMAP, "page_remove_rmap", pfn=p.pfn, mapcount=p._mapcount)


def page_add_new_anon_rmap(k: Kernel, p: page, vma: vm_area_struct, address: int) -> None:
    p.anon = True
    p._mapcount = 1
    k.event(EventKind.RMAP, "page_add_new_anon_rmap", pfn=p.pfn, mapcount=p._mapcount)


def set_page_dirty(k: Kernel, p: page) -> bool:
    dirtied = not p.dirty
    p.dirty = True
    k.event(EventKind.PAGE_FLAG, "set_page_dirty", pfn=p.pfn)
    return dirtied


def mark_page_accessed(k: Kernel, p: page) -> None:
    p.referenced = True
    k.event(EventKind.PAGE_FLAG, "mark_page_accessed", pfn=p.pfn)


# --- page data (only runs that model data, Kernel.memory, see an effect) -------------------------

def cow_user_page(k: Kernel, dst: page, src_pfn: int) -> None:
    """cow_user_page() — mm/memory.c: the new page gets the data the user saw in the old
    one (through its struct page, or through the user address for a pfn without one: the
    same data)."""
    if k.memory is not None:
        k.memory.copy_page(dst.pfn, src_pfn)


def clear_user_highpage(k: Kernel, dst: page) -> None:
    """clear_user_highpage() (include/linux/highmem.h), also what
    alloc_zeroed_user_highpage_movable() does to the page it returns."""
    if k.memory is not None:
        k.memory.clear_page(dst.pfn)


# --- mm counters --------------------------------------------------------------------------------

def mm_counter_file(p: page) -> mm_counter:
    """File pages count as MM_FILEPAGES (shmem's PageSwapBacked is not modelled)."""
    return mm_counter.MM_FILEPAGES


def mm_counter_of(p: page) -> mm_counter:
    """mm_counter(page) in C (renamed: the enum is `mm_counter` here)."""
    return mm_counter.MM_ANONPAGES if PageAnon(p) else mm_counter_file(p)


def inc_mm_counter_fast(mm: mm_struct, member: mm_counter) -> None:
    mm.rss_stat[member] += 1
    mm.kernel.event(EventKind.COUNTER, "inc_mm_counter", counter=member.value,
                    value=mm.rss_stat[member])


def dec_mm_counter_fast(mm: mm_struct, member: mm_counter) -> None:
    mm.rss_stat[member] -= 1
    mm.kernel.event(EventKind.COUNTER, "dec_mm_counter", counter=member.value,
                    value=mm.rss_stat[member])


# --- protections ----------------------------------------------------------------------------------

def maybe_mkwrite(pte: pte_t, vma: vm_area_struct) -> pte_t:
    """maybe_mkwrite() (include/linux/mm.h): writable only if the VMA has VM_WRITE; it does
    not look at VM_SHARED."""
    if vma.vm_flags & VM_WRITE:
        pte = pte_mkwrite(pte)
    return pte


def vm_get_page_prot(vm_flags: int, arch: Arch = Arch.x86_64) -> pgprot_t:
    """vm_get_page_prot() (mm/mmap.c): protection_map[vm_flags & (VM_READ|VM_WRITE|VM_EXEC|
    VM_SHARED)], the architecture's __P000..__S111. x86-64 (asm/pgtable_types.h) and ppc64
    (asm/book3s/64/pgtable.h) agree in the model's layout: no R/W/X is PAGE_NONE, VM_EXEC
    takes the _EXEC variant (without NX), write without VM_SHARED is PAGE_COPY (read-only).
    arm64 (asm/pgtable-prot.h) differs in one entry: VM_EXEC alone is PAGE_EXECONLY (not
    PTE_USER: not readable from EL0)."""
    read = bool(vm_flags & VM_READ)
    write = bool(vm_flags & VM_WRITE)
    if vm_flags & VM_EXEC:
        if arch is Arch.arm64 and not (read or write):
            return PAGE_EXECONLY
        if vm_flags & VM_SHARED and write:
            return PAGE_SHARED_EXEC
        return PAGE_COPY_EXEC if write else PAGE_READONLY_EXEC
    if vm_flags & VM_SHARED:
        return PAGE_SHARED if write else (PAGE_READONLY if read else PAGE_NONE)
    return PAGE_COPY if write else (PAGE_READONLY if read else PAGE_NONE)


def vma_wants_writenotify(vm_flags: int, has_mkwrite_ops: bool) -> bool:
    """vma_wants_writenotify() (mm/mmap.c): a shared writable mapping whose vm_ops have
    page_mkwrite or pfn_mkwrite is write-protected so the first write is seen."""
    return (vm_flags & (VM_WRITE | VM_SHARED)) == (VM_WRITE | VM_SHARED) and has_mkwrite_ops


def vma_page_prot(vm_flags: int, has_mkwrite_ops: bool,
                  arch: Arch = Arch.x86_64) -> pgprot_t:
    """vma_set_page_prot() (mm/mmap.c): with write-notify, the prot of the private
    equivalent (read-only)."""
    if vma_wants_writenotify(vm_flags, has_mkwrite_ops):
        return vm_get_page_prot(vm_flags & ~VM_SHARED, arch)
    return vm_get_page_prot(vm_flags, arch)


# --- allocations (each can be made to fail) ------------------------------------------------------

def pud_alloc(mm: mm_struct, address: int) -> bool:
    """pud_alloc() (include/linux/mm.h): the PUD table covering `address`, allocated on
    first use; False when that allocation fails (the C returns NULL)."""
    index = (address >> PAGE_SHIFT) >> PUD_TABLE_SHIFT
    if index not in mm.pud_tables:
        if mm.kernel.should_fail_alloc("pud_alloc"):
            return False
        mm.pud_tables.add(index)
    return True


def pmd_alloc(mm: mm_struct, address: int) -> bool:
    """pmd_alloc() (include/linux/mm.h): likewise for the PMD table."""
    index = (address >> PAGE_SHIFT) >> PMD_TABLE_SHIFT
    if index not in mm.pmd_tables:
        if mm.kernel.should_fail_alloc("pmd_alloc"):
            return False
        mm.pmd_tables.add(index)
    return True


def anon_vma_prepare(k: Kernel, vma: vm_area_struct) -> int:
    """anon_vma_prepare() (include/linux/rmap.h) -> __anon_vma_prepare() (mm/rmap.c): the
    first time, two allocations, each of which can fail (-ENOMEM): anon_vma_chain_alloc(),
    then, as find_mergeable_anon_vma() finds no neighbour's to share (the model has one
    VMA), anon_vma_alloc(); a failure of the second frees the first. 0 or -ENOMEM."""
    if vma.anon_vma:
        return 0
    if k.should_fail_alloc("anon_vma_chain_alloc"):
        return -ENOMEM  # out_enomem
    if k.should_fail_alloc("anon_vma_alloc"):
        return -ENOMEM  # out_enomem_free_avc
    vma.anon_vma = True
    return 0


def alloc_page_vma(k: Kernel, vma: vm_area_struct, address: int) -> page | None:
    """alloc_page_vma(GFP_HIGHUSER_MOVABLE): the next page of the anonymous pool, refcount 1,
    or NULL (fault injection, or the pool is exhausted)."""
    if k.should_fail_alloc("alloc_page_vma") or k.next_anon_pfn >= ANON_POOL_END:
        return None
    p = pfn_to_page(k, k.next_anon_pfn)
    k.next_anon_pfn += 1
    p.allocated = True
    p._refcount = 1
    p._mapcount = 0
    return p


# --- VMAs (mm/mmap.c) -----------------------------------------------------------------------------

def find_vma(mm: mm_struct, addr: int) -> vm_area_struct | None:
    """find_vma() — mm/mmap.c: the first VMA that ends above `addr` (it may start above it
    too), or None."""
    for vma in mm.mmap:
        if addr < vma.vm_end:
            return vma
    return None


# --- swap entries with no swap area (CONFIG_SWAP=y, swapon never ran) ---------------------------

def lookup_swap_cache(k: Kernel, entry: swp_entry_t) -> page | None:
    """lookup_swap_cache() (mm/swap_state.c): find_get_page(swap_address_space(entry), ...),
    where swap_address_space() is &swapper_spaces[swp_type(entry)][swp_offset(entry) >>
    SWAP_ADDRESS_SPACE_SHIFT]. swapper_spaces[] (a static array) holds NULL for a type no
    swapon() set up, so the radix-tree lookup reads through a pointer near NULL (or, for a
    large offset, a wild one): an oops, recorded as a BUG. (v4.13 has no swp_swap_info() that
    would check the type first.)"""
    k.BUG_ON(True, "lookup_swap_cache", "swapper_spaces[swp_type(entry)] == NULL")
    return None  # not reached: the oops ends the call


def free_swap_and_cache(k: Kernel, entry: swp_entry_t) -> int:
    """free_swap_and_cache() (mm/swapfile.c): 1 for a non_swap_entry(); otherwise
    _swap_info_get() finds no swap area (type >= nr_swapfiles: it logs "swap_info_get: Bad
    swap file entry", not a warning) and the result is 0, which makes zap_pte_range()
    report the entry with print_bad_pte()."""
    if non_swap_entry(entry):
        return 1
    return 0


def migration_entry_to_page(k: Kernel, entry: swp_entry_t) -> page:
    """migration_entry_to_page() (include/linux/swapops.h): pfn_to_page(swp_offset(entry)),
    then BUG_ON(!PageLocked(p)). No modelled page is ever locked, so it always fires (for an
    offset without a memmap the read of p->flags itself oopses first: the same end)."""
    k.BUG_ON(True, "migration_entry_to_page", "!PageLocked(p)")
    raise AssertionError("not reached: the BUG_ON ends the call")


def migration_entry_wait(k: Kernel, vma: vm_area_struct, address: int,
                         entry: swp_entry_t) -> None:
    """migration_entry_wait() -> __migration_entry_wait() (mm/migrate.c): under the PTE
    lock, the entry is still the migration entry (nothing ran in between), so
    migration_entry_to_page()."""
    migration_entry_to_page(k, entry)


# --- the user access ---------------------------------------------------------------------------

SIGSEGV = "SIGSEGV"
SIGBUS = "SIGBUS"
# do_sigbus() with VM_FAULT_HWPOISON (CONFIG_MEMORY_FAILURE; x86, arm64 and ppc64 alike):
# "MCE: Killing ... due to hardware memory corruption fault", si_code BUS_MCEERR_AR.
SIGBUS_MCEERR = "SIGBUS BUS_MCEERR_AR"


def do_user_fault(k: Kernel, address: int, flags: int,
                  handle_mm_fault: Callable[[vm_area_struct, int, int], int]
                  ) -> int | AccessLivelock:
    """A user load (`flags` without FAULT_FLAG_WRITE) or store at `address`: one attempt
    of the instruction.

    The MMU goes first (`fuzzplug.kernel.arch.mmu_access`): an access the entry permits is
    done by the hardware (x86: A, and D for a store; ppc64 hash: an HPTE hit, or
    __hash_page() hashing the PTE in and the instruction translated again; radix: R and C;
    arm64: AF, and DBM clearing PTE_RDONLY) and no fault handler runs: 0. Only an access it
    refuses reaches the architecture's page fault handler (`do_page_fault`) with the error
    code it gives. Returns the VM_FAULT_* result, or ACCESS_LIVELOCK for an access that
    never completes in the MMU's own fault handling (ppc64 hash: a stale HPTE refuses it
    after every hash fault; no page-fault handler runs). One call is one access: the retry
    after VM_FAULT_NOPAGE is the next access."""
    error_code = mmu_access(k, address, bool(flags & FAULT_FLAG_WRITE))
    if error_code is None:
        return 0
    if error_code is ACCESS_LIVELOCK:
        return ACCESS_LIVELOCK
    return do_page_fault(k, address, flags, error_code, handle_mm_fault)


def fault_result_name(ret: int | AccessLivelock) -> str:
    """do_user_fault()'s result as text: the VM_FAULT_* names, or "livelock" for an access
    that never completes (the word the dax_fault target's accesses use)."""
    return "livelock" if ret is ACCESS_LIVELOCK else vm_fault_name(ret)


def do_page_fault(k: Kernel, address: int, flags: int, error_code: int,
                  handle_mm_fault: Callable[[vm_area_struct, int, int], int]) -> int:
    """The architecture's page-fault handler for a user access the MMU refused with
    `error_code` (arch/x86/mm/fault.c __do_page_fault, arch/arm64/mm/fault.c do_page_fault,
    arch/powerpc/mm/fault.c do_page_fault): find the VMA (find_vma(); none, or one that
    starts above the address → SIGSEGV; stack growth is not modelled), the access check
    (x86's access_error() with PF_PROT/PF_WRITE/PF_USER, arm64's and ppc64's vm_flags masks;
    refused → SIGSEGV), handle_mm_fault() of the version under test, and the signal for an
    error result (VM_FAULT_OOM into the OOM killer, recorded as a signal too;
    VM_FAULT_HWPOISON is SIGBUS with BUS_MCEERR_AR). Returns the VM_FAULT_* result
    (VM_FAULT_SIGSEGV when the handler refuses the access before handle_mm_fault).

    The signal events name `__do_page_fault` and `mm_fault_error` on every architecture (so
    one behaviour has one observable across them); `where` gives the architecture's own
    function. The branch ids keep the name `do_user_fault:` they always had."""
    where = "do_page_fault" if k.config.arch in (Arch.ppc64, Arch.ppc64_radix) else \
        "__do_page_fault"
    vma = find_vma(k.mm, address)
    if vma is None or address < vma.vm_start:
        k.branch("do_user_fault:bad_area")
        k.event(EventKind.SIGNAL, "__do_page_fault", signal=SIGSEGV, reason="bad_area",
                where=where)
        return VM_FAULT_SIGSEGV
    if access_error(k, vma, error_code):
        k.branch("do_user_fault:access_error")
        k.event(EventKind.SIGNAL, "__do_page_fault", signal=SIGSEGV, reason="access_error",
                where=where, error_code=error_code)
        return VM_FAULT_SIGSEGV
    k.branch("do_user_fault:handle_mm_fault")
    ret = handle_mm_fault(vma, address, flags)
    if ret & VM_FAULT_OOM:
        k.event(EventKind.SIGNAL, "mm_fault_error", signal="OOM", ret=vm_fault_name(ret))
    elif ret & VM_FAULT_SIGBUS:
        k.event(EventKind.SIGNAL, "mm_fault_error", signal=SIGBUS, ret=vm_fault_name(ret))
    elif ret & (VM_FAULT_HWPOISON | VM_FAULT_HWPOISON_LARGE):
        k.event(EventKind.SIGNAL, "mm_fault_error", signal=SIGBUS_MCEERR,
                ret=vm_fault_name(ret))
    elif ret & VM_FAULT_SIGSEGV:
        k.event(EventKind.SIGNAL, "mm_fault_error", signal=SIGSEGV, ret=vm_fault_name(ret))
    return ret


def linear_page_index(vma: vm_area_struct, address: int) -> int:
    return ((address - vma.vm_start) >> PAGE_SHIFT) + vma.vm_pgoff


def ptl_name(address: int) -> str:
    """The split PTE lock of the page table mapping `address` (pte_lockptr()), by name."""
    return f"ptl:{(address >> PAGE_SHIFT) >> PTE_TABLE_SHIFT:#x}"


def pte_lock(mm: mm_struct, address: int, where: str) -> None:
    """spin_lock() of the split PTE lock of the page table that maps `address`
    (pte_lockptr(), include/linux/mm.h, as pte_offset_map_lock() and get_locked_pte() take
    it). With several tasks (`fuzzplug.runtime.sched`) it is a switch point: another CPU
    may take the lock first, and a task that holds it in a window (`pte_window`) keeps the
    others waiting here. The section it guards runs as one step, up to the next switch
    point, and none lies inside it but a window, so two tasks' sections never overlap, and
    the PTEs they touch are recorded cell by cell. Alone, a no-op."""
    sched = mm.kernel.sched
    if sched is not None:
        name = ptl_name(address)
        sched.spin_lock(name, f"{where}: {name}")


def pte_window(mm: mm_struct, address: int, where: str) -> None:
    """Between ptep_clear_flush() and set_pte_at() of the PTE at `address`, under its PTE
    lock (dax_mapping_entry_mkclean() in fs/dax.c, wp_page_copy() in mm/memory.c, v4.13
    and v4.14 alike): the entry is empty, and another CPU's user access, whose MMU walks
    the page table without the lock, sees pte_none and faults; its fault then waits for
    the PTE lock (handle_pte_fault(), finish_fault() and insert_pfn() re-check the entry
    under it). With several tasks, a switch point at which the task keeps the PTE lock
    (`Scheduler.spin_hold`): any other step may run but one that takes this lock. Alone,
    a no-op."""
    sched = mm.kernel.sched
    if sched is not None:
        name = ptl_name(address)
        sched.spin_hold(name, f"{where}: pte cleared, {name} held")

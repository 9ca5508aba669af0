"""insert_pfn_pmd's mutants (the target's `Mutable` capability): plausible bugs of the fix
and of the v5.0 code around it, each a small named edit of the post model of the default
pair, `fuzzplug/kernel/v5_0_c6f3c5ee40c1.py`, with a witness that kills it
(`fuzzplug.selftest.mutants` for the machinery, `tests/test_insert_pfn_pmd_selftest.py`
for the checks).

The witnesses run on the default mapping (0x40000000-0xc0000000, shared and writable; an
ext4 DAX file unless `mmap` says otherwise) at 0x40201000, a page of the PMD at 0x40200000.
"""

from __future__ import annotations

from fuzzplug.selftest.mutants import Mutant, applicable

_PRESENT_UPDATE = ("            if pmdp_set_access_flags(vma, addr, pmd, entry, 1):\n"
                   "                update_mmu_cache_pmd(vma, addr, pmd)\n")
_PMD_WRITE = ("        k.branch(\"insert_pfn_pmd:write\")\n"
              "        entry = pmd_mkyoung(pmd_mkdirty(entry))\n"
              "        entry = maybe_pmd_mkwrite(entry, vma)\n")
_PUD_WRITE = ("        k.branch(\"insert_pfn_pud:write\")\n"
              "        entry = pud_mkyoung(pud_mkdirty(entry))\n"
              "        entry = maybe_pud_mkwrite(entry, vma)\n")
_DEPOSIT = ("        pgtable_trans_huge_deposit(mm, pmd, pgtable)\n"
            "        mm_inc_nr_ptes(mm)\n"
            "        pgtable = None\n")
_OOM = ("            k.branch(\"vmf_insert_pfn_pmd:pte_alloc_one_failed\")\n"
        "            return VM_FAULT_OOM\n")
_PRESENT_FREE = ("        spin_unlock(ptl)  # goto out_unlock\n"
                 "        if pgtable is not None:\n"
                 "            pte_free(mm, pgtable)\n"
                 "        return\n\n"
                 "    entry = pmd_mkhuge(pfn_t_pmd(pfn, prot))\n")

_X86_DEBUG = "config DEBUG_VM=1\n"
_HASH = "config arch=ppc64\n"
_HASH_DEBUG = "config arch=ppc64 DEBUG_VM=1\n"
_RADIX_DEBUG = "config arch=ppc64_radix DEBUG_VM=1\n"
_DEVDAX_2M = "mmap backing=devdax_2m\n"
_DEVDAX_1G = "mmap backing=devdax_1g\n"
_SYNC = "mmap backing=fsdax_sync dirty=1\n"
_READ = "access addr=0x40201000\n"
_WRITE = "access addr=0x40201000 write=1\n"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "present_write_not_updated",
        "insert_pfn_pmd() leaves a present entry alone for a write too (the update through "
        "pmdp_set_access_flags() lost): a write after a read faults again and again.",
        ((_PRESENT_UPDATE, "            pass\n"),),
        witness=_READ + _WRITE + _WRITE,
    ),
    Mutant(
        "present_write_updates_with_set_pmd_at",
        "insert_pfn_pmd() updates a present entry for a write with set_pmd_at(), as v5.0 "
        "stored it, instead of pmdp_set_access_flags(): the WARN and the stranded HPTEs "
        "the fix is for, back on its own path.",
        ((_PRESENT_UPDATE, "            set_pmd_at(mm, addr, pmd, entry)\n"
                           "            update_mmu_cache_pmd(vma, addr, pmd)\n"),),
        witness=_HASH_DEBUG + _READ + _READ + _WRITE,
    ),
    Mutant(
        "present_leaks_table_again",
        "the v1 posting's leak back: on a present PMD the preallocated table is not freed.",
        ((_PRESENT_FREE, "        spin_unlock(ptl)  # goto out_unlock\n"
                         "        return\n\n"
                         "    entry = pmd_mkhuge(pfn_t_pmd(pfn, prot))\n"),),
        equivalent="on v5.0..c6f3c5ee40c1 the pre side loses a table at the same insert (its "
                   "second deposit overwrites the first's slot), so the live tables are equal "
                   "whichever side leaks: the leak shows against c6f3c5ee40c1 only "
                   "(pair v5.0+c6f3c5ee40c1-v1..v5.0+c6f3c5ee40c1, rule pgtable_leak_fixed)",
    ),
    Mutant(
        "read_fault_maps_writable",
        "insert_pfn_pmd() makes a new entry young, dirty and writable for a read too.",
        (("    if write:\n        k.branch(\"insert_pfn_pmd:write\")\n",
          "    if True:\n        k.branch(\"insert_pfn_pmd:write\")\n"),),
        witness=_READ,
    ),
    Mutant(
        "write_fault_not_young",
        "a new entry for a write is made dirty but not young.",
        ((_PMD_WRITE, _PMD_WRITE.replace("pmd_mkyoung(pmd_mkdirty(entry))",
                                         "pmd_mkdirty(entry)")),),
        equivalent="the access that faulted is retried through the MMU, which sets ACCESSED "
                   "on the entry it walks (mmu_access_huge): the entry ends young either way",
    ),
    Mutant(
        "write_fault_not_writable",
        "a new entry for a write is made young and dirty but not writable.",
        ((_PMD_WRITE, _PMD_WRITE.replace("        entry = maybe_pmd_mkwrite(entry, vma)\n",
                                         "")),),
        witness=_WRITE,
    ),
    Mutant(
        "new_entry_not_devmap",
        "insert_pfn_pmd() forgets pmd_mkdevmap() for a devmap pfn.",
        (("    if pfn_t_devmap_flags(pfn, k.config.DEVMAP):\n"
          "        entry = pmd_mkdevmap(entry)\n", ""),),
        witness=_READ,
    ),
    Mutant(
        "deposit_not_counted",
        "insert_pfn_pmd() deposits the preallocated table without mm_inc_nr_ptes().",
        ((_DEPOSIT, _DEPOSIT.replace("        mm_inc_nr_ptes(mm)\n", "")),),
        witness=_HASH + _READ,
    ),
    Mutant(
        "table_not_deposited",
        "insert_pfn_pmd() frees the preallocated table instead of depositing it.",
        ((_DEPOSIT, "        mm_inc_nr_ptes(mm)\n"),),
        witness=_HASH + _READ,
    ),
    Mutant(
        "table_allocation_failure_ignored",
        "vmf_insert_pfn_pmd() goes on without a table when pte_alloc_one() fails.",
        ((_OOM, "            k.branch(\"vmf_insert_pfn_pmd:pte_alloc_one_failed\")\n"),),
        witness=_HASH + "fail_alloc nth=2\n" + _READ,
    ),
    Mutant(
        "table_allocation_failure_is_sigbus",
        "vmf_insert_pfn_pmd() returns VM_FAULT_SIGBUS, not VM_FAULT_OOM, when "
        "pte_alloc_one() fails.",
        ((_OOM, _OOM.replace("VM_FAULT_OOM", "VM_FAULT_SIGBUS")),),
        witness=_HASH + "fail_alloc nth=2\n" + _READ,
    ),
    Mutant(
        "table_preallocated_everywhere",
        "vmf_insert_pfn_pmd() preallocates and deposits a table on every architecture, as "
        "if arch_needs_pgtable_deposit() were true.",
        (("    if arch_needs_pgtable_deposit(k):\n", "    if True:\n"),),
        witness=_READ,
    ),
    Mutant(
        "pud_read_fault_maps_dirty",
        "insert_pfn_pud() makes a new entry young, dirty and writable for a read too.",
        (("    if write:\n        k.branch(\"insert_pfn_pud:write\")\n",
          "    if True:\n        k.branch(\"insert_pfn_pud:write\")\n"),),
        witness=_DEVDAX_1G + _READ,
    ),
    Mutant(
        "pud_new_entry_not_devmap",
        "insert_pfn_pud() forgets pud_mkdevmap() for a devmap pfn.",
        (("    if pfn_t_devmap_flags(pfn, k.config.DEVMAP):\n"
          "        entry = pud_mkdevmap(entry)\n", ""),),
        witness=_DEVDAX_1G + _READ,
    ),
    Mutant(
        "pud_write_fault_not_young",
        "a new PUD entry for a write is made dirty but not young.",
        ((_PUD_WRITE, _PUD_WRITE.replace("pud_mkyoung(pud_mkdirty(entry))",
                                         "pud_mkdirty(entry)")),),
        equivalent="as write_fault_not_young: the retried access sets ACCESSED on the PUD",
    ),
    Mutant(
        "dev_dax_pmd_pfn_of_fault_page",
        "__dev_dax_pmd_fault() translates the page offset of the fault address, not of "
        "the PMD: the huge entry maps the wrong 2 MiB.",
        (("    pgoff = linear_page_index(vmf.vma, pmd_addr)\n"
          "    phys = dax_pgoff_to_phys(k, pgoff, PMD_SIZE)\n",
          "    pgoff = linear_page_index(vmf.vma, vmf.address)\n"
          "    phys = dax_pgoff_to_phys(k, pgoff, PMD_SIZE)\n"),),
        witness=_DEVDAX_2M + _READ,
    ),
    Mutant(
        "dev_dax_pmd_read_for_write",
        "__dev_dax_pmd_fault() passes write=false whatever the fault.",
        (("    return vmf_insert_pfn_pmd(vmf.vma, vmf.address, vmf.pmd, pfn[0],\n"
          "                              bool(vmf.flags & FAULT_FLAG_WRITE))\n",
          "    return vmf_insert_pfn_pmd(vmf.vma, vmf.address, vmf.pmd, pfn[0], False)\n"),),
        witness=_DEVDAX_2M + _WRITE,
    ),
    Mutant(
        "dev_dax_pmd_end_off_by_one",
        "__dev_dax_pmd_fault()'s VMA check refuses a PMD that ends at the VMA's end "
        "(>= for >): SIGBUS for the last 2 MiB of a mapping.",
        (("    if pmd_addr < vmf.vma.vm_start or pmd_addr + PMD_SIZE > vmf.vma.vm_end:\n",
          "    if pmd_addr < vmf.vma.vm_start or pmd_addr + PMD_SIZE >= vmf.vma.vm_end:\n"),),
        witness="mmap backing=devdax_2m start=0x40000000 end=0x40400000\n" + _READ,
    ),
    Mutant(
        "dev_dax_pud_read_for_write",
        "__dev_dax_pud_fault() passes write=false whatever the fault.",
        (("    return vmf_insert_pfn_pud(vmf.vma, vmf.address, vmf.pud, pfn[0],\n"
          "                              bool(vmf.flags & FAULT_FLAG_WRITE))\n",
          "    return vmf_insert_pfn_pud(vmf.vma, vmf.address, vmf.pud, pfn[0], False)\n"),),
        witness=_DEVDAX_1G + _WRITE,
    ),
    Mutant(
        "dev_dax_pud_pfn_of_fault_page",
        "__dev_dax_pud_fault() translates the page offset of the fault address, not of "
        "the PUD: the huge entry maps the wrong 1 GiB.",
        (("    pgoff = linear_page_index(vmf.vma, pud_addr)\n"
          "    phys = dax_pgoff_to_phys(k, pgoff, PUD_SIZE)\n",
          "    pgoff = linear_page_index(vmf.vma, vmf.address)\n"
          "    phys = dax_pgoff_to_phys(k, pgoff, PUD_SIZE)\n"),),
        witness=_DEVDAX_1G + _READ,
    ),
    Mutant(
        "dev_dax_pud_end_off_by_one",
        "__dev_dax_pud_fault()'s VMA check refuses a PUD that ends at the VMA's end "
        "(>= for >): SIGBUS for the last 1 GiB of a mapping.",
        (("    if pud_addr < vmf.vma.vm_start or pud_addr + PUD_SIZE > vmf.vma.vm_end:\n",
          "    if pud_addr < vmf.vma.vm_start or pud_addr + PUD_SIZE >= vmf.vma.vm_end:\n"),),
        witness="mmap backing=devdax_1g start=0x40000000 end=0x80000000\n" + _READ,
    ),
    Mutant(
        "dax_pmd_fault_ignores_colour",
        "dax_iomap_pmd_fault() maps a PMD whose file offset is not aligned with its "
        "address (the colour check lost): the huge entry maps blocks of the wrong offsets.",
        (("    if not pmd_colour_matches(vmf):\n", "    if False:\n"),),
        witness="mmap pgoff=0x1\n" + _READ,
    ),
    Mutant(
        "dax_pmd_fault_read_for_write",
        "dax_iomap_pmd_fault() inserts a mapped extent with write=false whatever the fault.",
        (("    return vmf_insert_pfn_pmd(vma, vmf.address, vmf.pmd, pfn, write)\n",
          "    return vmf_insert_pfn_pmd(vma, vmf.address, vmf.pmd, pfn, False)\n"),),
        witness=_WRITE,
    ),
    Mutant(
        "dax_pmd_fault_ignores_map_sync",
        "dax_iomap_pmd_fault() inserts a synchronous fault's pfn at once, before the "
        "metadata is committed (MAP_SYNC's promise broken).",
        (("    if sync:\n        k.branch(\"dax_iomap_pmd_fault:needdsync\")\n",
          "    if False:\n        k.branch(\"dax_iomap_pmd_fault:needdsync\")\n"),),
        witness=_SYNC + _WRITE,
    ),
    Mutant(
        "mkwrite_inserts_read_only",
        "dax_insert_pfn_mkwrite() inserts the synchronous fault's pfn with write=false.",
        (("        return vmf_insert_pfn_pmd(vmf.vma, vmf.address, vmf.pmd, pfn, True)\n",
          "        return vmf_insert_pfn_pmd(vmf.vma, vmf.address, vmf.pmd, pfn, False)\n"),),
        witness=_SYNC + _WRITE,
    ),
    Mutant(
        "present_update_with_dirty_0",
        "the update of a present entry for a write goes through pmdp_set_access_flags() "
        "with dirty=0: x86-64 then stores nothing (it stores only a dirty change).",
        (("            if pmdp_set_access_flags(vma, addr, pmd, entry, 1):\n",
          "            if pmdp_set_access_flags(vma, addr, pmd, entry, 0):\n"),),
        witness=_READ + _WRITE + _WRITE,
    ),
)
"""The mutants, in the order the self-test runs them."""


def mutants_for_model(model) -> tuple[Mutant, ...]:
    """The mutants whose edits apply to `model` (all of them to the default pair's post
    model, v5_0_c6f3c5ee40c1; fewer to another version, where a commit rewrote the text
    they edit)."""
    return applicable(MUTANTS, model)

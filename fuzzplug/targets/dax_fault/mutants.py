"""dax_fault's mutants (the target's `Mutable` capability): plausible bugs of the series,
each a small named edit of the v4.14 DAX model `fuzzplug/kernel/dax_v4_14.py`, with a
witness that kills it (`fuzzplug.selftest.mutants` for the machinery,
`tests/test_dax_fault_target.py` for the checks).

The witnesses run on the default scene: file pages 0 and 2 are blocks (tokens 11, 13), 1
and 3 holes, mapped shared and writable at 0x100000 (file page i at 0x100000 + i pages).
"""

from __future__ import annotations

from fuzzplug.selftest.mutants import Mutant

_BLOCK, _HOLE = "0x100000", "0x101000"
_TAG_DIRTY = ("    if vmf.flags & FAULT_FLAG_WRITE:\n"
              "        radix_tree_tag_set(mapping, index, PAGECACHE_TAG_DIRTY)\n"
              "    return entry\n")
_ZERO_UNMAP = ("            k.branch(\"dax_insert_mapping_entry:zero_page\")\n"
               "            unmap_mapping_range(mapping, vmf.pgoff << PAGE_SHIFT, PAGE_SIZE, 0)\n")
_UNLOCK_END = ("    # unlock_entry:\n"
               "    put_locked_mapping_entry(mapping, vmf.pgoff)\n"
               "    return vmf_ret\n")

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "mkwrite_fault_forgets_dirty_tag",
        "dax_insert_mapping_entry() does not tag the entry DIRTY on a write fault: "
        "dax_pfn_mkwrite() used to, and now nothing does, so fsync() never flushes a store "
        "made through the mapping (the issue's own example of what the series must keep).",
        ((_TAG_DIRTY, "    return entry\n"),),
        witness=f"store addr={_BLOCK} val=0x66\nfsync\n",
    ),
    Mutant(
        "zero_page_not_unmapped_before_block",
        "dax_insert_mapping_entry() swaps a zero-page entry for a block entry without "
        "unmapping the zero page first: the write fault then finds the zero page's PTE.",
        ((_ZERO_UNMAP, "            k.branch(\"dax_insert_mapping_entry:zero_page\")\n"),),
        # The same mapping's store livelocks with the signature of the known cause
        # zero_page_not_unmapped_without_pte_special (this mutant is that cause on every
        # architecture); through a second mapping the stale zero page shows apart.
        witness=(f"vma2 start=0x108000 pages=4\nload addr={_HOLE}\n"
                 "store addr=0x109000 val=0x66\n"),
    ),
    Mutant(
        "write_fault_inserts_without_mkwrite",
        "dax_insert_mapping() calls vm_insert_mixed() for write faults too (patch 1 left "
        "unused): the entry is read-only, and the write-protect fault, now the DAX fault "
        "itself, inserts read-only again.",
        (("        return vm_insert_mixed_mkwrite(vma, vaddr, pfn)\n",
          "        return vm_insert_mixed(vma, vaddr, pfn)\n"),),
        witness=f"store addr={_BLOCK} val=0x66\n",
    ),
    Mutant(
        "fault_keeps_entry_locked",
        "dax_iomap_pte_fault() returns without unlocking the mapping entry (a lost "
        "put_locked_mapping_entry() on the success path): the next fault, fsync or "
        "truncate of that page sleeps forever.",
        ((_UNLOCK_END, "    return vmf_ret\n"),),
        witness=f"load addr={_BLOCK}\n",
    ),
    Mutant(
        "enomem_is_sigbus",
        "dax_fault_return() maps -ENOMEM to VM_FAULT_SIGBUS instead of VM_FAULT_OOM.",
        (("    if error == -ENOMEM:\n        return VM_FAULT_OOM\n    return VM_FAULT_SIGBUS\n",
          "    return VM_FAULT_SIGBUS\n"),),
        witness=f"fail_alloc nth=1 site=radix_tree_preload\nload addr={_BLOCK}\n",
    ),
    Mutant(
        "zero_entry_kept_under_block",
        "dax_insert_mapping_entry() swaps only empty entries, leaving a zero-page entry in "
        "the tree under a block's mapping: fsync() then skips the block (and warns).",
        (("    if dax_is_zero_entry(entry) or dax_is_empty_entry(entry):\n",
          "    if dax_is_empty_entry(entry):\n"),),
        witness=f"load addr={_HOLE}\nstore addr={_HOLE} val=0x66\nfsync\n",
    ),
    Mutant(
        "zero_page_mapped_writable",
        "dax_load_hole() inserts the zero page with vm_insert_mixed_mkwrite(): the shared "
        "zero page is mapped young, dirty and writable, and a store lands in it.",
        (("    vm_insert_mixed(vmf.vma, vaddr, __pfn_to_pfn_t(zero_pfn, 0))  # page_to_pfn_t()\n",
          "    vm_insert_mixed_mkwrite(vmf.vma, vaddr, __pfn_to_pfn_t(zero_pfn, 0))\n"),),
        witness=f"load addr={_HOLE}\nstore addr={_HOLE} val=0x66\nload addr={_HOLE}\n",
    ),
    Mutant(
        "writeback_keeps_dirty_tag",
        "dax_writeback_one() flushes the block but does not clear its DIRTY tag: every "
        "later fsync() writes it back again.",
        (("            radix_tree_tag_clear(mapping, index, PAGECACHE_TAG_DIRTY)\n", ""),),
        witness=f"store addr={_BLOCK} val=0x66\nfsync\n",
    ),
    Mutant(
        "writeback_skips_mkclean",
        "dax_writeback_one() flushes without write-protecting the mappings: a store after "
        "fsync() dirties the cache without a fault, so the entry is not tagged again and "
        "the next fsync() loses it.",
        (("            dax_mapping_entry_mkclean(mapping, index, pfn_t_to_pfn(pfn))\n", ""),),
        witness=f"store addr={_BLOCK} val=0x66\nfsync\n",
    ),
    Mutant(
        "fault_beyond_eof_off_by_one",
        "dax_iomap_pte_fault()'s i_size check uses > instead of >=: a fault on the page at "
        "i_size is served instead of SIGBUS.",
        (("    if pos >= i_size_read(ino):\n", "    if pos > i_size_read(ino):\n"),),
        witness="truncate pages=2\nload addr=0x102000\n",
    ),
)

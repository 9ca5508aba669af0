"""insert_pfn's mutants (the target's `Mutable` capability): plausible kernel bugs, each a
small named edit of the post-patch model `fuzzplug/kernel/v4_14.py`, with a witness that
kills it or the argument why it is equivalent (`fuzzplug.selftest.mutants` for the
machinery, `tests/test_selftest.py` for the checks).
"""

from __future__ import annotations

from fuzzplug.selftest.mutants import Mutant

_MKWRITE_TAIL = ('        k.branch("insert_pfn:out_mkwrite:mkwrite")\n'
                 '        entry = pte_mkyoung(entry)\n'
                 '        entry = maybe_mkwrite(pte_mkdirty(entry), vma)\n')
_REUSE = ('            k.branch("insert_pfn:present:mkwrite:reuse")\n'
          '            entry = pte[0]\n')
_WARN = ('k.WARN_ON_ONCE(pte_pfn(pte[0]) != pfn_t_to_pfn(pfn), "insert_pfn",\n'
         '                              "pte_pfn(*pte) != pfn_t_to_pfn(pfn)")')
_START = "0x100000"
_INSERT_THEN_MKWRITE = (f"vm_insert_mixed addr={_START} pfn=0x80\n"
                        f"vm_insert_mixed_mkwrite addr={_START} pfn=0x80\n")
_MISMATCH = (f"vm_insert_mixed addr={_START} pfn=0x80\n"
             f"vm_insert_mixed_mkwrite addr={_START} pfn=0x81\n")
_NO_SPECIAL = "config HAVE_PTE_SPECIAL=0\n"
_SHARED_RO = ("vma flags=VM_READ|VM_SHARED|VM_MAYREAD|VM_MIXEDMAP\n")
_PFNMAP = ("vma flags=VM_READ|VM_WRITE|VM_SHARED|VM_MAYREAD|VM_MAYWRITE|VM_PFNMAP\n")
_PRIVATE = "vma flags=VM_READ|VM_WRITE|VM_MAYREAD|VM_MAYWRITE|VM_MIXEDMAP\n"
_SHARED_NO_NOTIFY = ("vma flags=VM_READ|VM_WRITE|VM_SHARED|VM_MAYREAD|VM_MAYWRITE|VM_MIXEDMAP "
                     "vm_ops=0\n")

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "drop_pte_mkyoung",
        "insert_pfn() with mkwrite forgets pte_mkyoung(): the entry is dirty and writable "
        "but not young.",
        ((_MKWRITE_TAIL, _MKWRITE_TAIL.replace("        entry = pte_mkyoung(entry)\n", "")),),
        witness=("config DEVMAP=0\n"
                 f"vm_insert_pfn_prot addr={_START} pfn=0x80 prot=_PAGE_PRESENT|_PAGE_USER\n"
                 f"vm_insert_mixed_mkwrite addr={_START} pfn=0x80 flags=PFN_DEV\n"),
    ),
    Mutant(
        "pte_mkwrite_not_maybe",
        "insert_pfn() with mkwrite uses pte_mkwrite() instead of maybe_mkwrite(): the entry "
        "is writable even in a VMA without VM_WRITE.",
        (("    pte_mkspecial,\n", "    pte_mkspecial,\n    pte_mkwrite,\n"),
         (_MKWRITE_TAIL, _MKWRITE_TAIL.replace("maybe_mkwrite(pte_mkdirty(entry), vma)",
                                               "pte_mkwrite(pte_mkdirty(entry))"))),
        witness=_SHARED_RO + f"vm_insert_mixed_mkwrite addr={_START} pfn=0x80\n",
    ),
    Mutant(
        "plain_insert_mixed_mkwrites",
        "vm_insert_mixed() passes mkwrite=true to __vm_insert_mixed(): every mixed insert "
        "makes a dirty, writable entry and reuses present ones.",
        (("    return __vm_insert_mixed(vma, addr, pfn, False)\n",
          "    return __vm_insert_mixed(vma, addr, pfn, True)\n"),),
        witness=f"vm_insert_mixed addr={_START} pfn=0x80\n",
    ),
    Mutant(
        "mkwrite_export_drops_flag",
        "vm_insert_mixed_mkwrite() passes mkwrite=false: the new export is a plain insert.",
        (("    return __vm_insert_mixed(vma, addr, pfn, True)\n",
          "    return __vm_insert_mixed(vma, addr, pfn, False)\n"),),
        witness=f"vm_insert_mixed_mkwrite addr={_START} pfn=0x80\n",
    ),
    Mutant(
        "pfn_check_missing",
        "The reuse path does not compare the present entry's pfn with the requested one: "
        "another pfn's entry is made writable.",
        ((f"            if {_WARN}:\n", "            if False:\n"),),
        witness=_MISMATCH,
    ),
    Mutant(
        "pfn_check_inverted",
        "The reuse path's pfn check is inverted: a matching entry is refused with a warning, "
        "a mismatching one reused.",
        ((_WARN, _WARN.replace("pte_pfn(pte[0]) != pfn_t_to_pfn(pfn)",
                               "pte_pfn(pte[0]) == pfn_t_to_pfn(pfn)")),),
        witness=_MISMATCH,  # a match warns too, but with the known mismatch signature
    ),
    Mutant(
        "mismatch_returns_zero",
        "On a pfn mismatch insert_pfn() warns but returns 0 instead of -EBUSY.",
        (('                k.branch("insert_pfn:present:mkwrite:pfn_mismatch")\n'
          '                return retval\n',
          '                k.branch("insert_pfn:present:mkwrite:pfn_mismatch")\n'
          '                return 0\n'),),
        witness=_MISMATCH,
    ),
    Mutant(
        "reuse_returns_ebusy",
        "The reuse path does its work but returns -EBUSY instead of 0.",
        (("    retval = -EBUSY\n    if not pte_none(k, pte[0]):\n        if mkwrite:\n",
          "    retval = -EBUSY\n    reused = not pte_none(k, pte[0])\n"
          "    if not pte_none(k, pte[0]):\n        if mkwrite:\n"),
         ("    update_mmu_cache(vma, addr, pte)  # XXX: why not for insert_page?\n\n"
          "    retval = 0\n",
          "    update_mmu_cache(vma, addr, pte)  # XXX: why not for insert_page?\n\n"
          "    retval = -EBUSY if reused else 0\n")),
        equivalent=("Only a present entry is reused, and only with mkwrite, whose only "
                    "caller is DAX: dax_iomap_pte_fault() maps 0 and -EBUSY alike to "
                    "VM_FAULT_NOPAGE (rule ebusy_is_success), and the promise is checked "
                    "only on a 0 return; the PTE, pages and events are the same. No caller "
                    "of the kernel could tell either."),
    ),
    Mutant(
        "reuse_ignores_mkwrite",
        "The reuse path returns -EBUSY at once, as before the patch: a present read-only "
        "entry never becomes writable through vm_insert_mixed_mkwrite().",
        ((_REUSE, '            k.branch("insert_pfn:present:mkwrite:reuse")\n'
                  '            return retval\n'),),
        witness=_INSERT_THEN_MKWRITE,
    ),
    Mutant(
        "pte_none_inverted",
        "insert_pfn() tests pte_none() the wrong way round.",
        (("    retval = -EBUSY\n    if not pte_none(k, pte[0]):\n        if mkwrite:\n",
          "    retval = -EBUSY\n    if pte_none(k, pte[0]):\n        if mkwrite:\n"),),
        witness=f"vm_insert_mixed addr={_START} pfn=0x80\n",
    ),
    Mutant(
        "insert_page_path_takes_mkwrite",
        "__vm_insert_mixed() sends mkwrite inserts of refcounted pages to insert_pfn(): "
        "without pte_special the page is mapped with no reference, count or rmap.",
        (("    if not k.config.HAVE_PTE_SPECIAL and not pfn_t_devmap(k, pfn) and "
          "pfn_t_valid(k, pfn):\n",
          "    if not mkwrite and not k.config.HAVE_PTE_SPECIAL and not pfn_t_devmap(k, pfn)"
          " and pfn_t_valid(k, pfn):\n"),),
        witness=_NO_SPECIAL + f"vm_insert_mixed_mkwrite addr={_START} pfn=0x10 flags=0\n",
    ),
    Mutant(
        "efault_off_by_one",
        "__vm_insert_mixed()'s range check uses > vm_end instead of >= vm_end: the page "
        "just past the VMA is mapped.",
        (("    if addr < vma.vm_start or addr >= vma.vm_end:\n"
          '        k.branch("vm_insert_mixed:efault")\n',
          "    if addr < vma.vm_start or addr > vma.vm_end:\n"
          '        k.branch("vm_insert_mixed:efault")\n'),),
        witness="vm_insert_mixed addr=0x110000 pfn=0x80\n",
    ),
    Mutant(
        "insert_page_extra_get_page",
        "insert_page() takes two references: the page leaks.",
        (('    k.branch("insert_page:insert")\n    get_page(k, pg)\n',
          '    k.branch("insert_page:insert")\n    get_page(k, pg)\n    get_page(k, pg)\n'),),
        witness=_NO_SPECIAL + f"vm_insert_mixed addr={_START} pfn=0x10 flags=0\n",
    ),
    Mutant(
        "drop_update_mmu_cache",
        "insert_pfn() forgets update_mmu_cache() after set_pte_at().",
        (("    update_mmu_cache(vma, addr, pte)  # XXX: why not for insert_page?\n", ""),),
        # ppc64's hash MMU: without the preload the mkwrite insert leaves no HPTE (and the
        # linux PTE no H_PAGE_HASHPTE) where v4.13's write fault had hashed one in.
        witness=f"config arch=ppc64\nvm_insert_mixed_mkwrite addr={_START} pfn=0x80\n",
    ),
    Mutant(
        "bug_on_mixedmap_weakened",
        "__vm_insert_mixed()'s BUG_ON accepts VM_PFNMAP as well as VM_MIXEDMAP.",
        (('    k.BUG_ON(not (vma.vm_flags & VM_MIXEDMAP), "vm_insert_mixed",\n',
          '    k.BUG_ON(not (vma.vm_flags & (VM_MIXEDMAP | VM_PFNMAP)), "vm_insert_mixed",\n'),),
        witness=_PFNMAP + f"vm_insert_mixed addr={_START} pfn=0x80\n",
    ),
    Mutant(
        "bug_on_pfn_valid_dropped",
        "vm_insert_pfn_prot() lost BUG_ON(VM_MIXEDMAP && pfn_valid(pfn)): a refcounted "
        "page is mapped as a special pfn.",
        (("    k.BUG_ON(bool(vma.vm_flags & VM_MIXEDMAP) and pfn_valid(k, pfn), fn,\n",
          "    k.BUG_ON(False and pfn_valid(k, pfn), fn,\n"),),
        witness=f"vm_insert_pfn addr={_START} pfn=0x10\n",
    ),
    Mutant(
        "drop_pte_mkdirty",
        "insert_pfn() with mkwrite forgets pte_mkdirty(): the entry is writable but clean.",
        ((_MKWRITE_TAIL, _MKWRITE_TAIL.replace("maybe_mkwrite(pte_mkdirty(entry), vma)",
                                               "maybe_mkwrite(entry, vma)")),),
        witness=f"vm_insert_mixed_mkwrite addr={_START} pfn=0x80\n",
    ),
    Mutant(
        "devmap_special_swapped",
        "insert_pfn() marks devmap pfns special and the others devmap.",
        (('            k.branch("insert_pfn:insert:devmap")\n'
          '            entry = pte_mkdevmap(pfn_t_pte(pfn, prot))\n'
          '        else:\n'
          '            k.branch("insert_pfn:insert:special")\n'
          '            entry = pte_mkspecial(pfn_t_pte(pfn, prot))\n',
          '            k.branch("insert_pfn:insert:devmap")\n'
          '            entry = pte_mkspecial(pfn_t_pte(pfn, prot))\n'
          '        else:\n'
          '            k.branch("insert_pfn:insert:special")\n'
          '            entry = pte_mkdevmap(pfn_t_pte(pfn, prot))\n'),),
        witness=f"vm_insert_mixed addr={_START} pfn=0x80 flags=PFN_DEV|PFN_MAP\n",
    ),
    Mutant(
        "zap_forgets_put_page",
        "zap_pte_range() drops the mapping without put_page(): every unmapped page leaks.",
        (("            put_page(k, pg)  # __tlb_remove_page(), then release_pages() at the "
          "flush\n", ""),),
        witness=_NO_SPECIAL + f"vm_insert_mixed addr={_START} pfn=0x10 flags=0\n"
                              f"zap addr={_START}\n",
    ),
    Mutant(
        "zap_forgets_dec_mm_counter",
        "zap_pte_range() forgets to decrement the rss counter.",
        (("            dec_mm_counter_fast(mm, mm_counter_of(pg))\n"
          "            page_remove_rmap(k, pg)\n",
          "            page_remove_rmap(k, pg)\n"),),
        witness=_NO_SPECIAL + f"vm_insert_mixed addr={_START} pfn=0x10 flags=0\n"
                              f"zap addr={_START}\n",
    ),
    Mutant(
        "mixed_skips_track_pfn_insert",
        "__vm_insert_mixed() forgets track_pfn_insert(): on x86 with PAT, MMIO is mapped "
        "write-back instead of UC-.",
        (("    pgprot = track_pfn_insert(vma, pgprot, pfn)\n\n"
          "    # Without pte special", "    # Without pte special"),),
        witness=f"vm_insert_mixed addr={_START} pfn=0x40 flags=PFN_DEV\n",
    ),
    Mutant(
        "pfn_prot_passes_mkwrite",
        "vm_insert_pfn_prot() passes mkwrite=true: vm_insert_pfn() makes dirty, writable "
        "entries.",
        (("    ret = insert_pfn(vma, addr, __pfn_to_pfn_t(pfn, PFN_DEV), pgprot,\n"
          "                     False)\n",
          "    ret = insert_pfn(vma, addr, __pfn_to_pfn_t(pfn, PFN_DEV), pgprot,\n"
          "                     True)\n"),),
        witness=_PFNMAP + f"vm_insert_pfn addr={_START} pfn=0x80\n",
    ),
    Mutant(
        "reuse_rebuilds_entry",
        "The reuse path rebuilds the entry from pfn and prot instead of keeping *pte: the "
        "special/devmap bits are lost.",
        ((_REUSE, '            k.branch("insert_pfn:present:mkwrite:reuse")\n'
                  '            entry = pfn_t_pte(pfn, prot)\n'),),
        witness=(f"vm_insert_mixed addr={_START} pfn=0x80 flags=PFN_DEV|PFN_MAP\n"
                 f"vm_insert_mixed_mkwrite addr={_START} pfn=0x80 flags=PFN_DEV|PFN_MAP\n"),
    ),
    Mutant(
        "reuse_skips_set_pte_at",
        "The reuse path computes the young, dirty, writable entry but returns before "
        "storing it.",
        (("    set_pte_at(mm, addr, pte, entry)\n"
          "    update_mmu_cache(vma, addr, pte)  # XXX: why not for insert_page?\n",
          "    if not pte_none(k, pte[0]):\n"
          "        return 0\n"
          "    set_pte_at(mm, addr, pte, entry)\n"
          "    update_mmu_cache(vma, addr, pte)  # XXX: why not for insert_page?\n"),),
        witness=_INSERT_THEN_MKWRITE,
    ),
    Mutant(
        "mismatch_without_warn",
        "The pfn mismatch is refused silently: WARN_ON_ONCE() became a plain test.",
        ((_WARN, "(pte_pfn(pte[0]) != pfn_t_to_pfn(pfn))"),),
        witness=_MISMATCH,
    ),
    Mutant(
        "insert_page_busy_inverted",
        "insert_page() refuses a none PTE and overwrites a present one.",
        (('    if not pte_none(k, pte[0]):\n        k.branch("insert_page:busy")\n',
          '    if pte_none(k, pte[0]):\n        k.branch("insert_page:busy")\n'),),
        witness=_NO_SPECIAL + f"vm_insert_mixed addr={_START} pfn=0x10 flags=0\n",
    ),
    Mutant(
        "no_pte_returns_ebusy",
        "insert_pfn() returns -EBUSY instead of -ENOMEM when the PTE table cannot be "
        "allocated.",
        (('    retval = -ENOMEM\n    pte = get_locked_pte(mm, addr)\n    if pte is None:\n'
          '        k.branch("insert_pfn:no_pte")\n',
          '    retval = -EBUSY\n    pte = get_locked_pte(mm, addr)\n    if pte is None:\n'
          '        k.branch("insert_pfn:no_pte")\n'),),
        witness=f"fail_alloc nth=1\nvm_insert_mixed addr={_START} pfn=0x80\n",
    ),
    Mutant(
        "wp_page_reuse_no_mkdirty",
        "wp_page_reuse() forgets pte_mkdirty(): a write fault leaves a writable clean entry.",
        (("    entry = pte_mkyoung(vmf.orig_pte)\n"
          "    entry = maybe_mkwrite(pte_mkdirty(entry), vma)\n",
          "    entry = pte_mkyoung(vmf.orig_pte)\n"
          "    entry = maybe_mkwrite(entry, vma)\n"),),
        witness=(f"vm_insert_mixed addr={_START} pfn=0x80\n"
                 f"fault addr={_START} flags=FAULT_FLAG_WRITE\n"),
    ),
    Mutant(
        "cow_counter_not_moved",
        "wp_page_copy() adds the anonymous page to the rss but does not take the file page "
        "out.",
        (('                k.branch("wp_page_copy:copied:from_file_page")\n'
          '                dec_mm_counter_fast(mm, mm_counter_file(old_page))\n',
          '                k.branch("wp_page_copy:copied:from_file_page")\n'),),
        witness=(_NO_SPECIAL + _PRIVATE + f"vm_insert_mixed addr={_START} pfn=0x10 flags=0\n"
                 f"fault addr={_START} flags=FAULT_FLAG_WRITE\n"),
    ),
    # The two deepest (issue #10's depth targets), each killed only in a particular scene:
    # cow_oom_leaks_old_page needs three calls (a page-backed entry in a private mapping,
    # an injected failure, a write fault); zap_loses_dirty_bit three (read fault, write
    # fault, unmap in a shared mapping without write-notify), or two when the entry is made
    # dirty by the mkwrite insert (the exhaustive checker's shortest kill).
    Mutant(
        "cow_oom_leaks_old_page",
        "wp_page_copy()'s oom path forgets put_page() of the old page: a COW that fails to "
        "allocate leaks the reference do_wp_page() took.",
        (('    if old_page is not None:\n        put_page(k, old_page)\n'
          '    return VM_FAULT_OOM\n',
          '    return VM_FAULT_OOM\n'),),
        witness=(_NO_SPECIAL + _PRIVATE + f"vm_insert_mixed addr={_START} pfn=0x10 flags=0\n"
                 "fail_alloc nth=1\n"
                 f"fault addr={_START} flags=FAULT_FLAG_WRITE\n"),
    ),
    Mutant(
        "zap_loses_dirty_bit",
        "zap_pte_range() forgets set_page_dirty() for a dirty entry of a file page: in a "
        "shared mapping without write-notify the entry's dirty bit is the only record of "
        "the write, and the data is lost.",
        (('                    k.branch("zap_pte_range:present:page:file_dirty")\n'
          '                    set_page_dirty(k, pg)\n',
          '                    k.branch("zap_pte_range:present:page:file_dirty")\n'),),
        witness=(_NO_SPECIAL + _SHARED_NO_NOTIFY + f"fault addr={_START}\n"
                 f"fault addr={_START} flags=FAULT_FLAG_WRITE\n"
                 f"zap addr={_START}\n"),
    ),
)

"""The kernel models, shared by every target that runs on them: models of kernel code only.

Python models of Linux code, written from the kernel source function by function and
branch by branch (each docstring names the C function, file and version):

- `types`: kernel values (`pte_t`, `pfn_t`, `pgprot_t`, flags, errno and VM_FAULT codes);
- `state`: kernel objects (`struct page`, `vm_area_struct`, `mm_struct`) and the `Kernel`
  that records a run (events, branch ids, fault injection);
- `arch`: the architecture hooks (x86-64, ppc64 hash and radix, arm64) with their debug
  checks and what each MMU sets on an access;
- `mm`: mm helpers the patch does not touch, and the page-fault entry;
- `fs`: the file side of a DAX run (block device, ext4 inode and block map, the page-cache
  radix tree, the locks), unchanged by the series;
- `v4_13`, `v4_14`: mm/memory.c before and after the patch, as sibling modules;
  `v4_14_f2c57d91b0d9`, `v4_14_f2c57d91b0d9_cae85cb8add3`: v4.14 with the upstream fixes of
  the patch applied one at a time, each a sibling of the one before (the backport chain);
- `dax_v4_13`, `dax_v4_14`: fs/dax.c and ext4's DAX fault paths before and after the series;
- the v5.0 era (the insert_pfn_pmd chain): `huge_types` (`pmd_t`, `pud_t`), `huge_state`
  (`HugeKernel`: the mm's huge entries, deposited tables, page-table accounting; the DAX
  backings), `huge_arch` (set_pmd_at, pmdp_set_access_flags, the deposit, the MMU on huge
  entries, per architecture), `huge_v5_0` (the unchanged paths: the fault, zapping, exit
  and check_mm, device and fs DAX around the changed functions), and the siblings `v5_0`,
  `v5_0_c6f3c5ee40c1_v1`, `v5_0_c6f3c5ee40c1`, `v5_0_c6f3c5ee40c1_fce86ff5802b` (what each
  change touches: mm/huge_memory.c's inserts and their DAX callers).

What the models run on (switch points, footprints, physical memory) is `fuzzplug.runtime`,
below them; what drives, explores and observes them (the DAX machine, cloning, DPOR, the
oracle's view of a `Kernel`) is `fuzzplug.explore`, above them. No model imports the
differential core (`tests/test_layering.py`).
"""

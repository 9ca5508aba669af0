"""The kernel models, shared by every target that runs on them.

Python models of Linux code, written from the kernel source function by function and
branch by branch (each docstring names the C function and file):

- `types`: kernel values (`pte_t`, `pfn_t`, `pgprot_t`, flags, errno and VM_FAULT codes);
- `state`: kernel objects (`struct page`, `vm_area_struct`, `mm_struct`) and the `Kernel`
  that records a run (events, branch ids, fault injection);
- `arch`: the architecture hooks (x86-64, ppc64, arm64) with their debug checks;
- `mm`: mm helpers the patch does not touch, and the user-access entry;
- `v4_13`, `v4_14`: mm/memory.c before and after the patch, as sibling modules;
  `v4_14_f2c57d91b0d9`, `v4_14_f2c57d91b0d9_cae85cb8add3`: v4.14 with the upstream fixes of
  the patch applied one at a time, each a sibling of the one before (the backport chain);
- `observe`: what the oracle observes of a `Kernel` (events, state, incidental branches);
- `clone`: cloning a `Kernel` and keying its state, for steppers.
"""

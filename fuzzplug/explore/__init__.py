"""What drives, explores and observes the kernel models: fuzzplug's exploration layer,
above the models and below the targets.

- `daxfile`: a DAX file on ext4 in a booted kernel (the scene, the CPU's loads and stores
  through the MMU, the dax_fault ops);
- `daxtrack`: the cells of a DAX machine's state each step touches (its footprint), for
  runs of several tasks;
- `daxbind`: a DAX version model run on another mm model (fs/dax.c of v4.14 over a fixed
  mm/memory.c), without a copy of the model;
- `daxtasks`: several tasks on one DAX machine under a scheduler;
- `daxview`: the views of a DAX machine the oracle compares (the file, the mapping, hole
  pages, leaks, the snapshot);
- `dpor`: every interleaving of a few tasks up to commuting steps (dynamic partial-order
  reduction with sleep sets);
- `clone`: forking a modelled `Kernel` and keying its state, for steppers;
- `observe`: what the oracle observes of a `Kernel` (events, state, incidental branches);
- `configop`: the `config` scene op that every target on the kernel models spells the same;
- `mkwrite`: what insert_pfn()'s mkwrite path reports (branch ids, warnings, the store
  cae85cb8add3 replaced, the bits ptep_set_access_flags() keeps), for the fixes' rules.
"""

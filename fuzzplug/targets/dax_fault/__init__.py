"""The dax_fault target: the series "DAX common 4k zero page" (v4.14; patch 1 is upstream
b2770da64254, the seed) seen from user space and the rest of the kernel, through ext4's DAX
fault paths and the file operations around them.

Everything the target owns is in this package: `schema` (the op language and the scene's
normalisation), `rules` (the intended delta, each rule with the sentence it rests on),
`target` (the oracle loop, `TARGET`), `known.toml` (the triaged findings), `mutants` (the
self-test's mutants of the v4.14 DAX model) and `domain` (the small domain). Its seed
scenarios live in the repository's `corpora/dax_fault/`. The kernel models it runs are
shared: `fuzzplug.kernel.dax_v4_13`, `dax_v4_14`, `daxfile`, `fs`, over the mm models.
"""

from fuzzplug.targets.dax_fault.target import TARGET

__all__ = ["TARGET"]

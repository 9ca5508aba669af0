"""The dax_fault target: the series "DAX common 4k zero page" (v4.14; patch 1 is upstream
b2770da64254, the seed) seen from user space and the rest of the kernel, through ext4's DAX
fault paths and the file operations around them.

Everything the target owns is in this package: `schema` (the op language and the scene's
normalisation), `chain` (the chain of versions: v4.13, v4.14, then v4.14 with each fix of
patch 1, f2c57d91b0d9 and cae85cb8add3), `rules` (the intended delta of the series and of
each fix, each rule with the sentence it rests on), `target` (the oracle loop, `TARGET`),
`tasks` and `interleavings` (several tasks under a schedule), `known.toml` (the triaged
findings, by pair), `mutants` (the self-test's mutants of the v4.14 DAX model) and `domain`
(the small domain). Its seed scenarios live in the repository's `corpora/dax_fault/`. The
kernel models it runs are shared: `fuzzplug.kernel.dax_v4_13`, `dax_v4_14`, `fs`, over the
mm models (a fixed version: `dax_v4_14` on the fixed mm model, `fuzzplug.explore.daxbind`).
"""

from fuzzplug.targets.dax_fault.target import TARGET

__all__ = ["TARGET"]

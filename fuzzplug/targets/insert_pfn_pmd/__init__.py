"""The insert_pfn_pmd target: "mm/huge_memory.c: fix modifying of page protection by
insert_pfn_pmd()" (upstream c6f3c5ee40c1), its first posting to linux-mm, and the follow-up
fce86ff5802b, on a v5.0 kernel.

The package: `schema` (the op language), `scene` (the scene, its boot and normalisation),
`chain` (the four versions), `rules` (each commit's intended delta, from its message),
`compare` (the oracle, op by op), `target` (the target, `TARGET`), `known` with
`known.toml` (the triaged findings and causes, by pair), `domain` (the small domain),
`features` (the semantic features), `mutants` (the self-test's mutants). Its seed scenarios live
in the repository's `corpora/insert_pfn_pmd/`. The kernel models it runs are shared:
`fuzzplug.kernel` (`v5_0` and its siblings over `huge_v5_0`, `huge_arch`, `huge_state`,
`huge_types`).
"""

from fuzzplug.targets.insert_pfn_pmd.target import TARGET

__all__ = ["TARGET"]

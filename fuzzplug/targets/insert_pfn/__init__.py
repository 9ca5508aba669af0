"""The insert_pfn target: "mm: add vm_insert_mixed_mkwrite()" (upstream b2770da64254).

Everything the target owns is in this package: `schema` (the op language), `scene` (the
scene and its normalisation), `calls` (the calls as each side makes them), `chain` (the
chain of versions), `rules` (the intended-delta rules of the seed and of its fixes),
`compare` (the oracle, op by op), `trace` (PTEs in the trace), `known` (the known findings
by pair), `target` (the target, `TARGET`), `fast` and `reference` (the fast evaluation and
what it reads of the readable one), `features` (the semantic features), `known.toml` (the
triaged findings, by pair of versions),
`mutants` (the self-test's mutants of the v4.14 model), `domain` (the small domain and its
proven reductions) and `stepper` (the exhaustive checker's stepper). Its seed scenarios
live in the repository's `corpora/insert_pfn/` (installed as `fuzzplug.corpora`). The
kernel models it runs are shared: `fuzzplug.kernel`.
"""

from fuzzplug.targets.insert_pfn.target import TARGET

__all__ = ["TARGET"]

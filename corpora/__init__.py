"""The seed scenarios of fuzzplug's built-in targets, one folder per target (`*.ops`).

In the repository they live here, in `corpora/<target>/`; a regular install (a wheel)
carries them as the package `fuzzplug.corpora` (setup.cfg maps this folder), where
`fuzzplug.targets.corpus_dir` finds them.
"""

"""The mutation self-test: how much the fuzzer would find, measured.

- `mutants`: the machinery: a `Mutant` (named source edits of a model), compiling a mutated
  module, and `apply_mutant` (a target's copy running it). Each target brings its own
  mutants (`fuzzplug.targets.Mutable`);
- `runner`: `fuzzplug selftest`: each mutant through the target's atheris harness, killed
  or not, and the kill rate; also the time to kill for the other engines.
"""

"""The engines: what runs a target's oracle over many op sequences.

- `harness`: the generic atheris harness (`python -m fuzzplug.engines.harness
  --target=NAME [libFuzzer flags]`), which every farm-built harness wraps;
- `fuzz`: the libFuzzer driver of `fuzzplug fuzz` (a run with recording, then the findings);
- `hypothesis_engine`: a Hypothesis `RuleBasedStateMachine` and the `fuzzplug hypothesis`
  loop;
- `exhaustive`: every sequence up to a depth over a small domain, with sound reductions;
- `domain`: the small domains (scenes and per-argument values) and their declared
  reductions: the target's own (`Target.small_domain()`) or one derived from the schema;
- `stepper`: running a sequence one call at a time, cloneable, with a state key: the
  target's own (`Target.stepper()`) or `ReplayStepper`, which re-evaluates prefixes.

All of them judge op sequences with the target's own oracle (`Target.evaluate`) and reach
the target only through `fuzzplug.targets`.
"""

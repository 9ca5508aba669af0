"""Search engines besides libFuzzer: a Hypothesis state machine and an exhaustive checker.

Both take their op domain from a target's schema, narrowed by a small declared domain
(`fuzzplug.engines.domains`), and judge op sequences with the target's own oracle
(`Target.evaluate`). Modules:

- `domains`: the small domains (scenes and per-argument values) and their sound reductions;
- `incremental`: steppers that run a sequence one call at a time, cloneable, with a state key
  (the insert_pfn one reuses the target's op runner; any other target falls back to
  re-evaluating prefixes);
- `hypothesis_engine`: the `RuleBasedStateMachine` and the `fuzzplug hypothesis` loop;
- `exhaustive`: every sequence up to a depth, with the reductions documented there.
"""

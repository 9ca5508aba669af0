"""The target-agnostic differential core: what every target and every engine shares.

- `opslang`: the op language (schema, text and binary forms, the libFuzzer dictionary);
- `oracle`: verdicts, per-op runs, side records, findings, outcomes, and the naming of a
  divergence (`signature`, `family`, `signature_id`);
- `known`: the known list, matched by signature or by root cause; labels, upstream fixes,
  the summary line;
- `findings`: findings folders on disk (`record.json`, `repro.*`, `summary.json`) and the
  harness recorder's inbox (read, adopted after a killed run);
- `semcov`: semantic coverage (model branch ids: declared, reached), input loading.

Nothing here names a target or imports one; targets build on it (`fuzzplug.targets`).
"""

"""What a fuzz farm (OSS-Fuzz, ClusterFuzzLite, plain libFuzzer) takes beside a harness.

- `files`: the seed corpus zip, the dictionary and the `.options` file of a target, and the
  libFuzzer options (`max_len`, `timeout`) every run of the target uses.
"""

#!/bin/bash -eu
# Builds fuzzplug's harnesses for OSS-Fuzz, and for ClusterFuzzLite through
# .clusterfuzzlite/build.sh, which runs this file from the checkout.
#
# For each harness harnesses/fuzz_<target>.py, into $OUT:
#   fuzz_<target>                  the PyInstaller-packed fuzzer (compile_python_fuzzer)
#   fuzz_<target>_seed_corpus.zip  the target's seed scenarios, binary  (fuzzplug seeds)
#   fuzz_<target>.dict             the op language's dictionary         (fuzzplug dict)
#   fuzz_<target>.options          max_len, dict, timeout               (fuzzplug options)
set -eu

cd "$SRC/fuzzplug"
pip3 install .

# The verbs run on the fuzzplug installed above, which carries the seed scenarios (the
# package fuzzplug.corpora): from $OUT, not from the checkout, whose ./fuzzplug would
# shadow the install (`python3 -m` puts the working directory first on sys.path).
installed_fuzzplug() {
  (cd "$OUT" && python3 -m fuzzplug "$@")
}

for harness in harnesses/fuzz_*.py; do
  fuzzer=$(basename -s .py "$harness")
  target=${fuzzer#fuzz_}
  # The target's known findings are a TOML file read as package data: bundle it.
  compile_python_fuzzer "$harness" --collect-data fuzzplug
  installed_fuzzplug seeds "$target" --zip "$OUT/${fuzzer}_seed_corpus.zip"
  installed_fuzzplug dict "$target" -o "$OUT/$fuzzer.dict"
  installed_fuzzplug options "$target" -o "$OUT/$fuzzer.options"
done

#!/bin/bash -eu
# ClusterFuzzLite builds exactly what OSS-Fuzz builds: one build script, oss-fuzz/build.sh.
exec bash "$SRC/fuzzplug/oss-fuzz/build.sh"

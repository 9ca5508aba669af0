"""`fuzzplug dict` / `fuzzplug seeds` / `fuzzplug options`: a fuzz farm's files for a target.

OSS-Fuzz's and ClusterFuzzLite's build.sh (oss-fuzz/build.sh) call these for each harness
`harnesses/fuzz_<target>.py`; see `fuzzplug.farm.files` for what each file holds.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fuzzplug.core.opslang import dictionary
from fuzzplug.farm.files import (
    compile_seeds,
    farm_options,
    fuzzer_name,
    options_text,
    seed_zip,
)
from fuzzplug.io import atomic_write, ensure_dir
from fuzzplug.log import get_logger
from fuzzplug.targets import load_target


def add_parser(sub) -> None:
    p = sub.add_parser("dict", help="the libFuzzer dictionary of a target's op language")
    p.add_argument("target")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    p.set_defaults(func=run_dict)

    p = sub.add_parser("seeds", help="compile a target's seed scenarios (*.ops) into "
                                     "binary seeds named by their SHA-1")
    p.add_argument("target")
    dest = p.add_mutually_exclusive_group(required=True)
    dest.add_argument("-o", "--output", metavar="DIR", help="write one file per seed here")
    dest.add_argument("--zip", metavar="FILE",
                      help="write a flat zip (OSS-Fuzz: $OUT/fuzz_<target>_seed_corpus.zip)")
    p.set_defaults(func=run_seeds)

    p = sub.add_parser("options", help="a libFuzzer .options file ([libfuzzer] max_len, "
                                       "dict, timeout)")
    p.add_argument("target")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    p.add_argument("--dict", metavar="NAME", dest="dict_name",
                   help="the dictionary's file name (default: the output's name with "
                        "suffix .dict, or fuzz_<target>.dict on stdout)")
    p.set_defaults(func=run_options)


def _emit(output: str | None, text: str) -> None:
    if output:
        atomic_write(output, text)
    else:
        sys.stdout.write(text)


def run_dict(args) -> int:
    target = load_target(args.target)
    _emit(args.output, dictionary(target.schema))
    return 0


def run_seeds(args) -> int:
    target = load_target(args.target)
    seeds = compile_seeds(target)
    log = get_logger(target=target.name)
    if args.zip:
        atomic_write(args.zip, seed_zip(seeds))
        log.info("seeds_written", seeds=len(seeds), zip=args.zip)
        return 0
    folder = ensure_dir(args.output)
    for name, data in seeds.items():
        atomic_write(folder / name, data)
    log.info("seeds_written", seeds=len(seeds), out=str(folder))
    return 0


def run_options(args) -> int:
    target = load_target(args.target)
    dict_name = args.dict_name
    if dict_name is None:
        stem = Path(args.output).stem if args.output else fuzzer_name(target.name)
        dict_name = f"{stem}.dict"
    _emit(args.output, options_text(dict_name, farm_options(target)))
    return 0

"""`fuzzplug fuzz TARGET`: fuzz for a while, continue past findings, print the table and
the known/new summary line; `--fail-on-new` exits 1 on a divergence not in the known list."""

from __future__ import annotations

from fuzzplug.commands import add_known_option, add_pair_options, load_target_for
from fuzzplug.engines.fuzz import print_table, run_fuzz
from fuzzplug.engines.mutator import MODES as MUTATORS


def add_parser(sub) -> None:
    p = sub.add_parser("fuzz", help="run the target's harness under libFuzzer and report "
                                    "the unique findings")
    p.add_argument("target")
    add_pair_options(p)
    p.add_argument("--time", type=int, default=60,
                   help="seconds the whole run takes at most (default 60): libFuzzer's "
                        "share, then confirming candidates and minimising the findings")
    p.add_argument("--jobs", type=int, default=1,
                   help="parallel libFuzzer workers (-fork=N when N > 1)")
    p.add_argument("--corpus", help="corpus folder to grow (default: work/TARGET/corpus, "
                                    "a working copy of the seeds)")
    p.add_argument("--findings", help="findings folder (default: findings/TARGET)")
    p.add_argument("--no-known", action="store_true",
                   help="report the known (triaged) findings too")
    p.add_argument("--seed", type=int, help="libFuzzer -seed, for a repeatable run")
    p.add_argument("--max-len", type=int,
                   help="libFuzzer -max_len (default: the target's, 512 unless it says)")
    p.add_argument("--no-minimize", action="store_true",
                   help="keep the shortest raw reproducers, do not minimise them")
    p.add_argument("--fail-on-new", action="store_true",
                   help="exit 1 if the run found a divergence the known list does not "
                        "recognise (for CI)")
    add_engine_options(p)
    add_known_option(p)
    p.set_defaults(func=run)


def add_engine_options(p) -> None:
    """--feedback and --mutator: how the harness steers libFuzzer (shared with selftest)."""
    from fuzzplug.engines.feedback import MODES

    p.add_argument("--feedback", choices=MODES,
                   help="what libFuzzer sees of a run (FUZZPLUG_FEEDBACK; default semantic: "
                        "the models' branch ids, returns, verdicts and state classes)")
    p.add_argument("--mutator", choices=MUTATORS,
                   help="how inputs are mutated (FUZZPLUG_MUTATOR; default ops: op-level "
                        "mutations beside libFuzzer's own)")


def run(args) -> int:
    target = load_target_for(args)
    result = run_fuzz(target, seconds=args.time, jobs=args.jobs, corpus=args.corpus,
                      findings=args.findings, no_known=args.no_known, seed=args.seed,
                      max_len=args.max_len, minimize=not args.no_minimize,
                      feedback=args.feedback, mutator=args.mutator)
    print_table(target, result)
    if result.interrupted:
        return 130
    return 1 if args.fail_on_new and result.new else 0

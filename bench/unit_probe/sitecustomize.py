"""The bench's unit-time probe (`bench/bench_races.py`): with FUZZPLUG_BENCH_UNITS=DIR in the
environment, a Python process that calls `atheris.Setup` (the harness `fuzzplug fuzz`
starts) has its test function timed, unit by unit, and writes to DIR/units.<pid>.json the
number of units, the slowest, how many took over 1 s and over 0.1 s, their total, and the
`fuzzplug` package the harness imported, at
every new slowest unit and at most every second. libFuzzer itself gives the slowest unit
only in whole seconds, and only from `-report_slow_units` (10 s) up. Two clock reads per unit:
nothing else of the run changes. Imported by Python at start-up only because the bench puts
this folder on PYTHONPATH (a `sitecustomize` module); without the variable it does nothing."""

import os

_DIR = os.environ.get("FUZZPLUG_BENCH_UNITS")


def _install(directory: str) -> None:
    import json
    import time

    try:
        import atheris
    except ImportError:
        return
    setup = atheris.Setup
    path = os.path.join(directory, f"units.{os.getpid()}.json")
    state = {"units": 0, "max_s": 0.0, "over_1s": 0, "over_100ms": 0, "total_s": 0.0}
    last = [0.0]

    def write(now: float) -> None:
        last[0] = now
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, path)

    def timed_setup(args, test_one_input, *rest, **kwargs):
        import sys

        module = sys.modules.get("fuzzplug")  # which code the harness runs: the bench checks it
        state["fuzzplug"] = getattr(module, "__file__", None)
        def timed(data):
            started = time.perf_counter()
            try:
                return test_one_input(data)
            finally:
                now = time.perf_counter()
                took = now - started
                state["units"] += 1
                state["total_s"] += took
                state["over_1s"] += took > 1.0
                state["over_100ms"] += took > 0.1
                slowest = took > state["max_s"]
                if slowest:
                    state["max_s"] = took
                if slowest or now - last[0] > 1.0:
                    write(now)

        return setup(args, timed, *rest, **kwargs)

    atheris.Setup = timed_setup


if _DIR:
    os.makedirs(_DIR, exist_ok=True)
    _install(_DIR)

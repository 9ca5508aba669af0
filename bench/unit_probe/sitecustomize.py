"""The bench's unit-time probe (`bench/bench_races.py`).

With FUZZPLUG_BENCH_UNITS=DIR in the environment, a Python process that calls
`atheris.Setup` (the harness `fuzzplug fuzz` starts) has its test function timed, unit by
unit, and writes DIR/units.<pid>.json: the number of units, the slowest, how many took over
1 s and over 0.1 s, their total, the `fuzzplug` package the harness imported, and
`running_s`, the time so far of a unit still running after 1 s (so that a unit that never
ends, stopped by libFuzzer's -timeout or by `fuzz`, is seen too). It writes at every new
slowest unit, at the end of a unit it had written as running, at most every second
otherwise, and every half second while a unit runs past 1 s. libFuzzer itself gives the
slowest unit only in whole seconds, and only from `-report_slow_units` (10 s) up.

Two clock reads per unit and a thread waking every half second: nothing else of the run
changes. Python imports it at start-up only because the bench puts this folder on
PYTHONPATH (a `sitecustomize` module); without the variable it does nothing.
"""

import os

_DIR = os.environ.get("FUZZPLUG_BENCH_UNITS")


def _install(directory: str) -> None:
    import json
    import sys
    import threading
    import time

    try:
        import atheris
    except ImportError:
        return
    setup = atheris.Setup
    path = os.path.join(directory, f"units.{os.getpid()}.json")
    state = {"units": 0, "max_s": 0.0, "over_1s": 0, "over_100ms": 0, "total_s": 0.0,
             "running_s": 0.0, "fuzzplug": None}
    lock = threading.Lock()
    clock = time.perf_counter
    current = [None]  # the running unit's start
    last = [0.0]

    def write() -> None:  # under the lock
        last[0] = clock()
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, path)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            with lock:
                started = current[0]
                if started is not None and clock() - started > 1.0:
                    state["running_s"] = clock() - started
                    write()

    def timed_setup(args, test_one_input, *rest, **kwargs):
        module = sys.modules.get("fuzzplug")  # which code the harness runs: the bench checks it
        state["fuzzplug"] = getattr(module, "__file__", None)

        def timed(data):
            with lock:
                current[0] = clock()
            try:
                return test_one_input(data)
            finally:
                with lock:
                    now = clock()
                    took = now - current[0]
                    current[0] = None
                    was_running = state["running_s"] > 0
                    state["running_s"] = 0.0
                    state["units"] += 1
                    state["total_s"] += took
                    state["over_1s"] += took > 1.0
                    state["over_100ms"] += took > 0.1
                    slowest = took > state["max_s"]
                    if slowest:
                        state["max_s"] = took
                    if slowest or was_running or now - last[0] > 1.0:
                        write()

        threading.Thread(target=watch, daemon=True).start()
        return setup(args, timed, *rest, **kwargs)

    atheris.Setup = timed_setup


if _DIR:
    os.makedirs(_DIR, exist_ok=True)
    _install(_DIR)

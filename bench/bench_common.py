"""What the parts of `bench/run.py` share: the checkout on sys.path, the harnesses run, the
configurations compared and the bench's constants, a run's working folder (`Workdir`, with
the seed corpus `SEEDS` that `run.main` compiles), running libFuzzer, and small helpers."""

from __future__ import annotations

import itertools
import math
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fuzzplug.core.opslang import dictionary  # noqa: E402
from fuzzplug.farm.files import farm_options  # noqa: E402
from fuzzplug.targets.insert_pfn import TARGET  # noqa: E402

HARNESS = ROOT / "harnesses" / "fuzz_insert_pfn.py"
NOOP = ROOT / "bench" / "noop_harness.py"
RSS_HARNESS = ROOT / "bench" / "rss_harness.py"
RESULTS = ROOT / "bench" / "results.json"
_EXEC_PER_SEC = re.compile(r"stat::average_exec_per_sec:\s*(\d+)")
_EXECS = re.compile(r"stat::number_of_executed_units:\s*(\d+)")

CONFIGS = {  # name: (FUZZPLUG_FEEDBACK, FUZZPLUG_MUTATOR)
    "semantic": ("semantic", "ops"),
    "both": ("both", "ops"),
    "bytecode": ("bytecode", "ops"),
    "old": ("bytecode", "bytes"),
}
EXTRA_EXEC = {"semantic+bytes": ("semantic", "bytes"),
              "semantic, no replay": ("semantic", "ops", "0")}
"""Beside the configurations, for exec/s only: semantic feedback with the byte mutator, and
the default with every run evaluated (FUZZPLUG_REPLAY=0: no input run again replays its
first evaluation), whose exec/s are evaluations per second in the harness."""
DEFAULT = "semantic"
BASELINE = "old"
DEEP_MUTANTS = ("cow_oom_leaks_old_page", "zap_loses_dirty_bit", "cow_counter_not_moved")
"""The self-test's deepest mutants, each killed only in a particular scene: three calls
(cow_oom_leaks_old_page; zap_loses_dirty_bit, or two with the mkwrite insert) and two
(cow_counter_not_moved, which a seed scenario reaches)."""
FIX_PAIR = ("v4.14+f2c57d91b0d9", "v4.14+f2c57d91b0d9+cae85cb8add3")
"""The chain's last pair (the two fixes), whose evaluation rate the bench gives beside the
seed pair's."""
QUICK_KILL_MUTANTS = ("zap_forgets_put_page", "no_pte_returns_ebusy", "cow_counter_not_moved")


def log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def median_or_never(values: list[float | None]) -> float:
    """The median, a miss counting as never (infinity)."""
    return statistics.median([math.inf if v is None else v for v in values])


def fmt(seconds: float | None, digits: int = 1) -> str:
    if seconds is None or math.isinf(seconds):
        return "never"
    return f"{seconds:.{digits}f}"


def parallel(jobs: int, fn, items: list) -> list:
    """`fn` over `items`, `jobs` at a time, results in order."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(fn, items))


def interleaved(configs: list[str], seeds) -> list[tuple[str, int]]:
    """(config, seed) pairs, configurations alternating, so each sees the same load."""
    return [(c, s) for s in seeds for c in configs]


class Workdir:
    """A folder with the seed corpus, the dictionary and a record folder."""

    _lock = threading.Lock()
    _count = itertools.count()

    def __init__(self, root: Path, name: str):
        with self._lock:
            self.path = root / f"{name}-{next(self._count)}"
        self.corpus = self.path / "corpus"
        self.record = self.path / "record"
        for folder in (self.corpus, self.record):
            folder.mkdir(parents=True)
        for sha, data in SEEDS.items():
            (self.corpus / sha).write_bytes(data)
        self.dict = self.path / "insert_pfn.dict"
        self.dict.write_text(dictionary(TARGET.schema))

    def flags(self, seed: int) -> list[str]:
        options = farm_options(TARGET)
        return [f"-seed={seed}", f"-dict={self.dict}", f"-max_len={options.max_len}",
                f"-timeout={options.timeout}", "-print_final_stats=1",
                f"-artifact_prefix={self.path}/", "-rss_limit_mb=4096"]

    def env(self, config: tuple[str, str] | None, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FUZZPLUG_")}
        env["FUZZPLUG_RECORD"] = str(self.record)
        if config is not None:
            env["FUZZPLUG_FEEDBACK"], env["FUZZPLUG_MUTATOR"] = config[:2]
            if len(config) > 2:
                env["FUZZPLUG_REPLAY"] = config[2]
        env.update(extra)
        return env


def run_libfuzzer(script: Path, args: list[str], env: dict, cwd: Path,
                  timeout: float = 3600) -> tuple[str, float]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(script), *args], env=env, cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return proc.stdout.decode("utf-8", "replace"), time.monotonic() - started


SEEDS: dict[str, bytes] = {}

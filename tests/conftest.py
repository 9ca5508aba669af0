"""Fixtures shared by the slow install and packaging tests, each built once per session:

- `installed`: fuzzplug as users and farms install it: a wheel built from a copy of the
  source tree, installed with `pip install --no-deps --no-index` into a fresh venv (no
  editable install, no PYTHONPATH). The dependencies (atheris, structlog, hypothesis,
  PyInstaller) are made visible without the project: a `.pth` file in the fresh venv's
  site-packages names the development venv's site-packages, a path added at the end of
  sys.path whose own `.pth` files (the editable install's finder among them) are not
  processed. So `import fuzzplug` finds the wheel's copy only; the tests run nothing from
  the checkout, and their working folder is outside it.
- `packed`: each harness packed as oss-fuzz/build.sh packs it (`compile_python_fuzzer`:
  PyInstaller `--onefile`, with the arguments build.sh passes), by that install's
  interpreter, without `--paths`.
- `seeds`: each fuzzer's seed corpus as a folder, made by the installed `fuzzplug seeds`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HARNESSES = sorted(ROOT.glob("harnesses/fuzz_*.py"))
PYI_ARGS = ("--collect-data", "fuzzplug")
"""What oss-fuzz/build.sh passes on to PyInstaller through compile_python_fuzzer."""
SOURCE_IGNORE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info",
                                       "__pycache__", ".hypothesis", ".pytest_cache", "work",
                                       "findings")
TIMEOUT = 300


@dataclass(frozen=True)
class Install:
    """A fresh venv holding fuzzplug from its wheel, and a working folder outside the
    checkout."""

    venv: Path
    wheel: Path
    source: Path
    """The copy of the source tree the wheel was built from."""
    home: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def fuzzplug(self) -> Path:
        return self.venv / "bin" / "fuzzplug"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a user of this venv has: its bin/ first on PATH, no PYTHONPATH,
        no FUZZPLUG_* variable of the test run."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("FUZZPLUG_", "PYTHON", "VIRTUAL_ENV"))}
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.venv)
        return {**env, **extra}

    def run(self, *args: str | Path, cwd: Path | None = None, timeout: int = TIMEOUT,
            **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(a) for a in args], cwd=cwd or self.home,
                              env=self.env(**extra), capture_output=True, text=True,
                              timeout=timeout)


def _check(result: subprocess.CompletedProcess, what: str) -> None:
    assert result.returncode == 0, f"{what} failed:\n{result.stdout[-2000:]}\n" \
                                   f"{result.stderr[-4000:]}"


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Install:
    """fuzzplug built as a wheel and installed into a fresh venv (see the module docstring)."""
    top = tmp_path_factory.mktemp("install")
    source, dist, venv, home = top / "src", top / "dist", top / "venv", top / "home"
    shutil.copytree(ROOT, source, ignore=SOURCE_IGNORE, symlinks=True)
    home.mkdir()
    _check(subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-build-isolation", "-w", str(dist), str(source)],
        cwd=top, capture_output=True, text=True, timeout=TIMEOUT), "pip wheel")
    (wheel,) = dist.glob("fuzzplug-*.whl")
    base = getattr(sys, "_base_executable", None) or sys.executable
    _check(subprocess.run([base, "-m", "venv", str(venv)], cwd=top, capture_output=True,
                          text=True, timeout=TIMEOUT), "python -m venv")
    _check(subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", "--no-deps", "--no-index", str(wheel)],
        cwd=top, capture_output=True, text=True, timeout=TIMEOUT), "pip install WHEEL")
    fresh_site = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        cwd=top, capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    dev_sites = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (Path(fresh_site) / "_fuzzplug_test_dependencies.pth").write_text(
        "".join(f"{site}\n" for site in dev_sites))
    return Install(venv, wheel, source, home)


@pytest.fixture(scope="session")
def packed(installed: Install) -> dict[str, Path]:
    """Each harness packed with PyInstaller --onefile from the regular install, by fuzzer
    name (compile_python_fuzzer's `--distpath $OUT --workpath=... --onefile --name
    <fuzzer>.pkg ARGS... HARNESS`; the spec file and the log level are ours)."""
    top = installed.home.parent / "pyinstaller"
    top.mkdir()
    out = {}
    for harness in HARNESSES:
        name = harness.stem
        result = installed.run(
            installed.python, "-m", "PyInstaller", "--distpath", top / "out",
            f"--workpath={top / 'work' / name}", "--specpath", top / "spec", "--onefile",
            "--name", f"{name}.pkg", *PYI_ARGS, "--noconfirm", "--log-level", "WARN",
            installed.source / "harnesses" / harness.name, cwd=top)
        _check(result, f"PyInstaller of {harness.name}")
        out[name] = top / "out" / f"{name}.pkg"
    return out


@pytest.fixture(scope="session")
def seeds(installed: Install) -> dict[str, Path]:
    """Each fuzzer's seed corpus as a folder, as the installed `fuzzplug seeds` makes it."""
    top = installed.home.parent / "seeds"
    folders = {}
    for harness in HARNESSES:
        folder = top / harness.stem
        result = installed.run(installed.fuzzplug, "seeds",
                               harness.stem.removeprefix("fuzz_"), "-o", folder)
        _check(result, f"fuzzplug seeds for {harness.stem}")
        folders[harness.stem] = folder
    return folders


# ------------------------------------------------------------------ the suite on every core

SHARED = {
    # the session fixtures above: one fresh install, one PyInstaller build per run
    "test_install.py": "install", "test_packaging.py": "install",
    # test_statecache imports test_dax_tasks.case_search, cached per process
    "test_dax_tasks.py": "searches", "test_statecache.py": "searches",
    # the known reproducers' searches, kept per process (tasks.SEARCHES, tasks.PROOFS) by
    # test_dax_chain's backport test, read warm by the reproducer tests after it
    # (test_dax_budget clears the cache for each of its cases: it runs on its own)
    "test_dax_chain.py": "known", "test_known_findings.py": "known",
}
"""Test files whose tests share a cache of the process, by the group they must run in.
`make test` runs the suite on pytest-xdist's workers with `--dist loadgroup`: every test is
put in the group of its file (`pytest_collection_modifyitems`), these files in the group
named here, so each group's tests run in one worker, in file order, and a session fixture
or a cached search is made once. Run without `-n`, the marks do nothing."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.path.name
        item.add_marker(pytest.mark.xdist_group(SHARED.get(name, name)))

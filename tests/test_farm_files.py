"""Tests of the fuzz-farm files: oss-fuzz/, .clusterfuzzlite/, the workflows, and the
`dict` / `seeds` / `options` verbs (fuzzplug.farm.files) that build.sh runs.

Names and paths are checked where they are used: build.sh is run for real, with stand-ins for
the OSS-Fuzz builder's `compile_python_fuzzer` and `pip3`, so every file it ships is made by
the verbs themselves. YAML is read line by line (PyYAML is not a dependency).
"""

from __future__ import annotations

import configparser
import hashlib
import itertools
import os
import re
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fuzzplug.core.opslang import decode, encode
from fuzzplug.errors import InputError
from fuzzplug.farm.files import (
    compile_seeds,
    farm_options,
    options_text,
    seed_scenarios,
    seed_zip,
)
from fuzzplug.io import load_ops
from fuzzplug.targets import load_target

ROOT = Path(__file__).resolve().parents[1]
OSS_FUZZ = ROOT / "oss-fuzz"
CFLITE = ROOT / ".clusterfuzzlite"
WORKFLOWS = ROOT / ".github" / "workflows"
HARNESSES = sorted(ROOT.glob("harnesses/fuzz_*.py"))
BASE_IMAGE = "gcr.io/oss-fuzz-base/base-builder-python"
CHECKOUT = "$SRC/fuzzplug"  # where both Dockerfiles put the repository
AFL_DICT_LINE = re.compile(r'[A-Za-z0-9_]+="(?:\\x[0-9a-f]{2}|[^"\\])+"')


# --------------------------------------------------------------------------- helpers


def yaml_top_level(path: Path) -> dict[str, str | list[str]]:
    """A flat YAML mapping: `key: value` lines, and `key:` followed by `  - item` lines."""
    out: dict[str, str | list[str]] = {}
    key = None
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if not line or line.lstrip().startswith("#"):
            continue
        item = re.fullmatch(r"\s+-\s+(.+)", line)
        if item and key is not None:
            value = out.setdefault(key, [])
            assert isinstance(value, list), f"{path}: {key} mixes a value and a list"
            value.append(item.group(1).strip("\"'"))
            continue
        match = re.fullmatch(r"([A-Za-z_][\w-]*):\s*(.*)", line)
        assert match, f"{path}: not a flat `key: value` line: {raw!r}"
        key, value = match.group(1), match.group(2).strip().strip("\"'")
        if value:
            out[key] = value
    return out


def dockerfile_instructions(path: Path) -> list[tuple[str, list[str]]]:
    """(INSTRUCTION, words) per Dockerfile instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.split()))
    return out


def harness_loop_glob(build_sh: Path) -> str:
    """The glob of build.sh's `for harness in GLOB; do` loop."""
    match = re.search(r"^for harness in (\S+); do$", build_sh.read_text(), re.M)
    assert match, f"{build_sh}: no `for harness in GLOB; do` loop"
    return match.group(1)


def workflow_steps(path: Path) -> list[dict[str, str]]:
    """Each `- name:` / `uses:` step of a workflow, with its `with:` keys, comments dropped."""
    steps: list[dict[str, str]] = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if re.match(r"\s*- name:", line):
            steps.append({})
            line = line.replace("- ", "  ", 1)
        match = re.fullmatch(r"\s+([\w-]+):\s*(.*)", line)
        if steps and match and match.group(2):
            steps[-1][match.group(1)] = match.group(2).strip("\"'")
    return steps


def run_build_sh(tmp_path: Path, script: Path) -> tuple[Path, Path]:
    """Run `script` as OSS-Fuzz's `compile` does (`bash -eu`), in a fake builder: $SRC holds
    the repository as `fuzzplug`, `pip3` and `compile_python_fuzzer` only log their
    arguments, `python3` is this interpreter. Returns ($OUT, the stand-ins' log)."""
    src, out, stubs = tmp_path / "src", tmp_path / "out", tmp_path / "bin"
    for folder in (src, out, stubs):
        folder.mkdir(parents=True)
    (src / "fuzzplug").symlink_to(ROOT)
    log = tmp_path / "calls.log"
    stand_ins = {
        "pip3": f'echo "pip3 $*" >> "{log}"',
        "compile_python_fuzzer": (f'echo "compile_python_fuzzer $*" >> "{log}"\n'
                                  ': > "$OUT/$(basename -s .py "$1")"'),
        "python3": f'exec "{sys.executable}" "$@"',
    }
    for name, body in stand_ins.items():
        stub = stubs / name
        stub.write_text(f"#!/bin/sh\n{body}\n")
        stub.chmod(0o755)
    env = {**os.environ, "SRC": str(src), "OUT": str(out),
           "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-eu", str(script)], cwd=src, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return out, log


def fuzzplug_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fuzzplug", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


# --------------------------------------------------------------------------- OSS-Fuzz


def test_oss_fuzz_project_yaml_declares_a_python_libfuzzer_project():
    """project.yaml: python, libFuzzer only, ASan and UBSan, a main repo and a contact."""
    project = yaml_top_level(OSS_FUZZ / "project.yaml")
    assert project["language"] == "python"
    assert project["fuzzing_engines"] == ["libfuzzer"]
    assert project["sanitizers"] == ["address", "undefined"]
    assert re.fullmatch(r"https://\S+", str(project["main_repo"]))
    assert "@" in str(project["primary_contact"])
    assert project["homepage"]


def test_oss_fuzz_dockerfile_clones_the_repo_and_copies_build_sh_from_its_context():
    """The Dockerfile builds on base-builder-python, clones main_repo to $SRC/fuzzplug and
    copies build.sh from its own folder (the OSS-Fuzz build context) into $SRC."""
    steps = dockerfile_instructions(OSS_FUZZ / "Dockerfile")
    assert steps[0] == ("FROM", [BASE_IMAGE])
    main_repo = yaml_top_level(OSS_FUZZ / "project.yaml")["main_repo"]
    assert ("RUN", ["git", "clone", "--depth", "1", main_repo, CHECKOUT]) in steps
    copies = [words for instr, words in steps if instr == "COPY"]
    assert ["build.sh", "$SRC/"] in copies
    for words in copies:
        for source in words[:-1]:
            assert (OSS_FUZZ / source).exists(), f"COPY {source}: not in oss-fuzz/"


def test_build_sh_works_in_the_checkout_and_is_executable():
    """build.sh changes to the checkout the Dockerfiles make, and both scripts can run."""
    assert f'cd "{CHECKOUT}"' in (OSS_FUZZ / "build.sh").read_text()
    for script in (OSS_FUZZ / "build.sh", CFLITE / "build.sh"):
        assert script.read_text().startswith("#!/bin/bash")
        assert script.stat().st_mode & stat.S_IXUSR, f"{script} has no run bit"


def test_build_sh_loop_covers_every_harness():
    """The harness loop's glob, taken from the checkout, finds every harnesses/fuzz_*.py."""
    assert HARNESSES, "no harnesses/fuzz_*.py"
    found = sorted(ROOT.glob(harness_loop_glob(OSS_FUZZ / "build.sh")))
    assert found == HARNESSES


def test_build_sh_ships_a_fuzzer_corpus_dict_and_options_per_harness(tmp_path):
    """Run build.sh: for each harness, compile_python_fuzzer with the data flag, and the
    corpus zip, dictionary and options made by the verbs, named after the fuzzer."""
    out, log = run_build_sh(tmp_path, OSS_FUZZ / "build.sh")
    calls = log.read_text().splitlines()
    assert calls[0] == "pip3 install ."
    fuzzers = [h.stem for h in HARNESSES]
    expected = {f"compile_python_fuzzer harnesses/{f}.py --collect-data fuzzplug"
                for f in fuzzers}
    assert set(calls[1:]) == expected
    shipped = sorted(p.name for p in out.iterdir())
    assert shipped == sorted(name for f in fuzzers for name in (
        f, f"{f}_seed_corpus.zip", f"{f}.dict", f"{f}.options"))
    for fuzzer in fuzzers:
        target = load_target(fuzzer.removeprefix("fuzz_"))
        check_seed_zip(out / f"{fuzzer}_seed_corpus.zip", target)
        check_dict(out / f"{fuzzer}.dict")
        check_options(out / f"{fuzzer}.options", out, target)


def check_seed_zip(path: Path, target) -> None:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert names, f"{path}: empty seed corpus"
        assert names == sorted(names)
        for name in names:
            assert "/" not in name, f"{path}: {name} is not flat"
            data = archive.read(name)
            assert name == hashlib.sha1(data).hexdigest()
            ops = decode(target.schema, data)
            assert ops and encode(target.schema, ops) == data, f"{name}: not canonical"


def check_dict(path: Path) -> None:
    lines = [line for line in path.read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines
    for line in lines:
        assert AFL_DICT_LINE.fullmatch(line), f"{path}: not an AFL dictionary line: {line}"


def check_options(path: Path, out: Path, target) -> None:
    options = configparser.ConfigParser()
    options.read_string(path.read_text())
    assert options.sections() == ["libfuzzer"]
    section = options["libfuzzer"]
    assert int(section["max_len"]) == farm_options(target).max_len
    assert int(section["timeout"]) == farm_options(target).timeout > 0
    assert section["dict"] == f"{path.stem}.dict"
    assert (out / section["dict"]).is_file()


def test_no_seed_crashes_the_harness_it_ships_with(monkeypatch):
    """Every seed runs through its harness as a farm runs it (known findings suppressed,
    nothing recorded) without a Divergence: libFuzzer stops at the first crash while it loads
    the seed corpus, so an untriaged divergent seed would end every farm run there. A
    divergent scenario belongs in the corpus only once its signature is a known finding."""
    from fuzzplug.engines.harness import Divergence, Harness

    monkeypatch.delenv("FUZZPLUG_NO_KNOWN", raising=False)
    monkeypatch.delenv("FUZZPLUG_RECORD", raising=False)
    crashing = []
    for harness_file in HARNESSES:
        target = load_target(harness_file.stem.removeprefix("fuzz_"))
        harness = Harness(target)
        for path in seed_scenarios(target):
            data = encode(target.schema, load_ops(target.schema, path))
            try:
                harness.test_one_input(data)
            except Divergence:
                signature = target.evaluate(decode(target.schema, data)).signature
                crashing.append(f"{path.name}: {signature}")
    assert not crashing, ("seeds that crash the shipped harness (add their signatures to the "
                          "target's known findings):\n" + "\n".join(crashing))


# --------------------------------------------------------------------------- ClusterFuzzLite


def test_clusterfuzzlite_project_yaml_says_python():
    """.clusterfuzzlite/project.yaml names the language, the one key it needs."""
    assert yaml_top_level(CFLITE / "project.yaml")["language"] == "python"


def test_clusterfuzzlite_dockerfile_copies_the_repo_and_its_build_sh():
    """The image copies the repository (the build context) to $SRC/fuzzplug, works there,
    and copies .clusterfuzzlite/build.sh into $SRC."""
    steps = dockerfile_instructions(CFLITE / "Dockerfile")
    assert steps[0] == ("FROM", [BASE_IMAGE])
    assert ("COPY", [".", CHECKOUT]) in steps
    assert ("WORKDIR", [CHECKOUT]) in steps
    assert ("COPY", [".clusterfuzzlite/build.sh", "$SRC/"]) in steps
    for instr, words in steps:
        if instr == "COPY":
            assert all((ROOT / source).exists() for source in words[:-1]), words


def test_clusterfuzzlite_build_sh_runs_the_oss_fuzz_build_from_the_checkout():
    """.clusterfuzzlite/build.sh runs oss-fuzz/build.sh where the Dockerfile put it."""
    text = (CFLITE / "build.sh").read_text()
    match = re.search(r'"\$SRC/fuzzplug/(\S+)"', text)
    assert match and (ROOT / match.group(1)) == OSS_FUZZ / "build.sh"


def test_clusterfuzzlite_build_ships_what_oss_fuzz_ships(tmp_path):
    """Run .clusterfuzzlite/build.sh: the same files, byte for byte, as oss-fuzz/build.sh."""
    cflite_out, _ = run_build_sh(tmp_path / "cflite", CFLITE / "build.sh")
    oss_out, _ = run_build_sh(tmp_path / "oss", OSS_FUZZ / "build.sh")
    files = sorted(p.name for p in oss_out.iterdir())
    assert sorted(p.name for p in cflite_out.iterdir()) == files
    for name in files:
        assert (cflite_out / name).read_bytes() == (oss_out / name).read_bytes(), name


WORKFLOW_FILES = sorted(WORKFLOWS.glob("cflite_*.yml"))


def test_workflows_use_the_clusterfuzzlite_actions_for_python():
    """Every ClusterFuzzLite step uses the v1 actions with the language of
    .clusterfuzzlite/project.yaml, and none points the build away from .clusterfuzzlite/
    at the repository root (the actions' default)."""
    language = yaml_top_level(CFLITE / "project.yaml")["language"]
    assert WORKFLOW_FILES
    for path in WORKFLOW_FILES:
        steps = workflow_steps(path)
        assert steps, path
        for step in steps:
            assert step["uses"] in ("google/clusterfuzzlite/actions/build_fuzzers@v1",
                                    "google/clusterfuzzlite/actions/run_fuzzers@v1"), step
            assert step["language"] == language, (path.name, step)
            assert "project-src-path" not in step, (path.name, step)
        builds = [s for s in steps if s["uses"].endswith("build_fuzzers@v1")]
        runs = [s for s in steps if s["uses"].endswith("run_fuzzers@v1")]
        # Each workflow builds; all but the continuous build (upload-build) also run.
        assert builds and (runs or builds[0].get("upload-build") == "true"), path.name


def modes() -> dict[str, tuple[Path, dict[str, str], dict[str, str]]]:
    """Each run mode → (workflow, its build step, its run step)."""
    found = {}
    for path in WORKFLOW_FILES:
        steps = workflow_steps(path)
        for build, run in itertools.pairwise(steps):
            if run["uses"].endswith("run_fuzzers@v1"):
                assert build["uses"].endswith("build_fuzzers@v1"), path
                assert run["mode"] not in found, f"mode {run['mode']} twice"
                found[run["mode"]] = (path, build, run)
    return found


def test_workflows_run_code_change_batch_prune_and_coverage():
    """The four modes, each built and run with the same sanitizer: address, or coverage
    for the coverage report."""
    found = modes()
    assert set(found) == {"code-change", "batch", "prune", "coverage"}
    for mode, (path, build, run) in found.items():
        want = "coverage" if mode == "coverage" else "address"
        sanitizer = run["sanitizer"]
        if sanitizer.startswith("${{"):  # a matrix: read its entries
            sanitizer = re.search(r"sanitizer:\n\s+- (\w+)", path.read_text()).group(1)
        assert sanitizer == want, (mode, run)
        assert build["sanitizer"] == run["sanitizer"], mode
        assert int(run["fuzz-seconds"]) > 0
        assert run["github-token"] == "${{ secrets.GITHUB_TOKEN }}"


def test_workflows_trigger_on_pull_requests_and_schedules():
    """Code-change fuzzing runs on pull requests; batch, prune and coverage on a cron."""
    found = modes()
    assert "\n  pull_request:" in found["code-change"][0].read_text()
    for mode in ("batch", "prune", "coverage"):
        assert re.search(r"\n  schedule:\n    - cron: '[^']+'", found[mode][0].read_text())


def test_workflows_show_the_storage_repo_placeholder():
    """The storage-repo settings are there to fill in, as ClusterFuzzLite's docs show."""
    for mode in ("code-change", "batch", "prune", "coverage"):
        text = modes()[mode][0].read_text()
        assert "# storage-repo: https://${{ secrets.PERSONAL_ACCESS_TOKEN }}@github.com/" in text


# --------------------------------------------------------------------------- the verbs


def test_seed_zips_are_reproducible_and_match_the_seed_folder(tmp_path):
    """`seeds --zip` twice gives identical bytes; `seeds -o` writes the same members."""
    for name in ("a.zip", "b.zip"):
        result = fuzzplug_cli("seeds", "insert_pfn", "--zip", str(tmp_path / name))
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    result = fuzzplug_cli("seeds", "insert_pfn", "-o", str(tmp_path / "dir"))
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    assert members == {p.name: p.read_bytes() for p in (tmp_path / "dir").iterdir()}


def test_seeds_are_one_per_distinct_scenario():
    """Every `*.ops` scenario of the target is one seed (identical encodings merge)."""
    target = load_target("insert_pfn")
    seeds = compile_seeds(target)
    scenarios = seed_scenarios(target)
    assert 1 <= len(seeds) <= len(scenarios)
    assert seed_zip(seeds) == seed_zip(dict(reversed(seeds.items())))


def test_options_name_the_dictionary_after_the_output_file(tmp_path):
    """`options -o X/fuzz_t.options` names fuzz_t.dict; on stdout, fuzz_<target>.dict."""
    result = fuzzplug_cli("options", "insert_pfn", "-o", str(tmp_path / "other.options"))
    assert result.returncode == 0, result.stderr
    assert "dict = other.dict\n" in (tmp_path / "other.options").read_text()
    result = fuzzplug_cli("options", "insert_pfn")
    assert result.stdout == options_text("fuzz_insert_pfn.dict")


def test_dict_verb_writes_the_op_language_dictionary(tmp_path):
    """`dict -o FILE` writes opslang.dictionary(schema), the same as on stdout."""
    result = fuzzplug_cli("dict", "insert_pfn", "-o", str(tmp_path / "t.dict"))
    assert result.returncode == 0, result.stderr
    check_dict(tmp_path / "t.dict")
    assert fuzzplug_cli("dict", "insert_pfn").stdout == (tmp_path / "t.dict").read_text()


@pytest.mark.parametrize("args, message", [
    (("dict", "no_such_target"), "unknown target 'no_such_target'"),
    (("seeds", "insert_pfn"), "one of the arguments -o/--output --zip is required"),
    (("options", "insert_pfn", "--dict", "sub/x.dict"), "expected a bare file name"),
])
def test_farm_verbs_refuse_bad_input_in_one_line(args, message):
    """Bad input: one `fuzzplug: error:` line on stderr and exit status 2."""
    result = fuzzplug_cli(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert result.stderr.startswith("fuzzplug: error: ")


def test_seeds_of_a_target_without_scenarios_is_an_input_error(tmp_path):
    """A target whose seeds_dir() is None, or holds no *.ops, gives an InputError."""

    class NoSeeds:
        name = "none"
        folder: Path | None = None

        def seeds_dir(self):
            return self.folder

    with pytest.raises(InputError, match="ships no seed scenarios"):
        seed_scenarios(NoSeeds())
    NoSeeds.folder = tmp_path
    with pytest.raises(InputError, match=r"no \*\.ops seed scenarios"):
        seed_scenarios(NoSeeds())


def test_a_scenario_that_does_not_parse_names_its_file_and_line(tmp_path):
    """A broken seed scenario stops `seeds` with the file and line of the error."""
    real = load_target("insert_pfn")
    (tmp_path / "bad.ops").write_text("config arch=x86_64\nno_such_op\n")

    class Broken:
        name = "broken"
        schema = real.schema

        def seeds_dir(self):
            return tmp_path

    with pytest.raises(InputError, match=r"bad\.ops:2: "):
        compile_seeds(Broken())

"""Any pair of a target's versions as pre and post: the `Versioned` capability, `select_pair`,
`fuzzplug versions`, and the verbs' `--pre`/`--post` (with the pair recorded in findings and
read back from scenario headers and records)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fuzzplug.cli import main
from fuzzplug.core.findings import FindingEntry, write_entry
from fuzzplug.core.opslang import encode, parse_header, parse_text
from fuzzplug.errors import InputError
from fuzzplug.targets import (
    Versioned,
    pair_name,
    parse_pair,
    select_pair,
    versions_of,
)
from fuzzplug.targets.insert_pfn import TARGET
from fuzzplug.triage.triage import triage

V13, V14 = "v4.13", "v4.14"
F2C = "v4.14+f2c57d91b0d9"
BOTH = "v4.14+f2c57d91b0d9+cae85cb8add3"
PPC64 = ("config arch=ppc64 DEBUG_VM=1\nvm_insert_mixed addr=0x100000 pfn=0x80\n"
         "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
ZERO_PFN = ("vm_insert_mixed addr=0x100000 pfn=0x1 flags=0\n"
            "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")


def _ops(text: str):
    return parse_text(TARGET.schema, text)


# --- the capability ------------------------------------------------------------------------------

def test_insert_pfn_is_versioned_with_the_chain_oldest_first_and_the_seed_as_default_pair():
    """versions(): v4.13, v4.14, then v4.14 with each fix; the default pair is the seed's."""
    assert isinstance(TARGET, Versioned)
    assert versions_of(TARGET) == (V13, V14, F2C, BOTH)
    assert pair_name(TARGET) == f"{V13}..{V14}"
    assert TARGET.commit_of(V13) is None
    assert TARGET.commit_of(BOTH).startswith("cae85cb8add3 (")


def test_select_pair_takes_a_pair_or_either_side_and_keeps_the_default_for_the_other():
    """PRE..POST, --pre alone, --post alone; nothing asked: the target itself."""
    assert select_pair(TARGET) is TARGET
    assert pair_name(select_pair(TARGET, pair=f"{V14}..{BOTH}")) == f"{V14}..{BOTH}"
    assert pair_name(select_pair(TARGET, post=BOTH)) == f"{V13}..{BOTH}"
    assert pair_name(select_pair(TARGET, pre=V14, post=F2C)) == f"{V14}..{F2C}"
    assert select_pair(TARGET, pre=V13, post=V14) is TARGET


@pytest.mark.parametrize("ask", [dict(post="v9.9"), dict(pre=BOTH, post=V14),
                                 dict(pre=V14, post=V14), dict(pair="v4.13"),
                                 dict(pair=f"{V13}..{V14}", pre=V13)])
def test_a_pair_that_is_not_one_of_the_chain_is_refused(ask):
    """An unknown version, a pre after its post, a pair with itself, a malformed pair, or
    both ways of asking at once: InputError."""
    with pytest.raises(InputError):
        select_pair(TARGET, **ask)


def test_a_target_without_versions_takes_no_pair():
    """select_pair on a target that is not Versioned: InputError; nothing asked: itself."""

    class OnePair:
        name = "one"

    assert select_pair(OnePair()) is not None
    with pytest.raises(InputError):
        select_pair(OnePair(), post="v2")


def test_parse_pair_splits_on_two_dots():
    """`PRE..POST`; version names may hold single dots and pluses."""
    assert parse_pair(f"{V14}..{BOTH}") == (V14, BOTH)


def test_each_pair_judges_with_the_rules_of_the_commits_between_its_versions():
    """The seed's rules span v4.13..v4.14; a fix's apply to the pairs that span it."""
    names = {pair: {r.name for r in select_pair(TARGET, pair=pair).rules}
             for pair in (f"{V13}..{V14}", f"{V14}..{F2C}", f"{F2C}..{BOTH}", f"{V13}..{BOTH}")}
    assert names[f"{V13}..{V14}"] == {"mkwrite_is_insert_then_write_fault",
                                     "ebusy_is_success", "mkwrite_promise"}
    assert names[f"{V14}..{F2C}"] == {"zero_pfn_mismatch_is_silent"}
    assert names[f"{F2C}..{BOTH}"] == {"reuse_stores_with_ptep_set_access_flags",
                                      "reuse_returns_ebusy"}
    assert names[f"{V13}..{BOTH}"] == set().union(*(names[p] for p in (
        f"{V13}..{V14}", f"{V14}..{F2C}", f"{F2C}..{BOTH}")))


def test_the_known_list_is_kept_per_pair():
    """A pair's known findings are those listed for it; the default pair's are the seed's."""
    seed = TARGET.known_findings()
    assert seed
    assert all(f"{V13}..{V14}" in record.get("pairs", [f"{V13}..{V14}"])
               for record in seed.values())
    fix = select_pair(TARGET, pair=f"{V14}..{F2C}").known_findings()
    assert not set(fix) & {sig for sig, r in seed.items() if "pairs" not in r}


# --- the verbs -------------------------------------------------------------------------------------

def test_versions_lists_the_chain_and_marks_the_default_pair(capsys):
    """`fuzzplug versions insert_pfn`: one version per line; --json gives the same."""
    assert main(["versions", "insert_pfn"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [V13, V14, F2C, BOTH]
    assert "default pre" in lines[0] and "default post" in lines[1]
    assert main(["versions", "insert_pfn", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record == {"target": "insert_pfn", "versions": [V13, V14, F2C, BOTH],
                      "default_pair": f"{V13}..{V14}"}


def test_replay_compares_the_pair_the_options_choose(tmp_path, capsys):
    """The ppc64 reuse diverges on v4.13..v4.14 and is intended on v4.13..(both fixes)."""
    path = tmp_path / "ppc64.ops"
    path.write_text(PPC64)
    assert main(["replay", "insert_pfn", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "divergent"
    assert main(["replay", "insert_pfn", str(path), "--json", "--post", BOTH]) == 0
    record = json.loads(capsys.readouterr().out)
    assert (record["verdict"], record["pair"]) == ("intended", f"{V13}..{BOTH}")
    assert record["post"]["version"] == BOTH


def test_replay_takes_a_scenarios_pair_from_its_header_unless_the_options_say_otherwise(
        tmp_path, capsys):
    """`# pair:` in the header is the pair it replays on; --pre/--post override it."""
    path = tmp_path / "silent.ops"
    path.write_text(f"# pair: {V14}..{F2C}\n" + ZERO_PFN)
    assert main(["replay", "insert_pfn", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "intended"
    assert main(["replay", "insert_pfn", str(path), "--json", "--pre", V13, "--post", V14]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "divergent"


def test_an_unknown_version_is_a_one_line_error(tmp_path, capsys):
    """--post v9 exits 2 with one line naming the versions."""
    path = tmp_path / "x.ops"
    path.write_text(PPC64)
    assert main(["replay", "insert_pfn", str(path), "--post", "v9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "v4.14+f2c57d91b0d9" in err


def test_minimize_writes_the_pair_into_the_header_and_the_result_replays_on_it(
        tmp_path, capsys):
    """A finding minimised on a pair says so, and replays with it."""
    path = tmp_path / "later.ops"
    path.write_text("config arch=ppc64\nzap addr=0x108000\nvm_insert_pfn addr=0x100000 "
                    "pfn=0x40\nvm_insert_mixed_mkwrite addr=0x100000 pfn=0x40 flags=0\n"
                    "fault addr=0x100000\n")
    out = tmp_path / "small"
    assert main(["minimize", "insert_pfn", str(path), "-o", str(out), "--pre", F2C,
                 "--post", BOTH]) == 0
    header = parse_header(Path(f"{out}.ops").read_text())
    assert header["pair"] == f"{F2C}..{BOTH}"
    assert header["signature"].startswith("fault/")
    capsys.readouterr()
    assert main(["replay", "insert_pfn", f"{out}.ops", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["signature"] == header["signature"]


def test_a_findings_record_names_its_pair_and_triage_reruns_it_on_that_pair(tmp_path):
    """record.json and repro.ops carry the pair; triage reproduces the finding on it."""
    target = select_pair(TARGET, pair=f"{F2C}..{BOTH}")
    ops = _ops("config arch=ppc64\nvm_insert_pfn addr=0x100000 pfn=0x40\n"
               "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x40 flags=0\nfault addr=0x100000\n")
    outcome = target.evaluate(ops)
    entry = FindingEntry(outcome.signature, 1, encode(target.schema, ops), outcome=outcome)
    folder = write_entry(target, tmp_path / "findings", entry)
    record = json.loads((folder / "record.json").read_text())
    assert record["pair"] == f"{F2C}..{BOTH}"
    assert parse_header((folder / "repro.ops").read_text())["pair"] == f"{F2C}..{BOTH}"
    [group] = triage([str(tmp_path / "findings")])
    assert group.pair == f"{F2C}..{BOTH}"
    assert group.signature == outcome.signature
    assert all(member.reproduces for member in group.members)


def test_exhaustive_explores_the_pair_the_options_choose(capsys):
    """`exhaustive --pre --post`: the report names the pair and its own signatures."""
    assert main(["exhaustive", "insert_pfn", "--depth", "1", "--json", "--no-progress",
                 "--jobs", "1", "--pre", F2C, "--post", BOTH]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pair"] == f"{F2C}..{BOTH}"
    assert report["proven"]

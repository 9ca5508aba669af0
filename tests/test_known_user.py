"""A farm's own known list: user known files (`--known FILE`, `FUZZPLUG_KNOWN`) merged into
a target's, `fuzzplug known add` writing an entry for a finding, and what `report` says of
an observable no known cause explains."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from fuzzplug.cli import main
from fuzzplug.core.known import KNOWN_ENV, Cause, KnownList, Status
from fuzzplug.core.opslang import encode, parse_text
from fuzzplug.engines.harness import Divergence, Harness
from fuzzplug.targets import load_target

TARGET = load_target("insert_pfn")
# Known by its causes only (test_known.py): its signature is listed nowhere.
COMBINATION = """config HAVE_PTE_SPECIAL=0 arch=ppc64 DEBUG_VM=1
fault addr=0x100000
zap addr=0x100000
fault addr=0x100000
vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80
"""
OPS = parse_text(TARGET.schema, COMBINATION)
SIG = TARGET.evaluate(OPS).signature


@pytest.fixture
def nothing_known(monkeypatch):
    """The target's own known list emptied, so every divergence is new."""
    monkeypatch.setattr(TARGET, "known_findings", lambda: {})
    monkeypatch.setattr(TARGET, "known_causes", lambda: {})
    monkeypatch.delenv(KNOWN_ENV, raising=False)


@pytest.fixture
def scenario(tmp_path) -> Path:
    path = tmp_path / "combination.ops"
    path.write_text(COMBINATION)
    return path


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_user_finding_adds_a_signature_to_the_targets_list(tmp_path, monkeypatch):
    """A `[[finding]]` of a user file makes its signature known, by signature."""
    monkeypatch.delenv(KNOWN_ENV, raising=False)
    farm = _write(tmp_path / "farm.toml", f'[[finding]]\nsignature = "{SIG}"\n'
                                          'causes = ["ppc64_hash_stale_hpte"]\n')
    assert not KnownList.of(TARGET).match(SIG, OPS).exact
    match = KnownList.of(TARGET, extra=[farm]).match(SIG, OPS)
    assert match.exact and match.causes == ("ppc64_hash_stale_hpte",)


def test_a_user_cause_with_a_targets_id_replaces_the_targets_cause(tmp_path, monkeypatch):
    """The farm's word wins: a cause of the same id is the user's, whole."""
    monkeypatch.delenv(KNOWN_ENV, raising=False)
    farm = _write(tmp_path / "farm.toml", '[[cause]]\nid = "ppc64_hash_stale_hpte"\n'
                                          'label = "benign"\ntitle = "ours"\n')
    cause = KnownList.of(TARGET, extra=[farm]).causes["ppc64_hash_stale_hpte"]
    assert (cause.label, cause.title, cause.observables) == (Status.BENIGN, "ours", ())


def test_user_entries_of_another_target_or_another_pair_are_left_out(tmp_path, monkeypatch):
    """`target` and `pairs` (default: the target's default pair) choose where an entry
    applies."""
    monkeypatch.delenv(KNOWN_ENV, raising=False)
    farm = _write(tmp_path / "farm.toml",
                  f'[[finding]]\ntarget = "dax_fault"\nsignature = "{SIG}"\ncauses = []\n'
                  f'[[finding]]\nsignature = "{SIG}x"\ncauses = []\n'
                  f'pairs = ["v4.14..v4.14+f2c57d91b0d9"]\n'
                  f'[[finding]]\nsignature = "{SIG}y"\ncauses = []\n')
    known = KnownList.of(TARGET, extra=[farm])
    assert SIG not in known.findings and SIG + "x" not in known.findings
    assert SIG + "y" in known.findings
    other = TARGET.with_pair("v4.14", "v4.14+f2c57d91b0d9")
    assert set(KnownList.of(other, extra=[farm]).findings) >= {SIG + "x"}
    assert SIG + "y" not in KnownList.of(other, extra=[farm]).findings


def test_known_add_writes_a_finding_and_a_cause_stub_that_the_known_list_then_recognises(
        nothing_known, scenario, tmp_path, capsys):
    """A new finding: a `[[cause]]` stub and a `[[finding]]` naming it; replay --known
    then marks it known by signature."""
    farm = tmp_path / "farm.toml"
    assert main(["replay", "insert_pfn", str(scenario)]) == 0
    assert "[new]" in capsys.readouterr().out
    assert main(["known", "add", "insert_pfn", str(scenario), "--to", str(farm)]) == 0
    stub = "untriaged_" + __import__("hashlib").sha1(SIG.encode()).hexdigest()[:12]
    assert f"with the cause {stub}: fill in" in capsys.readouterr().out
    data = tomllib.loads(farm.read_text())
    (cause,), (finding,) = data["cause"], data["finding"]
    assert (cause["id"], cause["target"], cause["ops"]) == (stub, "insert_pfn",
                                                           ["vm_insert_mixed_mkwrite"])
    assert "observables" not in cause  # until someone declares them: this signature only
    assert (finding["signature"], finding["causes"], finding["pairs"]) == (
        SIG, [stub], ["v4.13..v4.14"])
    assert parse_text(TARGET.schema, finding["reproducer"]) == OPS
    assert main(["replay", "insert_pfn", str(scenario), "--known", str(farm), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["known"] == {"by": "signature",
                                                            "causes": [stub]}


def test_known_add_keeps_every_entry_of_the_file_and_refuses_a_listed_signature(
        nothing_known, scenario, tmp_path, capsys):
    """Appending keeps the file's text as it was; adding the same finding again is a
    one-line error, exit 2, and the file is unchanged."""
    farm = _write(tmp_path / "farm.toml", '# ours\n[[cause]]\nid = "mine"\n'
                                          'title = "a cause of ours"\n')
    before = farm.read_text()
    assert main(["known", "add", "insert_pfn", str(scenario), "--to", str(farm)]) == 0
    after = farm.read_text()
    assert after.startswith(before)
    assert [c["id"] for c in tomllib.loads(after)["cause"]][0] == "mine"
    capsys.readouterr()
    assert main(["known", "add", "insert_pfn", str(scenario), "--to", str(farm)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fuzzplug: error: {SIG}: already listed in {farm}")
    assert err.count("\n") == 1 and farm.read_text() == after


def test_known_add_of_a_divergence_known_by_its_causes_names_them(scenario, tmp_path,
                                                                   capsys, monkeypatch):
    """Recognised by its causes, the finding is listed with them, and no stub."""
    monkeypatch.delenv(KNOWN_ENV, raising=False)
    farm = tmp_path / "farm.toml"
    assert main(["known", "add", "insert_pfn", str(scenario), "--to", str(farm)]) == 0
    data = tomllib.loads(farm.read_text())
    assert "cause" not in data
    assert data["finding"][0]["causes"] == list(KnownList.of(TARGET).match(SIG, OPS).causes)


def test_known_add_refuses_an_input_that_is_not_divergent(tmp_path, capsys):
    """A `same` input is not a finding: exit 2, one line, nothing written."""
    same = _write(tmp_path / "same.ops", "vm_insert_pfn addr=0x100000 pfn=0x80\n")
    farm = tmp_path / "farm.toml"
    assert main(["known", "add", "insert_pfn", str(same), "--to", str(farm)]) == 2
    err = capsys.readouterr().err
    assert "not divergent" in err and err.count("\n") == 1 and not farm.exists()


@pytest.mark.parametrize(("text", "message"), [
    ("[[finding]\n", "not a known file (TOML)"),
    ('[[finding]]\ncauses = ["x"]\n', "[[finding]] '?': needs signature"),
    ('[[cause]]\nid = "a"\nlabel = "serious"\n', "malformed [[cause]] 'a'"),
    ('target = "insert_pfn"\n', "unknown table or key 'target'"),
    ('[[finding]]\nsignature = "s"\ncauses = ["nowhere"]\n', "unknown cause 'nowhere'"),
])
def test_a_malformed_known_file_is_a_one_line_error_and_is_left_as_it_is(
        scenario, tmp_path, capsys, text, message):
    """--known and known add --to with a malformed file: exit 2, one line naming it."""
    bad = _write(tmp_path / "bad.toml", text)
    assert main(["replay", "insert_pfn", str(scenario), "--known", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fuzzplug: error: ") and str(bad) in err and message in err
    assert err.count("\n") == 1
    if "unknown cause" not in message:  # a file that parses is checked when merged
        assert main(["known", "add", "insert_pfn", str(scenario), "--to", str(bad)]) == 2
        assert message in capsys.readouterr().err
    assert bad.read_text() == text


def test_a_missing_known_file_is_a_one_line_error(scenario, tmp_path, capsys):
    """--known naming no file: exit 2 before anything runs."""
    missing = tmp_path / "nope.toml"
    assert main(["replay", "insert_pfn", str(scenario), "--known", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err == f"fuzzplug: error: {missing}: no such known file\n"


def test_the_environment_variable_names_known_files_and_known_leaves_it_as_it_was(
        nothing_known, scenario, tmp_path, capsys, monkeypatch):
    """FUZZPLUG_KNOWN is read by the verbs; --known adds to it for one command only."""
    farm = tmp_path / "farm.toml"
    assert main(["known", "add", "insert_pfn", str(scenario), "--to", str(farm)]) == 0
    capsys.readouterr()
    monkeypatch.setenv(KNOWN_ENV, str(farm))
    assert main(["replay", "insert_pfn", str(scenario), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["known"]["by"] == "signature"
    monkeypatch.delenv(KNOWN_ENV)
    assert main(["replay", "insert_pfn", str(scenario), "--known", str(farm)]) == 0
    assert KNOWN_ENV not in __import__("os").environ


def test_the_harness_suppresses_what_the_environments_known_files_list(
        nothing_known, scenario, tmp_path, capsys, monkeypatch):
    """With FUZZPLUG_KNOWN naming a file listing the finding, the harness does not raise."""
    data = encode(TARGET.schema, OPS)
    with pytest.raises(Divergence):
        Harness(TARGET).test_one_input(data)
    farm = tmp_path / "farm.toml"
    assert main(["known", "add", "insert_pfn", str(scenario), "--to", str(farm)]) == 0
    monkeypatch.setenv(KNOWN_ENV, str(farm))
    Harness(TARGET).test_one_input(data)


def test_report_says_which_observables_of_a_new_finding_no_known_cause_explains(
        scenario, tmp_path, capsys, monkeypatch):
    """Without the devmap cause, the combination is new; the report names the one
    observable only that cause declared, in text and JSON."""
    monkeypatch.delenv(KNOWN_ENV, raising=False)
    causes = {k: v for k, v in TARGET.known_causes().items()
              if k != "devmap_without_pte_special"}
    monkeypatch.setattr(TARGET, "known_causes", lambda: causes)
    monkeypatch.setattr(TARGET, "known_findings", lambda: {})
    crashes = tmp_path / "crashes"
    crashes.mkdir()
    (crashes / "crash-1").write_bytes(encode(TARGET.schema, OPS))
    assert main(["report", "insert_pfn", str(crashes)]) == 0
    out = capsys.readouterr().out
    assert f"== NEW: {SIG}" in out
    assert ("unexplained: bug:get_page:page_ref_count_page_0 (no known cause declares it)\n"
            in out)
    assert out.count("unexplained:") == 1  # the other four have a cause that applies
    assert main(["report", "insert_pfn", str(crashes), "--format", "json"]) == 0
    (new,) = json.loads(capsys.readouterr().out)["new"]
    assert new["unexplained"] == [{"observable": "bug:get_page:page_ref_count_page_0",
                                   "declared_by": []}]


def test_explain_names_a_cause_that_declares_an_observable_but_does_not_apply():
    """An observable whose only cause needs another configuration: the cause and its
    predicate are named."""
    known = KnownList(TARGET.schema, {}, {"ppc": Cause(
        "ppc", observables=("state:pte",), ops=("vm_insert_mixed_mkwrite",),
        when=("config arch=ppc64",))})
    sig = "vm_insert_mixed_mkwrite/state:pte/00000000"
    x86 = parse_text(TARGET.schema, "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
    (why,) = known.explain(sig, x86)
    assert why.describe() == "state:pte (declared by ppc, which needs config arch=ppc64)"
    assert known.explain("fault/state:pte/00000000", x86)[0].declared_by == (
        ("ppc", "shows at vm_insert_mixed_mkwrite"),)
    ppc = parse_text(TARGET.schema, "config arch=ppc64\n"
                                    "vm_insert_mixed_mkwrite addr=0x100000 pfn=0x80\n")
    assert known.explain(sig, ppc) == ()

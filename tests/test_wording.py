"""Counts read as English in what fuzzplug prints: `1 hit`, `1 fault`, `2 calls`, and a call
is neither a scene line nor a control line (fail_alloc, task, sched) in every target."""

from __future__ import annotations

from pathlib import Path

from fuzzplug.cli import main
from fuzzplug.core.findings import FindingEntry, table, write_entry
from fuzzplug.core.opslang import encode, parse_text
from fuzzplug.targets import load_target

ROOT = Path(__file__).parents[1]
PPC64 = ROOT / "corpora" / "insert_pfn" / "divergent_ppc64_set_pte_at_on_present_pte.ops"
RACE = ROOT / "corpora" / "dax_fault" / "divergent_write_fault_races_write_over_zero_page.ops"


def test_report_says_one_hit_not_one_hits(tmp_path, capsys):
    """A signature met once reads `(1 hit`, and the headline `1 divergent signature, 1 hit`."""
    target = load_target("insert_pfn")
    ops = parse_text(target.schema, PPC64.read_text())
    outcome = target.evaluate(ops)
    write_entry(target, tmp_path, FindingEntry(outcome.signature, 1,
                                               encode(target.schema, ops), outcome))
    assert main(["report", "insert_pfn", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1 divergent signature, 1 hit:" in out and "(1 hit" in out
    assert "(1 hits" not in out and "(s)" not in out


def test_the_fuzz_tables_calls_leave_out_control_lines():
    """`fail_alloc` (insert_pfn) and `task`/`sched` (dax_fault) are not counted as calls."""
    insert_pfn, dax_fault = load_target("insert_pfn"), load_target("dax_fault")
    one = parse_text(insert_pfn.schema, "fail_alloc nth=1\nvm_insert_pfn addr=0x100000 pfn=0x0\n")
    race = parse_text(dax_fault.schema, RACE.read_text())
    assert insert_pfn.schema.calls(one) == 1
    assert dax_fault.schema.calls(race) == sum(
        1 for op in race if op.name not in ("task", "sched")
        and not dax_fault.schema.spec(op.name).scene)
    out = table(insert_pfn, [FindingEntry("vm_insert_pfn/x/0", 1,
                                          encode(insert_pfn.schema, one))])
    assert "count: 1   reproducer: 1 call, " in out


def test_a_race_story_says_one_fault(capsys):
    """`replay` of the race seed tells `(1 fault)`, never `(1 faults)`."""
    assert main(["replay", "dax_fault", str(RACE)]) == 0
    out = capsys.readouterr().out
    assert "(1 fault)" in out and "(1 faults)" not in out

"""The races bench's reading and drawing (`bench/races_report.py`) on a recorded run, and its
unit-time probe (`bench/unit_probe/`): the figures it parses, the causes' times, the table and
the plot's curves. No timing is asserted."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "bench_races_fixture"
SVG = "{http://www.w3.org/2000/svg}"


def _report():
    spec = importlib.util.spec_from_file_location("races_report",
                                                  ROOT / "bench" / "races_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = _report()


def _results() -> dict:
    return json.loads((FIXTURE / "results.json").read_text())


def test_libfuzzers_log_gives_its_exec_per_s_executions_and_slowest_unit():
    """The recorded log's final stats: executions, exec/s, slowest unit, peak RSS."""
    parsed = report.parse_libfuzzer_log((FIXTURE / "libfuzzer.log").read_text())
    assert parsed["execs"] == 627
    assert parsed["exec_per_s"] == 25
    assert parsed["slowest_unit_s"] == 20
    assert parsed["slow_unit_lines"] == [20]
    assert parsed["peak_rss_mb"] == 61
    assert parsed["timeout_s"] is None


def test_a_libfuzzer_timeout_is_read_and_counts_as_the_slowest_unit():
    """A run that libFuzzer's -timeout ended: the timeout is its slowest unit (the probe
    never sees the unit libFuzzer killed)."""
    text = ("==12== ERROR: libFuzzer: timeout after 20 seconds\n"
            "stat::number_of_executed_units: 40\nstat::average_exec_per_sec:     2\n"
            "stat::slowest_unit_time_sec:    0\n")
    parsed = report.parse_libfuzzer_log(text)
    assert parsed["timeout_s"] == 20
    run = {"libfuzzer": parsed, "units": {"max_s": 3.5}}
    assert report.slowest_unit(run) == 20


def test_a_log_without_final_stats_falls_back_to_its_last_status_line():
    """A libFuzzer stopped before its final stats: executions and exec/s of its last
    status line."""
    parsed = report.parse_libfuzzer_log(
        "#2\tINITED cov: 3 ft: 3 corp: 1/5b exec/s: 0 rss: 58Mb\n"
        "#881\tNEW    cov: 9 ft: 9 corp: 3/9b lim: 4 exec/s: 44 rss: 60Mb L: 4/4 MS: 1\n"
        "#1024\tpulse  cov: 9 ft: 9 corp: 3/9b lim: 4 exec/s: 46 rss: 60Mb\n")
    assert (parsed["execs"], parsed["exec_per_s"], parsed["slowest_unit_s"]) == (1024, 46, None)


def test_findings_take_the_time_their_signature_first_showed_in_the_inbox():
    """Each finding of summary.json gets its causes and the inbox's first sighting of its
    signature id; one the inbox never showed gets the end of the run, flagged."""
    summary = json.loads((FIXTURE / "summary.json").read_text())
    first_seen = {"6144f6158b0b": 4.62, "0101f3efcada": 1.01}
    found = report.findings_with_times(summary, first_seen, end_s=50.0)
    by_sig = {f["signature"]: f for f in found}
    race = by_sig["tasks_store/warn:insert_pfn:pte_pfn_pte_pfn_t_to_pfn_pfn/da39a3ee"]
    assert (race["t"], race["seen"]) == (4.62, True)
    assert race["causes"] == ["write_fault_races_write_over_zero_page"]
    unseen = [f for f in found if not f["seen"]]
    assert unseen and all(f["t"] == 50.0 for f in unseen)
    assert [f["t"] for f in found] == sorted(f["t"] for f in found)
    times = report.cause_times(found)
    assert times["write_fault_races_write_over_zero_page"] == 4.62


def test_a_signature_confirmed_from_a_candidate_takes_the_time_the_candidate_was_written():
    """A race the loop kept as a candidate and `fuzz` confirmed at its end: the time is when
    the candidate was written (`candidate_confirmed` names the file and the signature), or
    the inbox's own sighting if earlier."""
    events = report.read_events(
        'not json\n'
        '{"event": "candidate_confirmed", "candidate": "candidate-aa-11", "signature": "s/1"}\n'
        '{"event": "candidate_confirmed", "candidate": "candidate-aa-22", "signature": "s/1"}\n'
        '{"event": "candidate_dropped", "candidate": "candidate-bb-33"}\n'
        '{"event": "candidates_left", "candidates": 3}\n')
    confirmed = report.candidate_signatures(events)
    assert confirmed == {"candidate-aa-11": "s/1", "candidate-aa-22": "s/1"}
    assert report.event_counts(events) == {"candidate_confirmed": 2, "candidate_dropped": 1,
                                           "libfuzzer_stopped": 0, "candidates_left": 3}
    summary = {"findings": [{"folder": "tasks-0f0f", "signature": "s/1",
                             "known_causes": ["a_race"]},
                            {"folder": "load-1e1e", "signature": "l/2",
                             "known_causes": ["one_task"]}]}
    seen = {"candidate-aa-11": 30.5, "candidate-aa-22": 12.25, "candidate-bb-33": 1.0}
    found = report.findings_with_times(summary, {"1e1e": 4.0}, 60.0, seen, confirmed)
    assert [(f["causes"], f["t"], f["seen"]) for f in found] == [
        (["one_task"], 4.0, True), (["a_race"], 12.25, True)]
    earlier = report.findings_with_times(summary, {"0f0f": 9.0}, 60.0, seen, confirmed)
    assert {f["signature"]: f["t"] for f in earlier}["s/1"] == 9.0


def test_the_candidates_left_unconfirmed_name_the_causes_of_their_provisional_signatures(
        tmp_path):
    """A candidate `fuzz` had no time to confirm: its provisional signature (the
    `provisional.*.json` beside it) gives its causes where the known list names it."""
    known = report.known_signatures(ROOT / "fuzzplug" / "targets" / "dax_fault" /
                                    "known.toml")
    race = "tasks_store/warn:insert_pfn:pte_pfn_pte_pfn_t_to_pfn_pfn/da39a3ee"
    assert known[race] == ["write_fault_races_write_over_zero_page"]
    (tmp_path / "provisional.7.json").write_text(json.dumps(
        {"aaaa": {"signature": race, "known": True},
         "bbbb": {"signature": "tasks/not:listed/da39a3ee", "known": False}}))
    (tmp_path / "candidate-aaaa-0123").write_bytes(b"x")
    (tmp_path / "candidate-bbbb-4567").write_bytes(b"y")
    assert report.left_candidate_causes(tmp_path, known) == [
        "write_fault_races_write_over_zero_page"]
    assert report.left_candidate_causes(tmp_path / "none", known) == []


def test_a_unit_still_running_when_its_process_ended_counts_as_a_slow_unit():
    """The probe's `running_s` (a unit stopped by a timeout or by `fuzz`) is one more unit,
    over 1 s, and the slowest if it is."""
    merged = report.merge_unit_probes([
        {"units": 10, "max_s": 0.5, "over_1s": 0, "over_100ms": 2, "total_s": 1.0,
         "running_s": 7.5},
        {"units": 5, "max_s": 2.0, "over_1s": 1, "over_100ms": 1, "total_s": 2.5,
         "running_s": 0.0}])
    assert (merged["units"], merged["max_s"], merged["over_1s"]) == (16, 7.5, 2)
    assert merged["unfinished_s"] == 7.5


def test_a_signature_the_known_list_does_not_know_is_a_cause_of_its_own():
    """A new signature counts as one cause, `new:<signature>`."""
    summary = {"findings": [{"folder": "load-abc", "signature": "load/x/1", "known_causes": None}]}
    found = report.findings_with_times(summary, {"abc": 2.0}, end_s=9.0)
    assert found[0]["causes"] == ["new:load/x/1"]


def test_the_two_task_causes_are_those_shown_only_at_tasks_ops_in_the_series_pair():
    """dax_fault's known list: the generic/344 race is a two-task cause, the zero page
    without pte_special (shown by one task too) is not, nor a cause of the fixes' pairs."""
    causes = report.two_task_causes(ROOT / "fuzzplug" / "targets" / "dax_fault" / "known.toml")
    assert "write_fault_races_write_over_zero_page" in causes
    assert "zero_page_not_unmapped_without_pte_special" not in causes
    assert "radix_soft_dirty_lost_again_on_reuse" not in causes


def test_the_band_is_the_median_min_and_max_of_the_seeds_curves():
    """Three seeds' step curves: at each step, the median, min and max of the counts."""
    curves = [report.count_curve(times, 60) for times in ([1.0, 5.0], [3.0], [])]
    by_t = {t: (m, lo, hi) for t, m, lo, hi in report.band(curves)}
    assert by_t[0.0] == (0, 0, 0)
    assert by_t[1.0] == (0, 0, 1)
    assert by_t[3.0] == (1, 0, 1)
    assert by_t[5.0] == (1, 0, 2)
    assert by_t[60] == (1, 0, 2)


def test_the_plot_has_one_median_line_and_one_band_per_configuration_and_panel():
    """The recorded run's SVG parses as XML and has a median line and a band for each of
    the four configurations in each of its two panels (all causes, two-task causes)."""
    results = _results()
    root = ET.fromstring(report.svg(results))
    medians = root.findall(f"{SVG}polyline[@class='median']")
    bands = root.findall(f"{SVG}polygon[@class='band']")
    assert len(medians) == 8 and len(bands) == 8
    configs = sorted(m.get("data-config") for m in medians)
    assert configs == sorted([f"{v}-{s}" for v in ("old", "new") for s in ("seeds", "cold")] * 2)
    for line in medians:  # every point inside the plot
        for point in line.get("points").split():
            x, y = map(float, point.split(","))
            assert report.LEFT <= x <= report.W - report.RIGHT and 0 <= y <= 2 * report.H


def test_the_table_sets_old_and_new_side_by_side_with_their_ratio():
    """The recorded run's table: each start's exec/s, old and new, and new/old."""
    results = _results()
    table = report.markdown(results)
    figs = {(v, s): report.config_figures(report.config_runs(results, v, s),
                                          results["two_task_causes"])
            for v in ("old", "new") for s in ("seeds", "cold")}
    old, new = figs["old", "seeds"]["exec_per_s"], figs["new", "seeds"]["exec_per_s"]
    assert f"| libFuzzer exec/s | {old:,.0f} | {new:,.0f} | {new / old:.2f}x |" in table
    for cause in results["two_task_causes"]:
        assert f"| `{cause}` |" in table
    assert "reference: `fuzz insert_pfn" in table


def test_the_unit_probe_times_the_units_of_an_atheris_run(tmp_path):
    """An atheris run under the probe writes how many units it timed and the slowest."""
    script = tmp_path / "slow.py"
    script.write_text("import sys, time, atheris\n"
                      "def one(data):\n    time.sleep(0.12)\n"
                      "atheris.Setup([sys.argv[0], '-runs=2'], one)\natheris.Fuzz()\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "bench" / "unit_probe"),
               FUZZPLUG_BENCH_UNITS=str(tmp_path / "units"))
    subprocess.run([sys.executable, str(script)], env=env, cwd=tmp_path, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    probes = [json.loads(p.read_text()) for p in (tmp_path / "units").glob("units.*.json")]
    merged = report.merge_unit_probes(probes)
    assert merged["units"] >= 1 and merged["over_100ms"] == merged["units"]
    assert merged["max_s"] >= 0.12 and merged["over_1s"] == 0

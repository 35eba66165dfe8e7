"""`sap bench` writes one CSV row per size and stage with the stage's own CPU, memory, rows and I/O floor
(the shape of the results is tested here, never the speed)."""

import csv
import json

import pytest

from sap.bench import BEGIN, COLUMNS, END, bench, merge_rows, update_readme


def _rows(path):
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_bench_on_a_tiny_twin_writes_csv_json_markdown_and_plot(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{BEGIN}\nold table\n{END}\nafter\n", encoding="utf-8")
    bench((6,), out=tmp_path, stages=("simulate", "sdtm"), readme=readme, log=lambda line: None)
    folder = tmp_path / "bench"
    rows = _rows(folder / "bench.csv")
    with (folder / "bench.csv").open(encoding="utf-8") as handle:
        assert next(csv.reader(handle)) == COLUMNS
    assert [(r["subjects"], r["stage"], r["status"], r["exit_code"]) for r in rows] == [("6", "simulate", "ok", "0"), ("6", "sdtm", "ok", "0")]
    simulate, sdtm = rows
    # the twin writes one CSV per CRF form; the sdtm stage reads exactly those rows
    assert int(simulate["rows_in"]) == 0 and int(simulate["rows_out"]) > 0
    assert sdtm["rows_in"] == simulate["rows_out"]
    assert int(sdtm["rows_out"]) > 0
    for row in rows:
        assert float(row["wall_s"]) > 0 and float(row["cpu_s"]) > 0 and float(row["peak_rss_mib"]) > 10
        assert float(row["floor_cpu_s"]) >= 0 and float(row["floor_wall_s"]) > 0
        # the ratio is computed before rounding; the CSV keeps wall_s to 0.01 s and floor_wall_s to 0.0001 s, so
        # the ratio lies between the bounds those roundings allow (a tiny floor makes them wide), +-0.05 for its own
        wall, floor = float(row["wall_s"]), float(row["floor_wall_s"])
        low, high = max(wall - 0.005, 0) / (floor + 0.00005), (wall + 0.005) / max(floor - 0.00005, 1e-9)
        assert low - 0.05 <= float(row["ratio_wall"]) <= high + 0.05
    report = json.loads((folder / "bench.json").read_text(encoding="utf-8"))
    assert report["machine"]["cpus"] >= 1 and len(report["results"]) == 2
    table = (folder / "bench.md").read_text(encoding="utf-8")
    assert table.splitlines()[0].startswith("| subjects | stage | wall s | CPU s | peak RSS MiB |")
    assert len(table.splitlines()) == 4
    assert (folder / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = readme.read_text(encoding="utf-8")
    assert "old table" not in text and table.strip() in text and text.startswith("before\n") and text.endswith("after\n")

    # a second run of one stage replaces that row and keeps the other
    bench((6,), out=tmp_path, stages=("simulate",), log=lambda line: None)
    again = _rows(folder / "bench.csv")
    assert [r["stage"] for r in again] == ["simulate", "sdtm"] and again[1] == sdtm


def test_merge_keeps_earlier_sizes_and_orders_by_size_then_pipeline():
    old = [{"subjects": 100_000, "stage": "sdtm", "v": 1}, {"subjects": 40, "stage": "adam", "v": 1}]
    new = [{"subjects": 40, "stage": "adam", "v": 2}, {"subjects": 40, "stage": "sdtm", "v": 2}]
    assert merge_rows(old, new) == [{"subjects": 40, "stage": "sdtm", "v": 2}, {"subjects": 40, "stage": "adam", "v": 2},
                                    {"subjects": 100_000, "stage": "sdtm", "v": 1}]


def test_readme_without_markers_is_a_one_line_error(tmp_path):
    from sap.errors import SapError

    readme = tmp_path / "README.md"
    readme.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(SapError, match="no benchmark markers"):
        update_readme(readme, "| table |")


def test_render_steps_table_gives_each_steps_share_of_the_render_wall(tmp_path):
    from sap.bench import render_steps, render_steps_table
    from tlf.stage import PROFILE_FILE

    profile = {"outputs: build, figures, RTF, ARD": {"wall_s": 5.0, "cpu_s": 4.5},
               "book: HTML, DOCX and PDF side by side": {"wall_s": 10.0, "cpu_s": 9.0,
                                                         "parts_wall_s": {"html": 6.0, "docx": 8.0, "pdf": 10.0}}}
    (tmp_path / PROFILE_FILE).write_text(json.dumps(profile))
    row = {"subjects": 40, "stage": "render", "wall_s": 20.0, "render_steps": render_steps(tmp_path)}
    table = render_steps_table([row, {"subjects": 40, "stage": "adam", "wall_s": 3.0}])
    lines = table.splitlines()
    assert lines[2] == "| 40 | outputs: build, figures, RTF, ARD | 5.0 | 4.5 | 25% |"  # 5 of 20 s
    assert lines[3] == "| 40 | book: HTML, DOCX and PDF side by side | 10.0 | 9.0 | 50% |"
    assert lines[4:] == ["| 40 | &nbsp;&nbsp;html (side by side) | 6.0 | | |", "| 40 | &nbsp;&nbsp;docx (side by side) | 8.0 | | |",
                         "| 40 | &nbsp;&nbsp;pdf (side by side) | 10.0 | | |"]
    assert render_steps(tmp_path / "none") == {} and render_steps_table([{"subjects": 1, "wall_s": 1}]) == ""

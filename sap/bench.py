"""`sap bench`: wall and CPU seconds, peak memory and rows of each pipeline stage for each twin size, beside
the stage's I/O floor measured in the same run.

Each stage runs as its own `sap <stage>` process, so that its CPU time (user + system, its child processes
included) and peak resident memory come from `os.wait4` for that process alone. Right after it, a second
process measures the stage's **I/O floor**: pyarrow reading the stage's inputs (parquet, CSV) and writing
its outputs (parquet tables re-written with the same compression, every other file written as its bytes),
the same rows the stage read and wrote, nothing else. `ratio` = stage CPU seconds / floor CPU seconds: how
much work the stage does beyond moving its data (the issue's target is at most 3x for sdtm and adam).

Results go to `<out>/bench/`: `bench.csv` (one row per size and stage), `bench.json` (the same rows and the
machine), `bench.md` (the table the README quotes) and `bench.png` (CPU seconds and peak memory against
subjects, log-log). Rows measured earlier for other sizes or stages are kept (each row says when and at
which commit it was measured), so a 100,000-subject run adds to the smaller ones. Nothing is asserted:
this is a measurement (the machine is shared, so read ratios rather than seconds).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sap.datasets import write_json

DEFAULT_SIZES = (40, 1_000, 10_000, 30_000)
SLOW_SIZES = (100_000,)  # the sponsor scale: only with --slow or --subjects 100000 (about an hour on 2 cores)
LARGE_SKIPS = {"render": 5_000}  # listings of every subject are not rendered above this size
# stage -> (folders it reads, folders it writes), relative to the output folder
STAGE_IO: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "simulate": ((), ("raw",)),
    "sdtm": (("raw",), ("sdtm",)),
    "adam": (("sdtm",), ("adam",)),
    "validate": (("sdtm", "adam"), ("validation",)),
    "qc": (("sdtm", "adam"), ("qc",)),
    "render": (("adam", "validation", "qc"), ("tlf",)),
}
COLUMNS = ["subjects", "stage", "status", "exit_code", "wall_s", "cpu_s", "peak_rss_mib", "rows_in", "rows_out",
           "floor_wall_s", "floor_cpu_s", "ratio_cpu", "ratio_wall", "measured", "commit", "note"]
TARGET_RSS_MIB = 8 * 1024  # the memory target, drawn on the plot


def stage_io(stage: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The folders a stage reads and writes (a stage added to the pipeline later reads SDTM and ADaM and
    writes its own folder unless listed in STAGE_IO)."""
    return STAGE_IO.get(stage, (("sdtm", "adam"), (stage,)))


def _run(args: list[str]) -> dict:
    """Run a command; its wall seconds, CPU seconds (user + system, children included), peak RSS, exit code
    and last stderr line."""
    start = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as errors:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=errors, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        errors.seek(0)
        last = (errors.read().strip().splitlines() or [""])[-1]
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mib": usage.ru_maxrss / 1024,
            "exit_code": os.waitstatus_to_exitcode(status), "last": last}


# --------------------------------------------------------------------------------------------------------
# The I/O floor


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)) if folder.is_dir() else []


def _input_files(out: Path, folders: tuple[str, ...]) -> list[Path]:
    """The tables a stage reads: parquet and CSV files (the stages read parquet, never the XPT copies)."""
    return [p for name in folders for p in _files(out / name) if p.suffix.lower() in (".parquet", ".csv")]


def io_floor(out: Path, stage: str, scratch: Path) -> dict:
    """pyarrow reading the stage's input tables and writing its output files into `scratch`: wall and CPU
    seconds (`time.process_time`: every thread of this process) of the reads and writes alone, and the rows
    read and written (XPT files repeat their parquet's rows and are not counted twice)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    inputs, outputs = stage_io(stage)
    wall = cpu = 0.0
    rows_in = rows_out = 0

    def timed(action):
        nonlocal wall, cpu
        w, c = time.perf_counter(), time.process_time()
        result = action()
        wall += time.perf_counter() - w
        cpu += time.process_time() - c
        return result

    def read(path: Path):
        return pacsv.read_csv(path) if path.suffix.lower() == ".csv" else pq.read_table(path)

    for path in _input_files(out, inputs):
        rows_in += timed(lambda: read(path)).num_rows
    scratch.mkdir(parents=True, exist_ok=True)
    for number, path in enumerate(p for name in outputs for p in _files(out / name)):
        target = scratch / f"{number:05d}{path.suffix}"
        if path.suffix.lower() == ".parquet":
            table = pq.read_table(path)  # untimed: the floor writes what the stage wrote
            timed(lambda: pq.write_table(table, target, compression="zstd"))
            rows_out += table.num_rows
        else:
            data = path.read_bytes()
            timed(lambda: target.write_bytes(data))
            if path.suffix.lower() == ".csv":
                rows_out += pacsv.read_csv(path).num_rows
        target.unlink()
        table = data = None
    return {"floor_wall_s": wall, "floor_cpu_s": cpu, "rows_in": rows_in, "rows_out": rows_out}


# --------------------------------------------------------------------------------------------------------
# Running


def _git_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def measure_stage(sap: list[str], stage: str, size: int, scratch: Path, seed: int | None) -> dict:
    """One stage at one size: the stage's own process, then its I/O floor in another."""
    args = sap + [stage, "--out", str(scratch)]
    if stage == "simulate":
        args += ["--subjects", str(size)] + (["--seed", str(seed)] if seed is not None else [])
    run = _run(args)
    row = {"subjects": size, "stage": stage, "exit_code": run["exit_code"], "wall_s": round(run["wall_s"], 2),
           "cpu_s": round(run["cpu_s"], 2), "peak_rss_mib": round(run["peak_rss_mib"], 1)}
    # exit 2 = validation or QC found differences: the stage ran to the end and wrote its outputs
    row["status"] = {0: "ok", 2: "completed, checks failed"}.get(run["exit_code"], "failed")
    row["note"] = run["last"] if run["exit_code"] else ""
    if stage == "render":
        row["render_steps"] = render_steps(scratch)
    if row["status"] != "failed":
        floor_file = scratch / ".floor.json"
        floor = _run([sys.executable, "-m", "sap.bench", "floor", str(scratch), stage, str(floor_file)])
        if floor["exit_code"] == 0:
            measured = json.loads(floor_file.read_text(encoding="utf-8"))
            row.update({k: (round(v, 4) if isinstance(v, float) else v) for k, v in measured.items()})
            if measured["floor_cpu_s"] > 0:
                row["ratio_cpu"] = round(run["cpu_s"] / measured["floor_cpu_s"], 1)
            if measured["floor_wall_s"] > 0:
                row["ratio_wall"] = round(run["wall_s"] / measured["floor_wall_s"], 1)
        else:
            row["note"] = f"I/O floor failed: {floor['last']}"
    return row


def render_steps(scratch: Path) -> dict:
    """The render stage's own profile (`tlf.stage.RenderProfile`, OUT/.render-profile.json): wall and CPU
    seconds of each step; empty when the stage wrote none."""
    from tlf.stage import PROFILE_FILE

    try:
        return json.loads((scratch / PROFILE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def render_steps_table(rows: list[dict]) -> str:
    """Where render spends its time: for each size with a render profile, each step's wall and CPU seconds
    and its share of the render stage's wall time (the book's HTML, DOCX and PDF run side by side: their
    walls overlap, so they are listed under the book step and not added up)."""
    lines = ["| subjects | render step | wall s | CPU s | share of render wall |", "|---:|---|---:|---:|---:|"]
    for r in rows:
        steps = r.get("render_steps") or {}
        total = r.get("wall_s") or 0
        for name, step in steps.items():
            share = f"{100 * step['wall_s'] / total:.0f}%" if total else ""
            lines.append(f"| {r['subjects']:,} | {name} | {step['wall_s']:.1f} | {step['cpu_s']:.1f} | {share} |")
            for part, wall in step.get("parts_wall_s", {}).items():
                lines.append(f"| {r['subjects']:,} | &nbsp;&nbsp;{part} (side by side) | {wall:.1f} | | |")
    return "\n".join(lines) if len(lines) > 2 else ""


def bench(sizes: tuple[int, ...] = DEFAULT_SIZES, out: Path = Path("output"), seed: int | None = None,
          stages: tuple[str, ...] | None = None, readme: Path | None = None, log=print) -> dict:
    """Run each stage for each size in a scratch folder (stages in pipeline order, one process at a time);
    write `<out>/bench/` (see the module docstring), keeping earlier rows of sizes and stages not rerun;
    with `readme`, replace its benchmark table (between the bench markers) with the new one."""
    from sap.pipeline import STAGES

    stages = tuple(stages or STAGES)
    sap = [sys.executable, "-m", "sap.cli"]
    measured_at = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")  # a measurement, not an output
    commit = _git_commit()
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix=f"sap-bench-{size}-") as scratch:
            for stage in (s for s in STAGES if s in stages):
                if size > LARGE_SKIPS.get(stage, float("inf")):
                    row = {"subjects": size, "stage": stage, "status": "skipped",
                           "note": f"not run above {LARGE_SKIPS[stage]:,} subjects"}
                else:
                    row = measure_stage(sap, stage, size, Path(scratch), seed)
                row.update(measured=measured_at, commit=commit)
                results.append(row)
                log(_progress(row))
                if row["status"] == "failed":
                    break
    folder = out / "bench"
    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                          "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
              "results": merge_rows(load_rows(folder / "bench.json"), results)}
    write_report(report, folder)
    if readme is not None:
        steps = render_steps_table(report["results"])
        update_readme(readme, markdown_table(report["results"]) + (f"\n\n{steps}" if steps else ""))
    return report


def _progress(row: dict) -> str:
    if row["status"] == "skipped":
        return f"  {row['subjects']:>7,} subjects  {row['stage']:<9} skipped ({row['note']})"
    ratio = f"  {row['ratio_cpu']:5.1f}x floor" if "ratio_cpu" in row else ""
    tail = f"  {row['status'].upper()}: {row['note']}" if row["exit_code"] else ""
    return (f"  {row['subjects']:>7,} subjects  {row['stage']:<9} {row['wall_s']:8.1f} s wall {row['cpu_s']:8.1f} s CPU "
            f"{row['peak_rss_mib']:8.0f} MiB{ratio}{tail}")


def load_rows(path: Path) -> list[dict]:
    """The rows of an earlier bench.json (none when absent or unreadable)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError):
        return []


def merge_rows(old: list[dict], new: list[dict]) -> list[dict]:
    """Earlier rows whose (subjects, stage) was not measured again, then the new ones; sorted by size and
    pipeline order."""
    from sap.pipeline import STAGES

    order = {name: i for i, name in enumerate(STAGES)}
    fresh = {(r["subjects"], r["stage"]) for r in new}
    rows = [r for r in old if (r.get("subjects"), r.get("stage")) not in fresh] + new
    return sorted(rows, key=lambda r: (r["subjects"], order.get(r["stage"], len(order))))


# --------------------------------------------------------------------------------------------------------
# Reports


def write_report(report: dict, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = report["results"]
    write_json(report, folder / "bench.json")
    with (folder / "bench.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in COLUMNS})
    steps = render_steps_table(rows)
    (folder / "bench.md").write_text(markdown_table(rows) + "\n" + (f"\n{steps}\n" if steps else ""), encoding="utf-8")
    plot(rows, folder / "bench.png")


def _number(value, digits: int = 1) -> str:
    return "" if value in (None, "") else f"{value:,.{digits}f}"


def markdown_table(rows: list[dict]) -> str:
    """The benchmark table: one line per size and stage."""
    lines = ["| subjects | stage | wall s | CPU s | peak RSS MiB | rows in | rows out | I/O floor CPU s | CPU / floor |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r["status"] == "skipped":
            lines.append(f"| {r['subjects']:,} | {r['stage']} | {r['note']} | | | | | | |")
            continue
        status = "" if r["status"] == "ok" else f" ({r['status']})"
        lines.append(f"| {r['subjects']:,} | {r['stage']}{status} | {_number(r.get('wall_s'))} | {_number(r.get('cpu_s'))} | "
                     f"{_number(r.get('peak_rss_mib'), 0)} | {_number(r.get('rows_in'), 0)} | {_number(r.get('rows_out'), 0)} | "
                     f"{_number(r.get('floor_cpu_s'), 2)} | {_number(r.get('ratio_cpu'))}{'x' if r.get('ratio_cpu') else ''} |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    """CPU seconds (solid; the I/O floor dashed) and peak RSS against subjects, one line per stage, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [r for r in rows if r["status"] != "skipped" and r.get("cpu_s") is not None]
    stages = list(dict.fromkeys(r["stage"] for r in measured))
    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(11, 4.5))
    for number, stage in enumerate(stages):
        points = sorted((r for r in measured if r["stage"] == stage), key=lambda r: r["subjects"])
        colour = f"C{number}"
        xs = [r["subjects"] for r in points]
        time_axis.plot(xs, [max(r["cpu_s"], 0.01) for r in points], "o-", color=colour, label=stage)
        floor = [(r["subjects"], r["floor_cpu_s"]) for r in points if r.get("floor_cpu_s")]
        if floor:
            time_axis.plot(*zip(*floor), "x--", color=colour, alpha=0.6)
        memory_axis.plot(xs, [r["peak_rss_mib"] for r in points], "o-", color=colour, label=stage)
    memory_axis.axhline(TARGET_RSS_MIB, color="grey", linestyle=":", label="8 GiB target")
    for axis, title, unit in ((time_axis, "CPU seconds (user + sys); dashed: I/O floor", "seconds"),
                              (memory_axis, "Peak resident memory", "MiB")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("subjects")
        axis.set_ylabel(unit)
        axis.set_title(title, fontsize=10)
        axis.grid(True, which="both", alpha=0.3)
    memory_axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(figure)


BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def update_readme(path: Path, table: str) -> None:
    """Replace the text between the bench markers of `path` with `table`; the markers must be there."""
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        from sap.errors import Problem, SapError

        raise SapError(Problem(str(path), f"no benchmark markers ({BEGIN} ... {END}) to replace"))
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":  # python -m sap.bench floor OUT STAGE RESULT.json (run by measure_stage)
    if len(sys.argv) == 5 and sys.argv[1] == "floor":
        out_dir, stage_name, result = Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
        with tempfile.TemporaryDirectory(prefix="sap-floor-", dir=out_dir) as floor_scratch:
            result.write_text(json.dumps(io_floor(out_dir, stage_name, Path(floor_scratch))), encoding="utf-8")
    else:
        sys.exit("usage: python -m sap.bench floor OUT STAGE RESULT.json")

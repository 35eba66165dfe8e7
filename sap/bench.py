"""`sap bench`: time and peak memory of each pipeline stage, for each twin size.

Each stage runs as its own `sap <stage>` process so that its peak resident memory (from `os.wait4`) is its own.
Results go to `<out>/bench/bench.json` and `bench.md`; nothing is asserted - this is a measurement.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sap.datasets import write_json

DEFAULT_SIZES = (40, 100_000)
# stage -> extra CLI arguments; `simulate` gets the size and seed
BENCH_STAGES = ("simulate", "sdtm", "adam", "validate", "render")
LARGE_SKIPS = {"render": 5_000}  # listings of every subject are not rendered above this size


def _run(args: list[str]) -> tuple[float, float, int, str]:
    """Run a command; return (seconds, peak RSS in MiB, exit code, last stderr line)."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    stderr = proc.stderr.read() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, code, (stderr.strip().splitlines() or [""])[-1]


def bench(sizes: tuple[int, ...] = DEFAULT_SIZES, out: Path = Path("output"), seed: int | None = None,
          stages: tuple[str, ...] = BENCH_STAGES, log=print) -> dict:
    """Run each stage for each size in a scratch folder and record seconds and peak memory."""
    results = []
    sap = [sys.executable, "-m", "sap.cli"]
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix=f"sap-bench-{size}-") as scratch:
            for stage in stages:
                if size > LARGE_SKIPS.get(stage, float("inf")):
                    results.append({"subjects": size, "stage": stage, "skipped": f"not run above {LARGE_SKIPS[stage]:,} subjects"})
                    continue
                args = sap + [stage, "--out", scratch]
                if stage == "simulate":
                    args += ["--subjects", str(size)] + (["--seed", str(seed)] if seed is not None else [])
                seconds, rss, code, last = _run(args)
                row = {"subjects": size, "stage": stage, "seconds": round(seconds, 2), "peak_rss_mib": round(rss, 1), "exit_code": code}
                if code:
                    row["error"] = last
                results.append(row)
                log(f"  {size:>7,} subjects  {stage:<9} {seconds:8.1f} s  {rss:8.0f} MiB" + (f"  FAILED: {last}" if code else ""))
                if code:
                    break
    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}, "results": results}
    folder = out / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    write_json(report, folder / "bench.json")
    lines = ["| subjects | stage | seconds | peak RSS (MiB) |", "|---:|---|---:|---:|"]
    for row in results:
        if "skipped" in row:
            lines.append(f"| {row['subjects']:,} | {row['stage']} | {row['skipped']} | |")
        else:
            lines.append(f"| {row['subjects']:,} | {row['stage']} | {row['seconds']:.1f} | {row['peak_rss_mib']:.0f} |")
    (folder / "bench.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return report

"""Benchmark of the validation stage, for `sap bench`: seconds and peak memory to validate an output folder.

Peak memory is the process's peak resident set size (`resource.getrusage`, kilobytes on Linux): tracemalloc
would miss Arrow's and numpy's native buffers and slows pandas several-fold. Call it in a fresh process for
a clean peak (ru_maxrss never goes down)."""

from __future__ import annotations

import resource
import time
from pathlib import Path


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_validation(out_dir: str | Path) -> dict:
    """Validate `out_dir` (its sdtm/ and adam/) as `sap validate` does, timing each part.

    Returns seconds for finding the datasets, for GX set-up (import and context), for the validation itself
    (reading each dataset included) and in total, the number of datasets, rows, expectations and failures, and the peak RSS in MB. Failures do
    not raise here: the benchmark measures, the validate stage judges."""
    import pyarrow.parquet as pq

    from validation.engine import GxRunner
    from validation.stage import find_folder, validate_paths

    start = time.perf_counter()
    paths, sdtm_names = find_folder(Path(out_dir))
    rows = sum(pq.read_metadata(p).num_rows for p in paths.values() if p.suffix == ".parquet")
    loaded = time.perf_counter()
    runner = GxRunner()
    context_ready = time.perf_counter()
    outcomes = validate_paths(paths, sdtm_names, runner=runner)  # streams: one dataset in memory at a time
    done = time.perf_counter()
    return {
        "datasets": len(paths),
        "rows": int(rows),
        "expectations": len(outcomes),
        "failed": sum(not o.success for o in outcomes),
        "seconds_find": round(loaded - start, 2),
        "seconds_gx_setup": round(context_ready - loaded, 2),
        "seconds_validate": round(done - context_ready, 2),
        "seconds_total": round(done - start, 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


if __name__ == "__main__":  # python -m validation.bench OUT_DIR
    import json
    import sys

    print(json.dumps(bench_validation(sys.argv[1] if len(sys.argv) > 1 else "output"), indent=2))

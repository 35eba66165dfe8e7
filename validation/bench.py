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

    Returns seconds for loading the datasets, for the validation itself (GX import and context included) and
    in total, the number of datasets, rows, expectations and failures, and the peak RSS in MB. Failures do
    not raise here: the benchmark measures, the validate stage judges."""
    from validation.engine import GxRunner
    from validation.stage import load_folder, validate_datasets

    start = time.perf_counter()
    datasets, sdtm_names = load_folder(Path(out_dir))
    loaded = time.perf_counter()
    runner = GxRunner()
    context_ready = time.perf_counter()
    outcomes = validate_datasets(datasets, sdtm_names, runner=runner)
    done = time.perf_counter()
    return {
        "datasets": len(datasets),
        "rows": int(sum(len(df) for df in datasets.values())),
        "expectations": len(outcomes),
        "failed": sum(not o.success for o in outcomes),
        "seconds_load": round(loaded - start, 2),
        "seconds_gx_setup": round(context_ready - loaded, 2),
        "seconds_validate": round(done - context_ready, 2),
        "seconds_total": round(done - start, 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


if __name__ == "__main__":  # python -m validation.bench OUT_DIR
    import json
    import sys

    print(json.dumps(bench_validation(sys.argv[1] if len(sys.argv) > 1 else "output"), indent=2))

"""Reproducible to the byte across processes: the twin built and the pipeline run twice, in two separate
`sap` processes writing to two folders, give the same sha256 for every output file.

Two separate processes, not one process twice: a module-level cache, a dict order that depends on the hash
seed (PYTHONHASHSEED differs per process), or a value kept between calls would show only across processes.
The default suite runs `sap run`'s data stages (simulate, sdtm, adam, validate, qc: every raw, SDTM, ADaM, validation
and QC file and manifest.json), one process per run; the whole `sap run` with render (HTML, PDF, DOCX, RTF, figures, manifest.json) is marked slow
because rendering takes about 40 s per run on 2 cores.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

DATA_STAGES = ["simulate", "sdtm", "adam", "validate", "qc"]


def _start(command: list[str], out: Path, hash_seed: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    return subprocess.Popen([sys.executable, *command, "--out", str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _run_both(command: list[str], a: Path, b: Path) -> None:
    """The same command into A and B, as two processes running at the same time (with different hash seeds)."""
    runs = [_start(command, a, hash_seed="1"), _start(command, b, hash_seed="2")]
    for run in runs:
        output, _ = run.communicate(timeout=1800)
        assert run.returncode == 0, f"{' '.join(command)} failed:\n{output}"


# `sap run` without its render stage, in one process (the pipeline's own stage runner and manifest)
DATA_RUN = ["-c", "import sys; from sap.pipeline import make_context, run_all; "
            f"run_all(make_context(out=sys.argv[2]), stages={DATA_STAGES!r})"]


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != ".sap.lock"  # the run lock (sap.pipeline) is not an output
    }


def _assert_same_files(a: Path, b: Path) -> dict[str, str]:
    first, second = _digests(a), _digests(b)
    assert sorted(first) == sorted(second)
    differing = sorted(name for name in first if first[name] != second[name])
    assert differing == [], f"files whose bytes differ between two runs: {differing}"
    return first


def test_data_stages_in_two_processes_give_identical_files(tmp_path):
    a, b = tmp_path / "A", tmp_path / "B"
    _run_both(DATA_RUN, a, b)
    files = _assert_same_files(a, b)
    folders = {name.split("/")[0] for name in files}
    assert folders == {"raw", "sdtm", "adam", "validation", "qc", "manifest.json"}
    # every dataset in both formats
    def stems(folder, suffix):
        return {n.split("/")[1].removesuffix(suffix) for n in files if n.startswith(folder + "/") and n.endswith(suffix)}

    assert stems("sdtm", ".xpt") == stems("sdtm", ".parquet") >= {"dm", "ds", "ex", "ae", "lb", "qs", "mh", "cm", "vs"}
    assert stems("adam", ".xpt") == stems("adam", ".parquet") >= {"adsl", "adae", "adlb", "adqs", "adrs"}

@pytest.mark.slow
def test_sap_run_in_two_processes_gives_identical_files(tmp_path):
    a, b = tmp_path / "A", tmp_path / "B"
    _run_both(["-m", "sap", "run"], a, b)
    files = _assert_same_files(a, b)
    assert "manifest.json" in files and "tlf/book.pdf" in files and "tlf/book.docx" in files

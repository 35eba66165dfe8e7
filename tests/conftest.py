"""Shared fixtures: the plan, the twin run through SDTM and ADaM, and two complete `sap run`s."""

import contextlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sap.study import load_study


@pytest.fixture(scope="session")
def study():
    return load_study()


@pytest.fixture(scope="session")
def gx_runner():
    """The worker process's one Great Expectations context (validation.engine.shared_runner), shared by every
    test: making one costs seconds."""
    from validation.engine import shared_runner

    return shared_runner()


@pytest.fixture(scope="session")
def twin_run(tmp_path_factory):
    """The synthetic twin (default seed, 40 subjects) run once through simulate -> SDTM -> ADaM: the output
    folder. Test frames taken from it have the production shape (imputed records, missing values, dtypes)."""
    from sap.pipeline import make_context, run_stage

    out = tmp_path_factory.mktemp("twin_run")
    ctx = make_context(out=out, log=lambda line: None)
    for stage in ("simulate", "sdtm", "adam"):
        run_stage(ctx, stage)
    return out


@pytest.fixture(scope="session")
def copy_of_twin_run(twin_run):
    """A function OUT -> context: the twin run (raw, SDTM, ADaM) copied into OUT and a pipeline context for
    it, for tests that rerun a stage or change a file (the session's run itself must stay as it is)."""
    from sap.pipeline import make_context

    def copy(out: Path):
        shutil.copytree(twin_run, out)
        return make_context(out=out, log=lambda line: None)
    return copy


@pytest.fixture(scope="session")
def twin_adam(twin_run):
    """The twin's production ADaM datasets by upper-case name (read once; tests must not mutate them)."""
    from sap.datasets import find_datasets, read_dataset

    return {name: read_dataset(path) for name, path in find_datasets(twin_run / "adam").items()}


@pytest.fixture(scope="session")
def twin_sdtm(twin_run):
    """The twin's SDTM datasets by upper-case name."""
    from sap.datasets import find_datasets, read_dataset

    return {name: read_dataset(path) for name, path in find_datasets(twin_run / "sdtm").items()}


# A verbatim AE term a real EDC can hold: a quoted line break, a Markdown link and CJK characters.
HOSTILE_AE_TERM = "[rash](http://example.com) 头痛\nsecond line"


@dataclass(frozen=True)
class CompleteRuns:
    a: Path  # a complete `sap run --raw` folder (tests must not change it: copy it first)
    b: Path  # the same run from a second process
    small_raw: Path  # an 8-subject twin raw extract, for runs that are killed or fail


@contextlib.contextmanager
def _held(lock: Path):
    """An exclusive lock across the xdist workers of one test session (flock; Windows has none: each
    worker then builds its own copy, which is slower but as correct)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with lock.open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def complete_runs(tmp_path_factory, worker_id) -> CompleteRuns:
    """Two complete `sap run --raw` of the 40-subject twin's extract with `HOSTILE_AE_TERM` planted as the
    first AE verbatim term, run at the same time by two processes with different hash seeds. Made once per
    test session, by the first xdist worker that needs it (the others wait for it: pytest-xdist's recipe for
    a session fixture made once), and shared by the reproducibility and the kill tests."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if worker_id != "master" else base) / "complete_runs"
    runs = CompleteRuns(a=root / "A", b=root / "B", small_raw=root / "small" / "raw")
    root.mkdir(exist_ok=True)
    with _held(root.parent / "complete_runs.lock"):
        if not (root / "COMPLETE").exists():
            _make_complete_runs(root)
            (root / "COMPLETE").write_text("both runs finished\n")
    return runs


def _make_complete_runs(root: Path) -> None:
    from sap.pipeline import make_context, run_stage
    from tests.sdtm.corpus import set_cell

    for name in ("A", "B", "twin", "small"):
        shutil.rmtree(root / name, ignore_errors=True)  # what a worker that failed before left
    run_stage(make_context(out=root / "twin", log=lambda line: None), "simulate")
    set_cell(root / "twin" / "raw", "adverse_events.csv", 1, "AE_TERM", HOSTILE_AE_TERM)
    run_stage(make_context(out=root / "small", subjects=8, log=lambda line: None), "simulate")
    runs = [subprocess.Popen([sys.executable, "-m", "sap.cli", "run", "--raw", str(root / "twin" / "raw"),
                              "--out", str(root / name)], env=dict(os.environ, PYTHONHASHSEED=seed),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for name, seed in (("A", "1"), ("B", "2"))]
    for run in runs:
        output, _ = run.communicate(timeout=1800)
        assert run.returncode == 0, output

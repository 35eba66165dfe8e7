"""Shared fixtures: the plan, and a temporary output folder."""

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
def twin_adam(twin_run):
    """The twin's production ADaM datasets by upper-case name (read once; tests must not mutate them)."""
    from sap.datasets import find_datasets, read_dataset

    return {name: read_dataset(path) for name, path in find_datasets(twin_run / "adam").items()}


@pytest.fixture(scope="session")
def twin_sdtm(twin_run):
    """The twin's SDTM datasets by upper-case name."""
    from sap.datasets import find_datasets, read_dataset

    return {name: read_dataset(path) for name, path in find_datasets(twin_run / "sdtm").items()}

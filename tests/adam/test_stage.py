"""The ADaM stage end to end on the synthetic twin (40 subjects, default seed).

Oracles are published figures the twin is calibrated to, not program output: Nature Medicine 2016 Table S1
(female/male 37/3; medians age 31, weight 54 kg, height 160 cm, prednisone 30 mg/day; background drugs
37/14/6/2/1/1/0/0) and the EULAR 2015 abstract (mild injection-site reactions in 5/40).
"""

import pytest

from sap.datasets import read_dataset
from sap.errors import SapError
from sap.pipeline import make_context, run_stage

DATASETS = ["adsl", "adae", "adex", "adlb", "adqs", "adrs", "adtte"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("adam_stage")
    ctx = make_context(out=out, log=lambda line: None)
    for stage in ("simulate", "sdtm", "adam"):
        counts = run_stage(ctx, stage)
    return ctx, counts


def test_writes_every_dataset_as_parquet_and_xpt(run):
    ctx, counts = run
    assert list(counts) == DATASETS and counts["adsl"] == 40
    written = {p.name for p in ctx.folder("adam").iterdir()}
    assert written == {f"{name}.{ext}" for name in DATASETS for ext in ("parquet", "xpt")}


def test_table_s1_baseline_characteristics(run):
    ctx, _ = run
    adsl = read_dataset(ctx.folder("adam") / "adsl.parquet")
    assert adsl["SEX"].value_counts().to_dict() == {"F": 37, "M": 3}
    medians = adsl[["AGE", "WEIGHTBL", "HEIGHTBL", "BPREDDOS"]].median().to_dict()
    assert medians == {"AGE": 31, "WEIGHTBL": 54, "HEIGHTBL": 160, "BPREDDOS": 30}
    flags = ["HCQBLFL", "MMFBLFL", "CYCBLFL", "AZABLFL", "LEFBLFL", "THALBLFL", "CSABLFL", "MTXBLFL"]
    assert [int(adsl[f].eq("Y").sum()) for f in flags] == [37, 14, 6, 2, 1, 1, 0, 0]


def test_injection_site_reactions_in_5_of_40(run):
    ctx, _ = run
    adae = read_dataset(ctx.folder("adam") / "adae.parquet")
    isr = adae[adae["CQ01NAM"].eq("INJECTION SITE REACTION") & adae["TRTEMFL"].eq("Y")]
    assert isr["USUBJID"].nunique() == 5


def test_adsl_baseline_scores_agree_with_adqs(run):
    """Cross-dataset check: ADSL BSLEDAI/BPGA/BBILAG (from QS) equal the ADQS baseline records."""
    ctx, _ = run
    adsl = read_dataset(ctx.folder("adam") / "adsl.parquet").set_index("USUBJID")
    adqs = read_dataset(ctx.folder("adam") / "adqs.parquet")
    base = adqs[adqs["ABLFL"].eq("Y")].pivot(index="USUBJID", columns="PARAMCD", values="AVAL")
    for adsl_var, paramcd in (("BSLEDAI", "SLEDAI"), ("BPGA", "SLEPGA"), ("BBILAG", "BILAG")):
        assert (adsl[adsl_var] - base[paramcd].reindex(adsl.index)).abs().max() < 1e-9, adsl_var


def test_missing_sdtm_is_a_one_line_error(tmp_path):
    ctx = make_context(out=tmp_path, log=lambda line: None)
    with pytest.raises(SapError, match="no SDTM datasets found"):
        run_stage(ctx, "adam")


@pytest.mark.parametrize("name", DATASETS)
def test_xpt_reads_back_to_the_parquet_values(run, name):
    """Every ADaM XPT reads back with pandas' own XPORT reader (independent of pyreadstat, which wrote the
    header) to the values of the parquet copy: text equal, numbers equal, dates as SAS day numbers."""
    import numpy as np
    import pandas as pd

    ctx, _ = run
    parquet = read_dataset(ctx.folder("adam") / f"{name}.parquet")
    xpt = pd.read_sas(ctx.folder("adam") / f"{name}.xpt", format="xport", encoding="utf-8")
    assert list(xpt.columns) == list(parquet.columns) and len(xpt) == len(parquet)
    for column in parquet.columns:
        expected = parquet[column]
        got = xpt[column]
        if pd.api.types.is_datetime64_any_dtype(expected):
            days = (expected - pd.Timestamp("1960-01-01")).dt.days.astype("float64")
            got = got if pd.api.types.is_numeric_dtype(got) else (got - pd.Timestamp("1960-01-01")).dt.days
            np.testing.assert_array_equal(got.to_numpy(dtype="float64"), days.to_numpy(), err_msg=column)
        elif pd.api.types.is_numeric_dtype(expected):
            # atol: pandas' XPORT reader decodes the IBM zero (eight 0x00 bytes, as SAS writes it) as 5.4e-79
            np.testing.assert_allclose(got.to_numpy(dtype="float64"), expected.to_numpy(dtype="float64"), atol=1e-70,
                                       equal_nan=True, err_msg=column)
        else:
            assert got.fillna("").astype(str).tolist() == expected.fillna("").astype(str).tolist(), column

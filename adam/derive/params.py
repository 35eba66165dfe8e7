"""Derived parameters: computed from other parameters, existence flags, time to event.

API (pure; inputs are never mutated; keyword-only after `dataset`):

- `derive_param_computed(dataset, *, by_vars, parameters, analysis_value, set_values_to, filter_add=None,
                         keep_nas=False)`                                         admiral derive_param_computed
- `derive_param_exist_flag(dataset=None, *, dataset_ref, dataset_add, condition, set_values_to,
                           by_vars=("STUDYID","USUBJID"), true_value="Y", false_value="N",
                           missing_value=None, filter_add=None)`                admiral derive_param_exist_flag
- `EventSource`, `CensorSource` and `derive_param_tte(dataset=None, *, dataset_adsl, source_datasets,
                           event_conditions, censor_conditions, start_date="TRTSDT", set_values_to,
                           subject_keys=("STUDYID","USUBJID"))`                    admiral derive_param_tte

`set_values_to` maps a column to a constant or a function of the new records (frame -> Series).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from adam.derive._common import (
    ArgumentError,
    Filter,
    check_dataset,
    check_columns,
    check_filter,
    check_vars,
    extreme_positions,
    filter_mask,
)
from adam.derive.dates import DATE_RESOLUTION
from adam.derive.records import Values, _append, set_values
from sap.errors import Problem


def derive_param_computed(
    dataset: pd.DataFrame,
    *,
    by_vars: Sequence[str],
    parameters: Sequence[str],
    analysis_value: Callable[[pd.DataFrame], pd.Series],
    set_values_to: Values,
    filter_add: Filter = None,
    analysis_var: str = "AVAL",
    keep_nas: bool = False,
) -> pd.DataFrame:
    """Add a parameter computed from other parameters of the same `by_vars` group: admiral
    `derive_param_computed()`. The `filter_add` records of `parameters` are spread wide, one row per group
    with a column "AVAL.<PARAMCD>" per parameter (admiral's naming), and `analysis_value(wide)` gives the
    new AVAL. Groups lacking one of the parameters, or whose value is missing, get no record unless
    `keep_nas` (admiral: `keep_nas`). A parameter recorded twice in a group is an error.

    >>> import pandas as pd
    >>> advs = pd.DataFrame({"USUBJID": "1", "AVISIT": "BASELINE", "PARAMCD": ["WEIGHT", "HEIGHT"], "AVAL": [80.0, 200.0]})
    >>> out = derive_param_computed(advs, by_vars=["USUBJID", "AVISIT"], parameters=["WEIGHT", "HEIGHT"],
    ...     analysis_value=lambda w: w["AVAL.WEIGHT"] / (w["AVAL.HEIGHT"] / 100) ** 2, set_values_to={"PARAMCD": "BMI"})
    >>> out[["PARAMCD", "AVAL"]].iloc[-1].astype(str).tolist()
    ['BMI', '20.0']
    """
    fn = "derive_param_computed"
    check_dataset(fn, "dataset", dataset, ["PARAMCD", analysis_var])
    by_vars = check_vars(fn, "by_vars", by_vars)
    params = check_vars(fn, "parameters", parameters)
    check_columns(fn, "by_vars", dataset, by_vars)
    if not callable(analysis_value):
        raise ArgumentError(Problem(f"{fn}()", "argument analysis_value: must be a function wide frame -> Series"))
    source = dataset.loc[filter_mask(dataset, check_filter(fn, "filter_add", filter_add)) & dataset["PARAMCD"].isin(params)]
    dup = source.duplicated([*by_vars, "PARAMCD"], keep=False)
    if dup.any():
        raise ArgumentError(Problem(f"{fn}()", "a parameter has more than one record in a by_vars group (restrict with filter_add)",
                                    row="/".join(map(str, source.loc[dup, [*by_vars, "PARAMCD"]].iloc[0]))))
    wide = source.pivot(index=by_vars, columns="PARAMCD", values=analysis_var).reindex(columns=params)
    wide.columns = [f"{analysis_var}.{p}" for p in wide.columns]
    wide = wide.reset_index()
    complete = wide[[f"{analysis_var}.{p}" for p in params]].notna().all(axis=1)
    if not keep_nas:
        wide = wide.loc[complete]
    value = analysis_value(wide)
    new = wide[by_vars].assign(**{analysis_var: pd.to_numeric(value, errors="coerce").astype("float64")})
    if not keep_nas:
        new = new.loc[new[analysis_var].notna()]
    return _append(dataset, set_values(new, set_values_to).reset_index(drop=True))


def derive_param_exist_flag(
    dataset: pd.DataFrame | None = None,
    *,
    dataset_ref: pd.DataFrame,
    dataset_add: pd.DataFrame,
    condition: Callable[[pd.DataFrame], pd.Series],
    set_values_to: Values,
    by_vars: Sequence[str] = ("STUDYID", "USUBJID"),
    true_value: str = "Y",
    false_value: str = "N",
    missing_value: str | None = None,
    filter_add: Filter = None,
) -> pd.DataFrame:
    """Add a parameter whose AVALC says whether a record meeting `condition` exists: admiral
    `derive_param_exist_flag()`. One record per `dataset_ref` group (e.g. each ADSL subject): AVALC =
    true_value if a `filter_add` record of `dataset_add` meets `condition`, false_value if the group has
    `filter_add` records but none meets it, missing_value (default missing) if it has none; AVAL = 1 for
    true_value, 0 for false_value, missing otherwise (admiral's `yn_to_numeric()` convention, which its
    examples set through set_values_to). E.g. Hy's law from ALT/AST and bilirubin records.

    >>> import pandas as pd
    >>> adsl = pd.DataFrame({"STUDYID": "S", "USUBJID": ["1", "2", "3"]})
    >>> adlb = pd.DataFrame({"STUDYID": "S", "USUBJID": ["1", "2"], "R2ULN": [3.5, 1.2]})
    >>> out = derive_param_exist_flag(dataset_ref=adsl, dataset_add=adlb, condition=lambda d: d["R2ULN"] > 3, set_values_to={"PARAMCD": "HYSLAW"})
    >>> out[["USUBJID", "AVALC", "AVAL"]].fillna("-").values.tolist()
    [['1', 'Y', 1.0], ['2', 'N', 0.0], ['3', '-', '-']]
    """
    fn = "derive_param_exist_flag"
    check_dataset(fn, "dataset_ref", dataset_ref)
    check_dataset(fn, "dataset_add", dataset_add)
    by_vars = check_vars(fn, "by_vars", by_vars)
    check_columns(fn, "by_vars", dataset_ref, by_vars, "dataset_ref")
    check_columns(fn, "by_vars", dataset_add, by_vars, "dataset_add")
    if not callable(condition) and not isinstance(condition, pd.Series):
        raise ArgumentError(Problem(f"{fn}()", "argument condition: must be a function dataset -> boolean Series"))
    add = dataset_add.loc[filter_mask(dataset_add, check_filter(fn, "filter_add", filter_add))]
    met = filter_mask(add, condition)
    any_rec = add[by_vars].drop_duplicates().assign(_any=True)
    met_rec = add.loc[met, by_vars].drop_duplicates().assign(_met=True)
    new = dataset_ref[by_vars].drop_duplicates().merge(any_rec, on=by_vars, how="left").merge(met_rec, on=by_vars, how="left")
    avalc = pd.Series(missing_value if missing_value is not None else np.nan, index=new.index, dtype="str")
    avalc = avalc.mask(new["_any"].eq(True), false_value).mask(new["_met"].eq(True), true_value)
    new = new[by_vars].assign(AVALC=avalc, AVAL=np.select([avalc.eq(true_value), avalc.eq(false_value)], [1.0, 0.0], np.nan))
    new = set_values(new, set_values_to).reset_index(drop=True)
    return new if dataset is None else _append(dataset, new)


@dataclass(frozen=True)
class EventSource:
    """An event of a time-to-event parameter (admiral `event_source()`): records of
    `source_datasets[dataset_name]` kept by `filter`, dated by `date`, CNSR = `censor` (0), with
    `set_values_to` (e.g. EVNTDESC, SRCDOM, SRCVAR, and SRCSEQ as a function of the records). `order`
    breaks ties between records of one date."""

    dataset_name: str
    date: str
    filter: Filter = None
    censor: int = 0
    set_values_to: Mapping[str, object] = field(default_factory=dict)
    order: Sequence[str] = ()


@dataclass(frozen=True)
class CensorSource(EventSource):
    """A censoring of a time-to-event parameter (admiral `censor_source()`); CNSR = `censor` (default 1)."""

    censor: int = 1


def _source_records(fn: str, sources: Sequence[EventSource], datasets: Mapping[str, pd.DataFrame], keys: list[str], mode: str) -> pd.DataFrame:
    """One record per subject and source (first event / last censoring by date then order), all sources
    stacked with their position in the list (`_source`)."""
    parts = []
    for position, src in enumerate(sources):
        if src.dataset_name not in datasets:
            raise ArgumentError(Problem(f"{fn}()", "argument source_datasets: no dataset of this name", value=src.dataset_name))
        data = datasets[src.dataset_name]
        check_columns(fn, f"{type(src).__name__}.date", data, [src.date], f"source dataset {src.dataset_name}")
        check_columns(fn, f"{type(src).__name__}.order", data, list(src.order), f"source dataset {src.dataset_name}")
        check_columns(fn, "subject_keys", data, keys, f"source dataset {src.dataset_name}")
        kept = data.loc[filter_mask(data, src.filter)]
        kept = kept.assign(ADT=pd.to_datetime(kept[src.date]).astype(DATE_RESOLUTION).dt.floor("D"))
        kept = kept.loc[kept["ADT"].notna()]
        kept = kept.loc[extreme_positions(kept, keys, [("ADT", True), *[(o, True) for o in src.order]], mode)]
        values = set_values(kept, src.set_values_to)
        parts.append(values[[*keys, "ADT", *src.set_values_to]].assign(CNSR=float(src.censor), _source=position))
    if not parts:
        return pd.DataFrame(columns=[*keys, "ADT", "CNSR", "_source"])
    return pd.concat(parts, ignore_index=True)


def derive_param_tte(
    dataset: pd.DataFrame | None = None,
    *,
    dataset_adsl: pd.DataFrame,
    source_datasets: Mapping[str, pd.DataFrame],
    event_conditions: Sequence[EventSource],
    censor_conditions: Sequence[CensorSource],
    set_values_to: Values,
    start_date: str = "TRTSDT",
    subject_keys: Sequence[str] = ("STUDYID", "USUBJID"),
) -> pd.DataFrame:
    """Add a time-to-event parameter: admiral `derive_param_tte()`, by its documented steps:

    events: per source, the first record by date (then `order`) per subject; over sources, the earliest,
    ties to the source listed first. Censorings: per source the last record; over sources the latest, ties
    to the source listed last. A subject with an event gets the event, otherwise the censoring; subjects
    with neither, or not in `dataset_adsl`, get no record. STARTDT = `start_date` of ADSL; ADT is raised to
    STARTDT when earlier (admiral). AVAL is not derived here: admiral's ad_adtte.R derives it next with
    `derive_vars_duration()` (here `dates.derive_duration(start_date="STARTDT", end_date="ADT")`).

    >>> import pandas as pd
    >>> adsl = pd.DataFrame({"STUDYID": "S", "USUBJID": ["1", "2"], "TRTSDT": pd.to_datetime(["2021-01-01", "2021-01-10"]),
    ...                      "EOSDT": pd.to_datetime(["2021-03-01", "2021-02-01"])})
    >>> ae = pd.DataFrame({"STUDYID": "S", "USUBJID": ["1", "1"], "ASTDT": pd.to_datetime(["2021-01-20", "2021-01-05"]), "AESEQ": [1, 2]})
    >>> out = derive_param_tte(dataset_adsl=adsl, source_datasets={"adsl": adsl, "adae": ae},
    ...     event_conditions=[EventSource("adae", "ASTDT", set_values_to={"EVNTDESC": "AE", "SRCSEQ": lambda d: d["AESEQ"]})],
    ...     censor_conditions=[CensorSource("adsl", "EOSDT", set_values_to={"EVNTDESC": "END OF STUDY"})],
    ...     set_values_to={"PARAMCD": "TTAE"})
    >>> out[["USUBJID", "ADT", "CNSR", "EVNTDESC"]].astype(str).values.tolist()
    [['1', '2021-01-05', '0.0', 'AE'], ['2', '2021-02-01', '1.0', 'END OF STUDY']]
    """
    fn = "derive_param_tte"
    keys = check_vars(fn, "subject_keys", subject_keys)
    check_dataset(fn, "dataset_adsl", dataset_adsl, [*keys, start_date])
    if not all(isinstance(s, EventSource) for s in [*event_conditions, *censor_conditions]):
        raise ArgumentError(Problem(f"{fn}()", "arguments event_conditions/censor_conditions: must be EventSource/CensorSource objects"))
    events = _source_records(fn, event_conditions, source_datasets, keys, "first")
    censors = _source_records(fn, censor_conditions, source_datasets, keys, "last")
    first_event = events.loc[extreme_positions(events, keys, [("ADT", True), ("_source", True)], "first")] if len(events) else events
    last_censor = censors.loc[extreme_positions(censors, keys, [("ADT", True), ("_source", True)], "last")] if len(censors) else censors
    no_event = last_censor.merge(first_event[keys].assign(_has=True), on=keys, how="left")
    chosen = pd.concat([first_event, no_event.loc[no_event["_has"].isna()].drop(columns="_has")], ignore_index=True)
    adsl = dataset_adsl[[*keys, start_date]].rename(columns={start_date: "STARTDT"})
    new = chosen.drop(columns="_source").merge(adsl, on=keys, how="inner")
    new["STARTDT"] = new["STARTDT"].astype(DATE_RESOLUTION)
    new["ADT"] = new["ADT"].where(~(new["ADT"] < new["STARTDT"]), new["STARTDT"]).astype(DATE_RESOLUTION)
    new = set_values(new.sort_values(keys, kind="stable").reset_index(drop=True), set_values_to)
    for column in new.columns:
        if new[column].dtype == object:
            new[column] = new[column].astype("str")
    return new if dataset is None else _append(dataset, new)

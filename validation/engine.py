"""The validation engine: planned expectations, run per dataset as one Great Expectations validation
definition (one batch) plus plain vectorised checks for what GX cannot express, all reported as `Outcome`s.

An expectation is planned as a `Planned` record: either a GX expectation (class name + kwargs, built only
when run, so importing this module does not import GX) or a plain check, a function
`DataFrame -> DataFrame` returning the offending rows (an optional `VALUE` column overrides the value shown).
Both kinds produce the same `Outcome`: dataset, expectation, column, success, unexpected count and up to
five unexpected values with their keys.

GX runs offline: analytics off (GX_ANALYTICS_ENABLED=false before import), an ephemeral in-memory context,
progress bars off, and no Data Docs (their HTML loads CDN assets).
"""

from __future__ import annotations

import functools
import math
import os
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

MAX_SHOWN = 5  # unexpected values kept per expectation

PlainCheck = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class Planned:
    """One expectation to run on one dataset.

    `rule` is the short, stable rule name shown to users (e.g. `codelist`, `key_unique`, `chg_equals_aval_minus_base`);
    `gx` is `(ExpectationClassName, kwargs)`; `check` a plain check. Exactly one of the two is set."""

    dataset: str
    rule: str
    column: str | None
    description: str
    gx: tuple[str, dict[str, Any]] | None = None
    check: PlainCheck | None = None

    def __post_init__(self) -> None:
        if (self.gx is None) == (self.check is None):
            raise ValueError(f"{self.dataset} {self.rule}: give exactly one of gx and check")

    @property
    def expectation(self) -> str:
        """The expectation's type: the GX snake_case name, or `plain:<rule>` for plain checks."""
        if self.gx is not None:
            return _snake(self.gx[0])
        return f"plain:{self.rule}"


@dataclass(frozen=True)
class Outcome:
    """The result of one expectation, as written to results.json."""

    dataset: str
    rule: str
    expectation: str
    column: str | None
    description: str
    success: bool
    unexpected_count: int
    unexpected: list[dict[str, Any]] = field(default_factory=list)  # [{"value": ..., "key": {...}}]
    error: str | None = None  # the expectation could not be evaluated

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "rule": self.rule,
            "expectation": self.expectation,
            "column": self.column,
            "description": self.description,
            "success": self.success,
            "unexpected_count": self.unexpected_count,
            "unexpected": self.unexpected,
            "error": self.error,
        }


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


# --------------------------------------------------------------------------------------------------------
# JSON-safe values


def plain_value(value: Any) -> Any:
    """A JSON-friendly, deterministic rendering of a cell: None for missing, ISO text for dates."""
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        ts = pd.Timestamp(value)
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        number = float(value)
        return int(number) if number.is_integer() else number
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def present_keys(df: pd.DataFrame, keys: Iterable[str]) -> list[str]:
    return [k for k in keys if k in df.columns]


# --------------------------------------------------------------------------------------------------------
# Plain checks


def outcome_from_rows(planned: Planned, bad: pd.DataFrame, keys: list[str]) -> Outcome:
    """An Outcome from the offending rows a plain check returned."""
    if len(bad) == 0:  # the usual case, without pandas' per-call overhead (2 of 32 s on the 40-subject twin)
        return Outcome(planned.dataset, planned.rule, planned.expectation, planned.column, planned.description,
                       success=True, unexpected_count=0, unexpected=[])
    shown = bad.head(MAX_SHOWN)
    unexpected = []
    value_column = "VALUE" if "VALUE" in shown.columns else planned.column
    key_columns = [k for k in keys if k in shown.columns]
    for _, row in shown.iterrows():  # at most MAX_SHOWN rows
        unexpected.append({
            "value": plain_value(row[value_column]) if value_column in shown.columns else None,
            "key": {k: plain_value(row[k]) for k in key_columns},
        })
    return Outcome(planned.dataset, planned.rule, planned.expectation, planned.column, planned.description,
                   success=len(bad) == 0, unexpected_count=int(len(bad)), unexpected=unexpected)


def run_plain(planned: Planned, df: pd.DataFrame, keys: list[str]) -> Outcome:
    bad = planned.check(df)
    return outcome_from_rows(planned, bad, keys)


# --------------------------------------------------------------------------------------------------------
# Great Expectations


class GxRunner:
    """One ephemeral GX context for a whole validation run; one validation definition per dataset.

    With `spark` (a SparkSession) each dataset's GX expectations run on a Spark DataFrame through GX's Spark
    data source instead of pandas (the same suite, the same outcomes; plain checks stay in pandas)."""

    def __init__(self, spark: Any = None) -> None:
        self._spark = spark
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        # GX imports pyspark when it is installed (the `spark` extra); pyspark warns at import that it does not
        # fully support pandas 3, which concerns Spark's own pandas API, not GX's pandas or Spark data sources
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        import great_expectations as gx  # lazy: the import costs ~2 s
        import great_expectations.expectations as gxe
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            progress_bars=ProgressBarsConfig(globally=False),
            analytics_enabled=False,
        )
        self._gx = gx
        self._gxe = gxe
        self._context = gx.get_context(mode="ephemeral", project_config=config)
        self._count = 0
        self.suites: dict[str, list[dict]] = {}  # dataset -> every GX expectation run on it (see suite_json)

    def run(self, name: str, df: pd.DataFrame, planned: list[Planned], keys: list[str]) -> list[Outcome]:
        """Run the GX expectations of one dataset as one validation definition over one batch."""
        if not planned:
            return []
        gx = self._gx
        self._count += 1
        unique = f"{name}_{self._count}"  # a dataset may be validated more than once in a process
        # a data source per dataset, deleted after the run: its execution engine caches every batch's frame
        sources = self._context.data_sources
        source = sources.add_spark(unique) if self._spark is not None else sources.add_pandas(unique)
        asset = source.add_dataframe_asset(unique)
        batch_definition = asset.add_batch_definition_whole_dataframe(unique)
        expectations = [getattr(self._gxe, item.gx[0])(**item.gx[1]) for item in planned]
        # the whole suite in one store write (adding expectations one by one re-serialises the suite each time)
        suite = self._context.suites.add(gx.ExpectationSuite(name=unique, expectations=expectations))
        by_id = {str(e.id): item for e, item in zip(suite.expectations, planned)}
        self.suites.setdefault(name, []).extend(_portable(e) for e in suite.expectations)
        definition = self._context.validation_definitions.add(
            gx.ValidationDefinition(name=unique, data=batch_definition, suite=suite))
        result_format = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_SHOWN}
        if keys:
            result_format["unexpected_index_column_names"] = keys
        try:
            frame = _narrow(df, planned, keys)
            if self._spark is not None:
                frame = self._spark.createDataFrame(frame)
            result = definition.run(batch_parameters={"dataframe": frame}, result_format=result_format)
        finally:
            # the context would otherwise keep each batch's frame alive until the run ends
            self._context.validation_definitions.delete(unique)
            self._context.suites.delete(unique)
            self._context.data_sources.delete(unique)
        outcomes = {id(item): self._outcome(item, r, keys) for r in result.results
                    for item in [by_id[str(r.expectation_config.id)]]}
        return [outcomes[id(item)] for item in planned]  # in planned order: deterministic

    def suite_json(self, name: str, plain_checks: int = 0) -> dict:
        """The GX suite of one dataset as GX's own JSON (`ExpectationSuite(**json)` loads it back), without
        the random ids GX gives each run, so the file is the same for the same specs. `plain_checks`: how many
        of the dataset's checks are plain Python and therefore not in the suite (recorded in `meta`)."""
        return {"name": name, "expectations": self.suites.get(name, []),
                "meta": {"great_expectations_version": self._gx.__version__, "plain_checks_not_in_suite": plain_checks},
                "notes": None}

    @staticmethod
    def _outcome(item: Planned, r: Any, keys: list[str]) -> Outcome:
        info = r.exception_info or {}
        if info.get("raised_exception"):
            message = str(info.get("exception_message") or "raised an exception").splitlines()[0]
            return Outcome(item.dataset, item.rule, item.expectation, item.column, item.description,
                           success=False, unexpected_count=0, error=message)
        res = r.result or {}
        values = res.get("partial_unexpected_list") or []
        index = res.get("partial_unexpected_index_list") or []
        unexpected = []
        for i, value in enumerate(values[:MAX_SHOWN]):
            key_row = index[i] if i < len(index) and isinstance(index[i], dict) else {}
            unexpected.append({"value": plain_value(value), "key": {k: plain_value(key_row.get(k)) for k in keys if k in key_row}})
        count = res.get("unexpected_count")
        if count is None:  # table-level expectations (column exists) have no unexpected rows
            count = 0 if r.success else 1
        return Outcome(item.dataset, item.rule, item.expectation, item.column, item.description,
                       success=bool(r.success), unexpected_count=int(count), unexpected=unexpected)


def _portable(expectation: Any) -> dict:
    """An expectation's GX configuration (type, kwargs, meta) without its per-run id."""
    config = expectation.configuration.to_json_dict()
    return {k: v for k, v in config.items() if k not in ("id", "rendered_content")}


def _gx_columns(item: Planned) -> list[str]:
    kwargs = item.gx[1]
    columns = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
    columns += list(kwargs.get("column_list", []))
    condition = kwargs.get("row_condition") or ""
    columns += [c for c in re.findall(r"[A-Z][A-Z0-9_]*", condition)]
    return columns


def _narrow(df: pd.DataFrame, planned: list[Planned], keys: list[str]) -> pd.DataFrame:
    """Only the columns the GX expectations and the reported keys use: GX copies its frame whenever it
    filters rows, so a narrow frame keeps memory and time proportional to what is checked."""
    wanted = set(keys)
    for item in planned:
        wanted.update(_gx_columns(item))
    return df[[c for c in df.columns if c in wanted]]


@functools.lru_cache(maxsize=1)
def shared_runner() -> GxRunner:
    """The process's GX context, made once (creating one costs seconds): every validation in a process (a
    `sap run`, a test worker) reuses it. Safe because `GxRunner.run` names each validation uniquely and
    deletes its data source afterwards."""
    return GxRunner()


def run_planned(name: str, df: pd.DataFrame, planned: list[Planned], keys: list[str], runner: GxRunner | None) -> list[Outcome]:
    """Run every planned expectation of one dataset (GX ones in one batch), in planned order."""
    keys = present_keys(df, keys)
    gx_items = [p for p in planned if p.gx is not None]
    gx_outcomes: dict[int, Outcome] = {}
    if gx_items:
        runner = runner or shared_runner()
        gx_outcomes = {id(p): o for p, o in zip(gx_items, runner.run(name, df, gx_items, keys))}
    return [gx_outcomes[id(p)] if p.gx is not None else run_plain(p, df, keys) for p in planned]

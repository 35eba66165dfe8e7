"""Typed, validated model of the plan (`sap/study.yaml`).

A misspelt key or an impossible value (overlapping windows, a primary visit that is not scheduled, a dose day
outside its cycle) is a clear one-line error, not a silent default.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sap.errors import Problem, SpecError
from sap.specs import read_yaml

PLAN_DIR = Path(__file__).resolve().parent
DEFAULT_STUDY_FILE = PLAN_DIR / "study.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StudyInfo(_Strict):
    studyid: str = Field(min_length=1, max_length=20, pattern=r"^[A-Z0-9_-]+$")
    nct: str = Field(pattern=r"^NCT\d{8}$")
    title: str
    sponsor: str
    country: str = Field(pattern=r"^[A-Z]{3}$")
    site: str = Field(pattern=r"^\d{2,4}$")
    design: str
    planned_subjects: int = Field(gt=0)


class Arm(_Strict):
    armcd: str = Field(max_length=20)
    arm: str = Field(max_length=200)
    treatment: str


class Dosing(_Strict):
    dose: float = Field(gt=0)
    dose_unit: str
    route: str
    form: str
    frequency: str
    cycle_length_days: int = Field(gt=0)
    dose_days_in_cycle: list[int] = Field(min_length=1)
    cycles: int = Field(gt=0)

    @model_validator(mode="after")
    def _days_inside_cycle(self) -> "Dosing":
        days = self.dose_days_in_cycle
        if sorted(set(days)) != days:
            raise ValueError(f"dose_days_in_cycle must be increasing and unique, got {days}")
        if days[0] < 1 or days[-1] > self.cycle_length_days:
            raise ValueError(f"dose_days_in_cycle {days} fall outside a {self.cycle_length_days}-day cycle")
        return self

    @property
    def doses_per_cycle(self) -> int:
        return len(self.dose_days_in_cycle)

    @property
    def planned_injections(self) -> int:
        return self.doses_per_cycle * self.cycles

    @property
    def planned_cumulative_dose(self) -> float:
        return self.planned_injections * self.dose

    def planned_dose_days(self) -> list[int]:
        """Study days of every planned injection (day 1 = first dose)."""
        return [
            self.cycle_length_days * cycle + day
            for cycle in range(self.cycles)
            for day in self.dose_days_in_cycle
        ]


class Visit(_Strict):
    visitnum: float
    visit: str = Field(max_length=40)
    edc_label: str
    week: int = Field(ge=0)
    target_day: int
    window: tuple[int, int]

    @model_validator(mode="after")
    def _window_holds_target(self) -> "Visit":
        lo, hi = self.window
        if lo > hi:
            raise ValueError(f"visit {self.visit}: window {list(self.window)} is empty")
        if not lo <= self.target_day <= hi:
            raise ValueError(f"visit {self.visit}: target day {self.target_day} outside window {list(self.window)}")
        return self


class Endpoints(_Strict):
    primary_visit_week: int
    abstract_visit_week: int
    sledai_version: Literal["2K", "SELENA"]
    sri_thresholds: list[int] = Field(min_length=1)
    pga_worsening_limit: float = Field(gt=0, le=3)
    historical_response_rate: float = Field(gt=0, lt=1)
    alpha: float = Field(gt=0, lt=1)


class Safety(_Strict):
    treatment_emergent_window_days: int = Field(ge=0)
    meddra_version: str = Field(pattern=r"^\d{1,2}\.\d$")  # dictionary version of the AE coding


class Laboratory(_Strict):
    """Analysis of laboratory results reported below the lower limit of quantitation (LLOQ, a result with
    the comparator "<", e.g. "<10"): the analysis value is `below_lloq_factor` x the limit (SAP 8.3), and
    the sensitivity analysis uses `sensitivity_lloq_factor` x the limit."""

    below_lloq_factor: float = Field(default=0.5, ge=0, le=1)
    sensitivity_lloq_factor: float = Field(default=1.0, ge=0, le=1)


class RawDates(_Strict):
    """The calendar rule of the raw-extract checks (sdtm.raw): a date whose year lies outside
    [earliest_year, latest_year] is a typo (0013, 2105), not data. latest_year defaults to the cut-off's."""

    earliest_year: int = Field(ge=1000, le=9999)
    latest_year: int | None = Field(default=None, ge=1000, le=9999)


class Element(_Strict):
    """A trial element (SDTM TE): code, name, start and end rules, planned duration."""

    etcd: str = Field(max_length=8, pattern=r"^[A-Z][A-Z0-9]*$")
    element: str = Field(max_length=40)
    epoch: str
    start_rule: str
    end_rule: str
    duration_days: int | None = Field(default=None, gt=0)


class Criterion(_Strict):
    """An inclusion or exclusion criterion (SDTM TI)."""

    code: str = Field(max_length=8, pattern=r"^[A-Z][A-Z0-9]*$")
    category: Literal["INCLUSION", "EXCLUSION"]
    text: str = Field(max_length=200)


class TrialDesign(_Strict):
    """The elements of the one arm (SDTM TA/TE) and the eligibility criteria (TI): screening, then each cycle's
    IL-2 element and treatment-free element."""

    screening: Element
    treatment: Element
    rest: Element
    criteria: list[Criterion] = Field(min_length=1)
    protocol_version: str


class Indication(_Strict):
    term: str
    snomed: str = Field(pattern=r"^\d+$")


class Standards(_Strict):
    sdtm: str
    sdtmig: str
    ct: dt.date
    snomed: str
    meddra: str


class TrialSummary(_Strict):
    """The SDTM TS values the plan states (the coded ones are terms of sap/specs/codelists)."""

    phase: str
    blinding: str
    control: str
    randomised: Literal["Y", "N"]
    add_on: Literal["Y", "N"]
    study_type: str
    intervention_model: str
    intervention_type: str
    trial_types: list[str] = Field(min_length=1)
    intent: str
    sex_population: str
    healthy_subjects: Literal["Y", "N"]
    adaptive: Literal["Y", "N"]
    min_age: str = Field(pattern=r"^P\d+Y$")
    max_age: str = Field(pattern=r"^P\d+Y$")
    length: str = Field(pattern=r"^P\d+[DWMY]$")
    indication: Indication
    objective_primary: str = Field(max_length=200)
    objectives_secondary: list[str]
    outcome_primary: str = Field(max_length=200)
    outcomes_secondary: list[str]
    current_therapy: str = Field(max_length=200)
    cutoff_description: str = Field(max_length=200)
    standards: Standards


class Study(_Strict):
    study: StudyInfo
    arm: Arm
    dosing: Dosing
    visits: list[Visit] = Field(min_length=2)
    endpoints: Endpoints
    safety: Safety
    laboratory: Laboratory = Laboratory()
    data_cutoff: dt.date
    raw_dates: RawDates
    trial_design: TrialDesign
    trial_summary: TrialSummary

    @model_validator(mode="after")
    def _consistent(self) -> "Study":
        nums = [v.visitnum for v in self.visits]
        if sorted(nums) != nums or len(set(nums)) != len(nums):
            raise ValueError(f"visits: visitnum must be increasing and unique, got {nums}")
        for earlier, later in zip(self.visits, self.visits[1:]):
            if later.window[0] <= earlier.window[1]:
                raise ValueError(
                    f"visits: windows of {earlier.visit} {list(earlier.window)} and "
                    f"{later.visit} {list(later.window)} overlap"
                )
        weeks = {v.week for v in self.visits}
        for name in ("primary_visit_week", "abstract_visit_week"):
            week = getattr(self.endpoints, name)
            if week not in weeks:
                raise ValueError(f"endpoints.{name}: week {week} is not a scheduled visit (weeks {sorted(weeks)})")
        if self.visits[0].week != 0:
            raise ValueError("visits: the first visit must be the baseline visit (week 0)")
        if not self.raw_dates.earliest_year <= self.data_cutoff.year <= self.raw_years[1]:
            raise ValueError(f"raw_dates: the data cut-off {self.data_cutoff} is outside the years "
                             f"{self.raw_years[0]}-{self.raw_years[1]}")
        return self

    @property
    def raw_years(self) -> tuple[int, int]:
        """(first, last) year a raw EDC date may have: `raw_dates`, the last defaulting to the cut-off's year."""
        latest = self.raw_dates.latest_year if self.raw_dates.latest_year is not None else self.data_cutoff.year
        return self.raw_dates.earliest_year, latest

    @property
    def baseline_visit(self) -> Visit:
        return self.visits[0]

    @property
    def post_baseline_visits(self) -> list[Visit]:
        return self.visits[1:]

    @property
    def primary_visit(self) -> Visit:
        return self.visit_by_week(self.endpoints.primary_visit_week)

    def visit_by_week(self, week: int) -> Visit:
        for visit in self.visits:
            if visit.week == week:
                return visit
        raise KeyError(week)

    @cached_property
    def visit_by_edc_label(self) -> dict[str, Visit]:
        return {v.edc_label: v for v in self.visits}


def load_study(path: str | Path | None = None) -> Study:
    """Read and validate `study.yaml`; any problem is a SpecError naming the file and the key."""
    path = Path(path) if path else DEFAULT_STUDY_FILE
    data = read_yaml(path, missing="plan file not found")
    try:
        return Study.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(part) for part in err["loc"]) or "(top level)"
            message = err["msg"].removeprefix("Value error, ")
            # a plan-level rule (empty loc) would otherwise quote the whole plan as the value
            shown = err.get("input") if err["type"] != "missing" and err["loc"] else None
            problems.append(Problem(str(path), message, variable=key, value=shown))
        raise SpecError(problems) from None

"""Kaplan-Meier estimation (product-limit), Greenwood standard errors, log-log confidence limits and the
median with its confidence interval: the defaults of SAS PROC LIFETEST and R survival::survfit(conf.type =
"log-log").

Hand-written (a few lines of numpy) and tested against the textbook 6-MP example (Freireich 1963; Klein and
Moeschberger 2003, Table 4.1A): the estimate is standard and the plan needs nothing a library would add.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm


@dataclass(frozen=True)
class KaplanMeier:
    """The estimate at each distinct event time (`table`), plus the counts."""

    table: pd.DataFrame  # time, at_risk, events, censored, survival, se, lower, upper
    n: int
    events: int
    confidence: float
    last_time: float  # the largest time observed, event or censoring (where a flat last step ends)

    def survival_at(self, t: float) -> tuple[float, float, float]:
        """S(t), lower, upper: the step function's value at time t (1 before the first event)."""
        before = self.table[self.table["time"] <= t]
        if before.empty:
            return 1.0, 1.0, 1.0
        row = before.iloc[-1]
        return float(row["survival"]), float(row["lower"]), float(row["upper"])

    def median(self) -> tuple[float, float, float]:
        """Median time and its confidence limits, as SAS PROC LIFETEST and R survfit define them: the first
        event time t_j with S(t_j) <= 0.5, except that where S is exactly 0.5 on [t_j, t_j+1) the median is
        the midpoint (t_j + t_j+1) / 2 (t_j+1 the next event time, or the last follow-up time when no event
        follows); limits by Brookmeyer-Crowley with the log-log band (the first times at which the lower and
        the upper limit reach 0.5); NaN when not reached (reported "NE")."""
        def first(column: str) -> float:
            hit = self.table.loc[self.table[column] <= 0.5 + 1e-12, "time"]
            return float(hit.iloc[0]) if len(hit) else float("nan")

        median = first("survival")
        at = self.table.index[self.table["time"] == median]
        if len(at) and abs(float(self.table.loc[at[0], "survival"]) - 0.5) <= 1e-12:
            later = self.table.loc[self.table["time"] > median, "time"]
            median = (median + (float(later.iloc[0]) if len(later) else self.last_time)) / 2
        return median, first("lower"), first("upper")


def kaplan_meier(time: pd.Series | np.ndarray, event: pd.Series | np.ndarray, confidence: float = 0.95) -> KaplanMeier:
    """Product-limit estimate S(t) = prod (1 - d_i / n_i) over event times t_i <= t; a censoring at an event
    time counts as at risk at that time (the usual convention). Greenwood variance
    Var S = S^2 sum d_i / (n_i (n_i - d_i)); log-log limits S^exp(+-z se / (S log S)) with
    se = sqrt(sum d_i / (n_i (n_i - d_i))) (SAS CONFTYPE=LOGLOG); limits are 1 at S = 1 and missing at S = 0.

    >>> km = kaplan_meier([6, 6, 6, 7, 10], [1, 1, 0, 1, 0])
    >>> km.table[["time", "at_risk", "events", "survival"]].values.tolist()
    [[6.0, 5.0, 2.0, 0.6], [7.0, 2.0, 1.0, 0.3]]
    """
    t = np.asarray(time, dtype="float64")
    d = np.asarray(event, dtype="float64")
    if t.shape != d.shape or np.isnan(t).any() or not np.isin(d, (0, 1)).all():
        raise ValueError("kaplan_meier: time must be present and event 0/1 for every subject")
    times = np.unique(t[d == 1])
    at_risk = np.array([(t >= u).sum() for u in times], dtype="float64")
    events = np.array([((t == u) & (d == 1)).sum() for u in times], dtype="float64")
    censored = np.array([((t == u) & (d == 0)).sum() for u in times], dtype="float64")
    survival = np.cumprod(1 - events / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(events / (at_risk * (at_risk - events)))
        se = survival * np.sqrt(greenwood)
        z = norm.ppf(0.5 + confidence / 2)
        log_log_se = np.sqrt(greenwood) / np.abs(np.log(survival))
        lower = survival ** np.exp(z * log_log_se)
        upper = survival ** np.exp(-z * log_log_se)
    lower = np.where(survival >= 1, 1.0, np.where(survival <= 0, np.nan, lower))
    upper = np.where(survival >= 1, 1.0, np.where(survival <= 0, np.nan, upper))
    table = pd.DataFrame({"time": times, "at_risk": at_risk, "events": events, "censored": censored,
                          "survival": survival, "se": se, "lower": lower, "upper": upper})
    return KaplanMeier(table=table, n=int(len(t)), events=int(d.sum()), confidence=confidence,
                       last_time=float(t.max()) if len(t) else float("nan"))


def at_risk(time: pd.Series | np.ndarray, points: list[float]) -> list[int]:
    """Number of subjects still at risk (time >= point) at each point, for the figure's risk table."""
    t = np.asarray(time, dtype="float64")
    return [int((t >= p).sum()) for p in points]

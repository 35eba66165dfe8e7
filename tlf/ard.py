"""Analysis Results Data (ARD): one row per statistic of an output, in long form (the R `cards` layout),
computed before the display and the only source of the display's numbers.

Columns (`ARD_COLUMNS`): OUTPUT (number), GROUP1/GROUP1_LEVEL and GROUP2/GROUP2_LEVEL (grouping variables
and their values, e.g. PARAMCD = SRI4, AVISIT = WEEK 10), VARIABLE/VARIABLE_LEVEL (analysis variable and
category, e.g. AVALC = Y), STAT (statistic name: n, N, pct, mean, sd, median, q1, q3, min, max, lcl, ucl,
p, ...), VALUE (the exact value as the nearest double), VALUE_EXACT (the exact value as text: a terminating
decimal, or numerator/denominator, or 40 significant digits for a square root), FORMATTED (the display text of
this statistic under the rounding rule), ROW and COLUMN (where the text appears in the display).

A builder records each statistic through an `Ard` and places the returned text in its display frame, so the
display cannot show a number the ARD does not hold. The key of a row is everything but VALUE, VALUE_EXACT,
FORMATTED, ROW and COLUMN; the table QC (validation/qc/tables.py) computes the same keys independently.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from tlf import numbers
from tlf.numbers import Summary

ARD_COLUMNS = ["OUTPUT", "GROUP1", "GROUP1_LEVEL", "GROUP2", "GROUP2_LEVEL", "VARIABLE", "VARIABLE_LEVEL", "STAT",
               "VALUE", "VALUE_EXACT", "FORMATTED", "ROW", "COLUMN"]
ARD_KEYS = ["OUTPUT", "GROUP1", "GROUP1_LEVEL", "GROUP2", "GROUP2_LEVEL", "VARIABLE", "VARIABLE_LEVEL", "STAT"]
ARD_LABELS = {"OUTPUT": "Output Number", "GROUP1": "Grouping Variable 1", "GROUP1_LEVEL": "Grouping Variable 1 Value",
              "GROUP2": "Grouping Variable 2", "GROUP2_LEVEL": "Grouping Variable 2 Value",
              "VARIABLE": "Analysis Variable", "VARIABLE_LEVEL": "Analysis Variable Value", "STAT": "Statistic",
              "VALUE": "Statistic Value", "VALUE_EXACT": "Statistic Value (Exact Text)",
              "FORMATTED": "Displayed Text", "ROW": "Display Row", "COLUMN": "Display Column"}


def exact_text(value: object) -> str:
    """The exact value as text: integers and terminating decimals in full ("0.9", "37"), other rationals as
    "p/q", a Decimal (square root) as its 40 digits, a float through its shortest repr; "" for missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, Decimal):
        return str(value)
    q = numbers.exact(value)
    if q is None:
        return ""
    denominator = q.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator != 1:
        return f"{q.numerator}/{q.denominator}"
    places = 0
    while (q * 10**places).denominator != 1:
        places += 1
    return f"{Decimal(q.numerator) / Decimal(q.denominator):.{places}f}" if places else str(q.numerator)


class Ard:
    """Collects the ARD rows of one output. Every method records statistics and returns their display
    text (rounded by tlf.numbers), which the builder places in its display frame."""

    def __init__(self, output: str):
        self.output = output
        self.rows: list[dict] = []

    def add(self, stat: str, value: object, text: str, *, groups: tuple = (), variable: str = "", level: str = "",
            row: str = "", column: str = "") -> str:
        """One statistic. `groups`: up to two (variable, value) pairs."""
        pairs = list(groups) + [("", "")] * (2 - len(groups))
        if len(pairs) > 2:
            raise ValueError(f"ARD {self.output}: at most two grouping variables")
        number = np.nan
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            number = float(value)
        self.rows.append({"OUTPUT": self.output, "GROUP1": pairs[0][0], "GROUP1_LEVEL": str(pairs[0][1]),
                          "GROUP2": pairs[1][0], "GROUP2_LEVEL": str(pairs[1][1]), "VARIABLE": variable,
                          "VARIABLE_LEVEL": str(level), "STAT": stat, "VALUE": number, "VALUE_EXACT": exact_text(value),
                          "FORMATTED": text, "ROW": row, "COLUMN": column})
        return text

    # ---- recorders of the statistics the tables use ----
    def count(self, x: int, stat: str = "n", **where) -> str:
        return self.add(stat, int(x), str(int(x)), **where)

    def n_pct(self, x: int, n: int, **where) -> str:
        """n (%) of a denominator N: records n, N and pct (x / N exactly); text "x (pp.p)", "0" alone for
        none, "x" alone when N = 0 (house style)."""
        x, n = int(x), int(n)
        self.add("n", x, str(x), **where)
        self.add("N", n, str(n), **where)
        if n == 0:
            return str(x)
        pct = numbers.format_percent(Fraction(x, n))
        self.add("pct", Fraction(x * 100, n), pct, **where)
        return "0" if x == 0 else f"{x} ({pct})"

    def rate(self, x: int, n: int, lower: float, upper: float, **where) -> dict[str, str]:
        """Responders x of N with the rate and its CI bounds (fractions of 1, from tlf.stats): records n, N,
        pct, lcl, ucl (percent); texts n_over_n "x/N", percent, ci "lcl, ucl" ("NE" when N = 0)."""
        x, n = int(x), int(n)
        self.add("n", x, str(x), **where)
        self.add("N", n, str(n), **where)
        if n == 0:
            return {"n_over_n": f"{x}/{n}", "percent": "NE", "ci": "NE"}
        pct = self.add("pct", Fraction(x * 100, n), numbers.format_percent(Fraction(x, n)), **where)
        low = self.add("lcl", numbers.exact(lower) * 100, numbers.format_percent(lower), **where)
        high = self.add("ucl", numbers.exact(upper) * 100, numbers.format_percent(upper), **where)
        return {"n_over_n": f"{x}/{n}", "percent": pct, "ci": f"{low}, {high}"}

    def p_value(self, p: float, stat: str = "p", **where) -> str:
        value = None if p is None or np.isnan(p) else p
        return self.add(stat, value, numbers.format_p(p), **where)

    def summary(self, values: pd.Series, collected: int, only: tuple[str, ...] | None = None, **where) -> dict[str, str]:
        """Descriptive statistics on exact values (tlf.numbers.summarise), each rounded by the precision rule
        from `collected` decimals: records n, mean, sd, median, q1, q3, min, max (`only`: just those the
        display shows, e.g. ("n", "mean", "sd")); texts keyed "n", "Mean (SD)", "Median", "Q1, Q3",
        "Min, Max" (the layout of 14.1.x and 14.2.x)."""
        s: Summary = numbers.summarise(values)
        d = {name: numbers.decimals_for(name, collected) for name in ("mean", "sd", "median", "quartile", "minmax")}

        def put(stat: str, value: object, text: str) -> str:
            return self.add(stat, value, text, **where) if only is None or stat in only else text

        n = put("n", int(s.n), str(int(s.n)))
        if s.n == 0:
            return {"n": n, "Mean (SD)": "", "Median": "", "Q1, Q3": "", "Min, Max": ""}
        mean = put("mean", s.mean, numbers.fmt(s.mean, d["mean"]))
        sd = put("sd", s.sd, numbers.fmt(s.sd, d["sd"])) if s.sd is not None else "NE"
        median = put("median", s.median, numbers.fmt(s.median, d["median"]))
        q1 = put("q1", s.q1, numbers.fmt(s.q1, d["quartile"]))
        q3 = put("q3", s.q3, numbers.fmt(s.q3, d["quartile"]))
        low = put("min", s.min, numbers.fmt(s.min, d["minmax"]))
        high = put("max", s.max, numbers.fmt(s.max, d["minmax"]))
        return {"n": n, "Mean (SD)": f"{mean} ({sd})", "Median": median, "Q1, Q3": f"{q1}, {q3}", "Min, Max": f"{low}, {high}"}

    def frame(self) -> pd.DataFrame:
        """The ARD as a frame with ARD_COLUMNS (text columns str, VALUE float64), in recording order."""
        frame = pd.DataFrame(self.rows, columns=ARD_COLUMNS)
        for column in ARD_COLUMNS:
            frame[column] = frame[column].astype("float64" if column == "VALUE" else "str")
        return frame


def ard_from_body(number: str, headers: tuple[str, ...], body: pd.DataFrame) -> pd.DataFrame:
    """The ARD of an output without computed statistics (listings): one row per displayed cell, STAT
    "text", VALUE missing, FORMATTED the cell text, ROW the row number (1-based) and COLUMN the header."""
    ard = Ard(number)
    for i, values in enumerate(body.itertuples(index=False), start=1):
        for header, text in zip(headers, values):
            ard.add("text", None, str(text), variable=header, level=str(i), row=str(i), column=header)
    return ard.frame()

"""Exact numbers and the one rounding rule of every displayed number (SAP section "Rounding and precision";
the rules are read from `sap/specs/display.yaml`, not written here).

- A collected value is the decimal it was recorded as: a float is read through its shortest repr
  (0.1 -> 1/10 exactly, not the binary 0.1000000000000000055...), and sums, means, medians, quartiles and
  variances are computed on those exact rationals (`fractions.Fraction`); a standard deviation is the square
  root of the exact variance to 40 significant digits (`decimal`).
- Every displayed number is rounded once, half away from zero on that exact value (SAS ROUND): 0.125 shows
  as 0.13 and 6.25 as 6.3, where Python's `f"{x:.2f}"` rounds the binary value half to even.
- Decimals shown follow the precision rule of display.yaml: e.g. mean one decimal more than collected, SD
  two more, min and max as collected, percentages one decimal, p-values three.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from functools import lru_cache

import pandas as pd

from sap.errors import Problem, SpecError
from sap.specs import SPECS_DIR, read_yaml

DISPLAY_FILE = SPECS_DIR / "display.yaml"


@lru_cache(maxsize=1)
def display_rules() -> dict:
    """The display rules of sap/specs/display.yaml (rounding, quantile definition, precision, collected
    decimals); an unsupported rule is a one-line SpecError."""
    rules = read_yaml(DISPLAY_FILE)
    if rules.get("rounding") != "half away from zero":
        raise SpecError(Problem(str(DISPLAY_FILE), "only 'half away from zero' rounding is implemented",
                                variable="rounding", value=rules.get("rounding")))
    if rules.get("quantile_definition") != 7:
        raise SpecError(Problem(str(DISPLAY_FILE), "only quantile definition 7 is implemented",
                                variable="quantile_definition", value=rules.get("quantile_definition")))
    return rules


def exact(value: object) -> Fraction | None:
    """The exact rational a value stands for: an int as is, a float through its shortest repr (the decimal
    it was recorded as), a Fraction or Decimal as is; None for missing (None, NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (int, Decimal)):
        return Fraction(value)
    as_float = float(value)
    if math.isnan(as_float):
        return None
    return Fraction(Decimal(repr(as_float)))


def exact_values(values: pd.Series) -> list[Fraction]:
    """The non-missing values of a column as exact rationals, in their order."""
    return [q for q in (exact(v) for v in pd.Series(values).tolist()) if q is not None]


def round_half_away(value: Fraction | Decimal | float | int, decimals: int) -> Decimal:
    """`value` rounded to `decimals` places, half away from zero, on its exact value (SAS ROUND(x, 10**-d)):
    floor(|q| * 10**d + 1/2) / 10**d with the sign of q."""
    q = exact(value) if not isinstance(value, Fraction) else value
    scaled = abs(q) * 10**decimals
    units = math.floor(scaled + Fraction(1, 2))
    if q < 0:
        units = -units
    return Decimal(units).scaleb(-decimals)


def fmt(value: object, decimals: int) -> str:
    """A number as display text with exactly `decimals` places, rounded half away from zero; "" for missing.
    A result that rounds to zero is shown without a minus sign ("0.0", not "-0.0")."""
    q = exact(value) if not isinstance(value, Fraction) else value
    if q is None:
        return ""
    rounded = round_half_away(q, decimals)
    if rounded == 0:
        rounded = abs(rounded)
    return f"{rounded:.{decimals}f}"


def collected_decimals(variable: str, values: pd.Series | None = None) -> int:
    """Decimals `variable` (a PARAMCD or ADSL variable) is collected with: display.yaml collected_decimals,
    else the most decimals among its values (at most display.yaml most_decimals)."""
    rules = display_rules()
    listed = rules.get("collected_decimals", {})
    if variable in listed:
        return int(listed[variable])
    most = int(rules["most_decimals"])
    places = 0
    for q in exact_values(values if values is not None else pd.Series(dtype="float64")):
        k = 0
        while k < most and (q * 10**k).denominator != 1:
            k += 1
        places = max(places, k)
    return places


def decimals_for(statistic: str, collected: int) -> int:
    """Decimals a statistic is shown with (display.yaml precision): "+k" relative to `collected`, else the
    absolute number."""
    rule = str(display_rules()["precision"][statistic])
    return collected + int(rule[1:]) if rule.startswith("+") else int(rule)


def percent_decimals() -> int:
    return decimals_for("percent", 0)


def format_percent(fraction: object) -> str:
    """A proportion (fraction of 1) in percent with the percent precision: 1/16 -> "6.3"."""
    q = exact(fraction)
    return "" if q is None else fmt(q * 100, percent_decimals())


def format_p(p: float | None) -> str:
    """A p-value with the p_value precision (3): "<0.001" below 0.001, ">0.999" above 0.999, "NE" when not
    estimable; otherwise rounded half away from zero on the value's shortest repr."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "NE"
    d = decimals_for("p_value", 0)
    floor = Fraction(1, 10**d)
    q = exact(p)
    if q < floor:
        return f"<{fmt(floor, d)}"
    if q > 1 - floor:
        return f">{fmt(1 - floor, d)}"
    return fmt(q, d)


# ------------------------------------------------------------------------------------ exact statistics

def quantile7(ordered: list[Fraction], prob: Fraction) -> Fraction:
    """Hyndman-Fan definition 7 on sorted exact values: h = (n - 1) p, x[floor h] + (h - floor h) *
    (x[floor h + 1] - x[floor h]) (0-based), computed exactly."""
    h = (len(ordered) - 1) * prob
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


def sqrt_exact(q: Fraction) -> Decimal:
    """Square root of an exact rational to 40 significant digits (correctly rounded by `decimal`)."""
    with localcontext() as ctx:
        ctx.prec = 40
        return (Decimal(q.numerator) / Decimal(q.denominator)).sqrt()


@dataclass(frozen=True)
class Summary:
    """Exact descriptive statistics of one variable: n, mean, SD (n - 1 denominator), median, Q1, Q3
    (definition 7), min and max. Statistics that need more values than present are None."""

    n: int
    mean: Fraction | None
    sd: Decimal | None
    median: Fraction | None
    q1: Fraction | None
    q3: Fraction | None
    min: Fraction | None
    max: Fraction | None

    @property
    def se(self) -> Decimal | None:
        """Standard error of the mean, SD / sqrt(n)."""
        if self.sd is None:
            return None
        with localcontext() as ctx:
            ctx.prec = 40
            return self.sd / Decimal(self.n).sqrt()


def summarise(values: pd.Series) -> Summary:
    """`Summary` of the non-missing values, on their exact decimals."""
    x = sorted(exact_values(values))
    n = len(x)
    if n == 0:
        return Summary(0, None, None, None, None, None, None, None)
    mean = sum(x, Fraction(0)) / n
    sd = sqrt_exact(sum(((v - mean) ** 2 for v in x), Fraction(0)) / (n - 1)) if n > 1 else None
    return Summary(n, mean, sd, quantile7(x, Fraction(1, 2)), quantile7(x, Fraction(1, 4)), quantile7(x, Fraction(3, 4)),
                   x[0], x[-1])

"""Errors shown to users as one line each: where (file, row or key, variable, value) and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in the input or in a dataset, located as precisely as the source allows."""

    where: str  # file or dataset name
    message: str
    row: int | str | None = None  # 1-based data row of a file (header excluded), or a key
    variable: str | None = None
    value: object = None

    def __str__(self) -> str:
        parts = [self.where]
        if self.row is not None:
            parts.append(f"row {self.row}" if isinstance(self.row, int) else f"key {self.row}")
        if self.variable is not None:
            parts.append(self.variable)
        location = ", ".join(parts)
        value = "" if self.value is None else f" (value {self.value!r})"
        return f"{location}: {self.message}{value}"


class SapError(Exception):
    """An error the user can act on. The CLI prints one line per problem and exits non-zero."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, (Problem, str)):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class InputError(SapError):
    """Malformed raw input (missing column, bad date, unknown visit, ...)."""


class SpecError(SapError):
    """A spec file is malformed, or a dataset does not conform to its spec."""


class ValidationFailed(SapError):
    """At least one validation expectation failed."""

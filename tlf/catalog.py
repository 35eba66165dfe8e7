"""The output catalogue `sap/outputs.yaml`: a typed model (pydantic, unknown keys rejected) and the call of
each output's builder."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sap.errors import Problem, SpecError
from sap.specs import read_yaml

OUTPUTS_FILE = Path(__file__).resolve().parent.parent / "sap" / "outputs.yaml"
KIND_LABEL = {"table": "Table", "listing": "Listing", "figure": "Figure"}


class OutputSpec(BaseModel):
    """One planned output: its ICH E3 number, title, kind, population flag, builder and footnotes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: str = Field(pattern=r"^1[46](\.\d+)+$")
    kind: Literal["table", "listing", "figure"]
    group: str = Field(pattern=r"^[0-9a-z-]+$")
    population: Literal["ENRLFL", "SAFFL", "FASFL", "COMPLFL"]
    title: str = Field(min_length=1, max_length=200)
    builder: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_.]*:[a-z_][a-z0-9_]*$")
    footnotes: list[str] = Field(default_factory=list)
    landscape: bool = False
    # ADaM variables the output reads, by dataset: the builder reads these, and a reader of only these
    # columns (the QC stage's production SRI rates) reads the same
    reads: dict[str, list[str]] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        """"Table 14.2.1": the kind and number as printed."""
        return f"{KIND_LABEL[self.kind]} {self.number}"

    @property
    def file_stem(self) -> str:
        """File name of the output: "t-14-2-1", "l-16-2-7", "f-14-2-2-1"."""
        return f"{self.kind[0]}-{self.number.replace('.', '-')}"

    @property
    def program(self) -> str:
        """The program named in the source line: the builder's module file and function."""
        if not self.builder:
            return "(not programmed)"
        module, function = self.builder.split(":")
        return f"{module.replace('.', '/')}.py::{function}"

    def builder_function(self) -> Callable:
        module, function = self.builder.split(":")
        try:
            return getattr(importlib.import_module(module), function)
        except (ImportError, AttributeError) as exc:
            raise SpecError(Problem(str(OUTPUTS_FILE), f"builder cannot be imported: {exc}", row=self.number, variable="builder", value=self.builder)) from None


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    outputs: list[OutputSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_numbers(self) -> "Catalogue":
        seen = [(o.kind == "figure", o.number) for o in self.outputs]
        dupes = sorted({n for k, n in seen if seen.count((k, n)) > 1})
        if dupes:
            raise ValueError(f"output numbers listed twice: {dupes}")
        return self

    @cached_property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(o.group for o in self.outputs))

    def in_group(self, group: str) -> list[OutputSpec]:
        return [o for o in self.outputs if o.group == group]

    def get(self, label_or_number: str) -> OutputSpec:
        """By label ("Figure 14.2.2.1") or number ("14.2.1"; tables and listings before figures)."""
        for o in self.outputs:
            if label_or_number in (o.label, o.file_stem):
                return o
        for o in self.outputs:
            if o.number == label_or_number:
                return o
        raise KeyError(label_or_number)


def load_outputs(path: str | Path | None = None) -> Catalogue:
    """Read and validate the output catalogue (default: SAP_OUTPUTS_FILE if set, else sap/outputs.yaml);
    every problem is one SpecError line naming file and key."""
    path = Path(path or os.environ.get("SAP_OUTPUTS_FILE") or OUTPUTS_FILE)
    data = read_yaml(path, missing="output catalogue not found")
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = list(err["loc"])
            row = None
            if len(loc) >= 2 and loc[0] == "outputs" and isinstance(loc[1], int):
                entry = data["outputs"][loc[1]]
                row = str(entry.get("number", loc[1] + 1)) if isinstance(entry, dict) else loc[1] + 1
                loc = loc[2:]
            key = ".".join(map(str, loc)) or "(entry)"
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key (misspelt?)"
            problems.append(Problem(str(path), message, row=row, variable=key,
                                    value=err.get("input") if err["type"] not in ("missing", "extra_forbidden") else None))
        raise SpecError(problems) from None

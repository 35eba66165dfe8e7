"""A small fluent object describing one output, separate from how it is rendered (great_tables/rtflite
habit): number and title, population label and N, column headers, body frame, footnotes, source line and,
for figures, a matplotlib figure.

    out = (Output.from_spec(spec)
           .with_population("Full analysis set", 40)
           .with_body(frame, headers=["Visit", "n/N", "% (95% CI)"])
           .with_footnotes(["p-value: exact binomial test."]))

Every `with_*` method returns a new object; nothing is mutated, so a builder stays a pure function.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pandas as pd

from tlf.catalog import KIND_LABEL, OutputSpec

POPULATION_LABEL = {
    "ENRLFL": "Enrolled population",
    "SAFFL": "Safety population",
    "FASFL": "Full analysis set",
    "COMPLFL": "Completers population",
}


@dataclass(frozen=True)
class Output:
    number: str
    title: str
    kind: str = "table"  # table | listing | figure
    population: str = ""  # e.g. "Full analysis set"
    big_n: int | None = None
    headers: tuple[str, ...] = ()
    body: pd.DataFrame | None = None  # display text only: every cell already formatted
    footnotes: tuple[str, ...] = ()
    source: str = ""
    figure: object | None = None  # a matplotlib Figure for kind "figure"
    landscape: bool = False
    col_widths: tuple[float, ...] = ()  # relative widths; derived from the text when empty
    align: tuple[str, ...] = ()  # "l" | "c" | "r" per column; first column left, others centred by default
    notes: tuple[str, ...] = field(default=())  # run notes (e.g. validation failed), printed first
    ard: pd.DataFrame | None = None  # the analysis results data the body was built from (tlf.ard)
    study_id: str = ""  # for every page's header or footer (renderers: issue 11)
    data_status: str = ""  # "SYNTHETIC DATA" for twin runs: every page's header or footer must carry it

    @classmethod
    def from_spec(cls, spec: OutputSpec) -> "Output":
        return cls(number=spec.number, title=spec.title, kind=spec.kind, footnotes=tuple(spec.footnotes),
                   population=POPULATION_LABEL[spec.population], landscape=spec.landscape)

    # ---- fluent setters (each returns a copy) ----
    def with_population(self, label: str, n: int) -> "Output":
        return dataclasses.replace(self, population=label, big_n=int(n))

    def with_n(self, n: int) -> "Output":
        """The population's N (the label comes from the catalogue's population flag)."""
        return dataclasses.replace(self, big_n=int(n))

    def with_body(self, body: pd.DataFrame, headers: list[str] | None = None, col_widths: list[float] | None = None,
                  align: list[str] | None = None) -> "Output":
        headers = tuple(headers) if headers is not None else tuple(map(str, body.columns))
        if len(headers) != body.shape[1]:
            raise ValueError(f"{self.label}: {len(headers)} headers for {body.shape[1]} columns")
        text = body.astype(object).where(body.notna(), "").astype(str).reset_index(drop=True)
        text.columns = [f"c{i}" for i in range(text.shape[1])]
        return dataclasses.replace(self, body=text, headers=headers, col_widths=tuple(col_widths or ()),
                                   align=tuple(align or ()))

    def with_footnotes(self, footnotes: list[str]) -> "Output":
        return dataclasses.replace(self, footnotes=self.footnotes + tuple(footnotes))

    def with_plan_values(self, values: dict[str, object]) -> "Output":
        """Fill {name} placeholders of the catalogue footnotes with values of the plan."""
        return dataclasses.replace(self, footnotes=tuple(note.format_map(values) for note in self.footnotes))

    def with_source(self, source: str) -> "Output":
        return dataclasses.replace(self, source=source)

    def with_notes(self, notes: list[str]) -> "Output":
        return dataclasses.replace(self, notes=tuple(notes))

    def with_figure(self, figure: object) -> "Output":
        return dataclasses.replace(self, figure=figure)

    def with_study(self, study_id: str, data_status: str) -> "Output":
        """Study id and data status ("SYNTHETIC DATA" or "") that every page of the output carries."""
        return dataclasses.replace(self, study_id=study_id, data_status=data_status)

    @property
    def page_header(self) -> str:
        """"<study id> | SYNTHETIC DATA" (or the study id alone) for the renderers' running header."""
        return " | ".join(part for part in (self.study_id, self.data_status) if part)

    def with_ard(self, ard: "Ard") -> "Output":
        """The ARD the body's numbers come from (tlf.ard.Ard): every statistic shown, with its exact value."""
        return dataclasses.replace(self, ard=ard.frame())

    def analysis_results(self) -> pd.DataFrame:
        """The output's ARD: the recorded statistics, or for an output without (listings, figures) one row
        per displayed cell (tlf.ard.ard_from_body); empty when there is no body."""
        from tlf.ard import ARD_COLUMNS, ard_from_body

        if self.ard is not None:
            return self.ard
        if self.body is None:
            return pd.DataFrame(columns=ARD_COLUMNS)
        return ard_from_body(self.number, self.headers, self.body)

    # ---- derived display text ----
    @property
    def label(self) -> str:
        return f"{KIND_LABEL[self.kind]} {self.number}"

    @property
    def heading(self) -> str:
        return f"{self.label}: {self.title}"

    @property
    def population_line(self) -> str:
        if not self.population:
            return ""
        return f"{self.population} (N={self.big_n})" if self.big_n is not None else self.population

    @property
    def file_stem(self) -> str:
        return f"{self.kind[0]}-{self.number.replace('.', '-')}"

    @property
    def all_footnotes(self) -> tuple[str, ...]:
        """Run notes first (a reader must not miss them), then the method footnotes."""
        return tuple(f"NOTE: {n}" for n in self.notes) + self.footnotes

    def widths(self) -> list[float]:
        """Relative column widths: given ones, else from the longest word of the header (headers may wrap
        between words, never inside one) and the longest cell (capped so one long text column does not
        squeeze the others)."""
        if self.col_widths:
            return list(self.col_widths)
        if self.body is None:
            return []
        widths = []
        for i, header in enumerate(self.headers):
            cells = self.body.iloc[:, i].str.len()
            longest_cell = int(cells.max()) if len(cells) else 0
            longest_word = max((len(w) for w in header.split()), default=1)
            widths.append(float(max(min(longest_cell, 40), longest_word, 3)))
        return widths

    def alignments(self) -> list[str]:
        if self.align:
            return list(self.align)
        n = len(self.headers)
        return ["l"] + (["c"] * (n - 1)) if self.kind == "table" else ["l"] * n

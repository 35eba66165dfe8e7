"""The validation results file (`results.json`) and report page (`report.md`), both deterministic: no
timestamps, datasets in name order, expectations in planned order."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from sap.text import markdown_text
from validation.engine import Outcome


def write_results(outcomes: list[Outcome], path: Path) -> Path:
    """One entry per expectation: dataset, rule, expectation, column, success, unexpected count and up to
    five unexpected values with their keys."""
    entries = [o.as_dict() for o in outcomes]
    path.write_text(json.dumps(entries, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return path


def _cell(value: object) -> str:
    """Text as a Markdown table cell that reads back as typed: values from the data (an unexpected AETERM
    such as `[x](http://...)` or `<script>`) are never read as links or HTML (`sap.text.markdown_text`)."""
    return "" if value is None else markdown_text(str(value))


def _example(outcome: Outcome) -> str:
    if outcome.error:
        return f"could not evaluate: {outcome.error}"
    if not outcome.unexpected:
        return ""
    first = outcome.unexpected[0]
    key = ", ".join(f"{k}={v}" for k, v in first.get("key", {}).items())
    value = first.get("value")
    return f"{value!r}" + (f" at {key}" if key else "")


def render_report(outcomes: list[Outcome], title: str = "Validation report") -> str:
    """A readable Markdown page: summary per dataset, the failures, then every expectation."""
    datasets = sorted({o.dataset for o in outcomes})
    total = Counter(o.dataset for o in outcomes)
    failed = Counter(o.dataset for o in outcomes if not o.success)
    failures = [o for o in outcomes if not o.success]
    lines = [f"# {title}", ""]
    lines.append(f"{len(outcomes)} expectations on {len(datasets)} datasets: "
                 f"{len(outcomes) - len(failures)} passed, {len(failures)} failed.")
    lines += ["", "## Summary by dataset", "", "| Dataset | Expectations | Passed | Failed |", "|---|---:|---:|---:|"]
    for name in datasets:
        lines.append(f"| {name} | {total[name]} | {total[name] - failed[name]} | {failed[name]} |")
    lines += ["", "## Failures", ""]
    if failures:
        lines += ["| Dataset | Variable | Rule | Unexpected | First unexpected value |", "|---|---|---|---:|---|"]
        for o in failures:
            lines.append(f"| {o.dataset} | {_cell(o.column)} | {_cell(o.rule)}: {_cell(o.description)} | "
                         f"{o.unexpected_count} | {_cell(_example(o))} |")
    else:
        lines.append("None: every expectation passed.")
    lines += ["", "## All expectations", ""]
    for name in datasets:
        lines += [f"### {name}", "", "| Result | Variable | Rule | Expectation | Unexpected |", "|---|---|---|---|---:|"]
        for o in (o for o in outcomes if o.dataset == name):
            mark = "pass" if o.success else "**FAIL**"
            lines.append(f"| {mark} | {_cell(o.column)} | {_cell(o.description)} | `{o.expectation}` | {o.unexpected_count} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_report(outcomes: list[Outcome], path: Path) -> Path:
    path.write_text(render_report(outcomes), encoding="utf-8")
    return path

"""The bad-input corpus (tests/sdtm/corpus.py): every kind through `sap sdtm --raw`, classified as expected:
mapped (and the SDTM value checked) or rejected with exactly the expected lines and exit 1; never exit 3,
never a traceback. A few kinds also run end to end through `sap run --raw` in a separate process (a hostile
AE verbatim term runs end to end in tests/test_run_atomic.py, whose killed runs need a complete run first)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sap import pipeline
from sap.cli import main
from tests.sdtm.corpus import KINDS, TWIN_SUBJECTS, Mapped, Rejected

BY_NAME = {k.name: k for k in KINDS}


@pytest.fixture(scope="session")
def corpus_twin(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus-twin")
    ctx = pipeline.make_context(out=out, subjects=TWIN_SUBJECTS, log=lambda line: None)
    pipeline.run_stage(ctx, "simulate")
    return out / "raw"


def test_corpus_has_every_kind_the_issue_lists():
    assert len(KINDS) >= 60 and len(BY_NAME) == len(KINDS)
    names = set(BY_NAME)
    for required in ["missing_file", "zero_byte_file", "renamed_column", "extra_column", "duplicated_column",
                     "semicolon_delimiter", "latin1_file", "utf8_bom", "crlf_line_ends", "quoted_newline_in_term",
                     "impossible_date", "year_0013", "year_2105", "enrolment_before_consent", "first_dose_before_consent",
                     "ae_partial_end_before_start", "disposition_before_enrolment", "dose_after_cutoff", "unknown_visit",
                     "unknown_unit", "unknown_choice", "quoted_decimal_comma", "exponent_number", "infinite_number",
                     "nan_number", "reference_low_above_high", "missing_disposition_row", "nul_byte", "long_verbatim_term",
                     "cjk_term", "formula_term", "html_script_term", "markdown_link_term", "formula_subject_id",
                     "huge_repeated_file", "huge_field"]:
        assert required in names, required
    assert {type(k.mutate).__name__ for k in KINDS} == {"function"}


def test_readme_lists_every_kind_with_its_outcome_and_rule():
    """The README's bad-input section is the user's list: one row per kind, outcome and rule as the corpus
    states them, and the counts in its lead sentence."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Bad input: the corpus", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("`")[1]: line for line in section.splitlines() if line.startswith("| `")}
    assert sorted(rows) == sorted(BY_NAME)
    outcomes = {k.name: k.mutate.__annotations__["return"] for k in KINDS}  # "Rejected" or "Mapped"
    for name, line in rows.items():
        kind = BY_NAME[name]
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        assert cells[0] == f"`{name}` ({kind.group})", line
        assert cells[1].startswith("rejected, exit 1:" if outcomes[name] == "Rejected" else "mapped:"), line
        assert cells[2].replace("\\|", "|") == kind.rule, line
    rejected = sum(1 for o in outcomes.values() if o == "Rejected")
    assert f"makes {len(KINDS)} malformed extracts" in section
    assert f"The kinds, {rejected} rejected and {len(KINDS) - rejected} mapped:" in section


def _run_sdtm(raw: Path, out: Path):
    return CliRunner().invoke(main, ["sdtm", "--raw", str(raw), "--out", str(out)])


@pytest.mark.parametrize("name", [k.name for k in KINDS])
def test_kind_is_classified_as_expected(name, corpus_twin, tmp_path):
    item = BY_NAME[name]
    raw = tmp_path / "raw"
    shutil.copytree(corpus_twin, raw)
    expected = item.mutate(raw)
    result = _run_sdtm(raw, tmp_path / "out")
    output = result.output + (result.stderr or "")
    assert "Traceback" not in output and "internal error" not in output, output
    assert result.exit_code != 3
    if isinstance(expected, Mapped):
        assert result.exit_code == 0, output
        expected.check(tmp_path / "out")
        return
    assert isinstance(expected, Rejected)
    assert result.exit_code == 1, output
    lines = [line.removeprefix("error: ") for line in result.stderr.splitlines()]
    assert all(result.stderr.splitlines()[i].startswith("error: ") for i in range(len(lines)))
    assert lines[:len(expected.lines)] == expected.lines, lines[:5]
    if expected.expected_total is not None:
        assert len(lines) == expected.expected_total, lines
    if expected.last is not None:
        assert lines[-1] == expected.last
    if expected.every is not None:
        assert all(expected.every in line for line in lines), lines
    assert not (tmp_path / "out" / "sdtm").exists()  # nothing written


def _sap_run(raw: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sap.cli", "run", "--raw", str(raw), "--out", str(out)],
                          capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("name", ["latin1_file", "year_0013", "missing_disposition_row"])
def test_rejected_end_to_end(name, corpus_twin, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(corpus_twin, raw)
    expected = BY_NAME[name].mutate(raw)
    proc = _sap_run(raw, tmp_path / "out")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [f"error: {line}" for line in expected.lines]

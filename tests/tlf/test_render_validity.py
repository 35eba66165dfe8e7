"""`sap render` on its own: it refuses data that failed validation or QC (or was never checked) unless
--allow-invalid, which turns each reason into a note on every output; its run id is that of the run that
made the ADaM (from OUT/manifest.json when the ADaM files match it), else a hash of the ADaM files."""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

from sap import pipeline
from sap.cli import main
from sap.errors import ValidationFailed
from tlf.stage import check_rendered_data, rendered_data

from .conftest import write_adam


def _results(out, failed: int = 0, qc: str = "PASS"):
    (out / "validation").mkdir(parents=True, exist_ok=True)
    rows = [{"dataset": "ADSL", "column": "AGE", "success": True}] * 3 + [{"dataset": "ADSL", "column": "SEX", "success": False}] * failed
    (out / "validation" / "results.json").write_text(json.dumps(rows))
    (out / "qc").mkdir(exist_ok=True)
    (out / "qc" / "qc_results.json").write_text(json.dumps({"status": qc, "datasets": {}, "tables": {}}))


def test_failed_validation_and_qc_are_refused_or_noted(tmp_path):
    write_adam(tmp_path / "adam")
    _results(tmp_path, failed=2, qc="FAIL")
    ctx = pipeline.make_context(out=tmp_path, log=lambda line: None)
    with pytest.raises(ValidationFailed) as caught:
        check_rendered_data(ctx)
    assert caught.value.lines() == [
        f"{tmp_path / 'validation' / 'results.json'}: validation failed: 2 expectations",
        f"{tmp_path / 'qc' / 'qc_results.json'}: QC status FAIL: production and the QC twin differ",
        "sap render: refused: render invalid data only with --allow-invalid"]
    allowed = pipeline.make_context(out=tmp_path, allow_invalid=True, log=lambda line: None)
    check_rendered_data(allowed)
    assert allowed.notes == ["validation failed: 2 expectations (results.json); outputs rendered with --allow-invalid",
                             "QC status FAIL: production and the QC twin differ (qc_results.json); outputs rendered with --allow-invalid"]


def test_unchecked_data_is_refused_and_valid_data_passes(tmp_path):
    write_adam(tmp_path / "adam")
    ctx = pipeline.make_context(out=tmp_path, log=lambda line: None)
    with pytest.raises(ValidationFailed) as caught:
        check_rendered_data(ctx)
    assert [line.split(": ", 1)[1] for line in caught.value.lines()[:2]] == [
        "no validation results for this ADaM (run `sap validate`)", "no QC results for this ADaM (run `sap qc`)"]
    _results(tmp_path)
    check_rendered_data(ctx)
    assert ctx.notes == []


def test_cli_render_refuses_invalid_data_with_exit_2(tmp_path):
    write_adam(tmp_path / "adam")
    _results(tmp_path, failed=1)
    result = CliRunner().invoke(main, ["render", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "validation failed: 1 expectations" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "tlf").exists()


def test_run_id_names_the_data_rendered(tmp_path):
    write_adam(tmp_path / "adam")
    ctx = pipeline.make_context(out=tmp_path, log=lambda line: None)
    files = {f"adam/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((tmp_path / "adam").iterdir())}
    # the manifest of the run that wrote this ADaM: its run id and inputs
    inputs = {"raw": None, "twin": {"seed": 7, "subjects": 40}, "data_cutoff": "2015-10-31"}
    (tmp_path / "manifest.json").write_text(json.dumps({"run_id": "abcdef123456", "inputs": inputs, "files": files}))
    assert rendered_data(ctx) == ("abcdef123456", inputs)
    # ADaM changed since: the id is the hash of the ADaM files (name and sha256 lines) and the plan
    (tmp_path / "adam" / "adsl.parquet").write_bytes(b"changed")
    files["adam/adsl.parquet"] = hashlib.sha256(b"changed").hexdigest()
    lines = "".join(f"{name} {sha}\n" for name, sha in sorted(files.items())).encode()
    expected = hashlib.sha256(lines + ctx.study.model_dump_json().encode()).hexdigest()[:12]
    run_id, new_inputs = rendered_data(ctx)
    assert run_id == "adam-" + expected
    assert new_inputs["adam_sha256"] == hashlib.sha256(lines).hexdigest()

"""Every YAML file of the plan is read through a typed model (extra keys forbidden): a misspelt key is one
line naming the file and the key, and the command exits 1 (not an internal error, exit 3)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sap.errors import SpecError
from sap.specs import SPECS_DIR, Instruments, LabTests, Queries, read_plan_file
from sdtm.raw import RawForms
from tlf.catalog import load_outputs

PLAN_FILES = [
    ("raw/instruments.yaml", Instruments),
    ("raw/lab_tests.yaml", LabTests),
    ("raw/forms.yaml", RawForms),
    ("queries.yaml", Queries),
]


@pytest.mark.parametrize("relative, model", PLAN_FILES, ids=[r for r, _ in PLAN_FILES])
def test_production_plan_file_is_valid_and_read_whole(relative, model):
    path = SPECS_DIR / relative
    parsed = read_plan_file(path, model)
    # the model keeps every key of the file (nothing ignored, nothing added)
    assert parsed.model_dump(exclude_unset=True, mode="json") == yaml.safe_load(path.read_text(encoding="utf-8"))


def _misspelt_copy(tmp_path: Path, relative: str, old: str, new: str) -> Path:
    specs = tmp_path / "specs"
    shutil.copytree(SPECS_DIR, specs)
    path = specs / relative
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


MISSPELLINGS = [
    ("raw/instruments.yaml", Instruments, "weight: 8", "wieght: 8",
     "sledai_2k.items.0.wieght: unknown key 'wieght' (misspelt? expected: weight)"),
    ("raw/lab_tests.yaml", LabTests, "std_unit: 10^9/L", "std_units: 10^9/L",
     "laboratory.0.std_units: unknown key 'std_units' (misspelt? expected: std_unit)"),
    ("raw/forms.yaml", RawForms, "SUBJECT: {type: text, required: true}", "SUBJECT: {type: text, requird: true}",
     "forms.enrolment.columns.SUBJECT.requird: unknown key 'requird' (not a key of this entry)"),
    ("queries.yaml", Queries, "preferred_terms:", "preferred_term:",
     "customised_queries.0.preferred_term: unknown key 'preferred_term' (misspelt? expected: preferred_terms)"),
]


@pytest.mark.parametrize("relative, model, old, new, line", MISSPELLINGS, ids=[m[0] for m in MISSPELLINGS])
def test_misspelt_key_is_one_line_naming_file_and_key(tmp_path, relative, model, old, new, line):
    path = _misspelt_copy(tmp_path, relative, old, new)
    with pytest.raises(SpecError) as caught:
        read_plan_file(path, model)
    assert [str(p) for p in caught.value.problems] == [f"{path}, {line}"]


def test_misspelt_output_catalogue_key_names_the_output(tmp_path):
    path = tmp_path / "outputs.yaml"
    text = (SPECS_DIR.parent / "outputs.yaml").read_text(encoding="utf-8")
    assert "title:" in text
    path.write_text(text.replace("title:", "titel:", 1), encoding="utf-8")
    with pytest.raises(SpecError, match=r"outputs\.yaml, key .*titel: unknown key \(misspelt\?\)"):
        load_outputs(path)


def test_misspelt_instruments_key_through_the_cli_is_exit_1_and_one_line(tmp_path):
    path = _misspelt_copy(tmp_path, "raw/instruments.yaml", "weight: 8", "wieght: 8")
    env = dict(os.environ, SAP_SPECS_DIR=str(path.parents[1]))
    result = subprocess.run([sys.executable, "-m", "sap", "run", "--out", str(tmp_path / "out")], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith(("error:", "internal error:"))]
    assert errors == [f"error: {path}, sledai_2k.items.0.wieght: unknown key 'wieght' (misspelt? expected: weight)"]
    assert "Traceback" not in result.stderr

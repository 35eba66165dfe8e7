"""Reproducible to the byte across processes: the pipeline run twice, in two separate `sap` processes
writing to two folders, gives the same sha256 for every output file.

Two separate processes, not one process twice: a module-level cache, a dict order that depends on the hash
seed (PYTHONHASHSEED differs per process), or a value kept between calls would show only across processes.

The two complete runs (`complete_runs` in tests/conftest.py, made once per session) are the whole `sap run` on the 40-subject
twin's raw extract with one hostile AE verbatim term planted (a quoted line break, a Markdown link, CJK):
every SDTM, ADaM, validation, QC, table/listing/figure (HTML, PDF, DOCX, RTF), submission file and
manifest.json. The simulate stage, which `--raw` skips, is compared across two processes on its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import HOSTILE_AE_TERM


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != ".sap.lock"  # the run lock (sap.pipeline) is not an output
    }


def _assert_same_files(a: Path, b: Path) -> dict[str, str]:
    first, second = _digests(a), _digests(b)
    assert sorted(first) == sorted(second)
    differing = sorted(name for name in first if first[name] != second[name])
    assert differing == [], f"files whose bytes differ between two runs: {differing}"
    return first


def test_sap_run_in_two_processes_gives_identical_files(complete_runs):
    a, b = complete_runs.a, complete_runs.b
    files = _assert_same_files(a, b)
    assert {name.split("/")[0] for name in files} == {"sdtm", "adam", "validation", "qc", "tlf", "submission",
                                                       "manifest.json"}
    manifest = json.loads((a / "manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(n for n in files if n != "manifest.json")

    def stems(folder, suffix):
        return {n.split("/")[1].removesuffix(suffix) for n in files if n.startswith(folder + "/") and n.endswith(suffix)}

    assert stems("sdtm", ".xpt") == stems("sdtm", ".parquet") >= {"dm", "ds", "ex", "ae", "lb", "qs", "mh", "cm", "vs", "ts"}
    assert stems("adam", ".xpt") == stems("adam", ".parquet") >= {"adsl", "adae", "adlb", "adqs", "adrs", "adtte"}
    for output in ("tlf/book.pdf", "tlf/book.docx", "tlf/html/16-2-listings.html"):
        assert output in files, output
    assert any(n.startswith("tlf/") and n.endswith(".rtf") for n in files)
    assert any(n.startswith("submission/") and n.endswith("define.xml") for n in files)


def test_a_hostile_verbatim_term_is_mapped_validated_and_rendered_as_typed(complete_runs):
    """The planted term went through SDTM, ADaM, validation and QC (the runs are complete) and the listing
    shows it as typed: the line break a line break, the Markdown link not a link, the CJK characters kept."""
    page = (complete_runs.a / "tlf" / "html" / "16-2-listings.html").read_text(encoding="utf-8")
    shown = HOSTILE_AE_TERM.replace("\n", "<br>")
    assert shown in page and 'href="http://example.com' not in page


def test_simulate_in_two_processes_gives_identical_files(tmp_path):
    """The twin's raw extract (the stage `--raw` runs skip) is the same from two processes."""
    runs = [subprocess.Popen([sys.executable, "-m", "sap.cli", "simulate", "--out", str(tmp_path / name)],
                             env=dict(os.environ, PYTHONHASHSEED=seed), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
            for name, seed in (("A", "1"), ("B", "2"))]
    for run in runs:
        output, _ = run.communicate(timeout=600)
        assert run.returncode == 0, output
    files = _assert_same_files(tmp_path / "A", tmp_path / "B")
    assert {n.split("/")[0] for n in files} == {"raw"} and len(files) >= 9

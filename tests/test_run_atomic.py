"""`sap run` is all or nothing: the whole run is written into OUT/.run.tmp and swapped in at the end; a run
that fails or is killed at any stage leaves the previous complete run readable and its manifest true; a
lock refuses a second command writing into the same folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sap import pipeline
from sap.errors import SapError


def _manifest_is_true(out: Path) -> dict:
    """Every file the manifest lists exists with its sha256, and every file of the run's folders is listed."""
    manifest = json.loads((out / "manifest.json").read_text())
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name
    on_disk = {str(p.relative_to(out)) for entry in pipeline.RUN_ENTRIES if (out / entry).is_dir()
               for p in (out / entry).rglob("*") if p.is_file()}
    assert on_disk == set(manifest["files"]), on_disk ^ set(manifest["files"])
    return manifest


# ------------------------------------------------------------------ stages replaced by small fakes (fast)

def fake_sdtm(ctx):
    with ctx.staging("sdtm") as folder:
        (folder / "dm.csv").write_text(f"seed {ctx.seed}\n")
    return {"dm": 1}


def fake_adam(ctx):
    with ctx.staging("adam") as folder:
        (folder / "adsl.csv").write_text((ctx.folder("sdtm") / "dm.csv").read_text())  # reads this run's SDTM
    return {"adsl": 1}


def failing_adam(ctx):
    with ctx.staging("adam") as folder:
        (folder / "adsl.csv").write_text("half")
        raise SapError("adsl: a derivation failed")


@pytest.fixture
def fake_stages(monkeypatch):
    def use(**stages):
        monkeypatch.setattr(pipeline, "STAGES", {name: f"tests.test_run_atomic:{func}" for name, func in stages.items()})
    return use


def test_failed_run_keeps_the_previous_complete_run(tmp_path, fake_stages):
    fake_stages(sdtm="fake_sdtm", adam="fake_adam")
    pipeline.run_all(pipeline.make_context(out=tmp_path, seed=1, log=lambda _: None))
    before = _manifest_is_true(tmp_path)
    assert (tmp_path / "adam" / "adsl.csv").read_text() == "seed 1\n"

    fake_stages(sdtm="fake_sdtm", adam="failing_adam")
    with pytest.raises(SapError, match="a derivation failed"):
        pipeline.run_all(pipeline.make_context(out=tmp_path, seed=2, log=lambda _: None))
    assert _manifest_is_true(tmp_path) == before  # new SDTM did not land beside the old ADaM
    assert (tmp_path / "sdtm" / "dm.csv").read_text() == "seed 1\n"
    failed = tmp_path / pipeline.FAILED_RUN
    assert (failed / "sdtm" / "dm.csv").read_text() == "seed 2\n"  # kept for a look, outside the run
    assert "adsl: a derivation failed" in (failed / "FAILED.txt").read_text()
    assert not (tmp_path / pipeline.RUN_STAGING).exists()

    fake_stages(sdtm="fake_sdtm", adam="fake_adam")
    pipeline.run_all(pipeline.make_context(out=tmp_path, seed=3, log=lambda _: None))
    assert (tmp_path / "adam" / "adsl.csv").read_text() == "seed 3\n"
    assert not failed.exists()  # a complete run replaces the failed one's leftovers
    _manifest_is_true(tmp_path)


def test_a_swap_cut_short_is_undone(tmp_path, fake_stages):
    fake_stages(sdtm="fake_sdtm", adam="fake_adam")
    pipeline.run_all(pipeline.make_context(out=tmp_path, seed=1, log=lambda _: None))
    before = _manifest_is_true(tmp_path)
    # the state a kill leaves between the two halves of swap_in: old run moved out, new SDTM moved in
    previous = tmp_path / pipeline.PREVIOUS
    previous.mkdir()
    (previous / "SWAP.json").write_text(json.dumps({"incoming": ["sdtm", "adam", "manifest.json"]}))
    for entry in ("manifest.json", "sdtm", "adam"):
        (tmp_path / entry).rename(previous / entry)
    (tmp_path / "sdtm").mkdir()
    (tmp_path / "sdtm" / "dm.csv").write_text("seed 9\n")
    pipeline.undo_interrupted_swap(tmp_path)
    assert _manifest_is_true(tmp_path) == before and not previous.exists()


def test_second_command_into_the_same_folder_is_refused(tmp_path):
    with pipeline.locked(tmp_path):
        proc = subprocess.run([sys.executable, "-m", "sap.cli", "run", "--out", str(tmp_path)],
                              capture_output=True, text=True, timeout=300)
        with pytest.raises(SapError, match="another sap command is writing into this folder"):
            with pipeline.locked(tmp_path):
                pass
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == (f"error: {tmp_path}: another sap command is writing into this folder "
                                            f"(lock {tmp_path / '.sap.lock'}); wait for it to finish or use another --out")
    assert not (tmp_path / pipeline.RUN_STAGING).exists()
    with pipeline.locked(tmp_path):  # released with the holder
        pass


def _run_until(out: Path, raw: Path, marker: str, timeout: float = 900) -> None:
    """Start `sap run --raw RAW` and kill its whole process group (kernel and pandoc too) as soon as
    OUT/.run.tmp/<marker> exists, i.e. once that stage's folder was swapped into the new run."""
    proc = subprocess.Popen([sys.executable, "-m", "sap.cli", "run", "--raw", str(raw), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while not (out / pipeline.RUN_STAGING / marker).exists():
            assert proc.poll() is None, f"the run ended (exit {proc.returncode}) before {marker} appeared"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_killed_run_leaves_the_previous_run_intact(complete_runs, tmp_path):
    """The previous complete run is a copy of a complete `sap run` (tests/conftest.py `complete_runs`). Runs
    on the 8-subject twin into the same folder are killed after SDTM and while rendering (after QC): the
    previous run stays as it was, manifest true, and the lock died with the killed run."""
    out = tmp_path / "out"
    shutil.copytree(complete_runs.a, out)
    manifest_bytes = (out / "manifest.json").read_bytes()
    before = _manifest_is_true(out)
    for marker in ("sdtm", "qc"):  # killed after the SDTM stage, and while rendering (after QC)
        _run_until(out, complete_runs.small_raw, marker=marker)
        assert (out / "manifest.json").read_bytes() == manifest_bytes
        assert _manifest_is_true(out) == before, marker
        assert (out / "tlf" / "book.pdf").stat().st_size > 0  # the previous run is readable
        with pipeline.locked(out):  # the lock died with the killed run
            pass

"""The pipeline: stages in the order data flows (simulate -> sdtm -> adam -> validate -> qc -> conform -> render -> submit), each
writing atomically into its folder of the output layout, then the manifest.

A stage is a function `run(ctx: RunContext) -> dict[str, int]` returning counts for the progress line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import importlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sap
from sap.datasets import write_json
from sap.errors import Problem, SapError
from sap.environment import lock_sha256, output_versions
from sap.study import Study, load_study

DEFAULT_SEED = 20130801
DEFAULT_SUBJECTS = 40

# name -> "module:function"; the order is the order of `sap run`
STAGES: dict[str, str] = {
    "simulate": "sdtm.twin:run_stage",
    "sdtm": "sdtm.stage:run_stage",
    "adam": "adam.stage:run_stage",
    "validate": "validation.stage:run_stage",
    "qc": "validation.qc.stage:run_stage",
    "conform": "submission.conform:run_stage",
    "render": "tlf.stage:run_stage",
    "submit": "submission.stage:run_stage",
}


@dataclass
class RunContext:
    """What every stage needs: the plan, where to read and write, and the twin's settings."""

    study: Study
    out: Path
    raw: Path | None = None  # a real EDC extract; None means the synthetic twin writes out/raw
    subjects: int = DEFAULT_SUBJECTS
    seed: int = DEFAULT_SEED
    allow_invalid: bool = False
    log: Callable[[str], None] = print
    notes: list[str] = field(default_factory=list)  # warnings that the outputs must carry (e.g. invalid data)
    engine: str = "local"  # where the per-subject-partition derivations run (sap.engine): local or spark
    master: str | None = None  # the Spark master URL with engine spark (default local[2])
    # the run id of the data a stage works on when it is not this context's inputs: `sap render` on its own
    # renders the ADaM already in OUT (tlf.stage.rendered_data), whatever run made it
    data_run_id: str | None = None

    @property
    def raw_dir(self) -> Path:
        return self.raw if self.raw is not None else self.out / "raw"

    def folder(self, name: str) -> Path:
        return self.out / name

    @property
    def stamp(self) -> dt.date:
        """The date written into file headers: the data cut-off, never the wall clock."""
        return self.study.data_cutoff

    @contextlib.contextmanager
    def staging(self, name: str) -> Iterator[Path]:
        """Write a stage's folder atomically: into a temporary sibling, swapped in only on success."""
        final = self.out / name
        tmp = self.out / f".{name}.tmp"
        old = self.out / f".{name}.old"
        for leftover in (tmp, old):
            shutil.rmtree(leftover, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)


def make_context(out: str | Path = "output", raw: str | Path | None = None, subjects: int = DEFAULT_SUBJECTS,
                 seed: int = DEFAULT_SEED, study_file: str | Path | None = None, allow_invalid: bool = False,
                 log: Callable[[str], None] = print, engine: str = "local", master: str | None = None) -> RunContext:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return RunContext(study=load_study(study_file), out=out, raw=Path(raw) if raw else None, subjects=subjects,
                      seed=seed, allow_invalid=allow_invalid, log=log, engine=engine, master=master)


def stage_function(name: str) -> Callable[[RunContext], dict[str, int]]:
    module, function = STAGES[name].split(":")
    return getattr(importlib.import_module(module), function)


def run_stage(ctx: RunContext, name: str) -> dict[str, int]:
    """Run one stage with its progress line: name, counts, seconds."""
    start = time.perf_counter()
    counts = stage_function(name)(ctx) or {}
    seconds = time.perf_counter() - start
    shown = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    ctx.log(f"  {name:<9} {shown}  ({seconds:.1f} s)")
    return counts


# --------------------------------------------------------------------------------------------------------
# A whole run is all or nothing

LOCK_FILE = ".sap.lock"  # held (flock) by the process writing into an output folder; released when it dies
RUN_STAGING = ".run.tmp"  # a whole `sap run` is written here, then swapped in
FAILED_RUN = "failed-run"  # a run that failed is kept here (with FAILED.txt); the previous complete run stays
MANIFEST = "manifest.json"
RUN_ENTRIES = ("raw", "sdtm", "adam", "validation", "qc", "tlf", "submission")  # the folders of a run in OUT
PREVIOUS = ".run.old"  # the previous run while the new one is swapped in, with SWAP.json


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold `OUT/.sap.lock` while writing into OUT: a second `sap` command writing into the same folder is
    refused with one line. The lock is an advisory `flock`, so a killed process never leaves it held."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    handle = (out / LOCK_FILE).open("a+")
    try:
        try:
            import fcntl
        except ImportError:  # Windows: no flock; runs into one folder are then not guarded
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SapError(Problem(str(out), f"another sap command is writing into this folder (lock {out / LOCK_FILE}); "
                                                 "wait for it to finish or use another --out")) from None
        yield
    finally:
        handle.close()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def swap_in(staging: Path, out: Path, keep: set[str] = frozenset()) -> None:
    """Replace the run in `out` by the complete run in `staging`: first every entry of the previous run
    (manifest first) moves to OUT/.run.old, then every entry of the new one moves in (manifest last), so a
    manifest.json in `out` always describes exactly the files beside it. OUT/.run.old/SWAP.json lists what
    moves in, so a swap cut short (killed) is undone by `undo_interrupted_swap`. Folders in `keep` (the raw
    extract the run read) are never moved."""
    previous = out / PREVIOUS
    _remove(previous)
    previous.mkdir()
    entries = [e for e in RUN_ENTRIES if e not in keep]
    incoming = [e for e in (*entries, MANIFEST) if (staging / e).exists()]
    (previous / "SWAP.json").write_text(json.dumps({"incoming": incoming}), encoding="utf-8")
    for entry in (MANIFEST, *entries):
        if (out / entry).exists():
            (out / entry).rename(previous / entry)
    for entry in incoming:
        (staging / entry).rename(out / entry)
    _remove(previous)
    _remove(staging)
    _remove(out / FAILED_RUN)  # a failed run older than this complete one says nothing about it


def undo_interrupted_swap(out: Path) -> None:
    """A swap killed half way (OUT/.run.old exists): remove what had moved in and put the previous run back,
    manifest last."""
    previous = out / PREVIOUS
    journal = previous / "SWAP.json"
    if not journal.is_file():
        _remove(previous)
        return
    for entry in reversed(json.loads(journal.read_text(encoding="utf-8"))["incoming"]):  # manifest first
        _remove(out / entry)
    for entry in (*RUN_ENTRIES, MANIFEST):
        if (previous / entry).exists():
            (previous / entry).rename(out / entry)
    _remove(previous)


def _keep_failed(staging: Path, out: Path, exc: BaseException) -> Path:
    """Keep what a failed run wrote as OUT/failed-run (FAILED.txt says why) for the user to look at; the
    previous complete run in OUT is untouched."""
    failed = out / FAILED_RUN
    _remove(failed)
    lines = exc.lines() if isinstance(exc, SapError) else [f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__]
    (staging / "FAILED.txt").write_text("This run did not complete; the previous complete run (if any) is in the "
                                        "folder above, described by its manifest.json.\n" + "\n".join(lines) + "\n",
                                        encoding="utf-8")
    staging.rename(failed)
    return failed


def run_all(ctx: RunContext, stages: list[str] | None = None) -> dict[str, dict[str, int]]:
    """`sap run`: every stage in order (the twin only when no raw extract is given), then the manifest, all
    written into OUT/.run.tmp and swapped into OUT only when every stage succeeded (`swap_in`). A run that
    fails (or is interrupted) leaves the previous complete run in OUT as it was, manifest included; what the
    failed run wrote is kept in OUT/failed-run. OUT is locked for the run (`locked`)."""
    names = stages or [n for n in STAGES if not (n == "simulate" and ctx.raw is not None)]
    results: dict[str, dict[str, int]] = {}
    start = time.perf_counter()
    with locked(ctx.out):
        undo_interrupted_swap(ctx.out)
        staging = ctx.out / RUN_STAGING
        _remove(staging)  # left by a run that was killed
        staging.mkdir()
        run_ctx = dataclasses.replace(ctx, out=staging)
        try:
            for name in names:
                results[name] = run_stage(run_ctx, name)
            manifest = write_manifest(run_ctx)
        except BaseException as exc:
            failed = _keep_failed(staging, ctx.out, exc)
            ctx.log(f"run failed: the previous complete run in {ctx.out} is unchanged; this run's outputs are in {failed}")
            raise
        keep = {entry for entry in RUN_ENTRIES if ctx.raw is not None and (ctx.out / entry).resolve() == ctx.raw.resolve()}
        swap_in(staging, ctx.out, keep)
    ctx.log(f"done in {time.perf_counter() - start:.1f} s: {len(manifest['files'])} files under {ctx.out} "
            f"(run id {manifest['run_id']})")
    for note in ctx.notes:
        ctx.log(f"note: {note}")
    return results


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        result = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def run_id(ctx: RunContext) -> str:
    """A run id that depends only on the inputs: plan, raw data (or twin settings) and package version."""
    digest = hashlib.sha256()
    digest.update(ctx.study.model_dump_json().encode())
    digest.update(sap.__version__.encode())
    if ctx.raw is None:
        digest.update(f"twin seed={ctx.seed} subjects={ctx.subjects}".encode())
    else:
        for path in sorted(ctx.raw.glob("*.csv")):
            digest.update(path.name.encode() + _sha256(path).encode())
    return digest.hexdigest()[:12]


def write_manifest(ctx: RunContext, inputs: dict | None = None) -> dict:
    """`output/manifest.json`: sha256 of every output file, the inputs, package version, git commit, the
    versions of the packages that shape output bytes and the sha256 of requirements.lock. `inputs` (and
    `ctx.data_run_id`) replace what the context says when a stage rendered data of another run."""
    files = {
        str(path.relative_to(ctx.out)): _sha256(path)
        for path in sorted(ctx.out.rglob("*"))
        if path.is_file() and path.name != "manifest.json" and not any(part.startswith(".") for part in path.relative_to(ctx.out).parts)
    }
    manifest = {
        "run_id": ctx.data_run_id or run_id(ctx),
        "package_version": sap.__version__,
        "git_commit": _git_commit(),
        "python": sys.version.split()[0],
        "versions": output_versions(),
        "lock_sha256": lock_sha256(),
        "inputs": inputs or {
            "raw": str(ctx.raw) if ctx.raw else None,
            "twin": None if ctx.raw else {"seed": ctx.seed, "subjects": ctx.subjects},
            "data_cutoff": ctx.study.data_cutoff.isoformat(),
        },
        "notes": ctx.notes,
        "files": files,
    }
    write_json(manifest, ctx.out / "manifest.json")
    return manifest

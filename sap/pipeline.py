"""The pipeline: stages in the order data flows (simulate -> sdtm -> adam -> validate -> render), each
writing atomically into its folder of the output layout, then the manifest.

A stage is a function `run(ctx: RunContext) -> dict[str, int]` returning counts for the progress line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sap
from sap.datasets import write_json
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
    "render": "tlf.stage:run_stage",
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
                 log: Callable[[str], None] = print) -> RunContext:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return RunContext(study=load_study(study_file), out=out, raw=Path(raw) if raw else None, subjects=subjects,
                      seed=seed, allow_invalid=allow_invalid, log=log)


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


def run_all(ctx: RunContext, stages: list[str] | None = None) -> dict[str, dict[str, int]]:
    """`sap run`: every stage in order (the twin only when no raw extract is given), then the manifest."""
    names = stages or [n for n in STAGES if not (n == "simulate" and ctx.raw is not None)]
    results: dict[str, dict[str, int]] = {}
    start = time.perf_counter()
    for name in names:
        results[name] = run_stage(ctx, name)
    manifest = write_manifest(ctx)
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


def write_manifest(ctx: RunContext) -> dict:
    """`output/manifest.json`: sha256 of every output file, the inputs, package version, git commit, the
    versions of the packages that shape output bytes and the sha256 of requirements.lock."""
    files = {
        str(path.relative_to(ctx.out)): _sha256(path)
        for path in sorted(ctx.out.rglob("*"))
        if path.is_file() and path.name != "manifest.json" and not any(part.startswith(".") for part in path.relative_to(ctx.out).parts)
    }
    manifest = {
        "run_id": run_id(ctx),
        "package_version": sap.__version__,
        "git_commit": _git_commit(),
        "python": sys.version.split()[0],
        "versions": output_versions(),
        "lock_sha256": lock_sha256(),
        "inputs": {
            "raw": str(ctx.raw) if ctx.raw else None,
            "twin": None if ctx.raw else {"seed": ctx.seed, "subjects": ctx.subjects},
            "data_cutoff": ctx.study.data_cutoff.isoformat(),
        },
        "notes": ctx.notes,
        "files": files,
    }
    write_json(manifest, ctx.out / "manifest.json")
    return manifest

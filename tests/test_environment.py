"""The versions a run was made with (manifest.json) and the warning when the installed packages are not the
lock's."""

import hashlib
import importlib.metadata
import json
import sys
from pathlib import Path

from click.testing import CliRunner

import sap.environment as environment
from sap import pipeline
from sap.cli import main
from sap.pipeline import make_context, write_manifest

ROOT = Path(__file__).resolve().parents[1]


def test_manifest_records_output_shaping_versions_and_the_lock_hash(tmp_path):
    ctx = make_context(out=tmp_path, log=lambda _: None)
    write_manifest(ctx)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    versions = manifest["versions"]
    for name in ("pandas", "pyarrow", "pyreadstat", "numpy", "scipy", "great-expectations", "matplotlib",
                 "rtflite", "pypandoc-binary", "typst", "fonttools", "python-docx"):
        assert versions[name] == importlib.metadata.version(name), name
    assert "pingouin" in versions  # None when not installed
    assert versions["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert versions["pandoc"] and versions["pandoc"][0].isdigit()  # the bundled binary's own version, e.g. 3.9
    assert manifest["lock_sha256"] == hashlib.sha256((ROOT / "requirements.lock").read_bytes()).hexdigest()


def test_this_environment_was_installed_from_the_lock():
    # the README's Quick start installs exactly the lock; a difference here means the suite is not testing
    # the versions users get
    assert environment.lock_differences(ROOT / "requirements.lock") == []


def test_differences_name_package_installed_and_locked_versions(tmp_path):
    numpy = importlib.metadata.version("numpy")
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        f"numpy=={numpy} \\\n    --hash=sha256:{'0' * 64}\n"
        "pandas==2.2.3 \\\n    --hash=sha256:" + "1" * 64 + "\n"
        "no-such-package-here==1.0 \\\n    --hash=sha256:" + "2" * 64 + "\n"
        "pyarrow==1.0 ; sys_platform == 'no-such-platform' \\\n    --hash=sha256:" + "3" * 64 + "\n",
        encoding="utf-8",
    )
    pandas = importlib.metadata.version("pandas")
    assert environment.lock_differences(lock) == [
        "no-such-package-here not installed, locked 1.0",
        f"pandas {pandas} installed, locked 2.2.3",
    ]  # numpy matches; pyarrow's pin is for another platform
    warning = environment.lock_warning(lock, shown=1)
    assert warning == (
        "warning: installed packages differ from requirements.lock (no-such-package-here not installed, locked 1.0;"
        " 1 more): output bytes may differ from a locked install (see the README's Quick start)"
    )


def test_sap_run_warns_in_one_line_when_installed_versions_differ(tmp_path, monkeypatch):
    lock = tmp_path / "requirements.lock"
    lock.write_text("pandas==2.2.3 \\\n    --hash=sha256:" + "1" * 64 + "\n", encoding="utf-8")
    monkeypatch.setattr(environment, "LOCK_FILE", lock)
    ran = []
    monkeypatch.setattr(pipeline, "run_all", lambda ctx: ran.append(ctx))  # the warning, not the pipeline
    result = CliRunner().invoke(main, ["run", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0 and len(ran) == 1
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    pandas = importlib.metadata.version("pandas")
    assert warnings == [
        f"warning: installed packages differ from requirements.lock (pandas {pandas} installed, locked 2.2.3): "
        "output bytes may differ from a locked install (see the README's Quick start)"
    ]
    # with the real lock (the one this environment was installed from) there is no warning
    monkeypatch.setattr(environment, "LOCK_FILE", ROOT / "requirements.lock")
    result = CliRunner().invoke(main, ["run", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0 and not [line for line in result.output.splitlines() if line.startswith("warning:")]

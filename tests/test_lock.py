"""requirements.lock: the exact versions the README's Quick start installs. Every pin must satisfy the
ranges of pyproject.toml (runtime dependencies and the `test` extra), every pin carries a sha256 hash, and
every package pyproject.toml names is pinned exactly once (one version for every Python 3.11+)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)")


def lock_pins(text: str) -> dict[str, list[Version]]:
    """Package name -> pinned versions (one per line `name==version`, markers ignored)."""
    pins: dict[str, list[Version]] = {}
    for line in text.splitlines():
        match = _PIN.match(line)
        if match:
            pins.setdefault(canonicalize_name(match["name"]), []).append(Version(match["version"]))
    return pins


def declared_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]


def test_every_declared_package_is_pinned_once_within_its_range():
    pins = lock_pins((ROOT / "requirements.lock").read_text(encoding="utf-8"))
    for requirement in declared_requirements():
        versions = pins.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is in pyproject.toml but not in requirements.lock"
        assert len(versions) == 1, f"{requirement.name} is pinned {len(versions)} times: {versions}"
        assert requirement.specifier.contains(versions[0], prereleases=True), (
            f"requirements.lock pins {requirement.name}=={versions[0]}, outside pyproject.toml's {requirement.specifier}"
        )


def test_every_pin_has_a_hash_and_is_unique():
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pins = lock_pins(text)
    assert len(pins) > 50  # the dependency tree, not only the direct dependencies
    assert all(len(v) == 1 for v in pins.values()), {k: v for k, v in pins.items() if len(v) > 1}
    # each requirement is one logical line (continued with backslashes) holding at least one sha256 hash
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        if _PIN.match(block):
            assert re.search(r"--hash=sha256:[0-9a-f]{64}", block), f"no hash for {block.splitlines()[0]}"


def test_lock_check_reports_a_pin_outside_its_range():
    # the check above must be able to fail: pandas 2.2 is outside pandas>=3.0,<3.1
    pins = lock_pins("pandas==2.2.3 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    pandas = next(r for r in declared_requirements() if r.name == "pandas")
    assert not pandas.specifier.contains(pins["pandas"][0])


def test_ci_runs_the_readme_test_command_which_installs_from_the_lock():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in quick_start.splitlines() if line.strip()]
    assert len(commands) == 2
    install = "python3 -m pip install --require-hashes -r requirements.lock && python3 -m pip install --no-deps -e ."
    assert commands[0] == f"{install} && sap run"
    assert commands[1] == f"{install} && python3 -m pytest -n 2 -q"
    ci = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    assert ci[-1] == commands[1]

"""The software a run was made with: the versions of the packages that shape output bytes (recorded in
`manifest.json`), and the comparison of the installed packages with `requirements.lock`.

Why: parquet files embed the pyarrow and pandas versions, the PDF the Typst version, pyreadstat writes the XPT
headers, and numpy/scipy/pingouin/matplotlib/rtflite/pandoc/great-expectations compute or lay out the rest.
Byte-identical reruns hold for one set of versions: the lock's.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import sys
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name
from packaging.version import Version

# The lock lives at the root of a clone (the Quick start installs from it); a wheel installed elsewhere has none.
LOCK_FILE = Path(__file__).resolve().parent.parent / "requirements.lock"

# distributions whose versions shape output bytes; pingouin is optional (recorded when installed)
OUTPUT_PACKAGES = (
    "pandas", "pyarrow", "pyreadstat", "numpy", "scipy", "pingouin", "great-expectations", "matplotlib",
    "rtflite", "pypandoc-binary", "typst", "fonttools", "python-docx",
)

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)\s*(?:;(?P<marker>[^\\]*))?")


def installed_version(distribution: str) -> str | None:
    """The installed version of a distribution, or None when it is not installed."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _pandoc_version() -> str | None:
    """The pandoc binary's own version (pypandoc-binary bundles it; its package version is pypandoc's)."""
    try:
        import pypandoc

        return str(pypandoc.get_pandoc_version())
    except (ImportError, OSError, RuntimeError):
        return None


def output_versions() -> dict[str, str | None]:
    """Python and every package of OUTPUT_PACKAGES (None when not installed), plus the pandoc binary."""
    versions: dict[str, str | None] = {"python": sys.version.split()[0]}
    versions.update({name: installed_version(name) for name in OUTPUT_PACKAGES})
    versions["pandoc"] = _pandoc_version()
    return versions


def lock_sha256(lock: Path | None = None) -> str | None:
    """sha256 of requirements.lock, or None when the package was installed without one beside it."""
    lock = lock or LOCK_FILE
    return hashlib.sha256(lock.read_bytes()).hexdigest() if lock.is_file() else None


def locked_versions(text: str) -> dict[str, str]:
    """Package -> pinned version from the text of a requirements lock, for the pins whose environment markers
    hold on this interpreter and platform."""
    pins: dict[str, str] = {}
    for line in text.splitlines():
        match = _PIN.match(line)
        if match and (not match["marker"] or Marker(match["marker"].strip()).evaluate()):
            pins[canonicalize_name(match["name"])] = match["version"]
    return pins


def lock_differences(lock: Path | None = None) -> list[str]:
    """`name installed X, locked Y` (or `name not installed, locked Y`) for every pin of the lock that the
    installed packages do not match; empty when they all match or there is no lock."""
    lock = lock or LOCK_FILE
    if not lock.is_file():
        return []
    differences = []
    for name, locked in sorted(locked_versions(lock.read_text(encoding="utf-8")).items()):
        installed = installed_version(name)
        if installed is None:
            differences.append(f"{name} not installed, locked {locked}")
        elif Version(installed) != Version(locked):
            differences.append(f"{name} {installed} installed, locked {locked}")
    return differences


def lock_warning(lock: Path | None = None, shown: int = 3) -> str | None:
    """One line for `sap run` when the installed packages differ from the lock, naming the first few."""
    lock = lock or LOCK_FILE
    differences = lock_differences(lock)
    if not differences:
        return None
    more = f"; {len(differences) - shown} more" if len(differences) > shown else ""
    return (f"warning: installed packages differ from {lock.name} ({'; '.join(differences[:shown])}{more}): "
            f"output bytes may differ from a locked install (see the README's Quick start)")

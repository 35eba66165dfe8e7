"""Shared fixtures: the plan, and a temporary output folder."""

import pytest

from sap.study import load_study


@pytest.fixture(scope="session")
def study():
    return load_study()


def _shared_reference():
    """`shared/` lies beside the repository (CI clones main with shared/ beside it)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for candidate in (root.parent / "shared", Path("/work/shared")):
        if (candidate / "reference" / "cdiscpilot01").is_dir():
            return candidate / "reference" / "cdiscpilot01"
    return root.parent / "shared" / "reference" / "cdiscpilot01"


PILOT_REFERENCE = _shared_reference()

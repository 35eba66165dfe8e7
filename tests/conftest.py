"""Shared fixtures: the plan, and a temporary output folder."""

import pytest

from sap.study import load_study


@pytest.fixture(scope="session")
def study():
    return load_study()

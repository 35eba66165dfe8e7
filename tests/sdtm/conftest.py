"""The hand-made raw extract of tests/sdtm/raw_extract.py, read and checked once per test module."""

import pytest

from sdtm.raw import read_raw_extract
from tests.sdtm.raw_extract import write_extract


@pytest.fixture(scope="module")
def raw(tmp_path_factory, study):
    return read_raw_extract(write_extract(tmp_path_factory.mktemp("raw")), study)

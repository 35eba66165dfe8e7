"""Every public function of the derivation library carries a runnable example in its docstring (the API
reference shows them); this runs them all, so an example that no longer holds fails the suite."""

import doctest
import importlib
import inspect

import pytest

from adam.derive import MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"adam.derive.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


@pytest.mark.parametrize("name", MODULES)
def test_every_public_derivation_has_an_example(name):
    module = importlib.import_module(f"adam.derive.{name}")
    public = [f for n, f in inspect.getmembers(module, inspect.isfunction) if f.__module__ == module.__name__ and n.startswith("derive_")]
    assert public, name
    assert [f.__name__ for f in public if ">>>" not in (f.__doc__ or "")] == []

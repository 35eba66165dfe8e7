"""The API reference of the derivation library, generated from the docstrings (a book chapter:
tlf/pages/derive-reference.qmd). One section per module (its docstring), one entry per public function:
the signature, the docstring (which names the admiral function mirrored and any deliberate difference) and
its runnable example, which tests/adam/test_docstring_examples.py executes.

Docstrings are shown verbatim in fenced blocks, so nothing in them is read as Markdown.
"""

from __future__ import annotations

import importlib
import inspect
import re

from adam.derive import MODULES
from adam.derive import __doc__ as PACKAGE_DOC

_EXAMPLE = re.compile(r"^\s*(>>>|\.\.\.)")


def public_functions(module) -> list:
    """The functions a module defines whose names do not start with "_", in source order."""
    functions = [f for name, f in inspect.getmembers(module, inspect.isfunction)
                 if f.__module__ == module.__name__ and not name.startswith("_")]
    return sorted(functions, key=lambda f: inspect.getsourcelines(f)[1])


def _split(doc: str) -> tuple[str, str]:
    """The prose and the example (the doctest lines and their expected output) of a docstring."""
    lines = inspect.cleandoc(doc or "").splitlines()
    start = next((i for i, line in enumerate(lines) if _EXAMPLE.match(line)), len(lines))
    return "\n".join(lines[:start]).rstrip(), "\n".join(lines[start:]).rstrip()


def _fence(text: str, language: str) -> str:
    fence = "~~~~" if "```" in text else "```"
    return f"{fence}{language}\n{text}\n{fence}\n"


class _ShownByName:
    """A default value shown by its name: a function's repr holds its memory address, which differs between
    processes and would make the reference page differ from run to run."""

    def __init__(self, value) -> None:
        self.name = getattr(value, "__qualname__", getattr(value, "__name__", repr(value)))

    def __repr__(self) -> str:
        return self.name


def _stable_defaults(signature: inspect.Signature) -> inspect.Signature:
    return signature.replace(parameters=[
        p.replace(default=_ShownByName(p.default)) if callable(p.default) and p.default is not inspect.Parameter.empty else p
        for p in signature.parameters.values()])


def signature_text(function) -> str:
    """The signature, one parameter per line when it does not fit in 100 characters (readable in print);
    a function given as a default is shown by its name."""
    signature = _stable_defaults(inspect.signature(function))
    one_line = f"{function.__name__}{signature}"
    if len(one_line) <= 100:
        return one_line
    params, seen_star = [], False
    for p in signature.parameters.values():
        if p.kind is inspect.Parameter.KEYWORD_ONLY and not seen_star:
            params.append("*")
            seen_star = True
        params.append(str(p))
    ret = "" if signature.return_annotation is inspect.Signature.empty else f" -> {inspect.formatannotation(signature.return_annotation)}"
    return f"{function.__name__}(\n" + "".join(f"    {p},\n" for p in params) + f"){ret}"


def reference_markdown(heading_level: int = 2) -> str:
    """The whole reference as Markdown (module sections at `heading_level`, functions one level below)."""
    h, hh = "#" * heading_level, "#" * (heading_level + 1)
    parts = [_fence(inspect.cleandoc(PACKAGE_DOC or ""), "text")]
    for name in MODULES:
        module = importlib.import_module(f"adam.derive.{name}")
        parts.append(f"{h} adam.derive.{name}\n\n" + _fence(inspect.cleandoc(module.__doc__ or ""), "text"))
        for function in public_functions(module):
            prose, example = _split(function.__doc__)
            entry = [f"{hh} {name}.{function.__name__}\n", _fence(signature_text(function), "python")]
            if prose:
                entry.append(_fence(prose, "text"))
            if example:
                entry.append("Example (run by the test suite):\n\n" + _fence(example, "python"))
            parts.append("\n".join(entry))
    return "\n\n".join(parts) + "\n"

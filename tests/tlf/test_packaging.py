"""A regular (non-editable) install renders: every file the book renderer reads is package data of the
wheel (inside a package folder and matched by a `[tool.setuptools.package-data]` pattern), and the project
is found without the clone's root (`tlf/book/_quarto.yml`, chapters beside it or under the packages)."""

from __future__ import annotations

import fnmatch
import shutil
import tomllib
from pathlib import Path

from tlf.render import book

ROOT = book.PROJECT_ROOT


def _package_data_patterns() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    includes = config["packages"]["find"]["include"]
    assert all(p.endswith("*") for p in includes)
    return config["package-data"]["*"], [p.rstrip("*") for p in includes]


def test_every_file_the_renderer_reads_is_in_the_wheel():
    patterns, packages = _package_data_patterns()
    project = book.read_project()  # root files are symlinks into tlf/book (resolved below)
    needed = [book.BOOK_DIR / "_quarto.yml", book.LUA_FILTER, book.CSS, book.TYPST_TEMPLATE, *project.chapters]
    for path in needed:
        relative = path.resolve().relative_to(ROOT)
        assert relative.parts[0] in packages, relative  # inside a package folder
        assert any(fnmatch.fnmatch(path.name, p) for p in patterns), relative  # matched by package data


def test_project_is_found_from_an_installed_layout(tmp_path):
    """The packages copied as a wheel lays them out (no clone root files): the project reads and every
    chapter exists."""
    site = tmp_path / "site"
    for package in ("sap", "tlf"):
        shutil.copytree(ROOT / package, site / package, ignore=shutil.ignore_patterns("__pycache__"))
    config = site / "tlf" / "book" / "_quarto.yml"
    assert config.is_file() and not (site / "_quarto.yml").exists()
    original = book.BOOK_DIR
    try:
        book.BOOK_DIR = site / "tlf" / "book"
        project = book.read_project(site)
    finally:
        book.BOOK_DIR = original
    assert project.chapters[0] == site / "tlf" / "book" / "index.qmd"
    assert site / "sap" / "sap.qmd" in project.chapters
    assert all(p.is_file() and site in p.parents for p in project.chapters)

"""The reviewer guides (cSDRG, ADRG) rendered to PDF: Quarto documents (`submission/guides/*.qmd`), rendered
with `quarto` when it is on PATH, else through the book's fallback (chunks executed in one kernel, pandoc ->
Typst -> PDF; `tlf.render.book`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tlf.render.book import Chapter, Project, execute_pages, notebook_markdown, quarto_available, render_pdf

GUIDES_DIR = Path(__file__).resolve().parent / "guides"
GUIDES = {"csdrg": GUIDES_DIR / "csdrg.qmd", "adrg": GUIDES_DIR / "adrg.qmd"}


def render_guides(targets: dict[str, Path], env: dict[str, str], studyid: str, stamp, scratch: Path) -> list[Path]:
    """Each guide of `targets` (name -> PDF path) rendered; `env` carries SAP_OUT (the run's output folder)."""
    if quarto_available():
        for name, target in targets.items():
            subprocess.run(["quarto", "render", str(GUIDES[name]), "--to", "pdf", "--output-dir", str(scratch)],
                           check=True, env={**__import__("os").environ, **env}, capture_output=True)
            shutil.move(str(scratch / f"{name}.pdf"), target)
        return list(targets.values())
    names = list(targets)
    notebooks = execute_pages([GUIDES[n] for n in names], env, GUIDES_DIR)
    for name, notebook in zip(names, notebooks):
        title, markdown = notebook_markdown(notebook, GUIDES[name], scratch, echo_default=False)
        project = Project(root=GUIDES_DIR, title=title, subtitle=studyid, chapters=[GUIDES[name]], echo=False)
        # one chapter whose sections are the guide's own headings
        chapter = Chapter(GUIDES[name], name, title, markdown)
        render_pdf([chapter], targets[name], project, header_left=studyid, header_right=title, footer_left=f"{studyid} {name}", stamp=stamp)
    return list(targets.values())

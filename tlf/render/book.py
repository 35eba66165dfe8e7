"""Render the Quarto book project (`_quarto.yml` + `.qmd` pages): with `quarto` when it is on PATH,
otherwise through the fallback that needs only Python packages:

1. read each `.qmd` with jupytext's R Markdown reader (```` ```{python} ```` chunks and `#|` options;
   jupytext's own qmd reader shells out to quarto);
2. execute it with nbclient on the python3 kernel (loopback only), the run described by `SAP_*`
   environment variables (see `tlf.page`);
3. turn the outputs into Markdown (`#| output: asis` text as is, images as files, other text as code);
4. pandoc (pypandoc-binary) with a Lua filter for Quarto's conditional content: one self-contained HTML
   page per chapter (local CSS, images inlined, no script, no web request), one DOCX of the whole book, and
   Typst markup of the whole book compiled to one PDF with the `typst` package ("Page x of y" from the page
   template).

Bytes are reproducible: SOURCE_DATE_EPOCH (DOCX) and the Typst timestamp come from the data cut-off.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cvttf_NotoSansCJK_Regular
import jupytext
import nbformat
import pypandoc
import typst
import yaml
from jupyter_client import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from sap.errors import Problem, SapError
from sap.text import typst_string
from tlf.render import layout
from tlf.render.blocks import OUTPUT_BLOCK_OPEN, TYPST_CHAPTER_SLOT

HERE = Path(__file__).resolve().parent
# The book project: `tlf/book/_quarto.yml` and `tlf/book/index.qmd` (package data, so a wheel carries them;
# the clone's root has symlinks to both for `quarto render`), its chapters named relative to the folder
# holding the packages (the clone's root, or site-packages for an installed wheel).
PROJECT_ROOT = HERE.parent.parent
BOOK_DIR = HERE.parent / "book"
LUA_FILTER = HERE / "conditional.lua"
TYPST_TEMPLATE = HERE / "book-template.typ"
CSS = HERE / "book.css"
KERNEL_TIMEOUT_SECONDS = 600
# Typst's own fonts have no Chinese, Japanese or Korean glyphs; Noto Sans CJK (a PyPI package, no system
# font) is the fallback Typst takes for them, so CJK text from the data reaches the PDF text layer.
CJK_FONT_DIR = Path(cvttf_NotoSansCJK_Regular.__file__).resolve().parent
_OPTION = re.compile(r"^#\|\s*([\w-]+)\s*:\s*(.*)$")


@dataclass(frozen=True)
class Chapter:
    path: Path  # the .qmd file
    name: str  # output page name (file stem)
    title: str
    markdown: str  # executed, format-neutral Markdown (before the conditional-content filter)


@dataclass(frozen=True)
class Project:
    root: Path
    title: str
    subtitle: str
    chapters: list[Path]
    echo: bool


def read_project(root: Path = PROJECT_ROOT) -> Project:
    """The book's title and chapter files from `_quarto.yml` (parts flattened in order): the one at `root`
    (a clone), else the packaged `tlf/book/_quarto.yml`; a chapter is found under `root`, else beside the
    configuration (`index.qmd` in an installed wheel)."""
    config_path = root / "_quarto.yml"
    if not config_path.is_file():
        config_path = BOOK_DIR / "_quarto.yml"
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SapError(Problem(str(config_path), f"cannot read the Quarto project: {exc}".splitlines()[0])) from None
    book = config.get("book", {})

    def flatten(items: list) -> list[Path]:
        files: list[Path] = []
        for item in items:
            if isinstance(item, str):
                files.append(root / item if (root / item).is_file() else config_path.parent / item)
            elif isinstance(item, dict):
                files += flatten(item.get("chapters", []))
        return files

    chapters = flatten(book.get("chapters", []))
    missing = [Problem(str(config_path), "chapter file not found", variable="book.chapters", value=p.name) for p in chapters if not p.is_file()]
    if missing:
        raise SapError(missing)
    echo = bool(config.get("execute", {}).get("echo", True))
    return Project(root, str(book.get("title", "")), str(book.get("subtitle", "")), chapters, echo)


def quarto_available() -> bool:
    return shutil.which("quarto") is not None


def render_with_quarto(project: Project, out_dir: Path, env: dict[str, str]) -> None:
    """`quarto render` of the book into `out_dir/quarto` (HTML, DOCX and Typst PDF as `_quarto.yml` asks)."""
    command = ["quarto", "render", str(project.root), "--output-dir", str(out_dir / "quarto")]
    result = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["(no message)"]
        raise SapError(Problem("quarto render", f"failed: {last[0]}"))


# ------------------------------------------------------------------------------------- execution


def _chunk_options(source: str) -> tuple[dict[str, object], str]:
    """Quarto `#|` options at the top of a chunk, and the code without them."""
    options: dict[str, object] = {}
    lines = source.splitlines()
    body_start = 0
    for i, line in enumerate(lines):
        match = _OPTION.match(line)
        if not match:
            break
        options[match.group(1)] = yaml.safe_load(match.group(2))
        body_start = i + 1
    return options, "\n".join(lines[body_start:])


def read_page(path: Path) -> nbformat.NotebookNode:
    """One `.qmd` page as a notebook (jupytext's R Markdown reader reads the same chunks and `#|` options)."""
    notebook = jupytext.reads(path.read_text(encoding="utf-8"), fmt="Rmd")
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def execute_pages(paths: list[Path], env: dict[str, str], cwd: Path) -> list[nbformat.NotebookNode]:
    """Execute the Python chunks of every page, in page order, in ONE python3 kernel (a kernel start and
    the imports cost seconds each; Quarto would start one per page, so pages must not rely on each other's
    variables). The notebooks come back with their outputs."""
    pages = [read_page(path) for path in paths]
    combined = nbformat.v4.new_notebook(metadata=pages[0].metadata if pages else {})
    owners: list[tuple[int, int]] = []
    for page_index, page in enumerate(pages):
        for cell_index, cell in enumerate(page.cells):
            if cell.cell_type == "code":
                combined.cells.append(cell)  # the same object: outputs land in the page's notebook
                owners.append((page_index, cell_index))
    if not combined.cells:
        return pages
    with tempfile.TemporaryDirectory(prefix="sap-kernel-") as sockets:
        # IPC (Unix sockets) instead of TCP on loopback: nothing listens on a port, and no warning about it
        manager = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "kernel"))
        client = NotebookClient(combined, km=manager, timeout=KERNEL_TIMEOUT_SECONDS,
                                resources={"metadata": {"path": str(cwd)}})
        try:
            client.execute(env={**os.environ, **env})
        except CellExecutionError as exc:
            # the kernel's last error line names the cause (often a SapError's one-line problems)
            failed = next((i for i, c in enumerate(combined.cells) if any(o.output_type == "error" for o in c.get("outputs", []))), None)
            where = str(paths[owners[failed][0]]) if failed is not None else "book"
            detail = [line for line in str(exc).splitlines() if line.strip()]
            raise SapError(Problem(where, f"a code chunk failed: {detail[-1] if detail else exc}")) from None
        finally:
            # stop the kernel before this process exits; otherwise it prints "Parent appears to have exited"
            if manager.has_kernel:
                manager.shutdown_kernel(now=True)
    return pages


def notebook_markdown(notebook: nbformat.NotebookNode, page: Path, asset_dir: Path, echo_default: bool) -> tuple[str, str]:
    """The page title (front matter) and its Markdown: text cells as written, code shown when `echo` is on,
    `output: asis` output as Markdown, images written to `asset_dir`, any other output as a code block."""
    title = page.stem
    parts: list[str] = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "raw" and cell.source.startswith("---"):
            front = yaml.safe_load(cell.source.strip().strip("-")) or {}
            title = str(front.get("title", title))
            continue
        if cell.cell_type == "markdown":
            parts.append(cell.source)
            continue
        if cell.cell_type != "code":
            continue
        options, code = _chunk_options(cell.source)
        if options.get("echo", echo_default):
            parts.append(f"```python\n{code}\n```")
        if options.get("output", True) is False:
            continue
        asis = options.get("output") == "asis"
        for n, output in enumerate(_merged_streams(cell.get("outputs", []))):
            if output.output_type == "stream":
                if output.name == "stdout":
                    parts.append(output.text if asis else f"```\n{output.text.rstrip()}\n```")
            elif output.output_type in ("display_data", "execute_result"):
                data = output.get("data", {})
                if "image/png" in data:
                    import base64

                    asset_dir.mkdir(parents=True, exist_ok=True)
                    image = asset_dir / f"{page.stem}-{index}-{n}.png"
                    image.write_bytes(base64.b64decode(data["image/png"]))
                    parts.append(f"![]({image.resolve().as_posix()})")
                elif "text/markdown" in data:
                    parts.append(data["text/markdown"])
                elif "text/plain" in data:
                    parts.append(f"```\n{data['text/plain']}\n```")
    return title, "\n\n".join(parts) + "\n"


def _merged_streams(outputs: list) -> list:
    """A cell's outputs with each run of consecutive stream outputs of one name merged into one. The kernel
    sends a long print in as many stream messages as its flushes happened to cut it into; rendered one part
    each (joined by a blank line) the same text would become a loose list or a broken table in one run and
    not in the next."""
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.output_type == "stream" and previous is not None and previous.output_type == "stream"
                and previous.name == output.name):
            merged[-1] = nbformat.from_dict({**previous, "text": previous.text + output.text})
        else:
            merged.append(output)
    return merged


def execute_chapters(project: Project, env: dict[str, str], asset_dir: Path) -> list[Chapter]:
    chapters = []
    for path, notebook in zip(project.chapters, execute_pages(project.chapters, env, project.root)):
        title, markdown = notebook_markdown(notebook, path, asset_dir, project.echo)
        name = "index" if path.stem == "index" else path.stem
        chapters.append(Chapter(path, name, title, markdown))
    return chapters


# ------------------------------------------------------------------------------------- pandoc, typst


def _pandoc(markdown: str, to: str, extra: list[str], outputfile: str | None = None) -> str:
    args = ["--lua-filter", str(LUA_FILTER), "--wrap=none", *extra]
    return pypandoc.convert_text(markdown, to, format="markdown", extra_args=args, outputfile=outputfile, sandbox=False)


def _nav(chapters: list[Chapter], current: str) -> str:
    current_mark = ' class="current"'
    links = [f'<a href="{c.name}.html"{current_mark if c.name == current else ""}>{html.escape(c.title)}</a>'
             for c in chapters]
    return '<nav class="book-nav">' + " ".join(links) + "</nav>"


def render_html(chapters: list[Chapter], folder: Path, book_title: str) -> list[Path]:
    """One self-contained HTML page per chapter with a navigation bar; CSS inlined, no external reference."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for chapter in chapters:
        nav = folder / f".nav-{chapter.name}.html"
        nav.write_text(_nav(chapters, chapter.name), encoding="utf-8")
        path = folder / f"{chapter.name}.html"
        _pandoc(f"# {chapter.title}\n\n{chapter.markdown}", "html5",
                ["--standalone", "--embed-resources", "--css", str(CSS), "--toc", "--toc-depth=2",
                 "--include-before-body", str(nav), "--metadata", f"pagetitle={book_title}: {chapter.title}", "--metadata", "lang=en",
                 "--html-q-tags"], outputfile=str(path))
        nav.unlink()
        paths.append(path)
    return paths


def book_markdown(chapters: list[Chapter]) -> str:
    return "\n\n".join(f"# {c.title}\n\n{c.markdown}" for c in chapters)


def typst_book_markdown(chapters: list[Chapter]) -> str:
    """The book's Markdown for the PDF. A chapter that holds outputs only (a `tlf/pages` page) has no
    heading of its own in the flow: its heading goes, invisible, into the first output's first page (the
    outline, the bookmarks and the running header show it), so no page holds only a heading and the
    output's first page keeps the room the paginator planned."""
    parts = []
    for c in chapters:
        if c.markdown.lstrip().startswith(OUTPUT_BLOCK_OPEN) and TYPST_CHAPTER_SLOT in c.markdown:
            heading = f"#place(hide(heading(level: 1, numbering: none, supplement: [Outputs], {typst_string(c.title)})))"
            parts.append(c.markdown.replace(TYPST_CHAPTER_SLOT, heading, 1))
        else:
            parts.append(f"# {c.title}\n\n{c.markdown}")
    return "\n\n".join(parts)


def render_docx(chapters: list[Chapter], path: Path, book_title: str, stamp: dt.date, outputs: dict, header: str = "",
                footer: str = "") -> Path:
    """The whole book as one DOCX: pandoc writes the prose with a placeholder paragraph per output, which
    `tlf.render.docx.fill_outputs` replaces with the output (`outputs`: file stem -> (Output, figure PNG))
    in a section of its own. Internal file dates come from SOURCE_DATE_EPOCH, which `render_book` sets to the
    plan's date (pandoc would otherwise stamp the wall clock), and from `stamp` for python-docx."""
    from tlf.render.docx import fill_outputs

    _pandoc(book_markdown(chapters), "docx", ["--standalone", "--toc", "--toc-depth=2", "--metadata", f"title={book_title}",
                                               "--metadata", "lang=en"], outputfile=str(path))
    shown = set(re.findall(r'\.tlf-docx stem="([\w-]+)"', "".join(c.markdown for c in chapters)))
    missing = sorted(shown - set(outputs))
    if missing:  # a bug: the book shows an output the stage did not build
        raise RuntimeError(f"DOCX: outputs in the book but not built: {', '.join(missing)}")
    fill_outputs(path, outputs, header, footer, stamp)
    return path


def render_pdf(chapters: list[Chapter], path: Path, project: Project, header_left: str, header_right: str, footer_left: str,
               stamp: dt.date, keep_source: bool = False) -> Path:
    """Pandoc -> Typst markup -> PDF with the typst package. The Typst source names figure files by absolute
    path, so it is removed after compiling unless `keep_source` (tests and debugging read it)."""
    source = _pandoc(typst_book_markdown(chapters), "typst", [
        "--standalone", "--template", str(TYPST_TEMPLATE),
        "--metadata", f"title={project.title}", "--metadata", f"pagetitle={project.title}",
        "--variable", f"subtitle={project.subtitle}", "--variable", f"header-left={header_left}",
        "--variable", f"header-right={header_right}", "--variable", f"footer-left={footer_left}",
    ])
    typ = path.with_suffix(".typ")
    typ.write_text(source, encoding="utf-8")
    stamp_time = dt.datetime.combine(stamp, dt.time(), dt.timezone.utc)
    try:
        typst.compile(str(typ), output=str(path), root="/", ignore_system_fonts=True, font_paths=[str(layout.font_dir()), str(CJK_FONT_DIR)],
                      timestamp=int(stamp_time.timestamp()))
    except Exception as exc:  # typst raises its own error type with the Typst diagnostics
        raise SapError(Problem(str(typ), f"Typst could not compile the book: {str(exc).splitlines()[0]}")) from None
    if not keep_source:
        typ.unlink()
    return path


def render_book(chapters: list[Chapter], folder: Path, project: Project, stamp: dt.date, header_left: str,
                header_right: str, footer_left: str, outputs: dict | None = None) -> dict[str, float]:
    """HTML pages, the DOCX and the PDF of the executed chapters; returns the wall seconds of each. The three
    are independent pandoc runs, so they run side by side (pandoc is a separate process; the threads mostly
    wait for it). SOURCE_DATE_EPOCH (read by pandoc for DOCX dates) is the plan's date for the whole render,
    never the wall clock."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    def timed(function, *args, **kwargs) -> float:
        start = time.perf_counter()
        function(*args, **kwargs)
        return time.perf_counter() - start

    os.environ["SOURCE_DATE_EPOCH"] = str(int(dt.datetime.combine(stamp, dt.time(), dt.timezone.utc).timestamp()))
    with ThreadPoolExecutor(max_workers=3) as pool:
        jobs = [
            pool.submit(timed, render_html, chapters, folder / "html", project.title),
            pool.submit(timed, render_docx, chapters, folder / "book.docx", project.title, stamp, outputs or {},
                        header_left, footer_left),
            pool.submit(timed, render_pdf, chapters, folder / "book.pdf", project, header_left=header_left,
                        header_right=header_right, footer_left=footer_left, stamp=stamp),
        ]
        walls = [job.result() for job in jobs]  # re-raises the first failure (a SapError from Typst, say)
    return dict(zip(("html", "docx", "pdf"), walls))

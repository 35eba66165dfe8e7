"""Figure files with reproducible bytes: matplotlib's Agg backend, a fixed DPI and size, no creation date
or software stamp in PNG or SVG metadata, and a fixed SVG id salt."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DPI = 200
FIGURE_SIZE = (7.5, 4.2)  # inches: fits a portrait page inside the margins
STYLE = {
    "svg.hashsalt": "il2-sle-tlf",  # deterministic SVG element ids
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",  # shipped with matplotlib, so every machine draws the same glyphs
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def new_figure(size: tuple[float, float] = FIGURE_SIZE):
    """A figure and axes in the house style (use inside `plt.rc_context(STYLE)` or via this helper)."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=size, layout="constrained")
    return fig, ax


def check_axes_labelled(fig, where: str) -> None:
    """A figure without labelled axes is not fit for a report: refuse it (both axes of every subplot)."""
    for ax in fig.axes:
        if not ax.get_xlabel() or not ax.get_ylabel():
            raise ValueError(f"{where}: every axis needs a label (x={ax.get_xlabel()!r}, y={ax.get_ylabel()!r})")


def save_figure(fig, folder: Path, stem: str) -> dict[str, Path]:
    """Write `<stem>.png` and `<stem>.svg`; the same figure gives the same bytes on every run."""
    folder.mkdir(parents=True, exist_ok=True)
    check_axes_labelled(fig, stem)
    png, svg = folder / f"{stem}.png", folder / f"{stem}.svg"
    with plt.rc_context(STYLE):
        fig.savefig(png, dpi=DPI, format="png", metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return {"png": png, "svg": svg}

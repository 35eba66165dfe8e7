"""Renderers of `tlf.output.Output`: RTF (rtflite), HTML/Typst/Markdown blocks for the book, figure files,
the Quarto path and the Quarto-free fallback book renderer."""

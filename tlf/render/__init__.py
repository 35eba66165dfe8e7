"""Renderers of `tlf.output.Output`: the measured paginator (`layout`), RTF written from its page plan, HTML/Typst/Markdown blocks for the book, figure files,
the Quarto path and the Quarto-free fallback book renderer."""

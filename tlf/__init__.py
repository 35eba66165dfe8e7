"""Tables, listings and figures: output catalogue (`sap/outputs.yaml`), pure builders (ADaM in, display
object out), statistics helpers, and renderers (RTF, HTML, DOCX, Typst PDF) with a Quarto path and a
Quarto-free fallback."""

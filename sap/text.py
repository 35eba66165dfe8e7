"""Text from the data as text in every output format: escaped for the format, never read as its markup.

One function per format; the renderers (`tlf.render.blocks`, `tlf.render.rtf`) and the Markdown reports
(`validation.report`, `validation.qc.compare`) call these and nothing else to put a title, a header, a cell
or a value from the data on a page. A line break inside a value (a verbatim term typed on two
lines) is kept as a line break where the format has one, never passed on raw (a raw line break ends a
Markdown table row, and rtflite's text measure fails on one: `raqm_layout() failed`).
CSV cells are neutralised separately (`sap.csv_cells`).
"""

from __future__ import annotations

import html
import re

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Characters XML 1.0 cannot hold (DOCX is XML): C0 controls other than tab, line feed and carriage return.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Every ASCII punctuation character: Pandoc Markdown lets each be backslash-escaped (all_symbols_escapable),
# and an escaped character is always literal: no emphasis, link, raw HTML, list marker, smart quote or dash.
_MARKDOWN_PUNCTUATION = re.compile(r"([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_RTF_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")

# A line break inside a DOCX table cell: raw OpenXML, which pandoc's DOCX writer inserts as is.
DOCX_LINE_BREAK = "`<w:br/>`{=openxml}"


def lines(text: str) -> list[str]:
    """The lines of a value, whatever its line ends (CRLF, CR or LF)."""
    return _LINE_BREAK.split(text)


def html_text(text: str) -> str:
    """HTML element content or attribute value: & < > " ' escaped, each line break a `<br>`."""
    return "<br>".join(html.escape(line, quote=True) for line in lines(_NOT_XML.sub("\ufffd", text)))


def html_attribute(text: str) -> str:
    """An HTML attribute value (alt text): escaped, line breaks as spaces."""
    return html.escape(" ".join(lines(_NOT_XML.sub("\ufffd", text))), quote=True)


def markdown_text(text: str, line_break: str = " ") -> str:
    """Pandoc Markdown inline text that reads back as exactly `text`: every ASCII punctuation character
    backslash-escaped (so `[a](b)`, `<script>`, `*x*`, `=HYPERLINK("...")`, `1.` or `--` stay as typed), and
    each line break replaced by `line_break` (a space by default; `DOCX_LINE_BREAK` in DOCX cells). Leading
    and trailing spaces are kept as they are (Pandoc drops them; indentation is the renderer's job)."""
    escaped = [_MARKDOWN_PUNCTUATION.sub(r"\\\1", line) for line in lines(_NOT_XML.sub("\ufffd", text))]
    return line_break.join(escaped)


def typst_string(text: str) -> str:
    """A Typst string literal (cells are strings, so no markup character in the data is interpreted):
    backslash and quote escaped, line breaks as `\\n` (Typst sets a string's line break as one), tabs as
    `\\t`, other control characters as `\\u{...}`."""
    body = "\n".join(lines(text)).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return '"' + _NOT_XML.sub(lambda m: f"\\u{{{ord(m.group(0)):x}}}", body) + '"'


def _rtf_unicode(match: re.Match) -> str:
    units = match.group(0).encode("utf-16-le")
    values = (int.from_bytes(units[i:i + 2], "little") for i in range(0, len(units), 2))
    return "".join(f"\\u{v - 65536 if v > 32767 else v}?" for v in values)


def rtf_text(text: str) -> str:
    """Text as RTF: the control characters `\\ { }` escaped, every non-ASCII character as `\\uN?` (signed
    16-bit units, RTF 1.5), a line break as `\\line`, a tab as `\\tab`, any other control character as a
    `\\uN?` escape (never a raw byte a reader could take for markup)."""
    escaped = text.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
    escaped = "\\line ".join(lines(escaped)).replace("\t", "\\tab ")
    escaped = _RTF_CONTROL.sub(_rtf_unicode, escaped)
    return _NON_ASCII.sub(_rtf_unicode, escaped)


def xml_text(text: str) -> str:
    """XML 1.0 character data (DOCX parts): & < > escaped, characters XML cannot hold replaced by U+FFFD."""
    return html.escape(_NOT_XML.sub("\ufffd", text), quote=False)

"""Rendered-output QC (validation/qc/rendered.py): the numbers in an output's HTML section and RTF file are
its ARD's displayed texts; a changed, dropped or extra number fails, naming it."""

from pathlib import Path

import pandas as pd

from tlf.catalog import load_outputs
from tlf.efficacy import sri_primary_table
from tlf.render.rtf import write_rtf
from validation.qc.rendered import check_listing, check_rendered, check_table, html_tables, rtf_rows


def _ard(rows):
    return pd.DataFrame(rows, columns=["STAT", "VALUE", "FORMATTED"])


# 14.2.1-like ARD: 35 of N = 40 responders, 87.5% (73.2, 95.8), 5 non-responders, p < 0.001
ARD = _ard([("n", 35, "35"), ("N", 40, "40"), ("pct", 87.5, "87.5"), ("lcl", 73.2, "73.2"), ("ucl", 95.8, "95.8"),
            ("n", 5, "5"), ("p_binomial", 1e-12, "<0.001")])
ROWS = [["Responders, n/N", "35/40"], ["Response rate, %", "87.5"], ["95% CI, %", "73.2, 95.8"],
        ["Non-responders, n", "5"], ["p-value vs historical rate of 30%", "<0.001"]]


def test_table_numbers_are_the_ard_texts():
    assert check_table(ARD, ROWS)["status"] == "PASS"
    # the label column's numbers ("30%") are not cells of results
    wrong = [row[:] for row in ROWS]
    wrong[1][1] = "87.6"  # a renderer that re-rounded the rate
    result = check_table(ARD, wrong)
    assert result["status"] == "FAIL" and result["not in the ARD"] == ["87.6"] and result["ARD not shown"] == ["87.5"]
    dropped = [row for row in ROWS if row[0] != "Non-responders, n"]
    assert check_table(ARD, dropped)["ARD not shown"] == ["5"]


def test_zero_percentages_are_not_expected_and_ranges_are_not_negative():
    ard = _ard([("n", 0, "0"), ("N", 3, "3"), ("pct", 0, "0.0"), ("median", 31, "31.0"), ("min", 20, "20"), ("max", 60, "60")])
    assert check_table(ard, [["Methotrexate", "0"], ["Age, median (range)", "31.0 (20-60)"]])["status"] == "PASS"


def test_listing_cells_are_the_ard_texts():
    ard = _ard([("text", None, "S1"), ("text", None, "2014-01-03"), ("text", None, "S2"), ("text", None, "")])
    assert check_listing(ard, [["S1", "2014-01-03"], ["S2", ""]])["status"] == "PASS"
    assert check_listing(ard, [["S1", "2014-01-04"], ["S2", ""]])["status"] == "FAIL"


def test_html_sections_and_rtf_rows_are_read_back(tmp_path, adam, study):
    out = sri_primary_table(adam, load_outputs().get("14.2.1"), study)
    rtf = write_rtf(out, tmp_path / "rtf")
    rows = rtf_rows(rtf)
    body = [row for row in rows if row != rows[0] and len(row) == len(rows[0])]
    assert check_table(out.analysis_results(), body)["status"] == "PASS"
    # conftest ADRS: 36 responders of 40, so the RTF must show 36/40 and not 35/40
    assert ["Responders, n/N", "36/40"] in body
    planted = rtf.read_text(encoding="utf-8").replace("36/40", "35/40")
    rtf.write_text(planted, encoding="utf-8")
    planted_rows = rtf_rows(rtf)
    failed = check_table(out.analysis_results(), [r for r in planted_rows if r != planted_rows[0] and len(r) == len(planted_rows[0])])
    assert failed["status"] == "FAIL" and "35" in failed["not in the ARD"]
    page = tmp_path / "html" / "14-2-efficacy.html"
    page.parent.mkdir()
    cells = "".join(f"<tr><td>{a}</td><td>{b.replace('<', '&lt;')}</td></tr>" for a, b in body)
    page.write_text(f'<html><body><section id="t-14-2-1"><table><thead><tr><th>x</th><th>y</th></tr></thead>'
                    f"<tbody>{cells}</tbody></table></section></body></html>", encoding="utf-8")
    assert html_tables(tmp_path / "html")["t-14-2-1"] == [list(row) for row in body]


def test_check_rendered_reads_a_run_folder(tmp_path):
    ard_dir = tmp_path / "ard"
    ard_dir.mkdir()
    ARD.assign(OUTPUT="14.2.1").to_parquet(ard_dir / "t-14-2-1.parquet")
    (tmp_path / "html").mkdir()
    # the book writes the label cell as a row header (th scope=row)
    cells = "".join(f'<tr><th scope="row">{a}</th><td>{b.replace("<", "&lt;")}</td></tr>' for a, b in ROWS)
    (tmp_path / "html" / "p.html").write_text(f'<section id="t-14-2-1"><table><tbody>{cells}</tbody></table></section>',
                                              encoding="utf-8")
    assert check_rendered(tmp_path) == {"t-14-2-1": {"html": check_table(ARD, ROWS)}}
    assert check_rendered(tmp_path)["t-14-2-1"]["html"]["status"] == "PASS"


def _docx_book(path: Path, rows: list[list[str]]) -> None:
    """A two-section DOCX book as the renderer lays it out: a prose section, then Table 14.2.1's section
    (footer "Table 14.2.1") with a repeated header row (w:tblHeader) and a minus sign as w:noBreakHyphen."""
    import docx
    from docx.enum.section import WD_SECTION
    from docx.oxml import OxmlElement

    document = docx.Document()
    document.add_paragraph("Statistical analysis plan")
    section = document.add_section(WD_SECTION.NEW_PAGE)
    section.footer.is_linked_to_previous = False
    section.footer.paragraphs[0].text = "Table 14.2.1"
    table = document.add_table(rows=0, cols=2)
    header = table.add_row()
    header.cells[0].text, header.cells[1].text = "SRI-4 at Week 10", "IL-2 (N=40)"
    header._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    for label, value in rows:
        row = table.add_row()
        row.cells[0].text = label
        paragraph = row.cells[1].paragraphs[0]
        if value.startswith("-"):  # the renderer's non-breaking minus
            paragraph.add_run()._r.append(OxmlElement("w:noBreakHyphen"))
            value = value[1:]
        paragraph.add_run(value)
    document.save(str(path))


def test_docx_sections_are_read_back_by_their_footer(tmp_path):
    from validation.qc.rendered import docx_tables

    ard = _ard([*ARD.values.tolist(), ("mean", -0.95, "-0.95")])
    rows = [*ROWS, ["Change, mean", "-0.95"]]
    _docx_book(tmp_path / "book.docx", rows)
    found = docx_tables(tmp_path / "book.docx")
    assert found == {"t-14-2-1": rows}  # header row left out, the minus sign read as "-"
    assert check_table(ard, found["t-14-2-1"])["status"] == "PASS"
    _docx_book(tmp_path / "wrong.docx", [*ROWS[:1], ["Response rate, %", "88"], *ROWS[2:], ["Change, mean", "-0.95"]])
    assert check_table(ard, docx_tables(tmp_path / "wrong.docx")["t-14-2-1"])["not in the ARD"] == ["88"]

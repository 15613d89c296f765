"""A certificate's PDF (reportlab, A4, text extractable) from its view model: fonts by the script of its text,
the layout of its sections, and the DRAFT / VOID watermark on every page."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from gxopt import __version__
from gxopt.report import fmt
from gxopt.report.certificate import Certificate
from gxopt.report.certificates_doc import view
from gxopt.report.data import GUIDELINE
from gxopt.report.issuer import Issuer

_FONTS: tuple[str, str] | None = None


def _texts(obj: Any) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [t for v in obj.values() for t in _texts(v)]
    if isinstance(obj, (list, tuple)):
        return [t for v in obj for t in _texts(v)]
    return []


def _script(v: dict[str, Any]) -> str:
    """``latin`` when every text fits the standard PDF fonts (cp1252), ``cjk`` for Japanese/Chinese text,
    else ``unicode``."""
    text = "".join(_texts({k: x for k, x in v.items() if k != "c"})
                   + _texts([v["c"].customer, v["c"].product_id, v["c"].certificate_id]))
    try:
        text.encode("cp1252")
        return "latin"
    except UnicodeEncodeError:
        pass
    cjk = any(0x3000 <= ord(ch) <= 0x9FFF or 0xF900 <= ord(ch) <= 0xFAFF or 0xFF00 <= ord(ch) <= 0xFFEF
              for ch in text)
    return "cjk" if cjk else "unicode"


def _fonts(script: str = "unicode") -> tuple[str, str]:
    """Regular and bold font names: Helvetica (small files) when the text allows; for Japanese text the Adobe
    CID font HeiseiKakuGo-W5 (Latin, Greek and Japanese; standard in PDF viewers, not embedded); otherwise
    DejaVu Sans (shipped with matplotlib, embedded as a subset)."""
    global _FONTS
    if script == "latin":
        return ("Helvetica", "Helvetica-Bold")
    if script == "cjk":
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        if "HeiseiKakuGo-W5" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
        return ("HeiseiKakuGo-W5", "HeiseiKakuGo-W5")
    if _FONTS is None:
        try:
            import matplotlib
            from reportlab.pdfbase import pdfmetrics
            from reportlab.pdfbase.ttfonts import TTFont

            ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
            pdfmetrics.registerFont(TTFont("GxSans", str(ttf / "DejaVuSans.ttf")))
            pdfmetrics.registerFont(TTFont("GxSans-Bold", str(ttf / "DejaVuSans-Bold.ttf")))
            _FONTS = ("GxSans", "GxSans-Bold")
        except Exception:  # noqa: BLE001 - any failure: the standard fonts still work (ASCII text)
            _FONTS = ("Helvetica", "Helvetica-Bold")
    return _FONTS


def write_pdf(who: Issuer, c: Certificate, file: Path | BinaryIO, v: dict[str, Any] | None = None) -> None:
    """Write the certificate's PDF (A4, text extractable; drafts watermarked on every page)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    v = v or view(who, c)
    regular, bold = _fonts(_script(v))
    base = ParagraphStyle("b", fontName=regular, fontSize=8.5, leading=11)
    small = ParagraphStyle("s", parent=base, fontSize=7, leading=8.6)
    head = ParagraphStyle("h", parent=base, fontName=bold, fontSize=10.5, leading=13, spaceBefore=7, spaceAfter=3,
                          textColor=colors.HexColor("#1f618d"))
    title = ParagraphStyle("t", parent=base, fontName=bold, fontSize=15, leading=18, spaceAfter=2)
    banner_colors = {"draft": "#fdebd0", "void": "#fadbd8", "issued": "#d5f5e3"}

    def para(text: Any, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph("<br/>".join(escape(part) for part in str(text).split("\n")), style)

    def kv(rows: list[tuple[str, str]]) -> Table:
        t = Table([[para(k, ParagraphStyle("k", parent=base, fontName=bold)), para(val)] for k, val in rows],
                  colWidths=[62 * mm, 112 * mm])
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#d5dbdb")),
                               ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f4f6f7")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
        return t

    def grid(header: list[str], rows: list[list[Any]], widths: list[float]) -> Table:
        hs = ParagraphStyle("th", parent=small, fontName=bold)
        t = Table([[para(h, hs) for h in header]] + [[para(x, small) for x in r] for r in rows],
                  colWidths=[w * mm for w in widths], repeatRows=1)
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#d5dbdb")),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eaf2f8")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]))
        return t

    story: list[Any] = [para(v["title"], title),
                        para(f"{who.organization} - {GUIDELINE}", ParagraphStyle("st", parent=base,
                                                                                 textColor=colors.grey))]
    kind, text = v["banner"]
    bt = Table([[para(text, ParagraphStyle("bn", parent=base, fontName=bold))]], colWidths=[174 * mm])
    bt.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), colors.HexColor(banner_colors[kind])),
                            ("BOX", (0, 0), (-1, -1), 1, colors.HexColor("#7e5109" if kind == "draft" else "#555555"))]))
    story += [Spacer(1, 4), bt]
    for w in v["warnings"]:  # buyer protection: visible before anything else
        wt = Table([[para(w, ParagraphStyle("wn", parent=base, fontName=bold, textColor=colors.HexColor("#78281f")))]],
                   colWidths=[174 * mm])
        wt.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fadbd8")),
                                ("BOX", (0, 0), (-1, -1), 1.5, colors.HexColor("#a93226"))]))
        story += [Spacer(1, 3), wt]
    story += [para("Certificate and parties", head), kv(v["parties"]),
              para("Steel product (8.5: description and purchase volume)", head), kv(v["product"]),
              para("Carbon footprint (CFP)", head), kv(v["cfp"]),
              para("Reduction" if c.method == "allocation" else "REPs assigned (7.3)", head), kv(v["reductions"]),
              para("REP lines: project, calculation period, gas, physical connection, verification", head),
              grid(["#", "Project", "Period", "Gases included", "REPs t-CO2e", "Site link (crude-steel site)",
                    "Physical connection (evidence)", "Verifier, statement"],
                   [[ln["no"], f"{ln['project']}: {ln['name']}" + (f" [{ln['technology']}]" if ln["technology"] != "–"
                                                                    else ""),
                     ln["period"].replace(" to ", " to\n"), ln["gas"], ln["reps"], ln["link"], ln["evidence"],
                     f"{ln['verifier']}\n{ln['statement']}"] for ln in v["lines"]],
                   [6, 30, 19, 18, 17, 24, 33, 27])]
    if v["transfers"]:
        story += [para("Attribute certificates passed downstream (7.5)", head),
                  grid(["Transfer", "From", "To", "t-CO2e", "Created"],
                       [[t["id"], t["from"], t["to"], t["reps"], t["created"]] for t in v["transfers"]],
                       [40, 40, 40, 24, 30])]
    story.append(para("Statements", head))
    for h, txt in v["statements"]:
        story.append(KeepTogether([para(h, ParagraphStyle("sh", parent=base, fontName=bold)), para(txt),
                                   Spacer(1, 3)]))
    lz = v["lens"]
    site_given = lz["site_intensity"]["site_intensity"] is not None
    story += [para("SteelZero lens (reports only; embodied numbers only)", head), para(v["claimed_text"]),
              grid(["Scale (t-CO2e/t crude steel)", "Formula", "Threshold at s", "General CFP (embodied) meets",
                    "Crude-steel site intensity meets" if site_given else "Claimed CFP"],
                   [[r["scale"], r["formula"], fmt.cfp(r["threshold"]), _yn(r["physical"]),
                     _yn(r["site"]) if site_given else v["not_recognised"]] for r in v["lens_rows"]],
                   [50, 26, 24, 32, 42]),
              para(v["boundary_note"], small), Spacer(1, 3),
              para(f"Site link of the REPs to the site where the product's crude steel is made "
                   f"({c.crude_steel_site or 'unknown'}): {lz['site_link']} (same site {fmt.reps(lz['same_site_t'])} "
                   f"t-CO2e, pooled across sites {fmt.reps(lz['pooled_t'])} t-CO2e)."
                   + ("" if not lz["not_from_crude_steel_site"] else " Not from the product's crude-steel site: "
                      + "; ".join(lz["not_from_crude_steel_site"]) + ".")),
              grid(["SteelZero disclosure item", "On this certificate", "Detail"],
                   [[i["item"], i["status"], i["detail"]] for i in lz["items"]], [60, 24, 90])]
    if lz["scrap_recovery_condition"]:
        story.append(para(f"Projects raising scrap use on this certificate: {', '.join(lz['scrap_raising_projects'])}. "
                          + lz["scrap_recovery_condition"]))
    story.append(para(v["steelzero_position"], small))
    story += [para("Integrity", head), kv(v["integrity"])]

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(regular, 7)
        canvas.setFillColor(colors.grey)
        canvas.drawString(18 * mm, 10 * mm, f"{c.certificate_id} - {who.organization} - page {doc.page}")
        canvas.drawRightString(192 * mm, 10 * mm, f"gxopt {__version__}")
        if c.draft or c.status == "void":
            canvas.setFont(bold, 46)
            canvas.setFillColor(colors.Color(0.85, 0.45, 0.1, alpha=0.18) if c.draft
                                else colors.Color(0.7, 0.1, 0.1, alpha=0.18))
            canvas.translate(105 * mm, 148 * mm)
            canvas.rotate(45)
            canvas.drawCentredString(0, 0, "DRAFT — NOT ISSUED" if c.draft else "VOID")
        canvas.restoreState()

    doc = SimpleDocTemplate(str(file) if isinstance(file, Path) else file, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm,
                            bottomMargin=16 * mm, title=v["title"] + " " + c.certificate_id,
                            author=who.organization, subject=GUIDELINE, creator=f"gxopt {__version__}",
                            invariant=True)
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)


def _yn(v: Any) -> str:
    return "–" if v is None else ("yes" if v else "no")

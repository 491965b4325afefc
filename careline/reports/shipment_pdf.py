"""A printable temperature report for a shipment (PDF, drawn with fpdf2: pure PyPI).

One page section per leg: route, vehicle, times, the verdict per product (readings, min,
max, MKT, time out of range, rules broken), and the temperature chart with the labelled
range as a band and the excursions shaded, drawn as vector lines.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fpdf import FPDF

from crm_core.traceability.queries import Conn, forward_from_lots, lots_of_shipment
from devices.coldchain.online import DOOR, TEMPERATURE
from devices.coldchain.postgres import leg_series
from devices.metric_ids import metric_id_map

CHART_W, CHART_H = 180.0, 55.0


def _text(value: str) -> str:
    """fpdf2's core fonts are Latin-1: keep what they can draw."""
    return (
        value.replace("°", " deg ")
        .replace("→", "->")
        .encode("latin-1", "replace")
        .decode("latin-1")
    )


def _chart(
    pdf: FPDF,
    temps: list[tuple[float, float]],
    band: tuple[float, float] | None,
    spans: list[tuple[float, float]],
) -> None:
    x0, y0 = pdf.get_x(), pdf.get_y()
    pdf.set_draw_color(160, 160, 160)
    pdf.rect(x0, y0, CHART_W, CHART_H)
    if len(temps) < 2:
        pdf.set_xy(x0 + 4, y0 + CHART_H / 2)
        pdf.cell(0, 5, "no readings")
        pdf.set_xy(x0, y0 + CHART_H + 4)
        return
    t_lo, t_hi = temps[0][0], temps[-1][0]
    values = [v for _, v in temps] + (list(band) if band else [])
    v_lo, v_hi = min(values) - 1, max(values) + 1

    def x(t: float) -> float:
        return x0 + (t - t_lo) / max(t_hi - t_lo, 1) * CHART_W

    def y(v: float) -> float:
        return y0 + CHART_H - (v - v_lo) / (v_hi - v_lo) * CHART_H

    if band:
        pdf.set_fill_color(214, 240, 214)
        pdf.rect(x0, y(band[1]), CHART_W, y(band[0]) - y(band[1]), style="F")
    pdf.set_fill_color(248, 214, 214)
    for a, b in spans:
        pdf.rect(
            x(max(a, t_lo)), y0, max(x(min(b, t_hi)) - x(max(a, t_lo)), 0.3), CHART_H, style="F"
        )
    pdf.set_draw_color(31, 95, 160)
    pdf.set_line_width(0.3)
    pdf.polyline([(x(t), y(v)) for t, v in temps])
    pdf.set_font("helvetica", size=7)
    for v in (v_lo + 1, v_hi - 1):
        pdf.text(x0 - 9, y(v) + 1, f"{v:.0f}")
    first = datetime.fromtimestamp(t_lo, UTC).strftime("%Y-%m-%d %H:%M")
    last = datetime.fromtimestamp(t_hi, UTC).strftime("%H:%M UTC")
    pdf.text(x0, y0 + CHART_H + 4, f"{first} - {last}; green: labelled range; red: excursions")
    pdf.set_xy(x0, y0 + CHART_H + 7)


def shipment_pdf(conn: Conn, reference: str) -> bytes:
    trace = forward_from_lots(conn, lots_of_shipment(conn, reference))
    ids = metric_id_map(conn)
    pdf = FPDF()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 14)
    pdf.cell(
        0, 8, _text(f"Temperature report: shipment {reference}"), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("helvetica", size=9)
    pdf.cell(
        0,
        5,
        _text("Lots: " + ", ".join(f"{lot.lot} ({lot.product})" for lot in trace.lots)),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for leg in [lg for lg in trace.legs if lg.shipment == reference]:
        pdf.ln(3)
        pdf.set_font("helvetica", "B", 11)
        pdf.cell(
            0,
            6,
            _text(f"Leg {leg.seq}: {leg.origin} -> {leg.destination}, {leg.vehicle}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_font("helvetica", size=9)
        arrived = leg.arrived_at.strftime("%Y-%m-%d %H:%M") if leg.arrived_at else "in transit"
        pdf.cell(
            0,
            5,
            f"{leg.departed_at:%Y-%m-%d %H:%M} -> {arrived} UTC",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        for gtin, name, n, lo, hi, mkt, tor, breached in conn.execute(
            "SELECT e.gtin, p.name, e.readings, e.min_temp, e.max_temp, e.mkt, e.tor_min, "
            "e.breached FROM leg_evaluations e JOIN products p ON p.gtin = e.gtin "
            "WHERE e.leg_id = %s ORDER BY e.gtin",
            (leg.leg_id,),
        ).fetchall():
            verdict = "EXCURSION: " + ", ".join(breached) if breached else "within range"
            line = (
                f"{name} ({gtin}): {n} readings, min {lo}, max {hi}, MKT "
                f"{mkt if mkt is None else round(mkt, 2)} deg C, {tor:.0f} min out of range: "
                f"{verdict}"
            )
            pdf.multi_cell(0, 5, _text(line), new_x="LMARGIN", new_y="NEXT")
        temps, _ = leg_series(conn, leg.leg_id, ids[TEMPERATURE], ids[DOOR])
        band = conn.execute(
            "SELECT max(p.range_min), min(p.range_max) FROM leg_lots ll JOIN lots l "
            "ON l.id = ll.lot_id JOIN products p ON p.gtin = l.gtin "
            "WHERE ll.leg_id = %s AND p.temp_class <> 'ambient'",
            (leg.leg_id,),
        ).fetchone()
        spans = [
            (a.timestamp(), b.timestamp())
            for a, b in conn.execute(
                "SELECT DISTINCT started_at, ended_at FROM excursions WHERE leg_id = %s "
                "AND kind IN ('high', 'low')",
                (leg.leg_id,),
            ).fetchall()
        ]
        if pdf.get_y() + CHART_H + 12 > pdf.h - 15:
            pdf.add_page()
        pdf.set_x(pdf.l_margin + 6)
        _chart(
            pdf,
            sorted(temps),
            (float(band[0]), float(band[1])) if band and band[0] is not None else None,
            spans,
        )
    return bytes(pdf.output())

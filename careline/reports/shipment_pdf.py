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

CHART_W, CHART_H = 176.0, 55.0


RULES = {
    "single": "one run out of range longer than the product's single-event limit",
    "cumulative": "total time out of range over the stability budget",
    "mkt": "mean kinetic temperature above the labelled maximum",
}


def _text(value: str) -> str:
    """fpdf2's core fonts are Latin-1 (which has the degree sign): keep what they can draw."""
    return value.replace("→", "->").replace("–", "-").encode("latin-1", "replace").decode("latin-1")


def _ticks(lo: float, hi: float, band: tuple[float, float] | None) -> list[float]:
    """Whole degrees to label: the band's edges and the readings' extremes."""
    edges = {round(band[0]), round(band[1])} if band else set()
    # an extreme within 2 degrees of a band edge would print on top of it
    extremes = {v for v in (round(lo), round(hi)) if all(abs(v - e) >= 2 for e in edges)}
    return sorted(edges | extremes)


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
    pdf.set_line_width(0.2)
    pdf.set_draw_color(120, 120, 120)
    pdf.set_font("helvetica", size=7)
    readings = [v for _, v in temps]
    for v in _ticks(min(readings), max(readings), band):
        pdf.line(x0 - 1.5, y(v), x0, y(v))
        pdf.text(x0 - 10, y(v) + 1, _text(f"{v:.0f} °C"))
    # hour ticks along the time axis (at most about a dozen labels)
    step = 3600 * max(1, round((t_hi - t_lo) / 3600 / 12))
    tick = (int(t_lo) // step + 1) * step
    while tick < t_hi:
        pdf.line(x(tick), y0 + CHART_H, x(tick), y0 + CHART_H + 1.5)
        pdf.text(
            x(tick) - 3.5, y0 + CHART_H + 4.5, datetime.fromtimestamp(tick, UTC).strftime("%H:%M")
        )
        tick += step
    first = datetime.fromtimestamp(t_lo, UTC).strftime("%Y-%m-%d %H:%M")
    last = datetime.fromtimestamp(t_hi, UTC).strftime("%Y-%m-%d %H:%M UTC")
    pdf.text(x0, y0 + CHART_H + 9, f"{first} to {last}. Green: labelled range; red: excursions.")
    pdf.set_xy(x0, y0 + CHART_H + 12)


def shipment_pdf(conn: Conn, reference: str, now: datetime) -> bytes:
    carried = lots_of_shipment(conn, reference)
    # the forward trace also holds what these lots were repacked into: not on this shipment
    trace = forward_from_lots(conn, carried)
    lots = [lot for lot in trace.lots if lot.lot_id in carried]
    ids = metric_id_map(conn)
    names: dict[str, str] = dict(conn.execute("SELECT gln, name FROM supply_sites").fetchall())
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
        _text("Lots: " + ", ".join(f"{lot.lot} ({lot.product})" for lot in lots)),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for leg in [lg for lg in trace.legs if lg.shipment == reference]:
        pdf.ln(3)
        pdf.set_font("helvetica", "B", 11)
        pdf.cell(
            0,
            6,
            _text(
                f"Leg {leg.seq}: {names.get(leg.origin, leg.origin)} -> "
                f"{names.get(leg.destination, leg.destination)}, {leg.vehicle}"
            ),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_font("helvetica", size=9)
        arrived = leg.arrived_at.strftime("%Y-%m-%d %H:%M") if leg.arrived_at else "in transit"
        pdf.cell(
            0,
            5,
            f"{leg.departed_at:%Y-%m-%d %H:%M} -> {arrived} UTC; "
            f"GLN {leg.origin} -> {leg.destination}",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        for gtin, name, lo_range, hi_range, n, lo, hi, mkt, tor, breached in conn.execute(
            "SELECT e.gtin, p.name, p.range_min, p.range_max, e.readings, e.min_temp, "
            "e.max_temp, e.mkt, e.tor_min, e.breached FROM leg_evaluations e "
            "JOIN products p ON p.gtin = e.gtin WHERE e.leg_id = %s ORDER BY e.gtin",
            (leg.leg_id,),
        ).fetchall():
            verdict = (
                "EXCURSION: " + "; ".join(RULES.get(b, b) for b in breached)
                if breached
                else "Within range"
            )
            figures = (
                f"{n} readings, {lo:.1f} to {hi:.1f} °C, MKT {mkt:.2f} °C"
                if n and lo is not None and hi is not None and mkt is not None
                else "no readings"
            )
            line = (
                f"{name} ({gtin}, labelled {lo_range:g} to {hi_range:g} °C): {figures}, "
                f"{tor:.0f} min out of range. {verdict}."
            )
            pdf.set_font("helvetica", "B" if breached else "", 9)
            pdf.multi_cell(0, 5, _text(line), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=9)
        loggers = [
            str(r[0])
            for r in conn.execute(
                "SELECT d.serial FROM logger_assignments a JOIN devices d ON d.id = a.device_id "
                "WHERE a.leg_id = %s ORDER BY a.from_ts",
                (leg.leg_id,),
            ).fetchall()
        ]
        pdf.cell(
            0,
            5,
            _text("Loggers: " + (", ".join(loggers) if loggers else "none assigned")),
            new_x="LMARGIN",
            new_y="NEXT",
        )
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
        if pdf.get_y() + CHART_H + 16 > pdf.h - 15:
            pdf.add_page()
        pdf.ln(2)
        pdf.set_x(pdf.l_margin + 12)
        _chart(
            pdf,
            sorted(temps),
            (float(band[0]), float(band[1])) if band and band[0] is not None else None,
            spans,
        )
    pdf.ln(4)
    pdf.set_font("helvetica", "I", 7)
    pdf.cell(0, 4, f"Generated {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC by careline.")
    return bytes(pdf.output())

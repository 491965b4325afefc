"""``careline epcis export|import``: GS1 EPCIS 2.0 JSON-LD documents of the supply chain.

Export writes one EPCISDocument (for a lot, a shipment or a period) to a file or stdout;
import reads one, checks it against GS1's schema and upserts it in one transaction (a
document imported twice changes nothing; an invalid one changes nothing and says why).
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from careline.commands.context import cli_settings
from crm_core.kernel.errors import NotFound
from crm_core.traceability.model import TraceabilityError

epcis_app = typer.Typer(help="GS1 EPCIS 2.0 JSON-LD export and import of the supply chain.")
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


@epcis_app.command("export")
def export(
    gtin: Annotated[str | None, typer.Option(help="GTIN of the lot (with --lot).")] = None,
    lot: Annotated[str | None, typer.Option(help="Lot code.")] = None,
    shipment: Annotated[str | None, typer.Option(help="Shipment reference.")] = None,
    since: Annotated[datetime | None, typer.Option(help="Period start (UTC if no zone).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Period end (exclusive).")] = None,
    output: Annotated[Path | None, typer.Option("-o", help="File (default: stdout).")] = None,
) -> None:
    """Export an EPCISDocument for a lot, a shipment or a period."""
    from careline.bootstrap import start_endpoints
    from crm_core.kernel.pool import open_pool
    from crm_core.traceability import gs1
    from crm_core.traceability.epcis.service import export_epcis
    from crm_core.traceability.queries import find_lot
    from devices.coldchain.online import TEMPERATURE

    settings = cli_settings()

    def utc(value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value

    try:
        with ExitStack() as stack:
            endpoints = start_endpoints(settings, stack, broker=False)
            pool = stack.enter_context(open_pool(endpoints.database_url, min_size=1, max_size=1))
            with pool.connection() as conn:
                lot_id = find_lot(conn, gs1.gtin(gtin), lot) if gtin and lot else None
                document = export_epcis(
                    conn,
                    schema_file=settings.epcis.schema_file,
                    now=datetime.now(UTC),
                    temperature_metric=TEMPERATURE,
                    lot_id=lot_id,
                    shipment=shipment if lot_id is None else None,
                    since=utc(since),
                    until=utc(until),
                )
    except (NotFound, TraceabilityError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        events = len(document["epcisBody"]["eventList"])
        typer.echo(f"{events} events written to {output}", err=True)


@epcis_app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="An EPCISDocument (JSON or JSON-LD).")],
) -> None:
    """Check a document against GS1's schema and upsert it (all or nothing)."""
    from careline.bootstrap import start_endpoints
    from crm_core.kernel.pool import open_pool
    from crm_core.traceability.epcis.service import import_epcis

    settings = cli_settings()
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise TraceabilityError(f"{path}: larger than {MAX_DOCUMENT_BYTES} bytes")
        document = json.loads(raw)
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {path}: {exc}", err=True)
        raise typer.Exit(1) from exc
    try:
        with ExitStack() as stack:
            endpoints = start_endpoints(settings, stack, broker=False)
            pool = stack.enter_context(open_pool(endpoints.database_url, min_size=1, max_size=1))
            with pool.connection() as conn, conn.transaction():
                result = import_epcis(
                    conn,
                    document,
                    schema_file=settings.epcis.schema_file,
                    actor="cli",
                    now=datetime.now(UTC),
                )
    except TraceabilityError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps(result.model_dump()))

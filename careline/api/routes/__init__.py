"""The API's routers: health (open) and the ``/api/v1`` resources (authenticated)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from careline.api.deps import require_viewer
from careline.api.errors import responses
from careline.api.routes import (
    consents,
    contracts,
    customers,
    dead_letters,
    devices,
    faults,
    imports,
    investigations,
    offers,
    outbox,
    presence,
    product_issues,
    recalls,
    reports,
    sites,
    surveys,
    technicians,
    thresholds,
    ticket_customer,
    tickets,
    traceability,
    users,
)


def api_v1_router() -> APIRouter:
    """Every ``/api/v1`` route; each one needs at least the viewer role."""
    router = APIRouter(
        prefix="/api/v1",
        dependencies=[Depends(require_viewer)],
        responses=responses(401, 403, 422, 503),
    )
    modules = (
        customers,
        consents,
        sites,
        devices,
        contracts,
        imports,
        thresholds,
        faults,
        tickets,
        ticket_customer,
        technicians,
        product_issues,
        reports,
        surveys,
        dead_letters,
        outbox,
        users,
        presence,
        offers,
        traceability,
        recalls,
        investigations,
    )
    for module in modules:
        router.include_router(module.router)
    router.include_router(recalls.complaints_router)
    return router

"""``/api/v1/sites``: where customers' devices are installed."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from careline.api.deps import Conn, Now, RequireAdmin, RequireAgent, require_unscoped
from careline.api.errors import responses
from crm_core.customers.queries import Site, get_site, list_sites
from crm_core.customers.records import SiteFields, SitePatch
from crm_core.customers.service import delete_site, save_site, update_site

# Callers limited to some customers use the customer routes; these are for full access.
router = APIRouter(prefix="/sites", tags=["sites"], dependencies=[Depends(require_unscoped)])


@router.get("", summary="A customer's sites")
def sites_list(customer_id: int, conn: Conn) -> list[Site]:
    return list_sites(conn, customer_id)


@router.get("/{site_id}", summary="One site", responses=responses(404))
def site_get(site_id: int, conn: Conn) -> Site:
    return get_site(conn, site_id)


@router.post(
    "",
    status_code=201,
    summary="Add a site to a customer (agent or admin)",
    responses=responses(422),
)
def site_create(body: SiteFields, conn: Conn, now: Now, principal: RequireAgent) -> Site:
    written = save_site(conn, None, body, actor=principal.name, now=now)
    return get_site(conn, written.id)


@router.patch("/{site_id}", summary="Change a site (agent or admin)", responses=responses(404, 422))
def site_update(
    site_id: int, body: SitePatch, conn: Conn, now: Now, principal: RequireAgent
) -> Site:
    update_site(conn, site_id, body, actor=principal.name, now=now)
    return get_site(conn, site_id)


@router.delete(
    "/{site_id}",
    status_code=204,
    summary="Delete a site no device is installed at (admin)",
    responses=responses(404, 422),
)
def site_delete(site_id: int, conn: Conn, now: Now, principal: RequireAdmin) -> Response:
    delete_site(conn, site_id, actor=principal.name, now=now)
    return Response(status_code=204)

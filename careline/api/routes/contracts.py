"""``/api/v1/contracts``: service contracts, for all of a customer's devices or one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from careline.api.deps import Conn, Now, Paging, RequireAdmin, RequireAgent, require_unscoped
from careline.api.errors import responses
from crm_core.customers.queries import Contract, get_contract, list_contracts
from crm_core.customers.records import ContractFields, ContractPatch
from crm_core.customers.service import delete_contract, save_contract, update_contract
from crm_core.kernel.read_models import Listing

# Callers limited to some customers use the customer routes; these are for full access.
router = APIRouter(
    prefix="/contracts", tags=["contracts"], dependencies=[Depends(require_unscoped)]
)


@router.get("", summary="Contracts, the latest ending first")
def contracts_list(
    conn: Conn,
    page: Paging,
    customer_id: Annotated[int | None, Query(description="Only this customer's.")] = None,
) -> Listing[Contract]:
    return Listing.of(list_contracts(conn, customer_id=customer_id, page=page), page)


@router.get("/{contract_id}", summary="One contract", responses=responses(404))
def contract_get(contract_id: int, conn: Conn) -> Contract:
    return get_contract(conn, contract_id)


@router.post(
    "", status_code=201, summary="Add a contract (agent or admin)", responses=responses(422)
)
def contract_create(
    body: ContractFields, conn: Conn, now: Now, principal: RequireAgent
) -> Contract:
    written = save_contract(conn, None, body, actor=principal.name, now=now)
    return get_contract(conn, written.id)


@router.patch(
    "/{contract_id}",
    summary="Change a contract's tier, device or dates (agent or admin)",
    responses=responses(404, 422),
)
def contract_update(
    contract_id: int, body: ContractPatch, conn: Conn, now: Now, principal: RequireAgent
) -> Contract:
    update_contract(conn, contract_id, body, actor=principal.name, now=now)
    return get_contract(conn, contract_id)


@router.delete(
    "/{contract_id}",
    status_code=204,
    summary="Delete a contract entered by mistake (admin); end one by its ends_on",
    responses=responses(404),
)
def contract_delete(contract_id: int, conn: Conn, now: Now, principal: RequireAdmin) -> Response:
    delete_contract(conn, contract_id, actor=principal.name, now=now)
    return Response(status_code=204)

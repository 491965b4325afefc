"""``/api/v1/users``: an administrator ends a staff user's console sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from careline.api.deps import Conn, Now, RequireAdmin, require_unscoped
from careline.api.errors import responses
from crm_core.auth.sessions import revoke_user_sessions
from crm_core.kernel.errors import NotFound

router = APIRouter(prefix="/users", tags=["users"], dependencies=[Depends(require_unscoped)])

Email = Annotated[str, Path(min_length=3, max_length=254, description="The user's e-mail.")]


class RevokedSessions(BaseModel):
    email: str
    revoked: int


@router.delete(
    "/{email}/sessions",
    summary="Sign a user out everywhere: end all their console sessions now (admin)",
    responses=responses(404),
)
def sessions_revoke(email: Email, conn: Conn, now: Now, principal: RequireAdmin) -> RevokedSessions:
    revoked = revoke_user_sessions(conn, email, now, actor=principal.name)
    if revoked is None:
        raise NotFound(f"user {email!r} does not exist")
    return RevokedSessions(email=email.strip().lower(), revoked=revoked)

"""The console's CSV import (admins): upload a file, see what went in and what was refused,
download the rejected rows as CSV (the API's report, reached with the console session)."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRouter

from careline.api.deps import Conn, Context, Now
from careline.api.routes.imports import read_upload
from careline.console.customer_pages import not_found, render
from careline.console.pages import PREFIX, ConsoleUser
from careline.crm_import.kinds import KINDS, SPECS, Kind
from careline.crm_import.reading import ImportFileError
from careline.crm_import.run import get_import, list_imports, run_import
from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import Page

RECENT = 20


def install_import_pages(app: FastAPI) -> None:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    def page(
        request: Request,
        user: ConsoleUser,
        conn: Conn,
        context: Context,
        *,
        kind: str = "customers",
        error: str | None = None,
    ) -> HTMLResponse:
        return render(
            request,
            "imports.html",
            user,
            status_code=400 if error else 200,
            kinds=KINDS,
            columns={k: SPECS[k].columns for k in KINDS},
            kind=kind,
            error=error,
            limits=context.settings.imports,
            imports=list_imports(conn, Page(RECENT)),
        )

    @router.get("/imports")
    def imports_page(
        request: Request, user: ConsoleUser, conn: Conn, context: Context
    ) -> HTMLResponse:
        if not user.allows("admin") or user.customer_ids is not None:
            return render(request, "forbidden.html", user, status_code=403)
        return page(request, user, conn, context)

    @router.post("/imports")
    def import_upload(
        request: Request,
        *,
        user: ConsoleUser,
        conn: Conn,
        context: Context,
        now: Now,
        kind: Annotated[Kind, Form()],
        file: Annotated[UploadFile, File()],
    ) -> Response:
        if not user.allows("admin") or user.customer_ids is not None:
            return render(request, "forbidden.html", user, status_code=403)
        limits = context.settings.imports
        try:
            run = run_import(
                conn,
                context.catalog,
                kind,
                file.filename or "upload.csv",
                read_upload(file, limits.max_bytes),
                limits,
                actor=user.name,
                now=now,
            )
        except ImportFileError as exc:
            return page(request, user, conn, context, kind=kind, error=str(exc))
        return RedirectResponse(f"{PREFIX}/imports/{run.id}", status_code=303)

    @router.get("/imports/{import_id}")
    def import_page(request: Request, import_id: int, user: ConsoleUser, conn: Conn) -> Response:
        if not user.allows("admin") or user.customer_ids is not None:
            return render(request, "forbidden.html", user, status_code=403)
        try:
            run = get_import(conn, import_id)
        except NotFound as exc:
            return not_found(request, user, str(exc))
        return render(request, "import_result.html", user, run=run)

    app.include_router(router)

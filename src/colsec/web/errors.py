"""Error responses: a ``ColsecError`` (or an HTTP error) as the JSON body its path calls for.

TAXII paths answer with a TAXII error message in the TAXII media type, every other path with
``{"error": code, "detail": ...}``.  One function for the app's exception handlers and for the
hot TAXII reads (``web/api/taxii_reads.py``), which render their own errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import Request

from colsec.errors import ColsecError
from colsec.taxii.media import TAXII_MEDIA

__all__ = ["colsec_error_response", "error_response"]


def error_response(
    request: Request,
    status: int,
    code: str,
    detail: Any,
    extra: Any = None,
    headers: Mapping[str, str] | None = None,
    machine: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """The error body (TAXII's under /taxii2); ``headers`` are the HTTP error's own (a 405's Allow);
    ``machine``: a refusal's ``kind`` and ``params`` beside the English detail (not in TAXII's
    envelope, whose fields the standard fixes)."""
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="colsec", Bearer'
    if request.url.path.startswith("/taxii2"):
        body: dict[str, Any] = {
            "title": code.replace("_", " "),
            "http_status": str(status),
            "description": str(detail),
        }
        if extra is not None:
            body["details"] = extra
        return JSONResponse(body, status_code=status, media_type=TAXII_MEDIA, headers=headers)
    payload: dict[str, Any] = {"error": code, "detail": detail}
    if extra is not None:
        payload["details"] = extra
    payload.update(machine or {})
    return JSONResponse(payload, status_code=status, headers=headers)


def colsec_error_response(request: Request, exc: ColsecError) -> JSONResponse:
    return error_response(
        request, exc.status, exc.code, exc.message, exc.details, machine=exc.machine_fields()
    )

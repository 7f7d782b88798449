"""One error hierarchy for the whole product.

Every expected failure is a ``ColsecError``; HTTP handlers render it as
``{"error": code, "detail": message}`` (or the TAXII envelope), the CLI maps it
to a non-zero exit code.  Nothing expected ever becomes a 500.

    ColsecError (400 bad_request)
    ├── InvalidInput (422 invalid_input)      malformed or rule-breaking input
    │   └── StixValidationError               one STIX object fails validation
    ├── BadRequest (400 bad_request)
    ├── Unauthorized (401 unauthorized)
    ├── Forbidden (403 forbidden)
    ├── NotFound (404 not_found)
    ├── NotAcceptable (406 not_acceptable)
    ├── Conflict (409 conflict)
    ├── PreconditionFailed (412 precondition_failed)
    ├── TooLarge (413 too_large)
    ├── UnsupportedMediaType (415 unsupported_media_type)
    ├── Locked (423 locked)                   account locked out
    └── UpstreamError (502 upstream_error)    a peer or feed misbehaved

A refusal a person can cause may also name its ``kind`` (a stable snake_case id) and the
``params`` its sentence quotes: the message stays English (API, logs), while the web UI words
the kind in the reader's language from its own catalogue (``colsec.web.ui.refusals``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

__all__ = [
    "BadRequest",
    "ColsecError",
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "Locked",
    "NotAcceptable",
    "NotFound",
    "Param",
    "PreconditionFailed",
    "StixValidationError",
    "TooLarge",
    "Unauthorized",
    "UnsupportedMediaType",
    "UpstreamError",
]


# A value a refusal's sentence quotes: a name or an id from the input (shown as data), a number,
# or a moment (shown in the reader's date format).
Param = str | int | float | datetime


class ColsecError(Exception):
    """Root of every expected failure; carries an HTTP status and a stable code, and, for a
    refusal a person can cause, the ``kind`` and ``params`` a page words in its reader's language."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        details: Any = None,
        kind: str | None = None,
        params: Mapping[str, Param] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.kind = kind
        self.params: dict[str, Param] = dict(params or {})

    def machine_fields(self) -> dict[str, Any]:
        """``kind`` and ``params`` as JSON values (moments as ISO 8601), for bodies and job outcomes."""
        if self.kind is None:
            return {}
        params = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in self.params.items()}
        return {"kind": self.kind, "params": params}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "detail": self.message}
        if self.details is not None:
            body["details"] = self.details
        body.update(self.machine_fields())
        return body


class BadRequest(ColsecError):
    status = 400
    code = "bad_request"


class InvalidInput(ColsecError):
    status = 422
    code = "invalid_input"


class StixValidationError(InvalidInput):
    """A STIX object breaks the spec; the message names the object id and the problem."""

    code = "invalid_stix"

    def __init__(self, message: str, *, object_id: str | None = None, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.object_id = object_id


class Unauthorized(ColsecError):
    status = 401
    code = "unauthorized"


class Forbidden(ColsecError):
    status = 403
    code = "forbidden"


class NotFound(ColsecError):
    status = 404
    code = "not_found"


class NotAcceptable(ColsecError):
    status = 406
    code = "not_acceptable"


class Conflict(ColsecError):
    status = 409
    code = "conflict"


class PreconditionFailed(ColsecError):
    status = 412
    code = "precondition_failed"


class TooLarge(ColsecError):
    status = 413
    code = "too_large"


class UnsupportedMediaType(ColsecError):
    status = 415
    code = "unsupported_media_type"


class Locked(ColsecError):
    status = 423
    code = "locked"


class UpstreamError(ColsecError):
    status = 502
    code = "upstream_error"

"""Reading posted forms the same way on every page: fields, validation, the way back, the redirect.

A refused form is a ``ColsecError`` like any other; the UI's error page (``colsec.web.ui``)
renders it with a link back to the form when the route named one with ``back_on_error``.
Validation goes through the domain's own Pydantic schema, so a form accepts exactly what
the JSON API accepts; only the wording of the refusal is the page's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from colsec.errors import InvalidInput

__all__ = ["back_on_error", "field", "local_next", "see_other", "validated", "when"]

M = TypeVar("M", bound=BaseModel)


def field(form: FormData, name: str) -> str:
    """A text field, stripped; missing fields and uploads read as empty."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def when(value: str) -> str | None:
    """A ``datetime-local`` field (minutes, no zone) read as UTC; empty is None."""
    return value + ":00Z" if len(value) == 16 else (value or None)


def validated(model: type[M], values: Mapping[str, Any]) -> M:
    """``values`` through the domain schema; every problem in the message, the first field named."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        raise InvalidInput(
            "; ".join(f"{loc}: {msg}" for loc, msg in problems), details={"field": problems[0][0]}
        ) from None


def back_on_error(request: Request, path: str) -> None:
    """Where the error page's "back to the form" link leads if this post is refused."""
    request.state.error_back = path


def local_next(value: str, *, prefix: str, default: str) -> str:
    """A ``next`` field followed only within this node's ``prefix`` pages (never to another host)."""
    return value if value.startswith(prefix) and "//" not in value else default


def see_other(path: str) -> RedirectResponse:
    """After a successful post: the browser loads ``path`` with a GET (no re-post on reload)."""
    return RedirectResponse(path, status_code=303)

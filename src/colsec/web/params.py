"""Shared annotated types for numeric path and query parameters.

Row ids are 64-bit signed integers: a larger number sent by a client must be a 422,
not an overflow inside the database driver (a 500).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from colsec.db_base import MAX_ID

__all__ = ["MAX_ID", "CursorQuery", "IdPath", "IdQuery"]

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
CursorQuery = Annotated[int | None, Query(ge=0, le=MAX_ID)]

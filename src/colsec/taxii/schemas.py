"""JSON shapes of published collections (``/api/v1/collections``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from colsec.taxii.publish import FilterNames

__all__ = ["CollectionFilterIn", "CollectionIn", "CollectionObjectsIn", "CollectionOut", "FilterIn"]


class FilterIn(BaseModel):
    """Empty lists match anything; ``tlp`` is a ceiling; owners are organisation short names."""

    types: list[str] = Field(default_factory=list, max_length=100)
    owners: list[str] = Field(default_factory=list, max_length=100)
    labels: list[str] = Field(default_factory=list, max_length=100)
    tlp: str | None = None
    group: str | None = None

    def names(self) -> FilterNames:
        return FilterNames(
            types=self.types, owners=self.owners, labels=self.labels, tlp=self.tlp, group=self.group
        )


class CollectionIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    api_root: str = "root"
    description: str = ""
    alias: str | None = None
    can_read: list[str] = Field(default_factory=lambda: ["*"])
    can_write: list[str] = Field(default_factory=list)
    id: str | None = None
    filter: FilterIn | None = None
    include_existing: bool = False


class CollectionFilterIn(BaseModel):
    filter: FilterIn | None
    include_existing: bool = False


class CollectionObjectsIn(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=10_000)


class CollectionOut(BaseModel):
    id: str
    api_root: str
    title: str
    description: str
    can_read: list[str]
    can_write: list[str]
    versions: int
    filter: dict[str, Any] | None

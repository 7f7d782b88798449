"""A TAXII 2.1 client on httpx, used by federation and ``colsec taxii pull``.

The TAXII resources of one peer (discovery, API roots, collections, objects pages with their
``date_added`` cursor, manifests, adding objects and polling their status) over the guarded
connection of ``connection.py``; every answer is checked by ``responses.py`` before it is returned.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urljoin

import orjson

from colsec.errors import InvalidInput
from colsec.stix.ids import parse_timestamp
from colsec.taxii.connection import PeerConnection
from colsec.taxii.responses import ObjectsPage, TaxiiClientError, TaxiiStatus, objects_page, parse_status

__all__ = ["TaxiiClient"]


class TaxiiClient(PeerConnection):
    """One TAXII 2.1 server; ``url`` is its discovery URL or one API root URL."""

    def discovery(self) -> dict[str, Any]:
        return self._get(self.url)[1]

    def api_root_url(self) -> str:
        """The API root: the configured URL itself unless it is a discovery endpoint."""
        if not self.url.rstrip("/").endswith("/taxii2"):
            return self.url
        disc = self.discovery()
        root = disc.get("default") or next(iter(disc.get("api_roots") or []), None)
        if not isinstance(root, str):
            raise TaxiiClientError(f"{self.url}: discovery names no API root", kind="bad_shape")
        url = urljoin(self.url, root)
        self._check_url(url)
        return url if url.endswith("/") else url + "/"

    def api_root(self, root_url: str | None = None) -> dict[str, Any]:
        return self._get(root_url or self.api_root_url())[1]

    def collections(self, root_url: str | None = None) -> list[dict[str, Any]]:
        data = self._get(urljoin(root_url or self.api_root_url(), "collections/"))[1]
        items = data.get("collections", [])
        if not isinstance(items, list) or not all(
            isinstance(c, dict) and isinstance(c.get("id"), str) for c in items
        ):
            raise TaxiiClientError("collections: malformed list", kind="bad_shape")
        return items

    def _collection_url(self, collection_id: str, root_url: str | None, tail: str) -> str:
        if "/" in collection_id or not collection_id:
            raise InvalidInput(f"invalid collection id {collection_id!r}")
        return urljoin(root_url or self.api_root_url(), f"collections/{collection_id}/{tail}")

    def collection(self, collection_id: str, root_url: str | None = None) -> dict[str, Any]:
        return self._get(self._collection_url(collection_id, root_url, ""))[1]

    def get_objects(
        self,
        collection_id: str,
        *,
        added_after: str | None = None,
        next: str | None = None,
        limit: int | None = None,
        types: Sequence[str] = (),
        version: str | None = None,
        root_url: str | None = None,
    ) -> ObjectsPage:
        params: dict[str, str] = {}
        if added_after:
            params["added_after"] = added_after
        if next:
            params["next"] = next
        if limit:
            params["limit"] = str(limit)
        if types:
            params["match[type]"] = ",".join(types)
        if version:
            params["match[version]"] = version
        response, data = self._get(self._collection_url(collection_id, root_url, "objects/"), params)
        return objects_page(response, data, added_after)

    def iter_pages(
        self,
        collection_id: str,
        *,
        added_after: str | None = None,
        limit: int | None = None,
        root_url: str | None = None,
        version: str | None = None,
        max_pages: int = 1_000_000,
    ) -> Iterator[ObjectsPage]:
        """Every page after ``added_after``, following ``next``; refuses a cursor that goes backwards."""
        root = root_url or self.api_root_url()
        page = self.get_objects(
            collection_id, added_after=added_after, limit=limit, root_url=root, version=version
        )
        last = page.date_added_last
        count = 1
        while True:
            yield page
            if not page.more:
                return
            if count >= max_pages:
                raise TaxiiClientError(
                    f"collection {collection_id}: more than {max_pages} pages", kind="bad_shape"
                )
            if page.next:
                nxt = self.get_objects(
                    collection_id,
                    added_after=added_after,
                    next=page.next,
                    limit=limit,
                    root_url=root,
                    version=version,
                )
            elif last is not None:
                # Servers without ``next`` page by date: ask again after the newest date seen.
                nxt = self.get_objects(
                    collection_id, added_after=last, limit=limit, root_url=root, version=version
                )
            else:
                raise TaxiiClientError(
                    f"collection {collection_id}: server says 'more' but gives neither 'next' nor dates",
                    kind="bad_shape",
                )
            if (
                nxt.date_added_first
                and last
                and parse_timestamp(nxt.date_added_first) < parse_timestamp(last)
            ):
                raise TaxiiClientError(
                    f"collection {collection_id}: cursor went backwards ({nxt.date_added_first} < {last})",
                    kind="cursor_backwards",
                )
            if nxt.date_added_last:
                last = nxt.date_added_last
            page = nxt
            count += 1

    def manifest(
        self,
        collection_id: str,
        *,
        added_after: str | None = None,
        next: str | None = None,
        limit: int | None = None,
        root_url: str | None = None,
    ) -> dict[str, Any]:
        params: dict[str, str] = {}
        if added_after:
            params["added_after"] = added_after
        if next:
            params["next"] = next
        if limit:
            params["limit"] = str(limit)
        data = self._get(self._collection_url(collection_id, root_url, "manifest/"), params)[1]
        items = data.get("objects", [])
        if not isinstance(items, list) or not all(
            isinstance(m, dict) and isinstance(m.get("id"), str) for m in items
        ):
            raise TaxiiClientError("manifest: malformed list", kind="bad_shape")
        return data

    def add_objects(
        self, collection_id: str, objects: Sequence[Mapping[str, Any]], *, root_url: str | None = None
    ) -> TaxiiStatus:
        envelope = {"objects": list(objects)}
        url = self._collection_url(collection_id, root_url, "objects/")
        data = self._request("POST", url, body=orjson.dumps(envelope), accept_status=(200, 201, 202))[1]
        return parse_status(data)

    def get_status(self, status_id: str, *, root_url: str | None = None) -> TaxiiStatus:
        if "/" in status_id or not status_id:
            raise InvalidInput(f"invalid status id {status_id!r}")
        return parse_status(self._get(urljoin(root_url or self.api_root_url(), f"status/{status_id}/"))[1])

    def wait_status(
        self,
        status: TaxiiStatus,
        *,
        timeout: float = 30.0,
        interval: float = 0.2,
        root_url: str | None = None,
    ) -> TaxiiStatus:
        """Poll a pending status until it completes (or ``timeout`` passes)."""
        deadline = time.monotonic() + timeout
        while status.status != "complete":
            if time.monotonic() > deadline:
                raise TaxiiClientError(
                    f"status {status.id} still {status.status} after {timeout}s", kind="timeout"
                )
            time.sleep(interval)
            interval = min(interval * 2, 2.0)
            status = self.get_status(status.id, root_url=root_url)
        return status

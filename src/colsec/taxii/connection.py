"""The guarded HTTP session to one TAXII peer: a peer is untrusted.

The connection talks only to the host of the URL it was configured with (no redirects elsewhere,
no API roots on other hosts), refuses bodies that are too large, too deeply nested, not JSON or of
the wrong media type, and retries transient failures (429, 5xx, dropped connections, timeouts)
with exponential backoff, honouring ``Retry-After``.  ``client.TaxiiClient`` adds the TAXII
resources on top; this half knows HTTP and the limits, not TAXII's envelopes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

import httpx
import orjson

from colsec.errors import InvalidInput
from colsec.jsonutil import check_text_depth
from colsec.outbound import DENY_ALL, GuardedTransport, OutboundPolicy, OutboundRefused
from colsec.taxii.media import TAXII_MEDIA, TAXII_TYPE
from colsec.taxii.responses import TaxiiClientError, error_text

__all__ = ["RETRY_STATUSES", "PeerConnection"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class PeerConnection:
    """One peer's origin, credentials and limits; every request goes through ``_request``."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        max_bytes: int = 64 * 1024 * 1024,
        max_depth: int = 64,
        outbound: OutboundPolicy = DENY_ALL,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"peer URL must be http(s)://host/...: {url!r}")
        self.url = url if url.endswith("/") else url + "/"
        self.origin = (
            parts.scheme,
            parts.hostname.lower(),
            parts.port or (443 if parts.scheme == "https" else 80),
        )
        if transport is None:  # an injected transport (in-process peer) reaches no network
            try:
                outbound.check_host(parts.hostname, parts.port)
            except OutboundRefused as exc:
                raise TaxiiClientError(exc.message, kind="ssrf") from None
            transport = GuardedTransport(outbound)
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        headers = {"Accept": TAXII_MEDIA, "User-Agent": "colsec-taxii-client"}
        auth: httpx.Auth | None = None
        if token and username:
            auth = httpx.BasicAuth(username, token)
        elif token:
            headers["Authorization"] = f"Bearer {token}"
        elif username is not None and password is not None:
            auth = httpx.BasicAuth(username, password)
        self._http = httpx.Client(
            headers=headers,
            auth=auth,
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
            trust_env=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -----------------------------------------------------------------------

    def _check_url(self, url: str) -> str:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if (parts.scheme, (parts.hostname or "").lower(), port) != self.origin:
            raise TaxiiClientError(f"refusing to contact {url}: not the configured peer host", kind="ssrf")
        return url

    def _sleep_for(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            retry_after = response.headers.get("Retry-After")
            if retry_after and retry_after.strip().isdigit():
                return min(float(retry_after), self.max_backoff)
        delay: float = min(self.backoff * (2**attempt), self.max_backoff)
        return delay * (0.5 + random.random() / 2)

    def _read_capped(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise TaxiiClientError(
                f"response of {declared} bytes exceeds the {self.max_bytes}-byte limit", kind="too_large"
            )
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise TaxiiClientError(f"response exceeds the {self.max_bytes}-byte limit", kind="too_large")
            chunks.append(chunk)
        return b"".join(chunks)

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        accept_status: Sequence[int] = (200,),
    ) -> tuple[httpx.Response, Any]:
        """One logical request with retries; returns the response and its checked JSON."""
        hops = 0
        attempt = 0
        while True:
            self._check_url(url)
            headers = {"Content-Type": TAXII_MEDIA} if body is not None else None
            try:
                with self._http.stream(method, url, params=params, content=body, headers=headers) as response:
                    if response.status_code in (301, 302, 303, 307, 308):
                        location = response.headers.get("Location", "")
                        target = urljoin(url, location)
                        self._check_url(target)  # raises for other hosts
                        hops += 1
                        if hops > 3:
                            raise TaxiiClientError(f"too many redirects from {url}", kind="http_status")
                        url = target
                        continue
                    if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                        delay = self._sleep_for(attempt, response)
                        attempt += 1
                        time.sleep(delay)
                        continue
                    data = self._read_capped(response)
            except httpx.TimeoutException as exc:
                if attempt < self.max_retries:
                    time.sleep(self._sleep_for(attempt, None))
                    attempt += 1
                    continue
                raise TaxiiClientError(
                    f"{method} {url}: timed out ({exc.__class__.__name__})", kind="timeout"
                ) from None
            except httpx.TransportError as exc:
                if attempt < self.max_retries:
                    time.sleep(self._sleep_for(attempt, None))
                    attempt += 1
                    continue
                raise TaxiiClientError(
                    f"{method} {url}: {exc.__class__.__name__}: {exc}", kind="connection"
                ) from None
            if response.status_code not in accept_status:
                raise TaxiiClientError(
                    f"{method} {url}: HTTP {response.status_code}: {error_text(data)}",
                    kind="http_status",
                    status=response.status_code,
                )
            return response, self._parse(response, data, url)

    def _parse(self, response: httpx.Response, data: bytes, url: str) -> Any:
        ctype = response.headers.get("Content-Type", "")
        media, _, params = ctype.partition(";")
        media = media.strip().lower()
        version = None
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k.lower() == "version":
                version = v.strip().strip('"')
        if media != TAXII_TYPE or (version is not None and version != "2.1"):
            raise TaxiiClientError(
                f"{url}: unexpected media type {ctype!r} (want {TAXII_MEDIA})", kind="media_type"
            )
        try:
            check_text_depth(data, self.max_depth, what="response")
        except InvalidInput as exc:
            raise TaxiiClientError(f"{url}: {exc.message}", kind="bad_shape") from None
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise TaxiiClientError(f"{url}: response is not valid JSON: {exc}", kind="invalid_json") from None
        if not isinstance(value, dict):
            raise TaxiiClientError(f"{url}: expected a JSON object", kind="bad_shape")
        return value

    def _get(
        self, url: str, params: Mapping[str, str] | None = None
    ) -> tuple[httpx.Response, dict[str, Any]]:
        return self._request("GET", url, params=params)

    def node_json(self, path: str) -> Any:
        """A JSON document from the peer node's own API on the same host (e.g. its signed audit
        checkpoint), with the same credentials, origin check, size and depth caps as TAXII."""
        url = self._check_url(urljoin(self.url, path))
        try:
            with self._http.stream("GET", url, headers={"Accept": "application/json"}) as response:
                data = self._read_capped(response)
        except httpx.HTTPError as exc:
            raise TaxiiClientError(f"GET {url}: {exc.__class__.__name__}: {exc}", kind="connection") from None
        if response.status_code != 200:
            raise TaxiiClientError(
                f"GET {url}: HTTP {response.status_code}: {error_text(data)}",
                kind="http_status",
                status=response.status_code,
            )
        try:
            check_text_depth(data, self.max_depth, what="response")
            return orjson.loads(data)
        except (InvalidInput, orjson.JSONDecodeError):
            raise TaxiiClientError(f"GET {url}: response is not valid JSON", kind="invalid_json") from None

    # -- TAXII resources ------------------------------------------------------------------

"""A TAXII 2.1 peer that misbehaves on request: a real HTTP server on 127.0.0.1 in a thread."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from federation.stixgen import indicators

TAXII = "application/taxii+json;version=2.1"
COLLECTION = "9f3e8d5c-0b7a-4c1e-9d2f-6a5b4c3d2e1f"


class HostilePeer:
    """``mode`` picks the misbehaviour of the objects endpoint; the rest is a correct TAXII server."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.calls: dict[str, int] = {}
        self.objects = indicators(30, tag="hostile-peer")
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(
                self, status: int, body: bytes, ctype: str = TAXII, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _json(self, value: Any, headers: dict[str, str] | None = None) -> None:
                self._send(200, json.dumps(value).encode(), headers=headers)

            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                peer.calls[peer.mode] = peer.calls.get(peer.mode, 0) + 1
                if url.path == "/taxii2/":
                    self._json({"title": "hostile", "default": "/api1/", "api_roots": ["/api1/"]})
                elif url.path == "/api1/":
                    self._json({"title": "api1", "versions": [TAXII], "max_content_length": 10_000_000})
                elif url.path == "/api1/collections/":
                    self._json(
                        {
                            "collections": [
                                {"id": COLLECTION, "title": "c", "can_read": True, "can_write": False}
                            ]
                        }
                    )
                elif url.path == f"/api1/collections/{COLLECTION}/objects/":
                    peer.objects_endpoint(self, q)
                else:
                    self._send(404, b'{"title": "not found", "http_status": "404"}')

        self.handler = Handler
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api1/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def page(
        self, objs: list[dict[str, Any]], first: str, last: str, more: bool = False, nxt: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        env: dict[str, Any] = {"objects": objs, "more": more}
        if nxt:
            env["next"] = nxt
        return json.dumps(env).encode(), {"X-TAXII-Date-Added-First": first, "X-TAXII-Date-Added-Last": last}

    def objects_endpoint(self, h: Any, q: dict[str, str]) -> None:
        mode = self.mode
        good = self.objects
        if mode == "ok":
            body, hdr = self.page(good, "2026-02-01T00:00:00.000001Z", "2026-02-01T00:00:00.000030Z")
            h._send(200, body, headers=hdr)
        elif mode == "invalid_json":
            h._send(200, b'{"objects": [{"type": "indicator", "id": ')
        elif mode == "wrong_media":
            h._send(200, json.dumps({"objects": good}).encode(), ctype="text/html")
        elif mode == "oversize":
            h._send(200, b'{"objects": [], "pad": "' + b"x" * 3_000_000 + b'"}')
        elif mode == "deep":
            h._send(200, b'{"objects": ' + b"[" * 500 + b"]" * 500 + b"}")
        elif mode == "redirect":
            h.send_response(302)
            h.send_header("Location", f"http://127.0.0.2:{self.port}/api1/collections/{COLLECTION}/objects/")
            h.send_header("Content-Length", "0")
            h.end_headers()
        elif mode == "flaky":
            n = self.calls.get("flaky", 0)
            if n <= 2:
                h._send(503, b'{"title": "busy"}', headers={"Retry-After": "0"})
            else:
                body, hdr = self.page(good, "2026-02-01T00:00:00.000001Z", "2026-02-01T00:00:00.000030Z")
                h._send(200, body, headers=hdr)
        elif mode == "backwards":
            if "next" not in q:
                body, hdr = self.page(
                    good[:15], "2026-03-01T00:00:00.000001Z", "2026-03-01T00:00:00.000015Z", True, "p2"
                )
            else:
                body, hdr = self.page(good[15:], "2026-01-01T00:00:00.000001Z", "2026-01-01T00:00:00.000015Z")
            h._send(200, body, headers=hdr)
        elif mode == "stale":
            # Answers objects older than the added_after it was asked for.
            body, hdr = self.page(good, "2020-01-01T00:00:00.000001Z", "2020-01-01T00:00:00.000030Z")
            h._send(200, body, headers=hdr)
        elif mode == "hostile_bundle":
            bad = [
                {"type": "indicator", "id": "indicator--not-a-uuid", "pattern": "[x]"},
                {**good[0], "pattern": "[ipv4-addr:value = '<script>alert(1)</script>' AND"},
                {**good[1], "id": "identity--00000000-0000-4000-8000-000000000000"},
                {**good[2], "spec_version": "9.9"},
            ]
            body, hdr = self.page(bad, "2026-04-01T00:00:00.000001Z", "2026-04-01T00:00:00.000004Z")
            h._send(200, body, headers=hdr)
        elif mode == "drop":
            h.close_connection = True
            h.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: "
                + TAXII.encode()
                + b'\r\nContent-Length: 5000\r\n\r\n{"obj'
            )
            h.wfile.flush()
        else:
            h._send(500, b"{}")

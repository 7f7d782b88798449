"""The leak oracle's model: markers, objects and versions as the alliance wrote them, and the run's figures.

Every value, name, description and incident title carries a unique marker (``zq00042x``);
``Version.level`` is the TLP the policy applies to a version (a granular TLP:RED marking makes
the whole row TLP:RED, as the write gate records it).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from hypothesis import settings

from colsec.formats.registry import ExportFormat
from colsec.stix.tlp import TLP, marking_id

__all__ = [
    "ALL_TLP",
    "EXPORTS",
    "FINAL_EXPORTS",
    "MARKER",
    "MISP_TLP_TAG",
    "REGISTRY",
    "ROOT",
    "TLP_PARAM",
    "Obj",
    "Registry",
    "Version",
    "ViaTestClient",
    "Violation",
    "indicator",
    "oracle_settings",
]

MARKER = re.compile(r"zq\d{5}x")
ROOT = "root"
ALL_TLP = [TLP.CLEAR, TLP.GREEN, TLP.AMBER, TLP.AMBER_STRICT, TLP.RED]
EXPORTS = [ExportFormat.STIX, ExportFormat.CSV, ExportFormat.SURICATA, ExportFormat.ZEEK]
FINAL_EXPORTS = [ExportFormat.MISP]  # misp-stix is slow (~0.15 s a call): checked once, at the end
MISP_TLP_TAG = {
    TLP.CLEAR: "tlp:clear",
    TLP.GREEN: "tlp:green",
    TLP.AMBER: "tlp:amber",
    TLP.AMBER_STRICT: "tlp:amber+strict",
    TLP.RED: "tlp:red",
}
TLP_PARAM = {
    TLP.CLEAR: "clear",
    TLP.GREEN: "green",
    TLP.AMBER: "amber",
    TLP.AMBER_STRICT: "amber+strict",
    TLP.RED: "red",
}


def oracle_settings() -> settings:
    """CI: a bounded run (6 stories, about a minute on 2 cores, beside 3 minutes of fuzzing);
    ``COLSEC_ORACLE_EXAMPLES`` asks for a longer one."""
    long_run = "COLSEC_ORACLE_EXAMPLES" in os.environ
    examples = int(os.environ.get("COLSEC_ORACLE_EXAMPLES", "6"))
    steps = int(os.environ.get("COLSEC_ORACLE_STEPS", "15"))
    # CI replays the same stories (a stable answer); a long run explores new ones every time.
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        derandomize=not long_run,
    )


@dataclass(frozen=True)
class Violation:
    """One thing an organisation could read that the policy forbids it (or a visible object missing)."""

    path: str
    org: str
    what: str

    def __str__(self) -> str:
        return f"{self.path} [{self.org}]: {self.what}"


@dataclass
class Version:
    name: str
    tlp: TLP
    group: str | None = None
    granular: str | None = None  # a description marker under a TLP:RED granular marking
    revoked: bool = False

    @property
    def level(self) -> TLP:
        """The row's TLP: a granular TLP:RED marking makes the whole version TLP:RED."""
        return max(self.tlp, TLP.RED) if self.granular else self.tlp


@dataclass(eq=False)
class Obj:
    id: str | None  # None: created by an importer that chose the id (MISP, CSV)
    owner: int
    value: str
    modified: datetime
    versions: list[Version] = field(default_factory=list)
    created: datetime | None = None
    in_taxii: bool = False
    weight: int = 1  # stored objects holding the value (a MISP attribute: the SCO and the indicator)


class Registry:
    """Distinct violations found, kept across examples (the long run prints them)."""

    def __init__(self) -> None:
        self.examples = 0
        self.steps = 0
        self.found: dict[tuple[str, str], Violation] = {}

    def add(self, v: Violation) -> None:
        path = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "{id}", v.path)
        key = (path, _kind(v.what))
        self.found.setdefault(key, v)


def _kind(what: str) -> str:
    return what.split(":", 1)[0]


REGISTRY = Registry()


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def indicator(
    *, id: str, value: str, name: str, tlp: TLP, modified: datetime, granular: str | None, created: datetime
) -> dict[str, Any]:
    """Recent dates: scoring decays old indicators and matching leaves decayed ones out."""
    ts = _ts(modified)
    body: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": id,
        "created": _ts(created),
        "modified": ts,
        "name": name,
        "pattern": f"[domain-name:value = '{value}']",
        "pattern_type": "stix",
        "valid_from": _ts(created),
        "indicator_types": ["malicious-activity"],
        "object_marking_refs": [marking_id(tlp)],
    }
    if granular is not None:
        body["description"] = f"source detail {granular}"
        body["granular_markings"] = [{"marking_ref": marking_id(TLP.RED), "selectors": ["description"]}]
    return body


class ViaTestClient(httpx.BaseTransport):
    """The federation client's transport (httpx) carried over the hub's in-process TestClient."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        r = self.client.request(
            request.method, str(request.url), headers=dict(request.headers), content=request.read()
        )
        headers = [
            (k, v) for k, v in r.headers.items() if k.lower() not in ("content-encoding", "content-length")
        ]
        return httpx.Response(r.status_code, headers=headers, content=r.content, request=request)

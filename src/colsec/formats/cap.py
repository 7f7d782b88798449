"""CAP (Common Alerting Protocol) 1.2 in and out, parsed safely and validated against the XSD.

Reading: the bytes first go through defusedxml with DTDs, entities and external references
forbidden (its default would still accept an external DTD), so an XXE document is refused
before anything could be fetched; only then does lxml (network off, entities off) build the
tree that is validated against the OASIS XSD shipped with colsec (CAP 1.2, and 1.1 for
older feeds).  CAP 1.0 and 1.1 alerts are converted to CAP 1.2 (what is stored), their
version recorded.  Writing: ``build_alert`` produces CAP 1.2 that validates against the
same XSD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException
from lxml import etree

from colsec.errors import InvalidInput, TooLarge

__all__ = [
    "CAP10_NS",
    "CAP11_NS",
    "CAP12_NS",
    "MAX_CAP_BYTES",
    "CapArea",
    "CapInfo",
    "CapMessage",
    "build_alert",
    "cap_time",
    "parse_cap",
    "safe_tree",
    "spec_problems",
    "validate_cap",
]

CAP12_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP11_NS = "urn:oasis:names:tc:emergency:cap:1.1"
CAP10_NS = "http://www.incident.com/cap/1.0"
_VERSIONS = {CAP12_NS: "1.2", CAP11_NS: "1.1", CAP10_NS: "1.0"}
MAX_CAP_BYTES = 2 * 1024 * 1024
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "crisis" / "schema"
_SCHEMAS = {CAP12_NS: "cap12.xsd", CAP11_NS: "cap11.xsd"}


@dataclass
class CapArea:
    area_desc: str
    polygons: list[str] = field(default_factory=list)
    geocodes: dict[str, str] = field(default_factory=dict)


@dataclass
class CapInfo:
    categories: list[str]
    event: str
    urgency: str
    severity: str
    certainty: str
    language: str = "en-US"
    headline: str = ""
    description: str = ""
    instruction: str = ""
    response_types: list[str] = field(default_factory=list)
    web: str = ""
    areas: list[CapArea] = field(default_factory=list)


@dataclass
class CapMessage:
    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    scope: str
    version: str = "1.2"  # as the agency sent it; what is stored is always CAP 1.2
    restriction: str = ""
    addresses: str = ""
    note: str = ""
    references: str = ""
    incidents: str = ""
    infos: list[CapInfo] = field(default_factory=list)
    signed: bool = False


@cache
def _schema(namespace: str) -> etree.XMLSchema:
    name = _SCHEMAS[namespace]
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / name), parser))


def safe_tree(data: bytes, *, limit: int = MAX_CAP_BYTES) -> etree._Element:
    """The document's tree, refused before lxml sees it if it has a DTD or entities."""
    if len(data) > limit:
        raise TooLarge(f"CAP document over {limit} bytes")
    try:
        safe_et.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise InvalidInput(
            f"CAP document refused: {type(exc).__name__} (DTDs and entities are not accepted)",
            kind="cap_dtd_refused",
        ) from None
    except safe_et.ParseError as exc:
        raise InvalidInput(
            f"CAP document is not well-formed XML: {exc}", kind="cap_not_xml", params={"error": str(exc)}
        ) from None
    except LookupError as exc:  # an encoding declaration Python does not know
        raise InvalidInput(f"CAP document declares an unknown character encoding: {exc}") from None
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(
            f"CAP document is not well-formed XML: {exc}", kind="cap_not_xml", params={"error": str(exc)}
        ) from None


def _check_schema(root: etree._Element, ns: str, version: str) -> None:
    schema = _schema(ns)
    if not schema.validate(root):
        errors = [f"line {e.line}: {e.message}" for e in list(schema.error_log)[:10]]
        raise InvalidInput(
            f"CAP document fails the CAP {version} schema: {errors[0]}",
            details={"errors": errors},
            kind="cap_schema",
            params={"version": version, "error": errors[0]},
        )


def _drop_empty_polygons(root: etree._Element, ns: str) -> None:
    """NWS and others emit ``<polygon></polygon>`` for 'no polygon': the XSD allows it, it says nothing.

    Senders also leave a ring open (first point not repeated last), which the XSD allows and
    every map closes: with three or more distinct points it is closed here the same way.
    """
    for poly in list(root.iter(f"{{{ns}}}polygon")):
        pairs = (poly.text or "").split()
        if not pairs and len(poly) == 0:
            parent = poly.getparent()
            if parent is not None:
                parent.remove(poly)
        elif len(pairs) >= 3 and pairs[0] != pairs[-1] and len(set(pairs)) >= 3:
            poly.text = " ".join([*pairs, pairs[0]])


def _to_cap12(root: etree._Element, ns: str) -> etree._Element:
    """The same alert in the CAP 1.2 namespace (1.0 ``password`` dropped, 1.1 'Very Likely' → 'Likely')."""
    old = f"{{{ns}}}"
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith(old):
            el.tag = f"{{{CAP12_NS}}}{el.tag[len(old) :]}"
    for pw in root.findall(f"{{{CAP12_NS}}}password"):
        root.remove(pw)
    for cert in root.iter(f"{{{CAP12_NS}}}certainty"):
        if (cert.text or "").strip() == "Very Likely":  # deprecated in 1.1, gone in 1.2 (spec 3.2.2)
            cert.text = "Likely"
    others = {k: v for k, v in root.nsmap.items() if k is not None and v != ns}
    fresh = etree.Element(root.tag, nsmap={None: CAP12_NS, **others})  # CAP 1.2 as the default namespace
    fresh.text = root.text
    for child in list(root):
        fresh.append(child)
    converted: etree._Element = etree.fromstring(etree.tostring(fresh))
    etree.cleanup_namespaces(converted)
    return converted


def _read(data: bytes) -> tuple[etree._Element, str]:
    """The alert as a validated CAP 1.2 tree, and the CAP version the document was written in."""
    root = safe_tree(data)
    ns = etree.QName(root).namespace or ""
    if etree.QName(root).localname != "alert" or ns not in _VERSIONS:
        raise InvalidInput(
            "not a CAP 1.0/1.1/1.2 <alert> document", kind="cap_not_alert", params={"element": "<alert>"}
        )
    version = _VERSIONS[ns]
    _drop_empty_polygons(root, ns)
    if ns in _SCHEMAS:  # no OASIS XSD was ever published for 1.0; its 1.2 form is checked below
        _check_schema(root, ns, version)
    if ns != CAP12_NS:
        root = _to_cap12(root, ns)
        _check_schema(root, CAP12_NS, f"1.2 form of this CAP {version}")
    problems = spec_problems(root, CAP12_NS)
    if problems:
        raise InvalidInput(
            f"CAP document breaks the CAP {version} rules: {problems[0]}", details={"errors": problems}
        )
    return root, version


def validate_cap(data: bytes) -> etree._Element:
    """Parse safely, validate against the XSD of the document's CAP version; the CAP 1.2 tree."""
    return _read(data)[0]


_BAD_ID_CHARS = (" ", ",", "<", "&")


def spec_problems(root: etree._Element, ns: str) -> list[str]:
    """Rules of the CAP specification that the XSD cannot express (section 3.2)."""
    out = []
    for name in ("identifier", "sender"):
        value = _text(root, ns, name)
        if any(c in value for c in _BAD_ID_CHARS):
            out.append(f"<{name}> must not contain spaces, commas, '<' or '&'")
    msg_type = _text(root, ns, "msgType")
    if msg_type in ("Update", "Cancel", "Ack", "Error") and not _text(root, ns, "references"):
        out.append(f"msgType {msg_type} needs a non-empty <references>")
    scope = _text(root, ns, "scope")
    if scope == "Restricted" and not _text(root, ns, "restriction"):
        out.append("scope Restricted needs a <restriction>")
    if scope == "Private" and not _text(root, ns, "addresses"):
        out.append("scope Private needs <addresses>")
    for poly in root.iter(f"{{{ns}}}polygon"):
        pairs = (poly.text or "").split()
        if len(pairs) < 4 or pairs[0] != pairs[-1]:
            out.append("a <polygon> needs at least four points and must be closed (first = last)")
    return out


def _text(el: etree._Element, ns: str, name: str) -> str:
    child = el.find(f"{{{ns}}}{name}")
    return (child.text or "").strip() if child is not None else ""


def _texts(el: etree._Element, ns: str, name: str) -> list[str]:
    return [(c.text or "").strip() for c in el.findall(f"{{{ns}}}{name}")]


def parse_cap(data: bytes) -> CapMessage:
    """A validated CAP alert as plain data (``version``: the CAP version it was written in)."""
    root, version = _read(data)
    ns = CAP12_NS
    infos = []
    for info in root.findall(f"{{{ns}}}info"):
        areas = [
            CapArea(
                area_desc=_text(a, ns, "areaDesc"),
                polygons=_texts(a, ns, "polygon"),
                geocodes={
                    _text(g, ns, "valueName"): _text(g, ns, "value") for g in a.findall(f"{{{ns}}}geocode")
                },
            )
            for a in info.findall(f"{{{ns}}}area")
        ]
        infos.append(
            CapInfo(
                categories=_texts(info, ns, "category"), event=_text(info, ns, "event"), urgency=_text(info, ns, "urgency"),
                severity=_text(info, ns, "severity"), certainty=_text(info, ns, "certainty"),
                language=_text(info, ns, "language") or "en-US", headline=_text(info, ns, "headline"),
                description=_text(info, ns, "description"), instruction=_text(info, ns, "instruction"),
                response_types=_texts(info, ns, "responseType"), web=_text(info, ns, "web"), areas=areas,
            )
        )  # fmt: skip
    return CapMessage(
        identifier=_text(root, ns, "identifier"), sender=_text(root, ns, "sender"), sent=_text(root, ns, "sent"),
        status=_text(root, ns, "status"), msg_type=_text(root, ns, "msgType"), scope=_text(root, ns, "scope"),
        version=version, restriction=_text(root, ns, "restriction"), addresses=_text(root, ns, "addresses"),
        note=_text(root, ns, "note"), references=_text(root, ns, "references"), incidents=_text(root, ns, "incidents"),
        infos=infos, signed=root.find("{http://www.w3.org/2000/09/xmldsig#}Signature") is not None,
    )  # fmt: skip


def cap_time(value: datetime) -> str:
    """CAP wants seconds precision and an explicit offset (never 'Z')."""
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def build_alert(msg: CapMessage) -> bytes:
    """Serialise a CAP 1.2 alert; the result is validated before it is returned."""
    E = f"{{{CAP12_NS}}}"
    root = etree.Element(E + "alert", nsmap={None: CAP12_NS})

    def sub(parent: etree._Element, name: str, text: str) -> None:
        if text:
            etree.SubElement(parent, E + name).text = text

    for name, value in (("identifier", msg.identifier), ("sender", msg.sender), ("sent", msg.sent),
                        ("status", msg.status), ("msgType", msg.msg_type), ("scope", msg.scope),
                        ("restriction", msg.restriction), ("addresses", msg.addresses), ("note", msg.note),
                        ("references", msg.references), ("incidents", msg.incidents)):  # fmt: skip
        sub(root, name, value)
    for info in msg.infos:
        el = etree.SubElement(root, E + "info")
        sub(el, "language", info.language)
        for cat in info.categories:
            sub(el, "category", cat)
        sub(el, "event", info.event)
        for rt in info.response_types:
            sub(el, "responseType", rt)
        for name, value in (("urgency", info.urgency), ("severity", info.severity), ("certainty", info.certainty),
                            ("headline", info.headline), ("description", info.description),
                            ("instruction", info.instruction), ("web", info.web)):  # fmt: skip
            sub(el, name, value)
        for area in info.areas:
            a = etree.SubElement(el, E + "area")
            sub(a, "areaDesc", area.area_desc)
            for poly in area.polygons:
                sub(a, "polygon", poly)
            for k, v in area.geocodes.items():
                g = etree.SubElement(a, E + "geocode")
                sub(g, "valueName", k)
                sub(g, "value", v)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate_cap(data)
    return data

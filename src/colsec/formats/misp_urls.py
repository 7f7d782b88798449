"""MISP ``url``/``link`` attributes whose value is no URL, made valid before conversion.

STIX 2.1 (6.16) wants a ``url`` value to be a URL (RFC 3986); misp-stix copies
whatever MISP holds, and real events hold ``www.example.top/x`` (a URL without its
scheme) as well as file names and paths typed as ``url`` ('Data/dtl.dat'), which
stix2-validator refuses.  A value that starts with a host gets ``http://``, as
browsers and MISP's freetext import read it; anything else is kept verbatim as an
``other`` attribute (an ``x-misp-attribute``), never guessed into another type
(inside a MISP object only the scheme is added: the object's template owns its types).
A "host" ending in a file extension no top-level domain has (``igfxtray.exe``) is a file
name: ``http://igfxtray.exe`` would be an indicator that names nothing.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["FILE_EXTENSIONS", "conform_attribute", "conform_url_attributes", "url_value"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{1,62}\Z")
_URL_TYPES = frozenset({"url", "link"})
_UNSAFE = re.compile(r"[\s<>\"{}|\\^`]")
# Extensions of executables, scripts, documents and archives that are no top-level domain
# (tests hold them to IANA's root zone): ``.zip``, ``.com`` or ``.sh`` hosts stay hosts.
FILE_EXTENSIONS = frozenset(
    {
        "apk", "asp", "aspx", "bak", "bat", "bin", "bz2", "cer", "cfg", "cgi", "chm", "class", "cmd",
        "conf", "cpl", "crt", "csv", "dat", "db", "deb", "dll", "dmg", "doc", "docm", "docx", "dotm",
        "drv", "dylib", "elf", "eml", "exe", "gadget", "gz", "hlp", "hta", "htm", "html", "img", "inf",
        "ini", "ipa", "iso", "jar", "job", "js", "jse", "json", "jsp", "ko", "lib", "lnk", "log", "msg",
        "msi", "msp", "ocx", "ods", "odt", "out", "p12", "pdb", "pdf", "pem", "pfx", "php", "pif", "pkg",
        "ppt", "pptm", "pptx", "ps1", "psd1", "psm1", "rar", "reg", "rpm", "rtf", "scr", "sqlite", "svg",
        "swf", "sys", "tar", "tgz", "tmp", "txt", "vbe", "vbs", "vhd", "vhdx", "wsf", "wsh", "xls",
        "xlsb", "xlsm", "xlsx", "xml", "xz",
    }
)  # fmt: skip


def url_value(value: str) -> str | None:
    """The value as a URL (``http://`` added before a bare host), or None when it is not one."""
    if _SCHEME.match(value):
        return value
    if _UNSAFE.search(value):
        return None
    host = re.split(r"[/?#]", value, maxsplit=1)[0].rsplit("@", 1)[-1]
    host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if not _HOST.match(host) or host.rsplit(".", 1)[-1].lower() in FILE_EXTENSIONS:
            return None
    return f"http://{value}"


def conform_attribute(attr: Any, in_object: bool = False) -> Any:
    """The attribute with a URL value made valid, or retyped ``other`` (a copy, only when changed)."""
    if (type(attr) is not dict and not isinstance(attr, Mapping)) or attr.get("type") not in _URL_TYPES:
        return attr
    value = attr.get("value")
    if not isinstance(value, str) or _SCHEME.match(value):
        return attr
    fixed = url_value(value)
    if fixed is not None:
        return {**attr, "value": fixed}
    if in_object:  # an object's template decides its attributes' types: left to the converter
        return attr
    return {**attr, "type": "other", "category": "Other"}


def conform_url_attributes(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event with its URL attributes conformed; lists are copied only where one changed."""
    out = dict(event)
    attrs = event.get("Attribute")
    if isinstance(attrs, list):
        new = [conform_attribute(a) for a in attrs]
        if any(n is not a for n, a in zip(new, attrs, strict=True)):
            out["Attribute"] = new
    objects = event.get("Object")
    if isinstance(objects, list):
        new_objects = []
        for obj in objects:
            items = obj.get("Attribute") if isinstance(obj, Mapping) else None
            if isinstance(items, list):
                new_items = [conform_attribute(a, in_object=True) for a in items]
                if any(n is not a for n, a in zip(new_items, items, strict=True)):
                    obj = {**obj, "Attribute": new_items}
            new_objects.append(obj)
        out["Object"] = new_objects
    return out

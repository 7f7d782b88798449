"""Windows registry keys as STIX 2.1 wants them: full hive names, never ``HKLM\\…``.

MISP (and misp-stix after it) keeps keys as analysts type them, usually with the
abbreviated hive; STIX 2.1 (6.13) and its schema refuse ``HKLM``, ``HKCU``, ``HKCR``,
``HKU`` and ``HKCC``, so exports failed stix2-validator.  Keys are expanded once, at
conversion, in the SCO and in indicator patterns alike so both keep matching.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["HIVES", "expand_hive", "expand_hives_in"]

HIVES = {
    "HKLM": "HKEY_LOCAL_MACHINE",
    "HKCU": "HKEY_CURRENT_USER",
    "HKCR": "HKEY_CLASSES_ROOT",
    "HKU": "HKEY_USERS",
    "HKCC": "HKEY_CURRENT_CONFIG",
}
_KEY = re.compile(r"^(HKLM|HKCU|HKCR|HKU|HKCC)(?=\\|$)", re.IGNORECASE)
# a comparison on windows-registry-key:key, up to the opening quote of its string literal
_IN_PATTERN = re.compile(
    r"(windows-registry-key:key\s*(?:!?=|LIKE|MATCHES|IN\s*\(|,)\s*')(HKLM|HKCU|HKCR|HKU|HKCC)(?=\\|')",
    re.IGNORECASE,
)


def expand_hive(key: str) -> str:
    """``HKLM\\Software\\x`` → ``HKEY_LOCAL_MACHINE\\Software\\x``; other keys unchanged."""
    return _KEY.sub(lambda m: HIVES[m.group(1).upper()], key)


def expand_hives_in(obj: dict[str, Any]) -> dict[str, Any]:
    """The object with abbreviated hives expanded (in place); cheap for every other object."""
    kind = obj.get("type")
    if kind == "windows-registry-key" and isinstance(obj.get("key"), str):
        obj["key"] = expand_hive(obj["key"])
    elif kind == "indicator" and "windows-registry-key" in str(obj.get("pattern", "")):
        obj["pattern"] = _IN_PATTERN.sub(
            lambda m: m.group(1) + HIVES[m.group(2).upper()], str(obj["pattern"])
        )
    return obj

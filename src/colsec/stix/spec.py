"""The STIX 2.1 object types and the properties the validator reads of each (spec sections 3-7):
shared by the ordered checks and the bulk fast path (``colsec.stix.validate``)."""

from __future__ import annotations

__all__ = [
    "META_TYPES",
    "REF_LIST_PROPS",
    "REF_PROPS",
    "REQUIRED",
    "SCO_TYPES",
    "SDO_TYPES",
    "SRO_TYPES",
    "TIMESTAMP_PROPS",
    "VERSIONED",
]

SDO_TYPES = frozenset(
    {
        "attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident",
        "indicator", "infrastructure", "intrusion-set", "location", "malware", "malware-analysis",
        "note", "observed-data", "opinion", "report", "threat-actor", "tool", "vulnerability",
    }
)  # fmt: skip
SRO_TYPES = frozenset({"relationship", "sighting"})
SCO_TYPES = frozenset(
    {
        "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message",
        "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process",
        "software", "url", "user-account", "windows-registry-key", "x509-certificate",
    }
)  # fmt: skip
META_TYPES = frozenset({"marking-definition", "language-content", "extension-definition"})

REQUIRED: dict[str, tuple[str, ...]] = {
    "attack-pattern": ("name",),
    "campaign": ("name",),
    "course-of-action": ("name",),
    "grouping": ("context", "object_refs"),
    "identity": ("name",),
    "incident": ("name",),
    "indicator": ("pattern", "pattern_type", "valid_from"),
    "infrastructure": ("name",),
    "intrusion-set": ("name",),
    "malware": ("is_family",),
    "malware-analysis": ("product",),
    "note": ("content", "object_refs"),
    "observed-data": ("first_observed", "last_observed", "number_observed"),
    "opinion": ("opinion", "object_refs"),
    "report": ("name", "published", "object_refs"),
    "threat-actor": ("name",),
    "tool": ("name",),
    "vulnerability": ("name",),
    "relationship": ("relationship_type", "source_ref", "target_ref"),
    "sighting": ("sighting_of_ref",),
    "language-content": ("object_ref", "object_modified", "contents"),
    "extension-definition": ("name", "schema", "version", "extension_types", "created_by_ref"),
    "domain-name": ("value",),
    "email-addr": ("value",),
    "ipv4-addr": ("value",),
    "ipv6-addr": ("value",),
    "mac-addr": ("value",),
    "mutex": ("name",),
    "url": ("value",),
    "software": ("name",),
    "windows-registry-key": (),
    "autonomous-system": ("number",),
    "network-traffic": ("protocols",),
    "email-message": ("is_multipart",),
}
TIMESTAMP_PROPS = (
    "created", "modified", "valid_from", "valid_until", "first_seen", "last_seen", "published",
    "first_observed", "last_observed", "start_time", "stop_time", "object_modified",
)  # fmt: skip
REF_PROPS = ("created_by_ref", "source_ref", "target_ref", "sighting_of_ref", "object_ref")
REF_LIST_PROPS = ("object_refs", "where_sighted_refs", "observed_data_refs", "sample_refs")
VERSIONED = SDO_TYPES | SRO_TYPES | META_TYPES  # their objects need 'modified'

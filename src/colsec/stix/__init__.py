"""Pure STIX 2.1 domain: ids, timestamps, TLP markings, validation, patterns (no I/O)."""

"""misp-stix, the reference converter: the path for every MISP element the fast path does not map.

It runs at ~650 attributes/s and holds the whole event, so it gets only what needs it
(MISP objects, galaxies, rare attribute types, sightings, notes, event reports).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from colsec.errors import InvalidInput

__all__ = ["misp_stix", "reference_attributes", "reference_convert"]


def misp_stix() -> Any:
    """The misp-stix package, imported quietly (its STIX 1 dependencies warn on import)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import misp_stix_converter

    _modernise_six_importers()
    return misp_stix_converter


def _modernise_six_importers() -> None:
    """Give the old vendored ``six`` meta-path finders (mixbox, via misp-stix's STIX 1 side) the
    ``find_spec`` API, so that every later import in the process stops raising ImportWarning."""
    import importlib.util
    import sys

    for finder in sys.meta_path:
        cls: Any = type(finder)
        if cls.__name__ != "_SixMetaPathImporter" or "find_spec" in cls.__dict__:
            continue

        def find_spec(self: Any, fullname: str, path: Any = None, target: Any = None) -> Any:
            if fullname in self.known_modules:
                return importlib.util.spec_from_loader(fullname, self)
            return None

        def create_module(self: Any, spec: Any) -> Any:
            return self.load_module(spec.name)

        def exec_module(self: Any, module: Any) -> None:
            return None

        cls.find_spec = find_spec
        cls.create_module = create_module
        cls.exec_module = exec_module


def reference_convert(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    """misp-stix's own conversion of a whole event (the reference, and the path for rare kinds)."""
    parser = misp_stix().MISPtoSTIX21Parser()
    try:
        parser.parse_misp_event({"Event": dict(event)})
        return [orjson.loads(o.serialize()) for o in parser.stix_objects]
    except Exception as exc:  # the reference converter's own errors on input it cannot map
        raise InvalidInput(
            f"MISP event {event.get('uuid')}: cannot be converted ({type(exc).__name__}: {exc})"
        ) from None


def reference_attributes(attributes: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """misp-stix's conversion of a bare attribute collection (MISP ``/attributes`` output)."""
    parser = misp_stix().MISPtoSTIX21Parser()
    try:
        parser.parse_misp_attributes([dict(a) for a in attributes])
        return [orjson.loads(obj.serialize()) for obj in parser.stix_objects]
    except Exception as exc:  # the reference converter's own errors on input it cannot map
        raise InvalidInput(
            f"attribute collection cannot be converted ({type(exc).__name__}: {exc})"
        ) from None

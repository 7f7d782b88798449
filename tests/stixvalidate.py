"""stix2-validator with each schema's reference registry built and crawled once, not once per object.

stix2-validator 3.3 builds a fresh, uncrawled ``referencing`` registry for every object it validates,
and ``referencing`` crawls an uncrawled registry again on every ``$ref`` miss: on ATT&CK Enterprise
that is 230,000 crawls, over half of the validator's time.  ``install()`` memoises the validator per
schema file and hands it a registry that already holds, crawled, every schema file the validator has
retrieved so far (its own cache, ``_FILE_SCHEMAS``, the very objects its retrieve callback would
return).  Lookups find the same resources by the same URIs; only the repeated crawling goes, so the
errors and warnings are the validator's own, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urldefrag, urljoin

from referencing import Resource

_VALIDATORS: dict[tuple[Any, ...], Any] = {}


def install() -> None:
    """Idempotent: patch ``stix2validator.validator.load_validator`` once per process."""
    from stix2validator import validator as v

    if getattr(v.load_validator, "memoised", False):
        return
    original = v.load_validator

    def load_validator(schema_path: str, schema: dict[str, Any], schema_dir: str) -> Any:
        # The validator depends on the schema path alone: stix2-validator keeps the first patched
        # schema per path (_PATCHED_SCHEMAS) and ignores later ``schema`` arguments for that path.
        key = (schema_path, schema_dir, len(v._FILE_SCHEMAS), len(v._HTTP_SCHEMAS))
        cached = _VALIDATORS.get(key)
        if cached is None:
            fresh = original(schema_path, schema, schema_dir)
            resolver = fresh._resolver
            registry = resolver._registry
            known = dict(_referenced(v, resolver._base_uri, fresh.schema, schema_dir))
            known.pop(resolver._base_uri, None)  # the root schema (patched for this use) keeps its place
            registry = registry.with_resources(known.items()).crawl()
            cached = fresh.evolve(_resolver=registry.resolver(base_uri=resolver._base_uri))
            _VALIDATORS[key] = cached
        return cached

    load_validator.memoised = True  # type: ignore[attr-defined]
    v.load_validator = load_validator


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _referenced(v: Any, base: str, schema: Any, schema_dir: str) -> Iterator[tuple[str, Resource[Any]]]:
    """Every schema file reachable by ``$ref`` from ``schema``, under the URI that ``referencing`` looks
    it up by, loaded by stix2-validator's own retrieve callback (which caches it)."""
    seen: set[str] = {base}
    todo = [(base, schema)]
    while todo:
        here, contents = todo.pop()
        for ref in _refs(contents):
            uri = urldefrag(urljoin(here, ref)).url
            if not uri or uri in seen:
                continue
            seen.add(uri)
            try:
                resource = v.retrieve_from_filesystem(uri, schema_dir)
            except Exception:  # noqa: BLE001 - left to the validator's own lookup, and its own error
                continue
            yield uri, resource
            todo.append((uri, resource.contents))

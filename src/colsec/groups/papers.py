"""Papers of a group, meeting or agenda item: files with versions, language and TLP.

Each version keeps its bytes in the database (a paper and its file commit together), its SHA-256
and size; uploads are refused above the size limit or when the first bytes do not match the
extension. A TLP:RED paper is visible only to the organisations it names and its author's.
"""

from __future__ import annotations

import hashlib

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.errors import Forbidden, InvalidInput, NotFound, TooLarge, UnsupportedMediaType
from colsec.groups.access import get_group, is_chair, member_kind
from colsec.groups.models import AgendaItem, Group, Meeting, Paper, PaperVersion
from colsec.groups.service import not_in_group, org_named, tlp_of
from colsec.stix.tlp import TLP
from colsec.store import audit

__all__ = ["MAX_PAPER_BYTES", "add_paper_version", "get_paper", "paper_visible", "upload_paper"]

MAX_PAPER_BYTES = 20 * 1024 * 1024

# extension -> (content type, magic bytes the file must start with, or None for UTF-8 text)
PAPER_TYPES: dict[str, tuple[str, bytes | None]] = {
    "pdf": ("application/pdf", b"%PDF-"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK\x03\x04"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04"),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", b"PK\x03\x04"),
    "odt": ("application/vnd.oasis.opendocument.text", b"PK\x03\x04"),
    "png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    "jpg": ("image/jpeg", b"\xff\xd8\xff"),
    "txt": ("text/plain", None),
    "md": ("text/markdown", None),
}


def _check_file(filename: str, content: bytes, max_bytes: int) -> str:
    if len(content) > max_bytes:
        raise TooLarge(
            f"{filename}: {len(content)} bytes exceeds the {max_bytes}-byte limit for papers",
            kind="paper_too_large",
            params={"file": filename, "limit": max_bytes},
        )
    if not content:
        raise InvalidInput(f"{filename}: the file is empty", kind="paper_empty", params={"file": filename})
    ext = filename.rpartition(".")[2].lower() if "." in filename else ""
    kind = PAPER_TYPES.get(ext)
    if kind is None:
        raise UnsupportedMediaType(
            f"{filename}: papers are {', '.join(sorted(PAPER_TYPES))} files",
            kind="paper_type",
            params={"file": filename, "types": ", ".join(sorted(PAPER_TYPES))},
        )
    ctype, magic = kind
    if magic is None:
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            raise UnsupportedMediaType(
                f"{filename}: not UTF-8 text", kind="paper_not_utf8", params={"file": filename}
            ) from None
        if b"\0" in content:
            raise UnsupportedMediaType(
                f"{filename}: binary content in a text file",
                kind="paper_binary_text",
                params={"file": filename},
            )
    elif not content.startswith(magic):
        raise UnsupportedMediaType(
            f"{filename}: the content is not a .{ext} file",
            kind="paper_content_mismatch",
            params={"file": filename, "ext": ext},
        )
    return ctype


def upload_paper(
    db: Session, *, actor: Actor, group_id: int, title: str, language: str, tlp: str | None, filename: str,
    content: bytes, recipients: list[str] | None = None, meeting_id: int | None = None,
    agenda_item_id: int | None = None, max_bytes: int = MAX_PAPER_BYTES,
) -> Paper:  # fmt: skip
    """A new paper with its first version; TLP:RED papers name the organisations that may read them."""
    g = get_group(db, actor, group_id)
    if not (member_kind(db, g.id, actor.org_id) == "member" or is_chair(g, actor) or g.secretary_user_id == actor.user_id
            or actor.is_operator):  # fmt: skip
        raise Forbidden(
            f"only members of {g.code} table papers", kind="paper_members_only", params={"group": g.code}
        )
    if language not in ("en", "ru"):
        raise InvalidInput("language is 'en' or 'ru'", kind="unknown_language")
    if not title.strip() or len(title) > 300:
        raise InvalidInput("a paper needs a title of at most 300 characters", kind="paper_title")
    level = tlp_of(tlp) if tlp else TLP(g.default_tlp)
    named: list[int] = []
    if level == TLP.RED:
        if not recipients:
            raise InvalidInput(
                "a TLP:RED paper names the organisations that may read it (recipients)",
                kind="paper_red_recipients",
            )
        for short in recipients:
            org = org_named(db, short)
            if member_kind(db, g.id, org.id) is None:
                raise not_in_group(short, g)
            named.append(org.id)
        if actor.org_id is not None and actor.org_id not in named:
            named.append(actor.org_id)  # the author's organisation keeps sight of what it tabled
    elif recipients:
        raise InvalidInput("recipients are named only for TLP:RED papers", kind="paper_recipients_not_red")
    if meeting_id is not None:
        mt = db.get(Meeting, meeting_id)
        if mt is None or mt.group_id != g.id:
            raise InvalidInput(
                f"meeting {meeting_id} is not in {g.code}",
                kind="meeting_not_in_group",
                params={"meeting": meeting_id, "group": g.code},
            )
    if agenda_item_id is not None:
        ai = db.get(AgendaItem, agenda_item_id)
        mt = db.get(Meeting, ai.meeting_id) if ai else None
        if mt is None or mt.group_id != g.id:
            raise InvalidInput(
                f"agenda item {agenda_item_id} is not in {g.code}",
                kind="agenda_item_not_in_group",
                params={"item": agenda_item_id, "group": g.code},
            )
        meeting_id = mt.id
    ctype = _check_file(filename, content, max_bytes)
    p = Paper(group_id=g.id, meeting_id=meeting_id, agenda_item_id=agenda_item_id, title=title, language=language,
              tlp=int(level), recipients=orjson.dumps(sorted(named)).decode(), created_by=actor.username)  # fmt: skip
    db.add(p)
    db.flush()
    _version(db, p, actor, filename, ctype, content)
    return p


def _version(db: Session, p: Paper, actor: Actor, filename: str, ctype: str, content: bytes) -> PaperVersion:
    n = db.execute(
        select(func.coalesce(func.max(PaperVersion.version), 0)).where(PaperVersion.paper_id == p.id)
    ).scalar_one()
    v = PaperVersion(paper_id=p.id, version=n + 1, filename=filename[:255], content_type=ctype, size=len(content),
                     sha256=hashlib.sha256(content).hexdigest(), content=content, uploaded_by=actor.username)  # fmt: skip
    db.add(v)
    db.flush()
    audit.record(db, actor=actor, action="groups.paper.version", target=f"paper:{p.id}",
                 details={"version": v.version, "sha256": v.sha256, "size": v.size})  # fmt: skip
    return v


def paper_visible(db: Session, actor: Actor, p: Paper) -> bool:
    if actor.is_operator:
        return True
    if p.tlp == TLP.RED:
        return actor.org_id is not None and actor.org_id in orjson.loads(p.recipients)
    return True  # below RED, every member of the group reads the group's papers


def get_paper(db: Session, *, actor: Actor, paper_id: int) -> tuple[Paper, list[PaperVersion]]:
    p = db.get(Paper, paper_id)
    if p is None:
        raise NotFound(f"paper {paper_id} not found")
    try:
        get_group(db, actor, p.group_id)
    except NotFound:
        raise NotFound(f"paper {paper_id} not found") from None
    if not paper_visible(db, actor, p):
        raise NotFound(f"paper {paper_id} not found")
    versions = list(
        db.execute(
            select(PaperVersion).where(PaperVersion.paper_id == p.id).order_by(PaperVersion.version)
        ).scalars()
    )
    return p, versions


def add_paper_version(
    db: Session,
    *,
    actor: Actor,
    paper_id: int,
    filename: str,
    content: bytes,
    max_bytes: int = MAX_PAPER_BYTES,
) -> PaperVersion:
    p, _ = get_paper(db, actor=actor, paper_id=paper_id)
    if p.created_by != actor.username and not actor.is_operator:
        g = db.get(Group, p.group_id)
        if g is None or not (is_chair(g, actor) or g.secretary_user_id == actor.user_id):
            raise Forbidden(
                "only the author, the chair or the secretary adds versions", kind="paper_version_author_only"
            )
    return _version(db, p, actor, filename, _check_file(filename, content, max_bytes), content)

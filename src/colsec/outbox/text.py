"""Messages told to people (notices, e-mail subjects and bodies) in each recipient's language.

A domain says what to tell as a ``Text``: a catalog message id (the English sentence) and its
parameters.  The notifier renders it once per recipient in that user's language, with the
node's one set of Babel catalogs (the web UI's, ``colsec/web/locale``), so a Russian-speaking
member reads Russian in the inbox and in the e-mail alike.  Parameters that are themselves
``Text`` (a state, a role) are translated too; dates are formatted per language, in UTC.
Plain strings pass through untouched: they are data (an inject's title, a user's question).
The extraction (``web/locale/README.md``) finds a message only as a literal argument of ``Text``,
``N_`` or gettext: a message chosen at run time is marked with ``N_`` where it is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_datetime
from babel.support import NullTranslations, Translations

__all__ = ["LANGUAGES", "N_", "Message", "Text", "render"]

LANGUAGES = ("en", "ru")
_LOCALE_DIR = Path(__file__).resolve().parent.parent / "web" / "locale"
# The UI's one date-and-time format per language (``colsec.web.i18n.DATETIME_PATTERN``).
_DATETIME = "d MMM y, HH:mm"


def N_(message: str) -> str:
    """Mark a message for extraction where it is only named (a table of messages, one of two
    branches): it is translated later, as a ``Text`` or in a template, where the language is known."""
    return message


@dataclass(frozen=True)
class Text:
    """A catalog message with ``%(name)s`` parameters, rendered in the reader's language."""

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)


@cache
def _catalog(lang: str) -> NullTranslations:
    tr = Translations.load(str(_LOCALE_DIR), [lang], domain="messages")
    if lang != "en" and not isinstance(tr, Translations):
        raise RuntimeError(f"message catalog for {lang!r} is missing under {_LOCALE_DIR}")
    return tr


def _param(value: Any, lang: str) -> Any:
    if isinstance(value, Text):
        return render(value, lang)
    if isinstance(value, datetime):
        at = value if value.tzinfo else value.replace(tzinfo=UTC)
        return format_datetime(at, _DATETIME, tzinfo=UTC, locale=lang) + " UTC"
    return value


Message = str | Text | list[Text]


def render(message: Message, lang: str | None) -> str:
    """``message`` in ``lang`` (English when the language is unknown or unset); a list is one
    line per item."""
    if isinstance(message, list):
        return "\n".join(render(line, lang) for line in message)
    if not isinstance(message, Text):
        return message
    lang = lang if lang in LANGUAGES else "en"
    template = _catalog(lang).gettext(message.msgid)
    if not message.params:
        return template
    return template % {k: _param(v, lang) for k, v in message.params.items()}

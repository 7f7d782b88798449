"""Languages of the web UI: Babel catalogs (``en``, ``ru``), negotiation, localised formatting.

One Jinja2 environment per language, each with its own gettext callables and
Babel-bound date/number filters, so a template never needs to know the locale.
Autoescaping is on for every template: data from peers is hostile HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import format_decimal
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from colsec.outbox.text import N_

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "TEMPLATE_DIR",
    "environment",
    "format_day",
    "format_duration",
    "format_when",
    "negotiate",
    "parse_accept_language",
    "translations",
]

WEB_DIR = Path(__file__).resolve().parent
LOCALE_DIR = WEB_DIR / "locale"
TEMPLATE_DIR = WEB_DIR / "templates"
LANGUAGES: tuple[str, ...] = ("en", "ru")
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}
# The UI's one date-and-time and one date format (CLDR patterns; Babel localises the month names,
# "5 Dec 2026" / "5 дек. 2026"); times are shown in UTC, and say so.
DATETIME_PATTERN = "d MMM y, HH:mm"
DAY_PATTERN = "d MMM y"


@cache
def translations(lang: str) -> Translations:
    """The compiled catalog for ``lang``; a missing catalog is a packaging error, not a fallback."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    tr = Translations.load(str(LOCALE_DIR), [lang], domain="messages")
    if not isinstance(tr, Translations):
        raise RuntimeError(f"message catalog for {lang!r} is missing under {LOCALE_DIR}")
    return tr


def parse_accept_language(header: str | None) -> str | None:
    """The best supported language from an ``Accept-Language`` header, by q-value."""
    if not header:
        return None
    best: tuple[float, int, str] | None = None
    for pos, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > 0 and (best is None or (q, -pos) > (best[0], best[1])):
            best = (q, -pos, primary)
    return best[2] if best else None


def negotiate(*, user_language: str | None, session_language: str | None, accept_language: str | None) -> str:
    """The user's setting first, then the language picked before login, then the browser's."""
    for cand in (user_language, session_language, parse_accept_language(accept_language)):
        if cand in LANGUAGES:
            return cand
    return DEFAULT_LANGUAGE


def _to_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return None


def _is_day(value: Any) -> bool:
    """A date with no time of day (a ``date``, or ``2026-12-05`` as text): shown as a day, no
    midnight invented for it."""
    if isinstance(value, str):
        return len(value.strip()) == 10
    return isinstance(value, date) and not isinstance(value, datetime)


def format_day(value: Any, lang: str) -> str:
    """A date in the UI's one day format ("5 Dec 2026" / "5 дек. 2026"); a time is read in UTC."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return format_date(value, DAY_PATTERN, locale=lang)
    parsed = _to_datetime(value)
    return format_date(parsed.astimezone(UTC).date(), DAY_PATTERN, locale=lang) if parsed else ""


def format_when(value: Any, lang: str, *, tz: str | None = None) -> str:
    """A moment in the UI's one format, its zone stated: "5 Dec 2026, 10:00 UTC"; with ``tz`` (a
    meeting's own zone) the local time, whose zone the page names beside it. A bare date stays a
    day; text that is not a date is shown as it is rather than lost."""
    if _is_day(value) and _to_datetime(value) is not None:
        return format_day(value, lang)
    parsed = _to_datetime(value)
    if parsed is None:
        return value if isinstance(value, str) else ""
    if tz is not None:
        try:
            return format_datetime(parsed, DATETIME_PATTERN, tzinfo=ZoneInfo(tz), locale=lang)
        except (ValueError, ZoneInfoNotFoundError):  # a zone this system does not know: UTC, said so
            pass
    return format_datetime(parsed, DATETIME_PATTERN, tzinfo=UTC, locale=lang) + " UTC"


# A duration's parts, largest first: abbreviations do not decline, so one word serves every number.
_DURATION_UNITS = (
    (86400, N_("%(n)s d")),
    (3600, N_("%(n)s h")),
    (60, N_("%(n)s min")),
    (1, N_("%(n)s s")),
)


def format_duration(value: Any, lang: str) -> str:
    """Seconds (or a ``timedelta``) as a reader writes them: "1 h 30 min" / "1 ч 30 мин", zero
    parts left out; a scenario's deadlines are stored in seconds, which nobody reads at a glance."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    total = round(abs(value))
    gettext = translations(lang).gettext
    parts = []
    for size, unit in _DURATION_UNITS:
        count, total = divmod(total, size)
        if count:
            parts.append(gettext(unit) % {"n": format_decimal(count, locale=lang)})
    text = " ".join(parts) or gettext(_DURATION_UNITS[-1][1]) % {"n": "0"}
    return ("−" + text) if value <= -0.5 else text


def _filters(lang: str) -> dict[str, Callable[..., str]]:
    loc = Locale.parse(lang)

    def when(value: Any, *, tz: str | None = None) -> str:
        return format_when(value, lang, tz=tz)

    def day(value: Any) -> str:
        return format_day(value, lang)

    def num(value: Any) -> str:
        return format_decimal(value, locale=loc) if value is not None else ""

    def delta(value: Any, *, add_direction: bool = True) -> str:
        if isinstance(value, datetime | str):
            parsed = _to_datetime(value)
            if parsed is None:
                return ""
            value = parsed - datetime.now(UTC)
        if not isinstance(value, timedelta):
            return ""
        return format_timedelta(value, locale=loc, add_direction=add_direction, threshold=1.1)

    def duration(value: Any) -> str:
        return format_duration(value, lang)

    # One filter for a moment, one for a day: a second format would need a second filter.
    return {"datetime": when, "date": day, "number": num, "timedelta": delta, "duration": duration}


@cache
def environment(lang: str) -> Environment:
    """The Jinja2 environment for one language (built once)."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(_filters(lang))
    env.globals["LANG"] = lang
    env.globals["LANGUAGES"] = LANGUAGES
    env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    return env

"""Every page in both languages: no untranslated string; catalogs complete and up to date."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from babel.util import pathmatch

from colsec.web.i18n import LOCALE_DIR, negotiate, parse_accept_language

from .conftest import csrf_of

REPO = Path(__file__).resolve().parents[2]
LOCALE = Path("src/colsec/web/locale")  # the catalogs, from the repository root (where the commands run)
# Names that stay in Latin script in Russian text: standards, formats, products, units.
LATIN_OK = {
    "TLP",
    "STIX",
    "TAXII",
    "URL",
    "IP",
    "IPv4",
    "IPv6",
    "MD5",
    "SHA",
    "CVE",
    "API",
    "MISP",
    "MITRE",
    "ATT",
    "CK",
    "CSV",
    "PDF",
    "ICS",
    "CERT",
    "CAP",
    "UTC",
    "XML",
    "XLSX",
    "MSEL",
    "UTF",
    "YAML",
    "JSON",
    "Suricata",
    "Zeek",
    "Intel",
    "colsec",
    "RED",
    "AMBER",
    "STRICT",
    "GREEN",
    "CLEAR",
}  # fmt: skip  (TLP 2.0 labels are not translated)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
TEXT_ATTRS = ("placeholder", "title", "aria-label", "alt")


class VisibleText(HTMLParser):
    """Text and labelling attributes outside ``translate="no"`` subtrees, scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[str] = []

    def _skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        skip = a.get("translate") == "no" or tag in ("script", "style")
        if not skip and not self._skipping():
            self.texts.extend(v for k, v in attrs if k in TEXT_ATTRS and v)
            if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
                self.texts.append(a["value"] or "")
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._skipping() and dict(attrs).get("translate") != "no":
            self.texts.extend(v for k, v in attrs if k in TEXT_ATTRS and v)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if data.strip() and not self._skipping():
            self.texts.append(data.strip())


def visible_texts(html: str) -> list[str]:
    p = VisibleText()
    p.feed(html)
    return p.texts


def untranslated(html: str, lang: str) -> list[str]:
    bad = []
    for text in visible_texts(html):
        if lang == "ru":
            words = set(re.findall(r"[A-Za-z][A-Za-z0-9]*", text)) - LATIN_OK
            if any(len(w) > 1 and not re.fullmatch(r"[A-Z]?\d*", w) for w in words):
                bad.append(text)
        elif re.search(r"[А-Яа-яЁё]", text):
            bad.append(text)
    return bad


def _switch(c, lang: str) -> None:  # type: ignore[no-untyped-def]
    r = c.post("/lang", data={"csrf_token": csrf_of(c.get("/").text), "lang": lang, "next": "/"})
    assert r.status_code == 200 and f'<html lang="{lang}">' in r.text


def _pages(c, admin: bool, drain: Callable[[], int]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Every page of the UI, rendered for this client."""
    pages = {
        p: c.get(p).text
        for p in (
            "/",
            "/intel",
            "/intel?q=198.51.100",
            "/intel?q=nothing-matches",
            "/import",
            "/crisis",
            "/dashboard/crisis-panel",
        )
    }
    listing = c.get("/intel?type=").text
    for typ in ("indicator", "malware", "report", "threat-actor", "identity", "relationship"):
        m = re.search(rf'href="(/intel/{typ}--[^"]+)"', c.get(f"/intel?type={typ}").text)
        assert m, typ
        pages[m.group(1)] = c.get(m.group(1)).text
    del listing
    pages["404"] = c.get("/intel/indicator--00000000-0000-4000-8000-000000000000").text
    token = csrf_of(pages["/"])
    review = c.post("/import", data={"csrf_token": token, "format": "auto", "tlp": "green",
                                     "text": "Beacon to 198.51.100.44 and evil-update.example.net, hash "
                                             "d41d8cd98f00b204e9800998ecf8427e, see CVE-2024-3400."})  # fmt: skip
    assert review.status_code == 200 and 'data-testid="candidate"' in review.text
    pages["review"] = review.text
    bundle = (REPO / "tests" / "ui" / "data" / "small_bundle.json").read_bytes()
    r = c.post("/import", data={"csrf_token": token, "format": "auto", "tlp": "amber"},
               files={"file": ("small_bundle.json", bundle, "application/json")}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    job = r.headers["location"]
    pages["job-running"] = c.get(job).text
    drain()  # the node's worker, here by hand (an app around an injected database runs none)
    html = c.get(job).text
    pages["job-done"] = html
    assert 'data-testid="import-done"' in html, html
    if admin:
        for p in (
            "/admin/organisations",
            "/admin/users",
            "/admin/tokens",
            "/admin/peers",
            "/admin/collections",
            "/admin/sharing-groups",
            "/admin/audit",
            "/admin/jobs",
            "/groups",
            "/exercises",
            "/reports/schedules",
        ):
            pages[p] = c.get(p).text
        scenario = re.search(r'href="(/exercises/scenarios/\d+)"', pages["/exercises"])
        assert scenario, "the demo scenario is listed"
        pages[scenario.group(1)] = c.get(scenario.group(1)).text
        assert 'data-testid="scenario-injects"' in pages[scenario.group(1)]
        pages["scenario-refused"] = c.post("/exercises/scenarios", data={"csrf_token": token},
                                           files={"file": ("s.yaml", b"name: [")}).text  # fmt: skip
        assert 'data-testid="error-problems"' in pages["scenario-refused"]
        assert 'data-testid="peers"' in pages["/admin/peers"]
        assert 'data-testid="schedule-form"' in pages["/reports/schedules"]
        pages["schedule-refused"] = c.post("/reports/schedules", data={"csrf_token": token, "kind": "weekly",
                                           "audience": "green", "at": "07:00", "auto_publish": "1"}).text  # fmt: skip
        assert 'data-testid="schedule-error"' in pages["schedule-refused"]
        pages["token-created"] = c.post(
            "/admin/tokens", data={"csrf_token": token, "username": "viewer", "name": "t"}
        ).text
    else:
        pages["403"] = c.get("/admin/users").text
    return pages


def test_every_page_renders_in_both_languages_without_untranslated_text(
    ui_client, ui_app, demo_database
) -> None:
    from colsec.accounts.roles import SYSTEM
    from colsec.federation import service as federation

    with demo_database.unit_of_work() as db:  # so the peers page has a row to render
        federation.create_peer(db, actor=SYSTEM, name="eastvale-node", url="https://127.0.0.1:9/taxii2/",
                               organisation="EV-CERT")  # fmt: skip
    for username, admin in (("admin", True), ("nm-analyst", False)):
        c = ui_client(username)
        for lang in ("ru", "en"):
            _switch(c, lang)
            drain = ui_app.state.node.job_runner(schedules=()).run_once
            for name, html in _pages(c, admin, drain).items():
                assert f'<html lang="{lang}">' in html or name == "/dashboard/crisis-panel", name
                assert untranslated(html, lang) == [], (username, lang, name)
    anon = ui_client()
    for lang in ("ru", "en"):
        html = anon.get("/login", headers={"Accept-Language": f"{lang};q=0.9"}).text
        assert f'<html lang="{lang}">' in html
        assert untranslated(html, lang) == []


def test_language_from_user_setting_then_accept_language(ui_client) -> None:
    ru_user = ui_client("coordinator", **{"Accept-Language": "en-GB,en;q=0.9"})  # demo setting: ru
    assert '<html lang="ru">' in ru_user.get("/").text
    en_user = ui_client("admin", **{"Accept-Language": "ru-RU,ru;q=0.9"})  # demo setting: en
    assert '<html lang="en">' in en_user.get("/").text
    assert parse_accept_language("de-DE, ru;q=0.5, en;q=0.4") == "ru"
    assert parse_accept_language("fr") is None
    assert negotiate(user_language=None, session_language=None, accept_language="ru") == "ru"
    assert negotiate(user_language="en", session_language="ru", accept_language="ru") == "en"


def test_public_pages_follow_a_logged_in_users_setting(ui_client) -> None:
    """The public pages (open to anyone) still speak a logged-in user's saved language."""
    ru_user = ui_client("coordinator", **{"Accept-Language": "en-GB,en;q=0.9"})  # demo setting: ru
    assert '<html lang="ru">' in ru_user.get("/public").text
    assert '<html lang="en">' in ru_user.get("/public?lang=en").text  # asked for: it wins
    anonymous = ui_client(**{"Accept-Language": "en"})
    assert '<html lang="en">' in anonymous.get("/public").text


def test_switching_language_is_stored_as_the_users_setting(ui_client) -> None:
    c = ui_client("admin")
    _switch(c, "ru")
    again = ui_client("admin", **{"Accept-Language": "en"})  # a new session of the same user
    assert '<html lang="ru">' in again.get("/").text


def test_dates_and_numbers_are_localised(ui_client) -> None:
    c = ui_client("admin")
    _switch(c, "ru")
    ru = c.get("/intel").text
    _switch(c, "en")
    en = c.get("/intel").text
    # one format, month names localised, the zone named: "25 нояб. 2026, 16:10 UTC" / "25 Nov 2026, 16:10 UTC"
    assert re.search(r"\d{1,2} [а-я]+\.? \d{4}, \d{2}:\d{2} UTC", ru)
    assert re.search(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC", en)
    from colsec.web.i18n import environment

    assert environment("ru").filters["number"](1234567) == "1\xa0234\xa0567"
    assert environment("en").filters["number"](1234567) == "1,234,567"
    assert environment("ru").filters["date"]("2026-11-20T12:00:00Z").replace("\u202f", " ") == "20 нояб. 2026"


def _catalog(path: Path) -> Catalog:
    with open(path, "rb") as f:
        return read_po(f)


def _po(lang: str, root: Path = LOCALE_DIR) -> Path:
    return root / lang / "LC_MESSAGES" / "messages.po"


def _key(m: Message) -> tuple[object, str | None]:
    """A message as the catalog knows it: its id (singular and plural) and its context."""
    return (tuple(m.id) if isinstance(m.id, list | tuple) else m.id, m.context)


def _text(m: Message) -> object:
    return tuple(m.string) if isinstance(m.string, list | tuple) else m.string


def _entries(cat: Catalog) -> list[tuple[object, str | None]]:
    return [_key(m) for m in cat if m.id]


def _documented(verb: str, root: Path) -> list[str]:
    """The ``pybabel <verb>`` command of ``locale/README.md`` as a developer runs it, writing its
    catalogs under ``root`` in place of the committed ones."""
    text = (LOCALE_DIR / "README.md").read_text().replace("\\\n", " ")
    [line] = [x for x in text.splitlines() if x.strip().startswith(f"pybabel {verb} ")]
    args = shlex.split(line)
    for i, arg in enumerate(args):
        if args[i - 1] in ("-o", "-i", "-d"):
            args[i] = str(root / Path(arg).relative_to(LOCALE))
    return [sys.executable, "-m", "babel.messages.frontend", *args[1:]]


def test_catalogs_are_complete_and_compiled() -> None:
    pot = _entries(_catalog(LOCALE_DIR / "messages.pot"))
    assert len(pot) > 150
    for lang in ("en", "ru"):
        cat = _catalog(_po(lang))
        assert _entries(cat) == pot, (lang, set(pot) ^ set(_entries(cat)))  # same messages, same order
        assert not cat.obsolete, (lang, list(cat.obsolete))
        for m in cat:
            if m.id:
                forms = m.string if isinstance(m.string, list | tuple) else [m.string]
                assert all(forms) and not m.fuzzy, (lang, m.id)
        with open(LOCALE_DIR / lang / "LC_MESSAGES" / "messages.mo", "rb") as f:
            mo = {_key(m): _text(m) for m in read_mo(f) if m.id}
        assert mo == {_key(m): _text(m) for m in cat if m.id}, f"run pybabel compile for {lang}"
    ru = _catalog(_po("ru"))
    same = [m.id for m in ru if m.id and m.string == m.id and not set(m.id.split()) <= LATIN_OK | {"URL"}]
    assert same == [], "Russian entries left in English"


def test_catalogs_are_what_the_documented_commands_make(tmp_path: Path) -> None:
    """The README's extraction and update, run afresh, give the committed catalogs: every message
    the sources use (plural and context included), nothing stale, in the tools' own order."""
    shutil.copytree(LOCALE_DIR, tmp_path, dirs_exist_ok=True)
    for verb in ("extract", "update"):
        subprocess.run(_documented(verb, tmp_path), cwd=REPO, check=True, capture_output=True)
    fresh = _entries(_catalog(tmp_path / "messages.pot"))
    known = _entries(_catalog(LOCALE_DIR / "messages.pot"))
    assert set(fresh) - set(known) == set(), "missing from messages.pot: run locale/README.md"
    assert set(known) - set(fresh) == set(), "stale in messages.pot (no source uses them)"
    assert fresh == known, "messages.pot is not in the order the extraction writes: run locale/README.md"
    for lang in ("en", "ru"):
        merged = [(_key(m), _text(m)) for m in _catalog(_po(lang, tmp_path)) if m.id]
        assert merged == [(_key(m), _text(m)) for m in _catalog(_po(lang)) if m.id], lang


def test_every_module_that_marks_messages_is_extracted() -> None:
    """A module outside ``babel.cfg`` would lose its messages at the next extraction."""
    with open(LOCALE_DIR / "babel.cfg") as f:
        methods, _ = parse_mapping_cfg(f)
    marks = re.compile(r"(?<![\w])(?:_|N_|Text|gettext|ngettext|pgettext|npgettext)\(\s*[rbuf]*[\"']")
    python = [pattern for pattern, method in methods if method == "python"]
    sources = (p.relative_to(REPO).as_posix() for p in sorted((REPO / "src" / "colsec").rglob("*.py")))
    outside = [
        rel
        for rel in sources
        if marks.search((REPO / rel).read_text()) and not any(pathmatch(pattern, rel) for pattern in python)
    ]
    assert outside == [], "add these to src/colsec/web/locale/babel.cfg"


def test_messages_chosen_at_run_time_are_in_the_catalog() -> None:
    """States, outcomes and severities become messages by name (``state_text``, ``Text(severity)``)."""
    from colsec.crisis import states
    from colsec.crisis.notify import state_text
    from colsec.crisis.outcome import Outcome
    from colsec.intel.alerts import SEVERITIES

    names = {name for machine in (states.INCIDENT, states.CRISIS, states.REQUEST, states.OFFER)
             for to, sources in machine.items() for name in (to, *sources)}  # fmt: skip
    wanted = {state_text(n).msgid for n in names | {o.value for o in Outcome}} | set(SEVERITIES)
    known = {m.id for m in _catalog(LOCALE_DIR / "messages.pot") if m.id}
    assert wanted - known == set()


def test_the_checker_finds_untranslated_text() -> None:
    assert untranslated("<p>Поиск <b>Search</b></p>", "ru") == ["Search"]
    assert untranslated('<p translate="no">Northmark CERT</p><input placeholder="Value">', "ru") == ["Value"]
    assert untranslated("<p>Протокол TLP, адрес IPv4, хеш SHA-256</p>", "ru") == []
    assert untranslated("<p>Найти</p>", "en") == ["Найти"]


def test_members_still_to_answer_takes_the_plural_each_language_needs() -> None:
    """ "4 member(s) still to answer" read as English in a Russian sentence: three Russian forms now."""
    from colsec.web.i18n import translations

    def say(lang: str, n: int) -> str:
        one, many = "%(num)s member still to answer", "%(num)s members still to answer"
        return str(translations(lang).ngettext(one, many, n) % {"num": n})

    assert [say("ru", n) for n in (1, 3, 5, 21)] == [
        "ещё не ответил 1 член", "ещё не ответили 3 члена", "ещё не ответили 5 членов", "ещё не ответил 21 член",
    ]  # fmt: skip
    assert [say("en", n) for n in (1, 4)] == ["1 member still to answer", "4 members still to answer"]


def test_a_severity_and_an_alert_level_agree_with_their_own_nouns() -> None:
    """ "high" as a severity sat beside "критическая / средняя / низкая" as "высокий" (the alert
    level's word): a context parts the two."""
    from colsec.web.ui.render import ui_environment as environment

    macros = environment("ru").get_template("ui/_macros.html").module
    assert "высокая" in str(macros.severity_label("high")) and "средняя" in str(
        macros.severity_label("medium")
    )
    assert (
        str(macros.level_label(3)).strip() == "высокий" and str(macros.level_label(2)).strip() == "повышенный"
    )
    assert str(environment("en").get_template("ui/_macros.html").module.level_label(3)).strip() == "high"

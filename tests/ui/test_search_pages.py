"""Search and object pages over HTTP: full text by ATT&CK id and name, facets, values in rows,
typed object properties (references as links, members of a grouping, the tactic strip), both languages."""

from __future__ import annotations

import re
from html import unescape

from .attack_sample import load
from .test_i18n import _switch, untranslated


def result_names(html: str) -> list[str]:
    return [unescape(n) for n in re.findall(r'data-testid="result-link">([^<]*)<', html)]


def test_search_by_attack_id_name_and_russian_word_form(ui_client, demo_database) -> None:  # type: ignore[no-untyped-def]
    objs = load(demo_database)
    c = ui_client("wh-analyst")  # another member: the sample is TLP:GREEN
    assert sorted(result_names(c.get("/intel?q=T1566").text)) == ["Phishing", "Spearphishing Attachment"]
    assert result_names(c.get("/intel?q=phishing+messages").text) == ["Phishing"]
    assert result_names(c.get("/intel?q=фишинговая").text) == ["Ember Lynx"]
    html = c.get("/intel?q=sw7.example").text
    assert result_names(html) == ["Sandworm domain 7"]
    assert '<code data-testid="result-value">sw7.example.org</code>' in html
    # relationships hidden unless asked for; the facets count what is listed
    html = c.get("/intel?q=sandworm").text
    assert len(result_names(html)) == 21 and "Sandworm campaign set" in result_names(html)
    assert result_names(c.get("/intel?q=glassfire").text) == ["Ember Lynx"]
    assert 'data-testid="facet-type"' in html and "/intel?q=sandworm&amp;type=indicator" in html
    assert result_names(c.get("/intel?q=sandworm&type=grouping").text) == ["Sandworm campaign set"]
    assert len(result_names(c.get("/intel?q=sandworm&rel=1&type=relationship").text)) == 0
    assert len(result_names(c.get("/intel?type=relationship").text)) >= 4
    # the JSON API answers the same search
    r = c.get("/api/v1/intel/search", params={"q": "T1566.001"})
    assert r.status_code == 200
    body = r.json()
    assert [x["id"] for x in body["results"]] == [objs["spear"]["id"]]
    assert body["results"][0]["value"] == "T1566.001" and body["facets"]["type"] == {"attack-pattern": 1}
    bad = c.get("/api/v1/intel/search", params={"tlp": "purple"})
    assert bad.status_code == 422 and "tlp" in bad.text


def test_object_pages_render_typed_properties(ui_client, demo_database) -> None:  # type: ignore[no-untyped-def]
    objs = load(demo_database)
    c = ui_client("wh-analyst")
    html = c.get(f"/intel/{objs['phishing']['id']}").text
    assert 'href="https://attack.mitre.org/techniques/T1566/"' in html
    assert '"external_id"' not in html and '"kill_chain_name"' not in html  # no raw JSON
    assert 'data-testid="tactic-strip"' in html
    group = c.get(f"/intel/{objs['group']['id']}").text
    strip = group.split('data-testid="tactic-strip"')[1].split("</ol>")[0]
    assert strip.count('class="hit"') == 3  # initial access, persistence, exfiltration
    assert f'href="/intel/{objs["valid"]["id"]}"' in strip
    grouping = c.get(f"/intel/{objs['grouping']['id']}").text
    assert "No relationships you can see." not in grouping
    members = re.findall(r'<a href="/intel/(indicator--[^"]+)" translate="no">Sandworm domain', grouping)
    assert len(set(members)) == 20
    assert 'data-testid="more-members"' in grouping  # 21 members: the long list folds
    for lang in ("ru", "en"):
        _switch(c, lang)
        for key in ("phishing", "group", "grouping"):
            page = c.get(f"/intel/{objs[key]['id']}").text
            assert untranslated(page, lang) == [], (lang, key)
        page = c.get("/intel?q=sandworm").text
        assert untranslated(page, lang) == [], lang
    _switch(c, "ru")
    page = c.get(f"/intel/{objs['phishing']['id']}").text
    assert "Внешние ссылки" in page and "Первоначальный доступ" in page

"""CEF extension keys and escaping, against the ArcSight CEF Implementation Standard.

No CEF capture is in shared/data; the lines are the standard's own examples (its
escaping section) and a proxy line written with the standard's full key names.
"""

from __future__ import annotations

from typing import Any

from colsec.match.readers import ReaderFormat, read_lines

SPEC_ESCAPES = [
    (
        "Sep 19 08:26:10 host CEF:0|security|threatmanager|1.0|100|detected a \\| in message|10|"
        "src=10.0.0.1 act=blocked a \\= dst=1.1.1.1",
        "detected a | in message",
        "blocked a =",
    ),
    (
        "Sep 19 08:26:10 host CEF:0|security|threatmanager|1.0|100|detected a \\\\ in packet|10|"
        "src=10.0.0.1 act=blocked a \\\\ dst=1.1.1.1",
        "detected a \\ in packet",
        "blocked a \\",
    ),
]


def _one(line: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    events = list(read_lines([line], fmt=ReaderFormat.CEF))
    assert len(events) == 1
    return events[0].raw, list(events[0].objects.values())


def test_spec_escaping_examples() -> None:
    for line, name, act in SPEC_ESCAPES:
        raw, objs = _one(line)
        assert raw["header"][5] == name and raw["extension"]["act"] == act
        assert {o.get("value") for o in objs} >= {"10.0.0.1", "1.1.1.1"}
    raw, _ = _one("Sep 19 08:26:10 host CEF:0|v|p|1|1|n|1|src=10.0.0.1 msg=first\\nsecond")
    assert raw["extension"]["msg"] == "first\nsecond"


def test_request_url_with_unescaped_query_is_a_url() -> None:
    """Issue 17: ``request=…?id=5`` lost the URL (the '=' of the query ended the value)."""
    line = (
        "Sep 19 08:26:10 host CEF:0|Vendor|Proxy|1.0|100|Blocked|5|src=10.0.0.1 dst=203.0.113.9 "
        "request=http://bad.example.com/a.php?id=5&x=y requestMethod=GET dhost=bad.example.com"
    )
    raw, objs = _one(line)
    assert {"type": "url", "value": "http://bad.example.com/a.php?id=5&x=y"} in objs
    assert {"type": "domain-name", "value": "bad.example.com"} in objs
    assert "id" not in raw["extension"] and "x" not in raw["extension"]
    traffic = next(o for o in objs if o["type"] == "network-traffic")
    assert traffic["extensions"]["http-request-ext"]["request_method"] == "GET"


def test_full_key_names_and_labelled_custom_strings() -> None:
    line = (
        "Sep 19 08:26:10 host CEF:0|Vendor|Proxy|1.0|100|Blocked|5|sourceAddress=10.0.0.1 "
        "destinationAddress=203.0.113.9 destinationHostName=bad.example.com requestUrl=http://bad.example.com/x "
        "requestClientApplication=Mozilla/5.0 (Windows NT 10.0) sourceUserName=alice fileName=C:\\\\t\\\\evil.exe "
        "fileHash=" + "b" * 40 + " cs1Label=Threat Domain cs1=c2.example.net cs2Label=Payload URL "
        "cs2=https://cdn.example.org/p.bin dntdom=CORP.EXAMPLE.COM"
    )
    raw, objs = _one(line)
    ext = raw["extension"]
    assert ext["src"] == "10.0.0.1" and ext["dhost"] == "bad.example.com" and ext["suser"] == "alice"
    values = {o.get("value") for o in objs}
    assert {"10.0.0.1", "203.0.113.9", "bad.example.com", "http://bad.example.com/x"} <= values
    assert {"c2.example.net", "https://cdn.example.org/p.bin"} <= values
    assert "corp.example.com" not in values  # a Windows NT domain, not a DNS name
    assert {"type": "file", "name": "evil.exe", "hashes": {"SHA-1": "b" * 40}} in objs
    assert {"type": "user-account", "user_id": "alice"} in objs
    traffic = next(o for o in objs if o["type"] == "network-traffic")
    headers = traffic["extensions"]["http-request-ext"]["request_header"]
    assert headers == {"User-Agent": "Mozilla/5.0 (Windows NT 10.0)"}

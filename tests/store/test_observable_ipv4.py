"""Addresses already in canonical dotted-quad form skip the ``ipaddress`` round trip (issue 20).

The shortcut must answer exactly what ``ipaddress`` answers: the same text for every address it
takes, and anything it does not take (leading zeros, octets over 255, non-ASCII digits, CIDR,
IPv6) must still reach ``ipaddress``.
"""

from __future__ import annotations

import ipaddress
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colsec.stix.observables import _DOTTED_QUAD, normalise

OCTETS = [
    "0",
    "00",
    "1",
    "01",
    "9",
    "10",
    "099",
    "99",
    "100",
    "199",
    "200",
    "249",
    "250",
    "255",
    "256",
    "300",
    "٤",
]


def _reference(kind: str, text: str) -> tuple[str, str] | None:
    """``normalise`` as it was: every address through ``ipaddress``."""
    text = text.strip()
    try:
        if "/" in text:
            net = ipaddress.ip_network(text, strict=False)
            if net.num_addresses == 1:
                return ("ipv4" if net.version == 4 else "ipv6", str(net.network_address))
            return ("cidr4" if net.version == 4 else "cidr6", str(net))
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    return ("ipv4" if addr.version == 4 else "ipv6", str(addr))


@pytest.mark.parametrize("kind", ["ipv4", "ip", "ipv6"])
def test_every_octet_shape_answers_as_ipaddress_does(kind: str) -> None:
    taken = 0
    for octets in itertools.product(OCTETS, repeat=4):
        text = ".".join(octets)
        assert normalise(kind, text) == _reference(kind, text), text
        taken += bool(_DOTTED_QUAD.fullmatch(text))
    assert taken  # the shortcut was exercised, not only the fallback


@pytest.mark.parametrize(
    "text",
    [
        "1.2.3.4/32",
        "1.2.3.0/24",
        "::1",
        "1.2.3",
        "1.2.3.4.5",
        "1.2.3.4 ",
        "1..3.4",
        "+1.2.3.4",
        "1.2.3.4\n",
        "１.2.3.4",
    ],
)
def test_other_texts_reach_ipaddress(text: str) -> None:
    assert normalise("ip", text) == _reference("ip", text)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="0123456789.٤/ ", max_size=18))
def test_any_short_text_answers_as_ipaddress_does(text: str) -> None:
    if text.strip():
        assert normalise("ipv4", text) == _reference("ipv4", text)

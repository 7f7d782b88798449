"""The pull inbox's own parser hands the puller what nats-py's parser does, however reads split.

The bytes are a real server's: a raw session with the local JetStream server pulls a batch
of messages (some carrying a format header, one a payload that reads like protocol), gets
the "no messages" status that ends a request, a message of another subscription and a PONG.
Fed to ``_PullParser`` and to the library's ``Parser`` in the same pieces, cut at random
points, both must deliver the same frames to the puller and leave the same state.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Iterator

import orjson
import pytest
from nats.protocol.parser import Parser

from colsec.match.nats_pull import PullClient, Puller, _PullParser, stream_seq, stream_seqs

from .natsutil import consumer_info, delete_stream, publish, require_nats, unique_stream

LINES = [
    '{"ts":1,"query":"example.org","id.orig_h":"10.0.0.1"}',
    "MSG fake.subject 1 $JS.ACK.X.Y.1.2.3.4.5 4\r\nlies\r\n",  # protocol inside a payload
    "",
    "x" * 5000,  # longer than one read of the tests' smallest pieces
    *(f'{{"timestamp":"2026-12-01T00:00:{i:02d}Z","event_type":"dns","n":{i}}}' for i in range(40)),
]


@pytest.fixture
def stream() -> Iterator[tuple[str, str]]:
    url, name = require_nats(), unique_stream()
    yield url, name
    delete_stream(url, name)


async def _consumer(url: str, stream: str) -> None:
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig

    nc = await nats.connect(url)
    try:
        await nc.jetstream().add_consumer(
            stream, ConsumerConfig(durable_name="c", ack_policy=AckPolicy.EXPLICIT)
        )
    finally:
        await nc.close()


def _capture(url: str, stream: str, batch: int) -> bytes:
    """What the server sends a client that pulls ``batch`` messages at once (no wait) and pings."""
    host, _, port = url.rpartition("//")[2].partition(":")
    with socket.create_connection((host, int(port)), timeout=3) as sock:
        info = b""
        while not info.endswith(b"\r\n"):
            info += sock.recv(4096)
        request = orjson.dumps({"batch": batch, "no_wait": True})
        sock.sendall(
            b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1}\r\n'
            b"SUB _INBOX.pull 1\r\nSUB other.subject 2\r\n"
            b"PUB $JS.API.CONSUMER.MSG.NEXT.%s.c _INBOX.pull %d\r\n%s\r\n"
            b"PUB other.subject 5\r\nhello\r\nPING\r\n" % (stream.encode(), len(request), request)
        )
        got = b""
        while not (b"HMSG _INBOX.pull 1  " in got and b"PONG\r\n" in got and b"MSG other.subject" in got):
            try:
                got += sock.recv(65536)
            except TimeoutError:
                raise AssertionError(got[-600:]) from None
        sock.sendall(b"PING\r\n")  # anything still on its way comes before this PONG
        while got.count(b"PONG\r\n") < 2:
            got += sock.recv(65536)
        return got


def _feed(parser: Parser, data: bytes, cuts: list[int]) -> None:
    async def run() -> None:
        for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
            await parser.parse(data[a:b])

    asyncio.run(run())


def _client(fast: bool) -> tuple[PullClient, Puller]:
    nc = PullClient()
    if not fast:
        nc._ps = Parser(nc)
    puller = Puller(nc, "unused", "_INBOX.pull")
    puller.sid, puller.want = 1, 10**6
    nc.puller = puller
    nc._flush_queue = asyncio.Queue()  # a PING from the server queues a PONG (sent once connected)
    return nc, puller


def test_pull_parser_delivers_what_the_library_parser_does(stream: tuple[str, str]) -> None:
    url, name = stream
    subject = f"tel.{name}"
    publish(url, name, subject, LINES[:20])
    publish(url, name, subject, LINES[20:], headers={"Colsec-Format": "eve"})
    asyncio.run(_consumer(url, name))
    data = _capture(url, name, batch=len(LINES) + 10)
    assert b"\r\nPONG\r\n" in data and b"\r\nHMSG tel." in data and b"\r\nMSG tel." in data

    nc, puller = _client(fast=False)
    assert isinstance(_client(fast=True)[0]._ps, _PullParser)
    _feed(nc._ps, data, [])
    reference = puller.got
    assert [d.decode() for _, d, _ in reference] == LINES  # every message, none of the others
    assert [stream_seq(r) for r, _, _ in reference] == list(range(1, len(LINES) + 1))
    assert stream_seqs([r for r, _, _ in reference]) == list(range(1, len(LINES) + 1))
    assert [h is not None and b"Colsec-Format: eve" in h for _, _, h in reference] == [
        i >= 20 for i in range(len(LINES))
    ]
    assert puller.ended.is_set()  # the status (408 at the end of a partial batch) ended the request
    pongs = nc._pending

    r = random.Random(7)
    for pieces in (1, 2, 5, 40, 400, len(data) // 3):
        cuts = sorted(r.sample(range(1, len(data)), min(pieces, len(data) - 1) - 1)) if pieces > 1 else []
        for fast in (True, False):
            nc, puller = _client(fast)
            _feed(nc._ps, data, cuts)
            assert puller.got == reference, (pieces, fast)
            assert puller.ended.is_set() and nc._pending == pongs
            assert (nc._ps.state, bytes(nc._ps.buf)) == (1, b"")  # awaiting a control line, nothing left
    assert consumer_info(url, name, "c").num_ack_pending == len(LINES)  # delivered, none acknowledged


def test_a_frame_the_pull_parser_cannot_read_is_left_to_the_library() -> None:
    """A size that is no number: the library's parser raises its protocol error, as it would alone."""
    from nats.errors import ProtocolError

    nc, puller = _client(fast=True)
    good = b"MSG s 1 $JS.ACK.S.c.1.1.1.1.0 2\r\nok\r\n"
    with pytest.raises(ProtocolError):
        _feed(nc._ps, good + b"MSG s 1 $JS.ACK.S.c.1.2.2.1.0 x2\r\nok\r\n", [])
    assert puller.got == [(b"$JS.ACK.S.c.1.1.1.1.0", b"ok", None)]


def test_stream_seqs_reads_either_ack_layout() -> None:
    plain = [b"$JS.ACK.S.c.1.%d.%d.1700000000000000000.0" % (q, q) for q in (7, 8, 30)]
    domain = b"$JS.ACK.hub.ACCHASH.S.c.1.42.9.1700000000000000000.0.tok"
    assert stream_seqs(plain) == [7, 8, 30]
    assert stream_seqs([domain]) == [42]
    assert stream_seqs([plain[0], domain, plain[2]]) == [7, 42, 30]
    assert stream_seqs([]) == []

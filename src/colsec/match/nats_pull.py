"""Pulling from a durable JetStream consumer and acknowledging, at a few microseconds a message.

nats-py hands every message through a coroutine, a ``Msg`` object, a subscription queue, a
task and a callback, and every acknowledgement through a coroutine and a publish of its own:
about 10 µs a message, close to half of what decoding and matching one telemetry line costs.
A matching worker needs none of that: it asks for a batch, takes the reply subject, the
payload and any headers of each message as they come off the parser, and after its commit
acknowledges the whole batch in one write.

Everything else (connecting, authentication, TLS, reconnecting, re-subscribing the inbox,
ping/pong, the JetStream API) is the library's. The two hooks into its internals (the
message dispatch ``_process_msg`` with the subscription id ``_id``, and the outbound buffer ``_send_command`` /
``_flush_pending``) sit in ``PullClient`` alone; tests/match/test_nats.py runs them against
a real server, so a client release that changes them fails there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from nats.aio.client import Client
from nats.protocol.parser import AWAITING_CONTROL_LINE, MAX_CONTROL_LINE_SIZE, Parser

__all__ = ["Delivery", "PullClient", "Puller", "stream_seq", "stream_seqs"]

#: What one pulled message brings: (reply subject, payload, raw headers or None).
Delivery = tuple[bytes, bytes, bytes | None]

_STATUS_LINE = b"NATS/1.0 "  # an inline status (404 no messages, 408 expired, 100 heartbeat...)


class PullClient(Client):
    """nats-py's client, with one pull inbox's messages taken straight off the protocol parser."""

    def __init__(self) -> None:
        super().__init__()
        self.puller: Puller | None = None
        self._ps = _PullParser(self)

    async def _process_msg(self, sid: int, subject: bytes, reply: bytes, data: bytes, headers: Any) -> None:
        puller = self.puller
        if puller is not None and sid == puller.sid:  # its subject is the message's own
            puller.arrive(reply, data, headers)
            return
        await super()._process_msg(sid, subject, reply, data, headers)

    async def publish_many(self, replies: Iterable[bytes], payload: bytes = b"") -> None:
        """One message with ``payload`` to each reply subject, in one write to the socket.

        While disconnected the bytes wait in the client's pending buffer, which is sent once
        reconnected, as any publish would be.
        """
        tail = b" %d\r\n%s\r\n" % (len(payload), payload)
        subjects = list(replies)
        data = b"PUB " + (tail + b"PUB ").join(subjects) + tail if subjects else b""
        if data:
            await self._send_command(data)
            await self._flush_pending()


class _PullParser(Parser):
    """nats-py's parser, with the pull inbox's frames cut from each read in one pass.

    The library's parser matches a regular expression, copies the payload twice and awaits a
    coroutine for every message, about 7 µs each; a JetStream batch is a run of ``MSG`` (or
    ``HMSG``) frames for one subscription, which ``_cut`` hands to the puller at about 1 µs.
    Anything else (PING, +OK, -ERR, INFO, another subscription's message) stops the cut, and
    the library's parser takes the rest of that read; a frame cut short by the read waits
    in ``buf`` for the next one.
    """

    nc: PullClient

    async def parse(self, data: bytes = b"") -> None:
        puller = self.nc.puller
        if puller is None or self.state != AWAITING_CONTROL_LINE:
            await super().parse(data)
            return
        if self.buf:  # the start of a frame the last read cut short
            data = bytes(self.buf) + data
            self.buf.clear()
        done, whole = _cut(data, puller)
        if len(puller.got) >= puller.want:
            puller.ended.set()
        if whole:
            self.buf.extend(memoryview(data)[done:])
        else:
            await super().parse(data[done:])


def _cut(data: bytes, puller: Puller) -> tuple[int, bool]:
    """Hand the puller each complete frame of its inbox from the start of ``data``: the bytes
    taken, and whether all of the rest is one frame still incomplete (else the library's)."""
    sid = b"%d" % puller.sid
    keep = puller.got.append
    find = data.find
    pos, n = 0, len(data)
    try:
        while pos < n:
            eol = find(b"\r\n", pos, pos + MAX_CONTROL_LINE_SIZE)
            if eol < 0:
                return pos, n - pos < MAX_CONTROL_LINE_SIZE
            parts = data[pos:eol].split(b" ")  # MSG subject sid reply size
            if len(parts) == 5 and parts[0] == b"MSG" and parts[2] == sid:
                hlen = 0
            elif len(parts) == 6 and parts[0] == b"HMSG" and parts[2] == sid:  # ... hlen size
                hlen = int(parts[4])
            else:
                return pos, False
            start = eol + 2
            end = start + int(parts[-1])
            if end + 2 > n:
                return pos, True
            if end < start + hlen or data[end : end + 2] != b"\r\n":
                return pos, False  # the library's parser names the protocol error
            if hlen:
                puller.arrive(parts[3], data[start + hlen : end], data[start : start + hlen])
            else:
                keep((parts[3], data[start:end], None))
            pos = end + 2
    except ValueError:  # a size that is no number
        return pos, False
    return pos, True


class Puller:
    """Pull requests on the durable consumer, answered into one inbox.

    The worker asks the consumer itself: first for what is already there (``no_wait``), and
    when the stream is quiet for one message at most ``wait`` seconds away.
    """

    def __init__(self, nc: PullClient, subject: str, inbox: str) -> None:
        self.nc, self.subject, self.inbox = nc, subject, inbox
        self.sid = -1  # the inbox subscription's id, once subscribed
        self.got: list[Delivery] = []
        self.want = 1
        self.ended = asyncio.Event()  # a status message, or ``want`` messages: the request is answered

    @classmethod
    async def start(cls, nc: PullClient, stream: str, durable: str) -> Puller:
        inbox = nc.new_inbox()
        puller = cls(nc, f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}", inbox)
        sub = await nc.subscribe(inbox)  # the server sends the inbox's messages; PullClient takes them
        puller.sid = sub._id
        nc.puller = puller
        return puller

    def arrive(self, reply: bytes, data: bytes, headers: bytes | None) -> None:
        if headers is not None and headers.startswith(_STATUS_LINE):
            if headers[9:12] != b"100":  # anything but a heartbeat ends the request
                self.ended.set()
            return
        self.got.append((reply, data, headers))
        if len(self.got) >= self.want:
            self.ended.set()

    async def fetch(self, batch: int, wait: float) -> list[Delivery]:
        """Up to ``batch`` messages: those waiting at once, else the first within ``wait`` seconds
        (none: ``wait`` 0)."""
        requests: list[dict[str, Any]] = [{"batch": batch, "no_wait": True}]
        if wait > 0:
            requests.append({"batch": 1, "expires": int(wait * 1e9)})
        for request in requests:
            if len(self.got) >= batch:
                break
            self.want = min(batch, len(self.got) + int(request["batch"]))
            self.ended.clear()
            await self.nc.publish(self.subject, orjson.dumps(request), reply=self.inbox)
            try:
                await asyncio.wait_for(self.ended.wait(), timeout=wait + 1.0)
            except TimeoutError:
                pass
            if self.got:
                break
        out, self.got = self.got[:batch], self.got[batch:]
        return out


def stream_seq(reply: bytes) -> int:
    """The stream sequence from a JetStream ack subject (either token layout), without a full parse.

    ``$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>``, or with domain and
    account hash in front: ``$JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>...``.
    """
    tokens = reply.split(b".")
    return int(tokens[5] if len(tokens) == 9 else tokens[7])


def stream_seqs(replies: Sequence[bytes]) -> list[int]:
    """``stream_seq`` of each ack subject: one split for a whole fetch in the usual layout."""
    tokens = b".".join(replies).split(b".")
    n = len(replies)
    if len(tokens) == 9 * n and tokens[0::9].count(b"$JS") == n and tokens[1::9].count(b"ACK") == n:
        return list(map(int, tokens[5::9]))
    return [stream_seq(r) for r in replies]


def header(headers: bytes | None, name: bytes) -> str | None:
    """One header's value from a message's raw header block (names compared case-blind)."""
    if not headers:
        return None
    want = name.lower()
    for line in headers.split(b"\r\n")[1:]:
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == want:
            return value.strip().decode("utf-8", "replace")
    return None

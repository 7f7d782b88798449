"""Helpers for tests and benchmarks that need the local NATS JetStream server."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Sequence
from typing import Any

import pytest

NATS_URL = os.environ.get("COLSEC_TEST_NATS_URL", "nats://127.0.0.1:4222")


def nats_reachable(url: str = NATS_URL) -> bool:
    host, _, port = url.rpartition("//")[2].partition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 4222)), timeout=1):
            return True
    except OSError:
        return False


def require_nats() -> str:
    """The server's URL; skip when it is down, except in CI where it must run (``.ci/run`` starts it)."""
    if nats_reachable():
        return NATS_URL
    message = f"NATS JetStream is not reachable at {NATS_URL} (start it with: nats-server -js)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


ACK_TIMEOUT = 60.0


def unique_stream() -> str:
    return f"T{uuid.uuid4().hex[:12]}"


async def _publish(
    url: str, stream: str, subject: str, lines: Sequence[str], headers: dict[str, str] | None
) -> list[int]:
    import nats

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        try:
            await js.stream_info(stream)
        except Exception:
            await js.add_stream(name=stream, subjects=[subject])
        seqs: list[int] = []
        for i in range(0, len(lines), 256):  # pipelined: one connection keeps the order
            # the acks of a pipelined batch can take longer than the client's 5 s default when the
            # machine is loaded (workers, database and server share two cores); that is not a failure
            acks = await asyncio.gather(
                *(
                    js.publish(subject, line.encode(), headers=headers, timeout=ACK_TIMEOUT)
                    for line in lines[i : i + 256]
                )
            )
            seqs.extend(a.seq for a in acks)
        return seqs
    finally:
        await nc.close()


def publish(
    url: str, stream: str, subject: str, lines: Sequence[str], headers: dict[str, str] | None = None
) -> list[int]:
    """Publish one message per line (creating the stream if needed); their stream sequences."""
    return asyncio.run(_publish(url, stream, subject, lines, headers))


async def _admin(url: str, stream: str, action: str, durable: str = "") -> Any:
    import nats

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        if action == "delete":
            try:
                await js.delete_stream(stream)
            except Exception:
                return None
            return None
        return await js.consumer_info(stream, durable)
    finally:
        await nc.close()


def delete_stream(url: str, stream: str) -> None:
    asyncio.run(_admin(url, stream, "delete"))


def consumer_info(url: str, stream: str, durable: str) -> Any:
    return asyncio.run(_admin(url, stream, "info", durable))

"""A minimal HTTP/1.1 client for load scripts: one request per connection, the request bytes
built before the clock starts.

The load scripts run their clients on the same two cores as the servers they measure, so
every millisecond of client CPU is a millisecond the servers do not get. httpx spent ~1.5–2.5
ms of CPU per 137 KiB upload here (its request model, h11 and the connection pool); writing
prepared bytes to a socket and reading the answer costs a fraction of that (the upload
script prints its client's CPU either way). It speaks only what the scripts need:
`Connection: close`, a `Content-Length` body, an answer with a `Content-Length` or read to
the end.
"""

import asyncio
import json
from dataclasses import dataclass


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self):
        return json.loads(self.body)


def build_request(method: str, host: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    """The request's bytes: head (Host, Content-Length, Connection: close and `headers`)
    and body."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}",
             "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def send(host: str, port: int, request: bytes, timeout: float = 120) -> RawResponse:
    """Send prepared `request` bytes on a new connection and read the whole answer."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), timeout)
        else:
            body = await asyncio.wait_for(reader.read(), timeout)
        return RawResponse(status=int(status_line.split()[1]), headers=headers, body=body)
    finally:
        writer.close()

"""The client address that per-address limits count (log-in failures, open websockets).

It is the peer the ASGI server reports (Django's REMOTE_ADDR, a websocket scope's "client").
Behind a reverse proxy that is the proxy, unless the server rewrites it from the proxy's
X-Forwarded-For: run uvicorn with `--proxy-headers --forwarded-allow-ips=<proxy>` or daphne
with `--proxy-headers` (README, Production). Headers are never read here, so a client cannot
pick its own address.
"""

import ipaddress


def address_bucket(address: str | None) -> str | None:
    """The unit one client is counted under: an IPv4 address itself, an IPv6 address's /64
    (one subscriber usually holds a whole /64 and could rotate through it), or None when the
    server reports no peer (a Unix socket without proxy headers): such clients are not
    counted per address."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an IP (a test client's name): count it as given
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)

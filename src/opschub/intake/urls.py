"""URL normalisation for reported addresses, so that the same page reported twice links up.

Steps (RFC 3986 section 6 plus what browsers do): trim; only ``http``/``https``; lower-case scheme
and host; IDNA (UTS 46) for international host names; user name and password dropped; default
ports dropped; dot segments removed; percent-encoding made canonical (unreserved characters
decoded, the rest upper-case ``%XX``, non-ASCII encoded as UTF-8); empty path becomes ``/``;
fragment removed. Addresses of private, loopback, link-local or otherwise non-public hosts are
refused: a report about them cannot be acted on and such URLs could be used to probe our network.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit, urlunsplit

import idna

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SUB_DELIMS = frozenset("!$&'()*+,;=")
_PATH_SAFE = _UNRESERVED | _SUB_DELIMS | frozenset(":@/")
_QUERY_SAFE = _PATH_SAFE | frozenset("?")
_HEX = frozenset("0123456789abcdefABCDEF")
_LOCAL_NAMES = ("localhost", "localhost.localdomain")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".lan")
# Hosts that browsers read as IPv4 addresses: 127.1, 0x7f.0.0.1, 2130706433, 0177.0.0.1...
_NUMERIC_HOST = re.compile(r"(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*\.?", re.IGNORECASE)


class UrlError(ValueError):
    """A URL that cannot be reported; the message says what is wrong in plain words."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{_shorten(url)!r}: {reason}")


def _shorten(url: str, limit: int = 120) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "…"


def _canonical_percent(text: str, safe: frozenset[str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        pair = text[i + 1 : i + 3]
        if char == "%" and len(pair) == 2 and set(pair) <= _HEX:
            decoded = chr(int(pair, 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + pair.upper())
            i += 3
            continue
        if char in safe:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4."""
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
            continue
        if segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
            continue
        output.append(segment)
    result = "/".join(output)
    return result if result.startswith("/") else "/" + result


_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address that an IPv6 form routes to (mapped, compatible, NAT64, 6to4), if any:
    ``[::ffff:127.0.0.1]``, ``[::127.0.0.1]``, ``[64:ff9b::7f00:1]`` or ``[2002:7f00:1::]`` all
    reach 127.0.0.1 on some networks, so they are judged by that address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    compatible = address in _IPV4_COMPATIBLE and int(address) > 1  # not :: or ::1
    if compatible or any(address in net for net in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _check_ip(url: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            address = embedded
    if address.is_loopback:
        raise UrlError(url, "the address is this computer (loopback), not a public website")
    if address.is_link_local:
        raise UrlError(url, "the address is a link-local address, not a public website")
    if address.is_private:
        raise UrlError(url, "the address is in a private network, not a public website")
    if not address.is_global or address.is_multicast:
        raise UrlError(url, "the address is not a public internet address")


def _numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    if not _NUMERIC_HOST.fullmatch(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
    except (OSError, ValueError):
        return None


def _normalise_host(url: str, host: str) -> str:
    if not host:
        raise UrlError(url, "the address has no host name")
    if host.startswith("["):
        if not host.endswith("]"):
            raise UrlError(url, "the IPv6 address in brackets is not closed")
        try:
            address6 = ipaddress.IPv6Address(host[1:-1].split("%", 1)[0])
        except ValueError:
            raise UrlError(url, "the IPv6 address is malformed") from None
        _check_ip(url, address6)
        return f"[{address6.compressed}]"
    # Map first (UTS 46: full-width and ideographic full stops become ".", full-width digits
    # ASCII, upper case lower), then strip the trailing dots of a fully qualified name, and only
    # then judge the host: "127。0。0。1" and "localhost。" are 127.0.0.1 and localhost.
    try:
        host = idna.uts46_remap(host, std3_rules=False, transitional=False)
    except (idna.IDNAError, UnicodeError) as exc:
        raise UrlError(url, f"the host name {host!r} is not a valid domain name ({exc})") from None
    host = host.rstrip(".").lower()
    if not host:
        raise UrlError(url, "the address has no host name")
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        numeric = _numeric_ipv4(host)
        if numeric is not None:
            _check_ip(url, numeric)
            return str(numeric)
        if host.replace(".", "").isdigit():
            raise UrlError(
                url, "the host looks like a number but is not a valid IP address"
            ) from None
    else:
        _check_ip(url, address)
        return str(address)
    try:
        ascii_host = idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise UrlError(url, f"the host name {host!r} is not a valid domain name ({exc})") from None
    ascii_host = ascii_host.lower()
    if ascii_host in _LOCAL_NAMES or ascii_host.endswith(_LOCAL_SUFFIXES):
        raise UrlError(url, f"the host name {host!r} is a local name, not a public website")
    if "." not in ascii_host:
        raise UrlError(url, f"the host name {host!r} has no dot; a public website needs one")
    return ascii_host


def normalise_url(raw: str) -> str:
    """The canonical form of ``raw``; :class:`UrlError` says what is wrong with it."""
    url = raw.strip()
    if not url:
        raise UrlError(raw, "the address is empty")
    if len(url) > MAX_URL_LENGTH:
        raise UrlError(raw, f"the address is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise UrlError(raw, "the address contains spaces or control characters")
    if "://" not in url:
        scheme_guess = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme_guess and scheme_guess.isalpha() and scheme_guess not in DEFAULT_PORTS:
            raise UrlError(
                raw, f"only http and https addresses can be reported, not {scheme_guess}:"
            )
        url = "http://" + url  # people often type "example.org/page"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlError(raw, f"the address is malformed ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UrlError(raw, f"only http and https addresses can be reported, not {scheme}:")
    netloc = parts.netloc.rsplit("@", 1)[-1]  # user name and password are not part of the page
    host = netloc
    if host.startswith("["):
        host = host[: host.find("]") + 1] if "]" in host else host
    elif ":" in host:
        host = host.rsplit(":", 1)[0]
    host = _normalise_host(raw, host)
    if port is not None and port == 0:
        raise UrlError(raw, "port 0 is not a valid port")
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _remove_dot_segments(_canonical_percent(parts.path, _PATH_SAFE)) if parts.path else "/"
    query = _canonical_percent(parts.query, _QUERY_SAFE)
    return urlunsplit((scheme, netloc, path, query, ""))


def host_of(normalised: str) -> str:
    """The host of a normalised URL (for grouping and filters)."""
    return urlsplit(normalised).hostname or ""

"""Who to tell: the operator's directory of providers, stored RDAP answers, and known CDNs.

- The **provider directory** (``providers.toml`` in the hosting data directory) is kept by the
  operator: each provider has a name, the AS numbers and domains it answers for, an abuse
  address and optionally a language, a webhook and, for a domain behind a CDN, the ``origin``
  host or address where the content really lives.
- **RDAP answers** (JSON, as a registry's RDAP server returns them for an AS number or an IP
  network) are stored by the operator; the abuse contact is the entity with the role
  ``abuse``, which registries often nest inside the registrant's entity.
- **CDNs** come from the list shipped with opschub (``cdns.toml``): a CDN only forwards traffic,
  so both the CDN and, where known, the origin's host are notified.

Nothing here touches the network.
"""

from __future__ import annotations

import ipaddress
import json
import tomllib
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from opschub.takedown.ranges import RangeError, RangeFileError

PROVIDERS_FILE = "providers.toml"
RDAP_DIR = "rdap"
_LANGUAGES = ("en", "zh-Hans")


@dataclass(frozen=True)
class Provider:
    name: str
    abuse: str
    asns: tuple[int, ...] = ()
    domains: tuple[str, ...] = ()
    language: str = "en"
    webhook: str | None = None
    origin: str | None = None


@dataclass(frozen=True)
class AbuseContact:
    email: str
    name: str | None
    source: str  # "directory:asn", "directory:domain", "rdap:<file>"
    language: str | None = None
    webhook: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "email": self.email,
            "name": self.name,
            "source": self.source,
            "language": self.language,
            "webhook": self.webhook,
        }


# -- provider directory ------------------------------------------------------------------------


def _error(file: str, line: int, field_name: str, reason: str) -> RangeError:
    return RangeError(file, line, field_name, reason)


def parse_providers(text: str, file: str) -> list[Provider]:
    """Read a provider directory; raise RangeFileError naming every bad entry and field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", 0) or 0
        raise RangeFileError([_error(file, line, "file", str(exc))], 1) from None
    entries = data.get("provider", [])
    errors: list[RangeError] = []
    providers: list[Provider] = []
    if not isinstance(entries, list) or not entries:
        errors.append(_error(file, 0, "provider", "no [[provider]] entries"))
    for n, entry in enumerate(entries if isinstance(entries, list) else [], start=1):
        where = f"provider[{n}]"
        bad = len(errors)
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.append(_error(file, 0, f"{where}.name", "a name is required"))
        abuse = entry.get("abuse")
        if not isinstance(abuse, str) or "@" not in abuse:
            errors.append(_error(file, 0, f"{where}.abuse", f"{abuse!r} is not an email address"))
        asns = entry.get("asns", [])
        if not isinstance(asns, list) or not all(
            isinstance(a, int) and 0 < a <= 0xFFFFFFFF for a in asns
        ):
            errors.append(_error(file, 0, f"{where}.asns", "must be a list of AS numbers"))
        domains = entry.get("domains", [])
        if not isinstance(domains, list) or not all(
            isinstance(d, str) and "." in d for d in domains
        ):
            errors.append(_error(file, 0, f"{where}.domains", "must be a list of domain names"))
        if not asns and not domains and len(errors) == bad:
            errors.append(_error(file, 0, where, "needs asns or domains to be found by"))
        language = entry.get("language", "en")
        if language not in _LANGUAGES:
            errors.append(
                _error(file, 0, f"{where}.language", f"{language!r} is not one of en, zh-Hans")
            )
        webhook = entry.get("webhook")
        if webhook is not None and not (
            isinstance(webhook, str) and webhook.startswith(("https://", "http://"))
        ):
            errors.append(_error(file, 0, f"{where}.webhook", "must be an http(s) URL"))
        origin = entry.get("origin")
        if origin is not None and not isinstance(origin, str):
            errors.append(_error(file, 0, f"{where}.origin", "must be a host name or address"))
        if len(errors) == bad:
            providers.append(
                Provider(
                    name=name.strip(),
                    abuse=abuse.strip(),
                    asns=tuple(asns),
                    domains=tuple(d.lower().strip(".") for d in domains),
                    language=language,
                    webhook=webhook,
                    origin=origin,
                )
            )
    if errors:
        raise RangeFileError(errors, len(errors))
    return providers


@dataclass
class Directory:
    providers: list[Provider] = field(default_factory=list)

    @classmethod
    def read(cls, directory: Path) -> Directory:
        path = directory / PROVIDERS_FILE
        if not path.exists():
            return cls()
        return cls(parse_providers(path.read_text(encoding="utf-8"), str(path)))

    def by_asn(self, asn: int | None) -> Provider | None:
        if asn is None:
            return None
        return next((p for p in self.providers if asn in p.asns), None)

    def by_domain(self, host: str) -> Provider | None:
        """The provider of the longest listed domain that ``host`` is or is under."""
        host = host.lower().strip(".")
        best: tuple[int, Provider] | None = None
        for provider in self.providers:
            for domain in provider.domains:
                if (host == domain or host.endswith("." + domain)) and (
                    best is None or len(domain) > best[0]
                ):
                    best = (len(domain), provider)
        return best[1] if best else None


def contact_of(provider: Provider, how: str) -> AbuseContact:
    return AbuseContact(
        provider.abuse, provider.name, f"directory:{how}", provider.language, provider.webhook
    )


# -- RDAP --------------------------------------------------------------------------------------


def _vcard(entity: dict[str, Any], prop: str) -> str | None:
    card = entity.get("vcardArray")
    if not (isinstance(card, list) and len(card) == 2 and isinstance(card[1], list)):
        return None
    for item in card[1]:
        if isinstance(item, list) and len(item) >= 4 and item[0] == prop:
            value = item[3]
            if isinstance(value, str) and value.strip():
                return value.strip().removeprefix("mailto:")
    return None


def abuse_from_rdap(answer: dict[str, Any], source: str = "rdap") -> AbuseContact | None:
    """The abuse contact of an RDAP answer: the entity with the role ``abuse`` nearest the top
    (breadth first, since registries nest it inside the registrant), that has an email."""
    queue: deque[dict[str, Any]] = deque(
        e for e in answer.get("entities", []) if isinstance(e, dict)
    )
    while queue:
        entity = queue.popleft()
        roles = entity.get("roles", [])
        if isinstance(roles, list) and "abuse" in roles:
            email = _vcard(entity, "email")
            if email:
                return AbuseContact(email, _vcard(entity, "fn"), source)
        queue.extend(e for e in entity.get("entities", []) if isinstance(e, dict))
    return None


@dataclass(frozen=True)
class RdapAnswer:
    file: str
    kind: str  # "autnum" or "ip network"
    low: int
    high: int
    version: int  # 0 for autnum, 4 or 6 for networks
    contact: AbuseContact | None


def parse_rdap(text: str, file: str) -> RdapAnswer:
    """Check a stored RDAP answer for an AS number or an IP network."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RangeFileError([_error(file, exc.lineno, "file", exc.msg)], 1) from None
    if not isinstance(data, dict):
        raise RangeFileError([_error(file, 1, "file", "not an RDAP object")], 1)
    kind = data.get("objectClassName")
    name = Path(file).name
    if kind == "autnum":
        low, high = data.get("startAutnum"), data.get("endAutnum", data.get("startAutnum"))
        if not isinstance(low, int) or not isinstance(high, int) or high < low:
            raise RangeFileError([_error(file, 0, "startAutnum", "missing or not a number")], 1)
        return RdapAnswer(name, kind, low, high, 0, abuse_from_rdap(data, f"rdap:{name}"))
    if kind == "ip network":
        try:
            start = ipaddress.ip_address(str(data.get("startAddress")))
            end = ipaddress.ip_address(str(data.get("endAddress")))
        except ValueError as exc:
            raise RangeFileError([_error(file, 0, "startAddress", str(exc))], 1) from None
        if start.version != end.version or int(end) < int(start):
            raise RangeFileError([_error(file, 0, "endAddress", "not after startAddress")], 1)
        return RdapAnswer(
            name, kind, int(start), int(end), start.version, abuse_from_rdap(data, f"rdap:{name}")
        )
    raise RangeFileError(
        [_error(file, 0, "objectClassName", f"{kind!r} is not 'autnum' or 'ip network'")], 1
    )


def read_rdap(directory: Path) -> list[RdapAnswer]:
    folder = directory / RDAP_DIR
    if not folder.is_dir():
        return []
    return [
        parse_rdap(p.read_text(encoding="utf-8"), str(p)) for p in sorted(folder.glob("*.json"))
    ]


def rdap_contact(
    answers: list[RdapAnswer], ip: ipaddress.IPv4Address | ipaddress.IPv6Address, asn: int | None
) -> AbuseContact | None:
    """The most specific stored answer: the smallest network holding ``ip``, else the AS."""
    networks = [
        a
        for a in answers
        if a.kind == "ip network" and a.version == ip.version and a.low <= int(ip) <= a.high
    ]
    for answer in sorted(networks, key=lambda a: a.high - a.low):
        if answer.contact:
            return answer.contact
    if asn is not None:
        for answer in answers:
            if answer.kind == "autnum" and answer.low <= asn <= answer.high and answer.contact:
                return answer.contact
    return None


# -- CDNs --------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def known_cdns() -> dict[int, str]:
    """AS number -> CDN name, from the list shipped with opschub."""
    text = resources.files("opschub.takedown").joinpath("cdns.toml").read_text(encoding="utf-8")
    return {asn: cdn["name"] for cdn in tomllib.loads(text)["cdn"] for asn in cdn["asns"]}

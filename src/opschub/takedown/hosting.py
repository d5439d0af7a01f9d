"""Where content is hosted: host -> addresses -> country, network, AS number and abuse contact.

Everything comes from data the operator loaded into ``$OPSCHUB_DATA_DIR/hosting`` (see
docs/takedown.md); the only network traffic is resolving the host name with the system
resolver. For each address the sources are asked in this order and each field is taken from the
first that knows it: iptoasn ranges, MaxMind-format databases, RIR delegation files (country
only). The abuse contact is the provider directory's (by the host's domain, then by AS number),
else a stored RDAP answer's. An address in a known CDN is flagged, and the origin's contact is
added when the directory names the origin for the host's domain.

    data = HostingData(settings.data_dir / "hosting")
    for answer in data.lookup("www.example.net"):
        print(answer.to_json())
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opschub.takedown.contacts import (
    PROVIDERS_FILE,
    RDAP_DIR,
    AbuseContact,
    Directory,
    RdapAnswer,
    contact_of,
    known_cdns,
    parse_providers,
    parse_rdap,
    rdap_contact,
    read_rdap,
)
from opschub.takedown.ranges import (
    LoadSummary,
    NetworkRecord,
    RangeError,
    RangeFileError,
    RangeStore,
)

MMDB_DIR = "mmdb"
FORMATS = ("iptoasn", "rir", "mmdb", "providers", "rdap")
Resolver = Callable[[str], list[str]]


def system_resolver(host: str) -> list[str]:
    """Addresses of ``host`` from the system resolver, IPv4 first, without duplicates."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    found = {str(info[4][0]).split("%")[0] for info in infos}
    return sorted(found, key=lambda a: (ipaddress.ip_address(a).version, a))


@dataclass
class Notify:
    role: str  # "host", "cdn", "origin"
    contact: AbuseContact | None
    ip: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "role": self.role,
            "ip": self.ip,
            "abuse": self.contact.email if self.contact else None,
            "contact": self.contact.to_json() if self.contact else None,
        }


@dataclass
class HostingAnswer:
    ip: str
    country: str | None = None
    asn: int | None = None
    as_name: str | None = None
    abuse: AbuseContact | None = None
    cdn: str | None = None
    sources: list[str] = field(default_factory=list)
    notify: list[Notify] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "ip": self.ip,
            "country": self.country,
            "asn": self.asn,
            "as_name": self.as_name,
            "abuse": self.abuse.email if self.abuse else None,
            "abuse_source": self.abuse.source if self.abuse else None,
            "cdn": self.cdn,
            "sources": self.sources,
            "notify": [n.to_json() for n in self.notify],
        }


class HostingDataError(Exception):
    """A look-up cannot be answered (no data loaded, host does not resolve)."""


def _mmdb_record(record: Any) -> NetworkRecord | None:
    """Read the fields of GeoLite2/GeoIP2 Country, City and ASN databases and of iptoasn-style
    databases (``country_code``, ``asn``/``as_number``, ``as_name``/``as_description``)."""
    if not isinstance(record, dict):
        return None
    country = None
    for key in ("country", "registered_country"):
        value = record.get(key)
        if isinstance(value, dict) and isinstance(value.get("iso_code"), str):
            country = value["iso_code"]
            break
    if country is None and isinstance(record.get("country_code"), str):
        country = record["country_code"]
    asn = None
    for key in ("autonomous_system_number", "asn", "as_number"):
        value = record.get(key)
        if isinstance(value, int):
            asn = value
            break
        if isinstance(value, str) and value.upper().removeprefix("AS").isdigit():
            asn = int(value.upper().removeprefix("AS"))
            break
    name = None
    for key in ("autonomous_system_organization", "as_name", "as_description", "as_org"):
        if isinstance(record.get(key), str):
            name = record[key]
            break
    if country is None and asn is None and name is None:
        return None
    return NetworkRecord(asn or None, country.upper() if country else None, name)


class HostingData:
    """The operator's hosting data in ``directory``, loaded and looked up."""

    def __init__(self, directory: Path, resolver: Resolver = system_resolver) -> None:
        self.directory = directory
        self.ranges = RangeStore(directory)
        self.resolver = resolver
        self._readers: dict[Path, Any] = {}

    # -- loading ----------------------------------------------------------------------------

    def load(
        self,
        path: Path,
        format: str,
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> dict[str, object]:
        """Check ``path`` whole and install it; RangeFileError (nothing changed) if it is bad."""
        if format in ("iptoasn", "rir"):
            summary: LoadSummary = self.ranges.load_file(
                path,
                "iptoasn" if format == "iptoasn" else "rir",
                on_progress=on_progress,
            )
            return summary.to_json()
        if format == "mmdb":
            return self._load_mmdb(path)
        if format == "providers":
            providers = parse_providers(path.read_text(encoding="utf-8"), str(path))
            self._install(path, self.directory / PROVIDERS_FILE)
            return {"source": "providers", "file": str(path), "providers": len(providers)}
        if format == "rdap":
            answer = parse_rdap(path.read_text(encoding="utf-8"), str(path))
            self._install(path, self.directory / RDAP_DIR / path.name)
            return {
                "source": "rdap",
                "file": str(path),
                "kind": answer.kind,
                "abuse": answer.contact.email if answer.contact else None,
            }
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")

    def _install(self, source: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(source, tmp)
        tmp.replace(target)  # atomic: readers see the old file or the new one

    def _load_mmdb(self, path: Path) -> dict[str, object]:
        import maxminddb

        try:
            with maxminddb.open_database(str(path)) as reader:
                meta = reader.metadata()
                database_type = str(meta.database_type)
                node_count = int(meta.node_count)
        except (maxminddb.InvalidDatabaseError, ValueError, OSError) as exc:
            raise RangeFileError(
                [RangeError(str(path), 0, "file", f"not a MaxMind DB file: {exc}")], 1
            ) from None
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in database_type) or "mmdb"
        self._install(path, self.directory / MMDB_DIR / f"{safe}.mmdb")
        self._readers.clear()
        return {
            "source": "mmdb",
            "file": str(path),
            "database_type": database_type,
            "nodes": node_count,
        }

    # -- reading ----------------------------------------------------------------------------

    def _mmdb_readers(self) -> list[Any]:
        import maxminddb

        folder = self.directory / MMDB_DIR
        paths = sorted(folder.glob("*.mmdb")) if folder.is_dir() else []
        readers = []
        for path in paths:
            if path not in self._readers:
                self._readers[path] = maxminddb.open_database(str(path))
            readers.append(self._readers[path])
        return readers

    def has_data(self) -> bool:
        return bool(self.ranges.sources() or self._mmdb_readers())

    def addresses(self, host_or_ip: str) -> list[str]:
        text = host_or_ip.strip().strip("[]")
        try:
            return [str(ipaddress.ip_address(text))]
        except ValueError:
            pass
        try:
            return self.resolver(text)
        except (OSError, UnicodeError) as exc:
            raise HostingDataError(f"{host_or_ip}: does not resolve ({exc})") from None

    def network(self, ip: str) -> tuple[NetworkRecord, list[str]]:
        """Country, AS number and name of ``ip``, each from the first source that knows it."""
        parts: dict[str, Any] = {"asn": None, "country": None, "as_name": None}
        used: list[str] = []
        found: list[tuple[str, NetworkRecord | None]] = []
        if "iptoasn" in self.ranges.sources():
            found.append(("iptoasn", self.ranges.lookup(ip, "iptoasn")))
        for reader in self._mmdb_readers():
            found.append((f"mmdb:{reader.metadata().database_type}", _mmdb_record(reader.get(ip))))
        if "rir" in self.ranges.sources():
            found.append(("rir", self.ranges.lookup(ip, "rir")))
        for name, record in found:
            if record is None:
                continue
            took = False
            for key in parts:
                value = getattr(record, key)
                if parts[key] is None and value is not None:
                    parts[key] = value
                    took = True
            if took:
                used.append(name)
        return NetworkRecord(parts["asn"], parts["country"], parts["as_name"]), used

    def lookup(self, host_or_ip: str) -> list[HostingAnswer]:
        """One answer per address of ``host_or_ip``."""
        if not self.has_data():
            raise HostingDataError(
                "no hosting data loaded; load some with `opschub hosting load FILE --format ...`"
            )
        directory = Directory.read(self.directory)
        rdap = read_rdap(self.directory)
        host = host_or_ip.strip().strip("[]").lower()
        is_name = not _is_ip(host)
        answers = []
        for ip in self.addresses(host_or_ip):
            answer = self._answer(ip, host if is_name else None, directory, rdap)
            if answer.cdn:
                self._add_origin(answer, host if is_name else None, directory, rdap)
            answers.append(answer)
        return answers

    def _answer(
        self, ip: str, host: str | None, directory: Directory, rdap: list[RdapAnswer]
    ) -> HostingAnswer:
        record, used = self.network(ip)
        answer = HostingAnswer(ip, record.country, record.asn, record.as_name, sources=used)
        answer.cdn = known_cdns().get(record.asn) if record.asn else None
        by_domain = directory.by_domain(host) if host else None
        # Behind a CDN the domain's own provider is the origin, not the address's network.
        if by_domain and not answer.cdn:
            answer.abuse = contact_of(by_domain, "domain")
        else:
            provider = directory.by_asn(record.asn)
            answer.abuse = (
                contact_of(provider, "asn")
                if provider
                else rdap_contact(rdap, ipaddress.ip_address(ip), record.asn)
            )
        answer.notify.append(Notify("cdn" if answer.cdn else "host", answer.abuse, ip))
        return answer

    def _add_origin(
        self,
        answer: HostingAnswer,
        host: str | None,
        directory: Directory,
        rdap: list[RdapAnswer],
    ) -> None:
        provider = directory.by_domain(host) if host else None
        if provider is None:
            return
        if provider.origin is None:
            answer.notify.append(Notify("origin", contact_of(provider, "domain")))
            return
        try:
            origin_ips = self.addresses(provider.origin)
        except HostingDataError:
            origin_ips = []
        for ip in origin_ips[:4]:
            record, _ = self.network(ip)
            owner = directory.by_asn(record.asn)
            contact = (
                contact_of(owner, "asn")
                if owner
                else rdap_contact(rdap, ipaddress.ip_address(ip), record.asn)
            )
            answer.notify.append(Notify("origin", contact or contact_of(provider, "domain"), ip))
        if not origin_ips:
            answer.notify.append(Notify("origin", contact_of(provider, "domain")))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def lookup_batch(data: HostingData, ips: Sequence[str]) -> list[NetworkRecord | None]:
    """Network records of many literal addresses from the iptoasn ranges (vectorised)."""
    return data.ranges.lookup_many(list(ips), "iptoasn")

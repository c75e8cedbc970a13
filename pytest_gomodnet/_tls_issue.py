"""How :class:`~.tls.GomodnetCA` issues: keys, issuers, leaves' parts and files.

Private to :mod:`.tls`."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from trustme import KeyType

from ._chains import (
    _INTERMEDIATE_LIFETIME,
    _ORGANIZATION,
    _WRONG_DNS_NAMES,
    _WRONG_IPV4,
    _WRONG_IPV6,
    ONE_DAY,
    CertChain,
    ChainLink,
    ChainSpec,
    _PrivateKey,
)
from .errors import ChainError

if TYPE_CHECKING:
    from .tls import GomodnetCA


_CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


@dataclass(frozen=True)
class _Issuer:
    """A CA that signs leaves: its certificate as served, and its key."""

    link: ChainLink
    certificate: x509.Certificate
    key: _PrivateKey = field(repr=False)

    @classmethod
    def of(cls, role: str, ca: trustme.CA) -> _Issuer:
        # Through trustme's public PEMs rather than its private attributes.
        pem = ca.cert_pem.bytes()
        key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
        assert isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey))
        return cls(ChainLink._from_pem(role, pem), x509.load_pem_x509_certificate(pem), key)


@dataclass(frozen=True)
class _Chain:
    """The cached, file-less part of a CertChain."""

    hosts: tuple[str, ...]
    spec: ChainSpec
    key_type: KeyType
    links: tuple[ChainLink, ...]
    key_pem: bytes = field(repr=False)
    story: str

    def write(self, directory: Path, ca_bundle: Path) -> CertChain:
        folder = directory / _folder_name(self.hosts, self.spec, self.key_type)
        folder.mkdir(parents=True, exist_ok=True)
        cert_file, key_file = folder / "chain.pem", folder / "key.pem"
        _write(cert_file, b"".join(link.pem for link in self.links), 0o644)
        _write(key_file, self.key_pem, 0o600)
        return CertChain(
            hosts=self.hosts,
            shape=self.spec,
            key_type=self.key_type,
            links=self.links,
            cert_file=cert_file,
            key_file=key_file,
            ca_bundle=ca_bundle,
            description=f"{', '.join(self.hosts)}: {self.story} — {self.spec}",
        )


def _new_key(key_type: KeyType) -> _PrivateKey:
    if key_type is KeyType.RSA:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _leaf_key_usage(key_type: KeyType) -> x509.KeyUsage:
    # RSA key exchange (TLS 1.2 without ECDHE) needs keyEncipherment; ECDSA must not have it.
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=key_type is KeyType.RSA,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _general_name(identity: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(identity))
    except ValueError:
        return x509.DNSName(identity)


def _wrong_identities(hosts: tuple[str, ...]) -> tuple[str, ...]:
    """One identity of each kind ``hosts`` has (DNS, IPv4, IPv6), none of them asked for."""
    kinds = {_kind(host) for host in hosts}
    wrong = []
    for kind, candidates in (
        ("dns", _WRONG_DNS_NAMES),
        ("ipv4", _WRONG_IPV4),
        ("ipv6", _WRONG_IPV6),
    ):
        if kind in kinds:
            wrong.append(next(c for c in candidates if c not in hosts))
    return tuple(wrong)


def _kind(host: str) -> str:
    try:
        return f"ipv{ipaddress.ip_address(host).version}"
    except ValueError:
        return "dns"


# --- host names ------------------------------------------------------------------

# --- small helpers ---------------------------------------------------------------


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _whole_seconds_utc(now: datetime | None) -> datetime:
    # Certificates carry whole seconds, so "now" does too: dates then compare exactly.
    moment = datetime.now(UTC) if now is None else now
    if moment.tzinfo is None:
        raise ChainError(f"now={moment!r} has no time zone: pass an aware datetime (UTC)")
    return moment.astimezone(UTC).replace(microsecond=0)


def _folder_name(hosts: tuple[str, ...], spec: ChainSpec, key_type: KeyType) -> str:
    readable = re.sub(r"[^a-z0-9.+-]", "_", "+".join(hosts))
    name = f"{spec}-{key_type.name.lower()}-{readable}"
    if len(name) > 100:
        digest = sha256("+".join(hosts).encode()).hexdigest()[:12]
        name = f"{name[:80]}-{digest}"
    return name


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` so that ``path`` ends with exactly ``mode``, whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as file:
        os.fchmod(file.fileno(), mode)
        file.write(data)


def make_issuer(ca: GomodnetCA, role: str) -> _Issuer:
    """The CA that plays ``role`` under ``ca``'s root (the intermediate is trustme's own)."""
    if role == "intermediate":
        return _Issuer.of(role, ca.intermediate)
    if role == "sub-intermediate":
        child = trustme.CA(
            parent_cert=ca.intermediate,
            path_length=0,
            organization_name=_ORGANIZATION,
            organization_unit_name=f"gomodnet sub-intermediate CA {ca.tag}",
            key_type=ca.key_type,
        )
        return _Issuer.of(role, child)
    if role == "untrusted intermediate":
        stranger = trustme.CA(
            organization_name=_ORGANIZATION,
            organization_unit_name=f"gomodnet untrusted root CA {ca.tag}",
            key_type=ca.key_type,
        )
        child = trustme.CA(
            parent_cert=stranger,
            path_length=0,
            organization_name=_ORGANIZATION,
            organization_unit_name=f"gomodnet intermediate CA of the untrusted root {ca.tag}",
            key_type=ca.key_type,
        )
        return _Issuer.of(role, child)
    assert role == "expired intermediate"
    return _expired_intermediate(ca)


def _expired_intermediate(ca: GomodnetCA) -> _Issuer:
    """An intermediate under the session root whose notAfter is ONE_DAY before now.

    trustme gives every CA the same fixed validity, so this one is signed here.
    """
    root = _Issuer.of("root", ca)
    key = _new_key(ca.key_type)
    not_after = ca.now - ONE_DAY
    certificate = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
                    x509.NameAttribute(
                        NameOID.ORGANIZATIONAL_UNIT_NAME,
                        f"gomodnet expired intermediate CA {ca.tag}",
                    ),
                ]
            )
        )
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - _INTERMEDIATE_LIFETIME)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()),
            critical=False,
        )
        .add_extension(_CA_KEY_USAGE, critical=True)
        .sign(root.key, hashes.SHA256())
    )
    return _Issuer(
        link=ChainLink._from_pem(
            "expired intermediate", certificate.public_bytes(serialization.Encoding.PEM)
        ),
        certificate=certificate,
        key=key,
    )

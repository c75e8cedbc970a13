"""Certificate chains on demand, each in a named shape that real servers get wrong.

One :class:`GomodnetCA` per session holds a root CA (a ``trustme.CA``) and the
intermediate that signs every good leaf. :meth:`GomodnetCA.chain` issues a
:class:`CertChain` for one or more host names or IP addresses in one of the
:class:`ChainSpec` shapes: the certificates a server presents, in the order it
presents them, plus the files and SSL contexts that serve and trust them.

Why it is built this way:

* Only the root goes into the bundle clients trust, so a server that leaves
  out its intermediate fails verification exactly as it does on the internet.
* Every date is derived from one ``now`` captured when the CA is made:
  "expired" means the leaf ended a day before that instant, never "a second
  ago", so no shape can change its verdict while a test runs.
* Issuing is cheap: the CAs are made once (the rarer ones on first use), the
  leaf keys are made once per key type and shared by every leaf, and the
  PEMs of each (hosts, shape, key type) are cached for the session. A leaf
  costs about a millisecond and a server context about two.
"""

from __future__ import annotations

import difflib
import enum
import ipaddress
import os
import re
import secrets
import ssl
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Literal, TypeAlias

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from trustme import KeyType

from ._gotext import go_quote
from ._hostnames import check_host, check_hosts
from .errors import ChainError

__all__ = [
    "LEAF_LIFETIME",
    "ONE_DAY",
    "CertChain",
    "ChainFactory",
    "ChainLink",
    "ChainSpec",
    "GomodnetCA",
    "KeyType",
    "Shape",
    "ShapeName",
    "check_host",
]

#: How far from ``now`` the dates of a bad certificate sit: an expired leaf
#: ended exactly one day before ``now``, a not-yet-valid one starts one day after.
ONE_DAY = timedelta(days=1)

#: How long every leaf is valid, good or bad (a real leaf's 90 days).
LEAF_LIFETIME = timedelta(days=90)

# How long the expired intermediate was valid, ending ONE_DAY before now.
_INTERMEDIATE_LIFETIME = timedelta(days=365)

# Subject organisation of everything issued here, so certificates are recognisable
# in a client's error message or in `openssl s_client -showcerts`.
_ORGANIZATION = "pytest-gomodnet"

# X.509 caps a commonName at 64 characters; longer host names go in the SAN only.
_MAX_COMMON_NAME = 64

# Identities of a wrong-host leaf, by kind: names that can never be asked for
# (RFC 2606 .invalid, RFC 5737 / RFC 3849 documentation addresses).
_WRONG_DNS_NAMES = ("wrong-host.invalid", "other-wrong-host.invalid")
_WRONG_IPV4 = ("192.0.2.1", "192.0.2.2")
_WRONG_IPV6 = ("2001:db8::1", "2001:db8::2")

_PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

ShapeName = Literal[
    "complete",
    "missing-intermediate",
    "wrong-order",
    "expired-leaf",
    "not-yet-valid",
    "expired-intermediate",
    "wrong-host",
    "self-signed",
    "untrusted-root",
]


class ChainSpec(enum.StrEnum):
    """The shape of a certificate chain: what a server presents, and what is wrong with it.

    Members compare equal to their names (``ChainSpec.COMPLETE == "complete"``),
    so a plain string works wherever a shape is asked for.
    """

    #: leaf ← intermediate, both valid: every correct client accepts it.
    COMPLETE = "complete"
    #: the leaf alone; its issuer is neither served nor trusted.
    MISSING_INTERMEDIATE = "missing-intermediate"
    #: leaf, intermediate, sub-intermediate: the sub-intermediate signed the leaf, so
    #: the issuers are served in reverse. TLS 1.3 (RFC 8446 §4.4.2) tells clients to
    #: cope, and OpenSSL and Go do; strict or home-grown clients do not.
    WRONG_ORDER = "wrong-order"
    #: leaf ← intermediate, the leaf's notAfter one day before ``now``.
    EXPIRED_LEAF = "expired-leaf"
    #: leaf ← intermediate, the leaf's notBefore one day after ``now``.
    NOT_YET_VALID = "not-yet-valid"
    #: leaf ← intermediate, the intermediate's notAfter one day before ``now``.
    EXPIRED_INTERMEDIATE = "expired-intermediate"
    #: leaf ← intermediate, the leaf made out to other names of the same kinds.
    WRONG_HOST = "wrong-host"
    #: a leaf that signed itself, served alone.
    SELF_SIGNED = "self-signed"
    #: leaf ← intermediate of a second root that no bundle contains.
    UNTRUSTED_ROOT = "untrusted-root"

    def __str__(self) -> str:
        return self.value

    @property
    def verifies(self) -> bool:
        """Whether a correct client accepts this chain (complete and wrong-order)."""
        return self in (ChainSpec.COMPLETE, ChainSpec.WRONG_ORDER)

    @classmethod
    def parse(cls, shape: Shape | str) -> ChainSpec:
        """The member named ``shape``, or ChainError listing the valid names."""
        try:
            return cls(shape)
        except ValueError:
            pass
        names = [member.value for member in cls]
        hint = difflib.get_close_matches(str(shape), names, n=1)
        suggestion = f" (did you mean {go_quote(hint[0])}?)" if hint else ""
        raise ChainError(
            f"unknown chain shape {go_quote(str(shape))}{suggestion}: "
            f"valid shapes are {', '.join(names)}"
        ) from None


#: A shape as callers may spell it: a ChainSpec member or its name.
Shape: TypeAlias = ChainSpec | ShapeName


@dataclass(frozen=True)
class ChainLink:
    """One certificate as a server presents it. Has no public constructor.

    ``role`` says what it is in the chain (``leaf``, ``intermediate``,
    ``sub-intermediate``, ``expired intermediate``, ``untrusted intermediate``).
    """

    role: str
    subject: str
    not_before: datetime
    not_after: datetime
    pem: bytes = field(repr=False)

    @classmethod
    def _from_pem(cls, role: str, pem: bytes) -> ChainLink:
        certificate = x509.load_pem_x509_certificate(pem)
        return cls(
            role=role,
            subject=certificate.subject.rfc4514_string(),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            pem=pem,
        )

    @property
    def der(self) -> bytes:
        """The certificate's DER bytes, exactly as they travel on the wire."""
        return x509.load_pem_x509_certificate(self.pem).public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True, repr=False)
class CertChain:
    """A chain for ``hosts`` in one shape, written out and ready to serve.

    Has no public constructor: get one from the ``cert_chain`` fixture or
    :meth:`GomodnetCA.chain`.

    ``links`` are the certificates on the wire, leaf first, in the order the
    shape promises. ``cert_file`` holds them in that order and ``key_file``
    (mode 0600) the leaf's private key. ``ca_bundle`` is the PEM a client
    should trust: always the session root, even for ``untrusted-root``,
    whose chain that root did not sign.
    """

    hosts: tuple[str, ...]
    shape: ChainSpec
    key_type: KeyType
    links: tuple[ChainLink, ...]
    cert_file: Path
    key_file: Path
    ca_bundle: Path
    description: str
    """One line for logs: ``example.test: leaf ← (no intermediate) — missing-intermediate``."""

    def __repr__(self) -> str:
        return f"<CertChain {self.description}>"

    @property
    def leaf(self) -> ChainLink:
        """The certificate whose key the server holds (always served first)."""
        return self.links[0]

    def server_context(self) -> ssl.SSLContext:
        """A new server-side context that presents exactly :attr:`links`, in order.

        It trusts nothing: OpenSSL would otherwise complete a chain with no
        intermediates from its trust store ("auto chain") and hide a
        missing-intermediate shape.
        """
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A new client-side context that trusts :attr:`ca_bundle` and checks host names."""
        return ssl.create_default_context(cafile=str(self.ca_bundle))


@dataclass(frozen=True)
class ChainFactory:
    """What the ``cert_chain`` fixture gives: chains whose files go under ``directory``.

    ``cert_chain("example.test", "127.0.0.1", shape="wrong-host", key_type=KeyType.RSA)``
    """

    ca: GomodnetCA
    directory: Path

    def __call__(
        self, *hosts: str, shape: Shape = "complete", key_type: KeyType = KeyType.ECDSA
    ) -> CertChain:
        return self.ca.chain(*hosts, shape=shape, key_type=key_type, directory=self.directory)


class GomodnetCA(trustme.CA):
    """The session's root CA, with the intermediate that signs every good leaf.

    A ``trustme.CA`` (so ``configure_trust``, ``issue_cert``, ``cert_pem``
    work as usual) whose root PEM is written to :attr:`ca_bundle` under
    ``directory``. ``now`` (UTC, whole seconds; default: the current time) is
    the instant every validity date is measured from. ``key_type`` is that of
    the CAs; each chain picks its leaf's own.

    Its subjects carry a random ``tag`` so that two sessions' CAs never share
    a name (a client that trusts one and meets the other then says "unknown
    authority", not a confusing signature error). ``from_pem`` is not
    supported on this subclass.
    """

    def __init__(
        self,
        directory: Path,
        *,
        now: datetime | None = None,
        key_type: KeyType = KeyType.ECDSA,
    ) -> None:
        self.now = _whole_seconds_utc(now)
        self.tag = secrets.token_hex(4)
        super().__init__(
            organization_name=_ORGANIZATION,
            organization_unit_name=f"gomodnet root CA {self.tag}",
            key_type=key_type,
        )
        self.directory = Path(directory)
        self.key_type = key_type
        self.intermediate = trustme.CA(
            parent_cert=self,
            path_length=1,
            organization_name=_ORGANIZATION,
            organization_unit_name=f"gomodnet intermediate CA {self.tag}",
            key_type=key_type,
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca_bundle = self.directory / "ca.pem"
        _write(self.ca_bundle, self.cert_pem.bytes(), 0o644)
        self._lock = threading.Lock()
        self._issuers: dict[str, _Issuer] = {}
        self._leaf_keys: dict[KeyType, _PrivateKey] = {}
        self._chains: dict[tuple[tuple[str, ...], ChainSpec, KeyType], _Chain] = {}

    def __repr__(self) -> str:
        return f"<GomodnetCA {self.tag} now={self.now.isoformat()} bundle={str(self.ca_bundle)!r}>"

    def chain(
        self,
        *hosts: str,
        shape: Shape = "complete",
        key_type: KeyType = KeyType.ECDSA,
        directory: Path | None = None,
    ) -> CertChain:
        """Issue (or reuse) the chain for ``hosts`` in ``shape`` and write its files.

        ``hosts`` are DNS names (a leading ``*.`` label is allowed) or IP
        addresses; the first one is also the leaf's commonName. The PEMs are
        cached for the session, so asking again costs only the file writes.
        The files go to ``directory`` (default: the CA's own ``chains/``).

        Raises:
          ChainError: an unknown shape or key type, no host, or a host that is
            neither a DNS name nor an IP address.
        """
        spec = ChainSpec.parse(shape)
        if not isinstance(key_type, KeyType):
            raise ChainError(f"unknown key type {key_type!r}: use KeyType.ECDSA or KeyType.RSA")
        names = check_hosts(hosts)
        with self._lock:
            key = (names, spec, key_type)
            issued = self._chains.get(key)
            if issued is None:
                issued = self._chains[key] = self._issue(names, spec, key_type)
        folder = Path(directory) if directory is not None else self.directory / "chains"
        return issued.write(folder, self.ca_bundle)

    # -- the pieces each shape is made of -----------------------------------

    def _issue(self, hosts: tuple[str, ...], spec: ChainSpec, key_type: KeyType) -> _Chain:
        """Make the certificates of one shape: the leaf, then the CAs served after it."""
        identities, window = hosts, (self.now - ONE_DAY, self.now + LEAF_LIFETIME)
        signer: str | None = "intermediate"  # the role of the CA that signs the leaf
        served_after_leaf: tuple[str, ...] = ("intermediate",)
        if spec is ChainSpec.COMPLETE:
            story = "leaf ← intermediate"
        elif spec is ChainSpec.MISSING_INTERMEDIATE:
            served_after_leaf, story = (), "leaf ← (no intermediate)"
        elif spec is ChainSpec.WRONG_ORDER:
            signer, served_after_leaf = "sub-intermediate", ("intermediate", "sub-intermediate")
            story = "leaf, intermediate, sub-intermediate (the sub-intermediate signed the leaf)"
        elif spec is ChainSpec.EXPIRED_LEAF:
            window = (self.now - ONE_DAY - LEAF_LIFETIME, self.now - ONE_DAY)
            story = f"leaf (expired {_stamp(window[1])}) ← intermediate"
        elif spec is ChainSpec.NOT_YET_VALID:
            window = (self.now + ONE_DAY, self.now + ONE_DAY + LEAF_LIFETIME)
            story = f"leaf (valid from {_stamp(window[0])}) ← intermediate"
        elif spec is ChainSpec.EXPIRED_INTERMEDIATE:
            signer, served_after_leaf = "expired intermediate", ("expired intermediate",)
            ended = self._issuer("expired intermediate").link.not_after
            story = f"leaf ← intermediate (expired {_stamp(ended)})"
        elif spec is ChainSpec.WRONG_HOST:
            identities = _wrong_identities(hosts)
            story = f"leaf for {', '.join(identities)} ← intermediate"
        elif spec is ChainSpec.SELF_SIGNED:
            signer, served_after_leaf, story = None, (), "self-signed leaf"
        else:
            assert spec is ChainSpec.UNTRUSTED_ROOT
            signer, served_after_leaf = "untrusted intermediate", ("untrusted intermediate",)
            story = "leaf ← intermediate ← untrusted root (not in the bundle)"
        issuer = None if signer is None else self._issuer(signer)
        leaf = self._leaf(identities, key_type, issuer, window)
        links = (leaf, *(self._issuer(role).link for role in served_after_leaf))
        return _Chain(hosts, spec, key_type, links, self._leaf_key_pem(key_type), story)

    def _leaf(
        self,
        identities: tuple[str, ...],
        key_type: KeyType,
        issuer: _Issuer | None,
        window: tuple[datetime, datetime],
    ) -> ChainLink:
        """A leaf for ``identities`` signed by ``issuer`` (None: by its own key)."""
        key = self._leaf_key(key_type)
        attributes = [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"gomodnet leaf {self.tag}"),
        ]
        if len(identities[0]) <= _MAX_COMMON_NAME:
            attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, identities[0]))
        subject = x509.Name(attributes)
        own_ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        if issuer is None:
            issuer_name, signing_key = subject, key
            aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(own_ski)
        else:
            issuer_name, signing_key = issuer.certificate.subject, issuer.key
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(window[0])
            .not_valid_after(window[1])
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(own_ski, critical=False)
            .add_extension(aki, critical=False)
            .add_extension(
                x509.SubjectAlternativeName([_general_name(i) for i in identities]),
                critical=False,
            )
            .add_extension(_leaf_key_usage(key_type), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .sign(signing_key, hashes.SHA256())
        )
        return ChainLink._from_pem("leaf", certificate.public_bytes(serialization.Encoding.PEM))

    def _leaf_key(self, key_type: KeyType) -> _PrivateKey:
        # One key per type for every leaf of the session: an RSA key costs ~100 ms,
        # and no shape depends on two leaves having different keys.
        if key_type not in self._leaf_keys:
            self._leaf_keys[key_type] = _new_key(key_type)
        return self._leaf_keys[key_type]

    def _leaf_key_pem(self, key_type: KeyType) -> bytes:
        return self._leaf_key(key_type).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def _issuer(self, role: str) -> _Issuer:
        """The CA that plays ``role``, made on first use and kept for the session."""
        if role not in self._issuers:
            self._issuers[role] = self._make_issuer(role)
        return self._issuers[role]

    def _make_issuer(self, role: str) -> _Issuer:
        if role == "intermediate":
            return _Issuer.of(role, self.intermediate)
        if role == "sub-intermediate":
            child = trustme.CA(
                parent_cert=self.intermediate,
                path_length=0,
                organization_name=_ORGANIZATION,
                organization_unit_name=f"gomodnet sub-intermediate CA {self.tag}",
                key_type=self.key_type,
            )
            return _Issuer.of(role, child)
        if role == "untrusted intermediate":
            stranger = trustme.CA(
                organization_name=_ORGANIZATION,
                organization_unit_name=f"gomodnet untrusted root CA {self.tag}",
                key_type=self.key_type,
            )
            child = trustme.CA(
                parent_cert=stranger,
                path_length=0,
                organization_name=_ORGANIZATION,
                organization_unit_name=f"gomodnet intermediate CA of the untrusted root {self.tag}",
                key_type=self.key_type,
            )
            return _Issuer.of(role, child)
        assert role == "expired intermediate"
        return self._expired_intermediate()

    def _expired_intermediate(self) -> _Issuer:
        """An intermediate under the session root whose notAfter is ONE_DAY before now.

        trustme gives every CA the same fixed validity, so this one is signed here.
        """
        root = _Issuer.of("root", self)
        key = _new_key(self.key_type)
        not_after = self.now - ONE_DAY
        certificate = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
                        x509.NameAttribute(
                            NameOID.ORGANIZATIONAL_UNIT_NAME,
                            f"gomodnet expired intermediate CA {self.tag}",
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
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
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


# --- internals -----------------------------------------------------------------

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

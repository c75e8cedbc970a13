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

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from trustme import KeyType

from ._chains import (
    _MAX_COMMON_NAME,
    _ORGANIZATION,
    LEAF_LIFETIME,
    ONE_DAY,
    CertChain,
    ChainLink,
    ChainSpec,
    Shape,
    ShapeName,
    _PrivateKey,
)
from ._hostnames import check_host, check_hosts
from ._tls_issue import (
    _Chain,
    _general_name,
    _Issuer,
    _leaf_key_usage,
    _new_key,
    _stamp,
    _whole_seconds_utc,
    _write,
    _wrong_identities,
    make_issuer,
)
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
            self._issuers[role] = make_issuer(self, role)
        return self._issuers[role]


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

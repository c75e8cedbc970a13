"""Certificate chain shapes and the chains issued for them: what a TLS host serves.

Public through :mod:`.tls`."""

from __future__ import annotations

import difflib
import enum
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from trustme import KeyType

from ._gotext import go_quote
from .errors import ChainError

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

"""HTTPS for the emulator: a throwaway CA and a server certificate, made at start-up.

Production downloads are TLS to ``*.asm.skype.com``; a benchmark or test that wants to see
what that costs (handshake, encryption, certificate checks against the production name) needs
the emulator to speak TLS as the service does. The CA is created fresh every start, lives
only in the state dir, and is trusted by nobody but the clients that are handed its file
(``SSL_CERT_FILE`` for the archiver's httpx, ``connection_verify`` for the SDKs). Its key is
never written anywhere: nothing can be signed with it after start-up.

The server certificate names the production-shaped hosts the emulator's URLs use (the
storage hosts, the resource host) and 127.0.0.1, so a client may connect to the loopback
address and still verify the certificate against the host it meant (SNI).
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The storage hosts ACS hands out download URLs on (what the SDK's URL check accepts).
STORAGE_HOST_PATTERNS = ("*.asm.skype.com", "*.asyncgw.teams.microsoft.com")
LOOPBACK_NAMES = ("localhost",)
LOOPBACK_ADDRESS = "127.0.0.1"
VALIDITY = datetime.timedelta(days=2)


@dataclass(frozen=True)
class TlsFiles:
    """Where the certificates went: ``ca_file`` is what clients trust."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    names: tuple[str, ...]


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ACS emulator (development only)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _ca(now: datetime.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("ACS emulator throwaway CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def server_names(resource_host: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The DNS names the server certificate covers, deduplicated, lower case."""
    names = [*STORAGE_HOST_PATTERNS, resource_host, *extra, *LOOPBACK_NAMES]
    return tuple(dict.fromkeys(n.lower() for n in names if n))


def make_certificates(directory: Path, names: tuple[str, ...]) -> TlsFiles:
    """A fresh CA and a server certificate for ``names`` and 127.0.0.1, written to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key, ca_cert = _ca(now)
    key = ec.generate_private_key(ec.SECP256R1())
    alternative_names: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alternative_names.append(x509.IPAddress(ipaddress.ip_address(LOOPBACK_ADDRESS)))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0] if names else LOOPBACK_ADDRESS))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(
        ca_file=directory / "ca.pem",
        cert_file=directory / "server.pem",
        key_file=directory / "server.key",
        names=names,
    )
    files.ca_file.write_bytes(_pem(ca_cert))
    files.cert_file.write_bytes(_pem(cert) + _pem(ca_cert))  # the chain, as a service sends it
    files.key_file.touch(mode=0o600)
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """TLS 1.2+ server context with the emulator's certificate chain."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.cert_file, files.key_file)
    return context

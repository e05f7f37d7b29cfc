"""Signed checkpoints: the tree size and root of the ledger at a moment, signed and exported.

A checkpoint is the ledger's promise "these are my first ``size`` entries". Kept outside the
database (an append-only JSON-lines file, or wherever operations copy it), it is what makes
rewriting history detectable: ``ketenpoort ledger verify`` recomputes the tree and checks every
checkpoint. The signed text follows the C2SP tlog-checkpoint body (origin, size, base64 root)
plus the time it was made.

Keys (setting ``ledger.checkpoint_key``): ``ed25519:<base64 32-byte seed>`` (auditors verify
with the public key alone), ``hmac:<secret>`` (symmetric: whoever verifies can sign), or a path
to a file holding one of those. Empty: an Ed25519 key is made on first use in ``var_dir``.
A key file is made with mode 0600 and refused when group or others may read it.
Signing and verifying use ``cryptography`` (Ed25519) and ``hmac`` from the standard library.

Besides the export file, each checkpoint can go to a witness (setting
``ledger.checkpoint_witness``): another file (a disk of another host, WORM storage) or an
``http(s)://`` URL it is POSTed to as JSON. A witness keeps what someone holding the database
and the key can no longer unsay.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

WITNESS_TIMEOUT = 10.0  # seconds for one POST to a witness URL

ORIGIN = "ketenpoort ledger"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class Checkpoint:
    size: int
    root: bytes
    at: str  # ISO 8601, UTC
    algorithm: str  # "ed25519" or "hmac-sha256"
    key_id: str
    signature: bytes
    origin: str = ORIGIN

    def body(self) -> bytes:
        return signed_body(self.origin, self.size, self.root, self.at)

    def to_json(self) -> str:
        return json.dumps(
            {
                "origin": self.origin,
                "size": self.size,
                "root": self.root.hex(),
                "at": self.at,
                "algorithm": self.algorithm,
                "key_id": self.key_id,
                "signature": _b64(self.signature),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        data: dict[str, Any] = json.loads(text)
        return cls(
            size=int(data["size"]),
            root=bytes.fromhex(data["root"]),
            at=data["at"],
            algorithm=data["algorithm"],
            key_id=data["key_id"],
            signature=base64.b64decode(data["signature"]),
            origin=data.get("origin", ORIGIN),
        )


def signed_body(origin: str, size: int, root: bytes, at: str) -> bytes:
    return f"{origin}\n{size}\n{_b64(root)}\n{at}\n".encode()


class Verifier(Protocol):
    algorithm: str
    key_id: str

    def verify(self, body: bytes, signature: bytes) -> bool: ...


class Signer(Verifier, Protocol):
    def sign(self, body: bytes) -> bytes: ...


class Ed25519Verifier:
    algorithm = "ed25519"

    def __init__(self, public: Ed25519PublicKey) -> None:
        self.public = public
        raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]
        self.public_b64 = _b64(raw)

    @classmethod
    def from_b64(cls, text: str) -> Ed25519Verifier:
        return cls(Ed25519PublicKey.from_public_bytes(base64.b64decode(text)))

    def verify(self, body: bytes, signature: bytes) -> bool:
        try:
            self.public.verify(signature, body)
        except InvalidSignature:
            return False
        return True


class Ed25519Signer(Ed25519Verifier):
    def __init__(self, private: Ed25519PrivateKey) -> None:
        super().__init__(private.public_key())
        self.private = private

    def sign(self, body: bytes) -> bytes:
        return self.private.sign(body)


class HmacSigner:
    algorithm = "hmac-sha256"

    def __init__(self, secret: bytes) -> None:
        self.secret = secret
        self.key_id = hashlib.sha256(b"key id\n" + secret).hexdigest()[:16]

    def sign(self, body: bytes) -> bytes:
        return hmac.new(self.secret, body, hashlib.sha256).digest()

    def verify(self, body: bytes, signature: bytes) -> bool:
        return hmac.compare_digest(self.sign(body), signature)


def parse_key(text: str) -> Signer:
    """``ed25519:<base64 seed>`` or ``hmac:<secret>``."""
    kind, _, value = text.strip().partition(":")
    if kind == "ed25519":
        return Ed25519Signer(Ed25519PrivateKey.from_private_bytes(base64.b64decode(value)))
    if kind == "hmac" and value:
        return HmacSigner(value.encode())
    raise ValueError("a checkpoint key is 'ed25519:<base64 32-byte seed>' or 'hmac:<secret>'")


def new_ed25519_key() -> str:
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    return f"ed25519:{_b64(seed)}"


def load_signer(setting: str, default_path: Path) -> Signer:
    """The configured key; empty setting: the key file in ``default_path``, made if missing."""
    if setting.startswith(("ed25519:", "hmac:")):
        return parse_key(setting)
    path = Path(setting) if setting else default_path
    if not path.exists():
        if setting:
            raise ValueError(f"checkpoint key file {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(new_ed25519_key() + "\n")
    problem = key_file_problem(path)
    if problem:
        raise ValueError(problem)
    return parse_key(path.read_text())


def key_file_problem(path: Path) -> str | None:
    """Why a key file must not be used (None: it may): group or others may read or write it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return (
            f"key file {path} is open to group or others (mode {mode:04o}); "
            f"make it the owner's alone: chmod 600 {path}"
        )
    return None


def sign(signer: Signer, size: int, root: bytes, at: str, origin: str = ORIGIN) -> Checkpoint:
    signature = signer.sign(signed_body(origin, size, root, at))
    return Checkpoint(size, root, at, signer.algorithm, signer.key_id, signature, origin)


def signature_ok(checkpoint: Checkpoint, verifier: Verifier) -> bool:
    return (
        checkpoint.algorithm == verifier.algorithm
        and checkpoint.key_id == verifier.key_id
        and verifier.verify(checkpoint.body(), checkpoint.signature)
    )


def export(checkpoint: Checkpoint, path: str | os.PathLike[str]) -> None:
    """Append one checkpoint to the export file and flush it to disk."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(checkpoint.to_json() + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def to_witness(checkpoint: Checkpoint, witness: str) -> None:
    """Send one checkpoint to the witness: POST it as JSON to an ``http(s)://`` URL (a 2xx
    answer is required), or append it to a file."""
    if witness.startswith(("http://", "https://")):
        import requests

        answer = requests.post(
            witness,
            data=checkpoint.to_json().encode(),
            headers={"Content-Type": "application/json"},
            timeout=WITNESS_TIMEOUT,
        )
        answer.raise_for_status()
        return
    export(checkpoint, witness)


def read_exported(path: str | os.PathLike[str]) -> list[Checkpoint]:
    if not Path(path).exists():
        return []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [Checkpoint.from_json(line) for line in lines if line.strip()]

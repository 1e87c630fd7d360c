"""S3's wire checksums: CRC32, CRC32C and CRC64NVME of the stored bytes, for backends.

S3 keeps a checksum of each object's stored bytes (``x-amz-checksum-<algorithm>``): a
*full-object* one, of the whole body, for a single PUT and for a multipart upload of type
``FULL_OBJECT``; a *composite* one (the checksum of the parts' checksums, shown with a
``-N`` suffix) for a multipart upload of type ``COMPOSITE``. These checksums describe the
bytes the store holds (after s3po's compression), which is what the store verifies on the
way in; they are not s3po's own content hash (:mod:`s3po.integrity`).

CRC32 comes from :mod:`zlib`; CRC32C and CRC64NVME from ``awscrt`` (the ``crc`` extra,
``pip install 's3po[crc]'``), whose implementations use the CPU's CRC instructions. A
full-object checksum of a multipart upload is built from the parts' checksums in part
order with awscrt's ``combine`` functions (zlib's ``crc32_combine`` is not exposed in
Python, so CRC32 combines through awscrt too), as parts are sent concurrently and no one
read sees the whole body.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import base64
import importlib
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from s3po.backend.bodies import Body, FileWindow
from s3po.errors import ConfigError, CorruptData

if TYPE_CHECKING:
    from types import ModuleType

__all__ = [
    "CHECKSUM_ALGORITHMS",
    "CHECKSUM_POLICIES",
    "CHECKSUM_TYPES",
    "CRC_INSTALL_HINT",
    "ChecksumPolicy",
    "Crc",
    "StoredChecksum",
    "VerifyingBody",
    "checksum_policy",
    "combine",
    "crc",
]

#: The wire checksum algorithms s3po computes, by their lower-case names.
CHECKSUM_ALGORITHMS = ("crc32", "crc32c", "crc64nvme")
#: How a multipart upload's checksum covers the object: ``x-amz-checksum-type``.
CHECKSUM_TYPES = ("composite", "full_object")
#: What to run when awscrt is missing.
CRC_INSTALL_HINT = "pip install 's3po[crc]'"


def _awscrt(algorithm: str) -> ModuleType:
    try:
        return importlib.import_module("awscrt.checksums")
    except ImportError as exc:
        raise ConfigError(
            f"checksum algorithm {algorithm!r} needs awscrt, which is not installed; "
            f"run {CRC_INSTALL_HINT}, or choose 'crc32' (no extra needed)"
        ) from exc


@dataclass(frozen=True, slots=True)
class Crc:
    """One CRC algorithm: how to compute, combine and spell it.

    Attributes:
        name: The lower-case name (``"crc32c"``).
        size: The checksum's size in bytes (4, or 8 for CRC64NVME).
        update: ``update(data, crc)`` continues a running CRC over ``data``.
        combine_two: ``combine_two(crc_a, crc_b, len_b)``: the CRC of ``A || B``.

    .. versionadded:: 0.4.0
    """

    name: str
    size: int
    update: Callable[[Any, int], int]
    combine_two: Callable[[int, int, int], int]

    @property
    def field(self) -> str:
        """boto3's name of the checksum (``"ChecksumCRC32C"``)."""
        return "Checksum" + self.name.upper()

    @property
    def header(self) -> str:
        """The HTTP header (``"x-amz-checksum-crc32c"``)."""
        return f"x-amz-checksum-{self.name}"

    @property
    def wire_name(self) -> str:
        """S3's spelling of the algorithm (``"CRC32C"``)."""
        return self.name.upper()

    def encode(self, value: int) -> str:
        """The base64 of the big-endian checksum, as S3 sends it."""
        return base64.b64encode(value.to_bytes(self.size, "big")).decode("ascii")

    def decode(self, text: str) -> int:
        """The checksum an ``encode`` produced.

        Raises:
            ValueError: ``text`` is not base64 of ``size`` bytes.
        """
        raw = base64.b64decode(text, validate=True)
        if len(raw) != self.size:
            msg = f"a {self.name} checksum has {self.size} bytes, not {len(raw)}"
            raise ValueError(msg)
        return int.from_bytes(raw, "big")

    def of(self, data: bytes | memoryview | FileWindow | Iterable[bytes | memoryview]) -> int:
        """The CRC of ``data`` (a file window is read in pieces)."""
        if isinstance(data, bytes | bytearray | memoryview):
            return self.update(data, 0)
        pieces = data.views() if isinstance(data, FileWindow) else data
        value = 0
        for piece in pieces:
            value = self.update(piece, value)
        return value


def _zlib_update(data: Any, value: int) -> int:  # noqa: ANN401 - any buffer
    return zlib.crc32(data, value)


def _combine_crc32(a: int, b: int, len_b: int) -> int:
    return int(_awscrt("crc32").combine_crc32(a, b, len_b))


def _crt(name: str, size: int) -> Crc:
    module = _awscrt(name)
    compute = getattr(module, name)

    def update(data: Any, value: int) -> int:  # noqa: ANN401 - any buffer
        # awscrt takes bytes-like objects that export a contiguous buffer
        return int(compute(data, value))

    return Crc(name, size, update, getattr(module, f"combine_{name}"))


def computable(algorithm: str) -> bool:
    """Whether this process can compute the CRC named ``algorithm`` (awscrt installed).

    A download checks a stored checksum only when it can: AWS S3 keeps a CRC64NVME
    checksum with every new object, and reading one must not need the ``crc`` extra.

    .. versionadded:: 0.4.0
    """
    try:
        crc(algorithm)
    except ConfigError:
        return False
    return True


def crc(algorithm: str) -> Crc:
    """The :class:`Crc` named ``algorithm`` (any case).

    Raises:
        ConfigError: The name is not one of :data:`CHECKSUM_ALGORITHMS`, or awscrt is
            missing for CRC32C or CRC64NVME (the message says what to install).

    .. versionadded:: 0.4.0
    """
    name = algorithm.lower()
    if name == "crc32":
        return Crc("crc32", 4, _zlib_update, _combine_crc32)
    if name == "crc32c":
        return _crt("crc32c", 4)
    if name == "crc64nvme":
        return _crt("crc64nvme", 8)
    raise ConfigError(
        f"unknown checksum algorithm {algorithm!r}; choose one of {list(CHECKSUM_ALGORITHMS)}"
    )


def combine(algorithm: str, parts: Sequence[tuple[str, int]]) -> str:
    """The full-object checksum of parts given as ``(base64 checksum, size)`` in part order.

    Raises:
        ConfigError: As :func:`crc`.
        ValueError: A part's checksum is not base64 of the algorithm's size.

    .. versionadded:: 0.4.0
    """
    algo = crc(algorithm)
    if not parts:
        return algo.encode(0)
    value = algo.decode(parts[0][0])
    for text, size in parts[1:]:
        value = algo.combine_two(value, algo.decode(text), size)
    return algo.encode(value)


@dataclass(frozen=True, slots=True)
class StoredChecksum:
    """The wire checksum a store keeps with an object (HeadObject/GetObject with checksum mode).

    Attributes:
        algorithm: The lower-case algorithm (``"crc32"``, ``"crc32c"``, ``"crc64nvme"``,
            ``"sha1"``, ``"sha256"``).
        value: The base64 value as the store sent it; a composite one ends in ``-N``.
        type: ``"full_object"`` (of the whole stored body) or ``"composite"`` (of the
            parts' checksums).

    .. versionadded:: 0.4.0
    """

    algorithm: str
    value: str
    type: str = "full_object"

    @property
    def full_object(self) -> bool:
        """Whether it is a checksum of the whole stored body (so a download can verify it)."""
        return self.type == "full_object" and "-" not in self.value

    @classmethod
    def parse(cls, algorithm: str, value: str, checksum_type: str | None = None) -> StoredChecksum:
        """A stored checksum from a response: ``-N`` or ``COMPOSITE`` make it composite."""
        kind = (checksum_type or "").lower()
        if kind not in CHECKSUM_TYPES:
            kind = "composite" if "-" in value else "full_object"
        if "-" in value:
            kind = "composite"
        return cls(algorithm.lower(), value, kind)

    def matches(self, data: bytes | memoryview | FileWindow | Iterable[bytes]) -> bool | None:
        """Whether ``data`` has this checksum; None when it cannot tell (composite, SHA).

        Raises:
            ConfigError: awscrt is missing for CRC32C or CRC64NVME.
        """
        if not self.full_object or self.algorithm not in CHECKSUM_ALGORITHMS:
            return None
        algo = crc(self.algorithm)
        return algo.encode(algo.of(data)) == self.value


class VerifyingBody(Body):
    """A whole object's body, checked against its full-object checksum as it is read.

    The CRC is computed over the bytes as they pass (no second read); when the last of
    ``length`` bytes has been read and the CRC differs from ``expected``,
    :class:`~s3po.CorruptData` is raised. A body closed before its end is not checked.

    .. versionadded:: 0.4.0
    """

    def __init__(
        self,
        inner: Body,
        expected: StoredChecksum,
        *,
        length: int,
        bucket: str,
        key: str,
        backend: str,
    ) -> None:
        """Wrap ``inner``, which holds exactly ``length`` bytes of the object from byte 0."""
        super().__init__()
        self._inner = inner
        self._crc = crc(expected.algorithm)
        self._expected = expected
        self._value = 0
        self._remaining = length
        self._where = (bucket, key, backend)

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes; the last one checks the checksum."""
        data = self._inner.read(size)
        if data and self._remaining > 0:
            self._value = self._crc.update(data, self._value)
            self._remaining -= len(data)
            if self._remaining <= 0:
                self._check()
        return data

    def _check(self) -> None:
        got = self._crc.encode(self._value)
        if got == self._expected.value:
            return
        bucket, key, backend = self._where
        raise CorruptData(
            f"the body of s3://{bucket}/{key} does not match the {self._crc.wire_name} "
            f"checksum the store holds for it ({self._expected.value}; the bytes received "
            f"give {got}): damaged in transit or stored with a wrong checksum; download it "
            "again, and if it fails the same way the stored object is damaged",
            bucket=bucket,
            key=key,
            backend=backend,
        )

    def close(self) -> None:
        """Close the inner body."""
        self._inner.close()
        super().close()


#: A backend's wire checksum policies: the algorithms, then the two that are not one.
CHECKSUM_POLICIES = (*CHECKSUM_ALGORITHMS, "md5", "when_supported")


@dataclass(frozen=True, slots=True)
class ChecksumPolicy:
    """How a backend lets the store verify what it sends (``checksum_algorithm=``).

    Attributes:
        name: One of :data:`CHECKSUM_POLICIES`: a CRC s3po computes and sends,
            ``"md5"`` (``Content-MD5``) or ``"when_supported"`` (botocore's own).
        type: For a CRC, the type of a multipart upload's checksum: ``"composite"``
            (CRC32, CRC32C by default) or ``"full_object"`` (CRC64NVME, always); None
            for the other two.

    .. versionadded:: 0.4.0
    """

    name: str
    type: str | None = None

    @property
    def crc(self) -> Crc | None:
        """The CRC sent, or None under ``"md5"`` and ``"when_supported"``."""
        return crc(self.name) if self.name in CHECKSUM_ALGORITHMS else None

    @property
    def full_object(self) -> bool:
        """Whether multipart uploads carry a full-object checksum."""
        return self.type == "full_object"


def checksum_policy(
    checksum_algorithm: str | None = None,
    *,
    checksum: str | None = None,
    checksum_type: str | None = None,
) -> ChecksumPolicy:
    """Check and resolve a backend's ``checksum_algorithm=`` (or its older name ``checksum=``).

    Names are case-insensitive; None for both means ``"crc32"``. CRC32C and CRC64NVME need
    awscrt, and are checked for it here, before any I/O.

    Raises:
        ConfigError: An unknown name or type, both names given with different values, a
            type for ``"md5"``/``"when_supported"``, ``"composite"`` for CRC64NVME (S3
            keeps only full-object CRC64NVME checksums), or awscrt missing.

    .. versionadded:: 0.4.0
    """
    given = [v.lower() for v in (checksum_algorithm, checksum) if v is not None]
    if len(set(given)) > 1:
        raise ConfigError(
            f"checksum_algorithm={checksum_algorithm!r} and checksum={checksum!r} disagree; "
            "checksum= is the older name of checksum_algorithm=, pass one"
        )
    name = given[0] if given else "crc32"
    if name not in CHECKSUM_POLICIES:
        raise ConfigError(
            f"checksum_algorithm must be one of {list(CHECKSUM_POLICIES)} (any case), not {name!r}"
        )
    kind = None if checksum_type is None else checksum_type.lower()
    if kind is not None and kind not in CHECKSUM_TYPES:
        raise ConfigError(
            f"checksum_type must be one of {list(CHECKSUM_TYPES)} (any case), not {kind!r}"
        )
    if name not in CHECKSUM_ALGORITHMS:
        if kind is not None:
            raise ConfigError(f"checksum_type= goes with a CRC checksum_algorithm, not {name!r}")
        return ChecksumPolicy(name)
    crc(name)  # ConfigError with the install hint when awscrt is missing
    if name == "crc64nvme":
        if kind == "composite":
            raise ConfigError(
                "S3 keeps CRC64NVME checksums of whole objects only: checksum_type must be "
                "'full_object' (the default) for it, or choose crc32/crc32c for 'composite'"
            )
        kind = "full_object"
    return ChecksumPolicy(name, kind or "composite")

"""How ``sync`` decides that a paired source and destination differ.

* default: the rule in :mod:`s3po._cli.plan` (logical sizes, else the source newer by 1 ms);
* ``--size-only``: only the logical sizes (when one is unknown, the default rule);
* ``--exact-timestamps``: the sizes, or any difference of the mtimes (to the microsecond),
  older or newer;
* ``--checksum``: the content, without downloading: an object's stored s3po checksum
  (``s3po-xxh128`` or ``s3po-sha256``) against the same hash of the local file, or, for
  an object without one, its ETag against the file's MD5 when the ETag is a plain MD5 (a
  single-part object without Content-Encoding), or else the full-object wire checksum the
  store keeps (CRC32, CRC32C or CRC64NVME, when the object has no Content-Encoding) against
  the same CRC of the file. Between two objects, matching checksums, plain ETags or
  full-object CRCs of the same algorithm (with the same Content-Encoding). Where neither
  side offers one, the sizes (as ``--size-only``). A sync
  down with ``--no-decompress`` writes the stored bytes, which a content checksum does not
  describe when the object is compressed: then the stored sizes are compared.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from typing import TYPE_CHECKING

from s3po._cli.common import Local, UsageError
from s3po._cli.plan import Entry
from s3po._cli.plan import _differs as _default
from s3po.backend.checksums import CHECKSUM_ALGORITHMS, crc
from s3po.integrity import HASHES, Checksum, expected_checksum, file_digest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from s3po._types import ObjectInfo

__all__ = ["same_content", "sync_rule"]

_PLAIN_MD5 = re.compile(r"^[0-9a-f]{32}$")
_EXACT = 1e-6


def _size_only(src: Entry, dst: Entry) -> bool:
    if src.size is None or dst.size is None:
        return _default(src, dst)
    return src.size != dst.size


def _exact_timestamps(src: Entry, dst: Entry) -> bool:
    if src.size is not None and dst.size is not None and src.size != dst.size:
        return True
    if src.mtime is None or dst.mtime is None:
        return _default(src, dst)
    return abs(src.mtime - dst.mtime) > _EXACT


def _plain_md5(info: ObjectInfo) -> str | None:
    etag = info.etag.strip('"').lower()
    if info.headers.content_encoding or not _PLAIN_MD5.match(etag):
        return None
    return etag


def _wire_crc(info: ObjectInfo) -> str | None:
    """The object's full-object CRC algorithm, when it has one s3po can compute."""
    stored = info.checksum
    if stored is None or not stored.full_object or stored.algorithm not in CHECKSUM_ALGORITHMS:
        return None
    return stored.algorithm


@functools.lru_cache(maxsize=4096)
def _file_hash(path: Path, algorithm: str) -> str:
    """The file's hex digest (HASHES, ``md5``), or its base64 wire CRC (``crc32``, ...)."""
    with path.open("rb") as f:
        if algorithm == "md5":
            return hashlib.file_digest(f, "md5").hexdigest()
        if algorithm in CHECKSUM_ALGORITHMS:
            algo = crc(algorithm)
            return algo.encode(algo.of(iter(lambda: f.read(1024 * 1024), b"")))
        size = os.fstat(f.fileno()).st_size
        return file_digest(f.fileno(), 0, size, HASHES[algorithm], path=str(path)).hexdigest


def _same_file_and_object(path: Path, info: ObjectInfo, *, decompress: bool) -> bool | None:
    stored: Checksum | None = expected_checksum(info, decompress=decompress)
    if stored is not None:
        return _file_hash(path, stored.algorithm) == stored.hexdigest.lower()
    md5 = _plain_md5(info)
    if md5 is not None:
        return _file_hash(path, "md5") == md5
    algorithm = _wire_crc(info)
    if algorithm is not None and info.checksum is not None and not info.headers.content_encoding:
        return _file_hash(path, algorithm) == info.checksum.value
    return None


def _same_objects(a: ObjectInfo, b: ObjectInfo) -> bool | None:
    ours, theirs = expected_checksum(a, decompress=True), expected_checksum(b, decompress=True)
    if ours is not None and theirs is not None and ours.algorithm == theirs.algorithm:
        return ours.hexdigest.lower() == theirs.hexdigest.lower()
    plain_a, plain_b = _plain_md5(a), _plain_md5(b)
    if plain_a is not None and plain_b is not None:
        return plain_a == plain_b
    crc_a, crc_b = _wire_crc(a), _wire_crc(b)
    same_encoding = a.headers.content_encoding == b.headers.content_encoding
    if crc_a is not None and crc_a == crc_b and same_encoding:
        return a.checksum == b.checksum
    return None


def same_content(src: Entry, dst: Entry, *, decompress: bool = True) -> bool | None:
    """Whether two paired entries hold the same content, by checksums; None: none in common.

    Different logical sizes are different content. Otherwise an object's stored s3po
    checksum (or plain-MD5 ETag) is compared with the file's same hash, or two objects'
    checksums (or plain ETags) with each other, as this module's docstring says.

    .. versionadded:: 0.4.0
    """
    if src.size is not None and dst.size is not None and src.size != dst.size:
        return False
    if isinstance(src.location, Local) and dst.info is not None:
        return _same_file_and_object(src.location.path, dst.info, decompress=True)
    if isinstance(dst.location, Local) and src.info is not None:
        return _same_file_and_object(dst.location.path, src.info, decompress=decompress)
    if src.info is not None and dst.info is not None:
        return _same_objects(src.info, dst.info)
    return None


def _checksum(src: Entry, dst: Entry, *, decompress: bool = True) -> bool:
    same = same_content(src, dst, decompress=decompress)
    if same is None:
        return _size_only(src, dst)
    return not same


_RULES: dict[str, Callable[[Entry, Entry], bool]] = {
    "size_only": _size_only,
    "exact_timestamps": _exact_timestamps,
    "checksum": _checksum,
}


def sync_rule(
    size_only: bool, exact_timestamps: bool, checksum: bool, *, decompress: bool = True
) -> Callable[[Entry, Entry], bool]:
    """The comparison the flags select (at most one of them).

    ``decompress`` is False for ``--no-decompress``: downloads write the stored bytes.

    Raises:
        UsageError: More than one flag.
    """
    chosen = [name for name, on in (("size_only", size_only), ("exact_timestamps",
              exact_timestamps), ("checksum", checksum)) if on]  # fmt: skip
    if len(chosen) > 1:
        flags = " and ".join(f"--{name.replace('_', '-')}" for name in chosen)
        raise UsageError(f"{flags} are different rules; choose one")
    if chosen == ["checksum"] and not decompress:
        return functools.partial(_checksum, decompress=False)
    return _RULES[chosen[0]] if chosen else _default

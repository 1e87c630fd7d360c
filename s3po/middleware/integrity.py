"""Integrity: declare the content's checksum on the way up, verify it on the way down.

On ``put`` the checksum of the content (before compression) is computed from the source and
declared twice: to the store as ``s3po-xxh128`` / ``s3po-sha256`` metadata, and to the
source itself (:meth:`~s3po.backend.sources.UploadSource.expect`), which checks the bytes it
hands out against it. Bytes that arrive already encoded (a ``Content-Encoding`` given by
the caller) are not the logical content and get none, nor does anything with
``checksum=False``. On a whole-object ``get`` the body is wrapped in a
:class:`~s3po.integrity.VerifyingBody`, which raises :class:`~s3po.CorruptData` on a
mismatch, so a stack verifies whoever builds it; ``checksum=False`` verifies nothing.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from s3po._types import ForwardingBackend, GetResult, Headers, UploadBody
from s3po.backend.protocol import conditioned
from s3po.backend.sources import UploadSource
from s3po.codecs import encoding_tokens
from s3po.integrity import Checksum, content_hash, verify_body

if TYPE_CHECKING:
    from s3po._types import Backend, ObjectInfo
    from s3po.backend.models import WriteCondition

__all__ = ["Integrity"]


class Integrity(ForwardingBackend):
    """Declare content checksums on upload and verify them on download.

    Args:
        inner: The backend below (normally the codec layer).
        checksum: ``TransferConfig.checksum``: True (XXH3-128), a hash name, or False.
        decompress: Whether downloads are decoded (a checksum describes decoded content).

    .. versionadded:: 0.4.0
    """

    def __init__(
        self, inner: Backend, *, checksum: bool | str = True, decompress: bool = True
    ) -> None:
        """Wrap ``inner``; raises ConfigError at once for an unknown hash name."""
        super().__init__(inner)
        self.kind = content_hash(checksum)
        self.decompress = decompress

    def put(
        self,
        bucket: str,
        key: str,
        body: UploadBody,
        *,
        headers: Headers,
        size: int | None = None,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Declare the content's checksum in the metadata and to the source, then upload."""
        kind = self.kind
        if kind is not None and not encoding_tokens(headers.content_encoding):
            digest: Checksum | None = None
            if isinstance(body, UploadSource):
                digest = body.digest(kind)
                if digest is not None:
                    body.expect(digest)
            elif isinstance(body, bytes | bytearray | memoryview):
                digest = Checksum(kind.name, kind.new(body).hexdigest())
            if digest is not None:
                metadata = {**headers.metadata, kind.metadata: digest.hexdigest}
                headers = dataclasses.replace(headers, metadata=metadata)
        return self.inner.put(
            bucket, key, body, headers=headers, size=size, **conditioned(condition)
        )

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> GetResult:
        """Verify a whole-object download against its stored checksum, if it has one.

        With ``checksum=False`` nothing is verified.
        """
        result = self.inner.get(bucket, key, start=start, end=end, if_match=if_match)
        if self.kind is None or start != 0 or end is not None:
            return result
        return verify_body(result, decompress=self.decompress)

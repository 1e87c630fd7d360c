"""S3's multipart uploads, emulated once for every store that has none of its own.

:class:`MultipartEmulation` holds S3's rules: upload ids, part numbers ``1..max_parts``,
the ETag of a part (its MD5, or an opaque token) and of the object (``md5-of-md5s-N``),
the CompleteMultipartUpload checks (order, sizes, ETags: ``InvalidPart``,
``InvalidPartOrder``, ``EntityTooSmall``), ``NoSuchUpload``, abort, and the listing of
incomplete uploads that the orphan sweeper (``s3po cleanup``) reads. A backend gives it a
:class:`PartStore`, a handful of calls that keep records and parts on its medium, and
forwards its five multipart methods to it::

    class MyBackend:
        def __init__(self) -> None:
            self._multipart = MultipartEmulation(MyPartStore(...), backend="mine")

        def put_part(self, bucket, key, upload_id, part_number, data):
            return self._multipart.put_part(bucket, key, upload_id, part_number, data)

The layout is one for every store. An upload is a folder (or whatever the medium has)
named by its id, holding the *upload record*, JSON ``{"key", "initiated", "headers"}``
(headers as :func:`~s3po.backend.emulation.headers_to_record` writes them), and one
entry per part named ``part-NNNNN`` (:func:`part_name`) with its *part record*, JSON
``{"etag", "size"}``. Records are bytes to the store; this module writes and reads them.
An upload whose record is missing or damaged (a crash as it began) is listed under the key
``.s3po/uploads/<id>`` (:data:`CUT_OFF_PREFIX`), and aborting it there removes it.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, Protocol

from s3po import errors
from s3po.backend import emulation
from s3po.backend.bodies import FileWindow, PartBody
from s3po.backend.models import Headers, MultipartUpload, ObjectInfo, PartInfo, WriteCondition
from s3po.backend.protocol import Capabilities

__all__ = [
    "CUT_OFF_PREFIX",
    "MultipartEmulation",
    "PartChanged",
    "PartStore",
    "UploadGone",
    "part_name",
    "part_number",
]

#: The key an upload whose record is missing or damaged is listed under, before its id.
CUT_OFF_PREFIX = ".s3po/uploads/"


def part_name(number: int) -> str:
    """The name of part ``number`` inside its upload: ``part-00001`` ... ``part-10000``.

    .. versionadded:: 0.4.0
    """
    return f"part-{number:05d}"


def part_number(name: str) -> int | None:
    """The number of the part named ``name`` (as :func:`part_name` makes it), or None.

    .. versionadded:: 0.4.0
    """
    digits = name.removeprefix("part-")
    if len(name) != len("part-00000") or digits == name or not digits.isdigit():
        return None
    return int(digits)


class UploadGone(Exception):
    """Raised by a :class:`PartStore`: the upload vanished (aborted or completed meanwhile).

    .. versionadded:: 0.4.0
    """


class PartChanged(Exception):
    """Raised by :meth:`PartStore.join_parts`: a part is no longer the one checked.

    Args:
        number: The part's number.

    .. versionadded:: 0.4.0
    """

    def __init__(self, number: int) -> None:
        """Name the part that changed."""
        super().__init__(f"part {number} changed")
        self.number = number


class PartStore(Protocol):
    """Where a :class:`MultipartEmulation` keeps uploads: one medium's reads and writes.

    Bucket and key are given to every call for messages and for stores that place uploads
    by bucket; the bucket exists and the key is valid (the backend checked both). Errors of
    the medium are raised as s3po errors (the backend's error mapping).

    .. versionadded:: 0.4.0
    """

    def create_upload(self, bucket: str, key: str, upload_id: str, record: bytes) -> None:
        """Create the upload ``upload_id`` holding its upload record."""
        ...

    def read_upload(self, bucket: str, key: str, upload_id: str) -> bytes | None:
        """The upload record of ``upload_id``; None if there is no such upload."""
        ...

    def write_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        number: int,
        data: PartBody,
        record: bytes,
    ) -> None:
        """Store part ``number`` with its record in one atomic step, replacing any before.

        A :class:`~s3po.FileWindow` is checked unchanged (``check_unchanged``) before the
        step that commits it.

        Raises:
            UploadGone: The upload was removed meanwhile.
        """
        ...

    def read_part(self, bucket: str, key: str, upload_id: str, number: int) -> bytes | None:
        """The part record of part ``number``; None if it was never stored."""
        ...

    def part_numbers(self, bucket: str, key: str, upload_id: str) -> Iterable[int]:
        """The numbers of the parts stored for ``upload_id``, in any order.

        .. versionadded:: 0.4.0
        """
        ...

    def join_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[PartInfo],
        *,
        etag: str,
        headers: Headers,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Commit the object ``key``: the ``parts`` joined in order, with ``etag`` and ``headers``.

        ``parts`` carry the stored ETags the checks passed; the bytes joined must be of
        those parts. ``condition`` is checked in the step that commits, atomically
        (:func:`~s3po.backend.emulation.check_write`); when it fails nothing is committed
        and the upload stays.

        Raises:
            PartChanged: A part was replaced since it was checked.
            UploadGone: The upload was removed meanwhile.
        """
        ...

    def remove_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """Remove the upload and its parts; one already gone is not an error."""
        ...

    def list_uploads(self, bucket: str) -> Iterable[tuple[str, bytes | None, dt.datetime | None]]:
        """Every upload of ``bucket``: its id, its record (None if missing), its time if known."""
        ...


def _md5(data: PartBody) -> str:
    digest = hashlib.md5()  # noqa: S324 - S3's ETag is an MD5
    if isinstance(data, FileWindow):
        for view in data.views():
            digest.update(view)
    else:
        digest.update(data)
    return digest.hexdigest()


class MultipartEmulation:
    """S3's multipart uploads over a :class:`PartStore`.

    Args:
        store: Where uploads and parts are kept.
        backend: The backend's name, for errors.
        capabilities: The limits to apply (part numbers, part sizes).
        etag: ``"md5"``: part ETags are their MD5 and the object's is S3's
            ``md5-of-md5s-N``. ``"opaque"``: random 128-bit tokens (``-N`` kept for the
            object), and nothing is hashed.

    .. versionadded:: 0.4.0
    """

    def __init__(
        self,
        store: PartStore,
        *,
        backend: str,
        capabilities: Capabilities | None = None,
        etag: Literal["md5", "opaque"] = "md5",
    ) -> None:
        """Apply S3's rules to uploads kept in ``store``."""
        self.store = store
        self.backend = backend
        self.capabilities = capabilities or Capabilities()
        self.etag = etag

    def __repr__(self) -> str:
        """Show the store."""
        return f"MultipartEmulation({self.store!r})"

    # -- errors ---------------------------------------------------------------------------

    def _no_upload(self, bucket: str, key: str, upload_id: str) -> errors.NoSuchUpload:
        return errors.NoSuchUpload(
            f"no multipart upload {upload_id!r} (aborted or completed already)",
            bucket=bucket,
            key=key,
            backend=self.backend,
        )

    def _gone(self, bucket: str, key: str, upload_id: str) -> errors.NoSuchUpload:
        return errors.NoSuchUpload(
            f"multipart upload {upload_id!r} was aborted or completed meanwhile",
            bucket=bucket,
            key=key,
            backend=self.backend,
        )

    def _refuse(self, bucket: str, key: str, why: str) -> errors.InvalidPart:
        return errors.InvalidPart(why, bucket=bucket, key=key, backend=self.backend)

    # -- records --------------------------------------------------------------------------

    @staticmethod
    def _decode(raw: bytes | None) -> dict[str, Any] | None:
        """A record as a dict; None if it is missing or is not a JSON object."""
        if raw is None:
            return None
        try:
            record = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return None
        return record if isinstance(record, dict) else None

    def _upload(self, bucket: str, key: str, upload_id: str) -> dict[str, Any]:
        """The upload record of ``upload_id`` for ``key``.

        Raises:
            NoSuchUpload: No such upload, or it is of another key.
            CorruptData: The record is damaged (abort the upload).
        """
        if not upload_id.isalnum():
            raise errors.NoSuchUpload(f"no multipart upload {upload_id!r}", bucket=bucket)
        raw = self.store.read_upload(bucket, key, upload_id)
        if raw is None:
            raise self._no_upload(bucket, key, upload_id)
        record = self._decode(raw)
        if record is None or not isinstance(record.get("headers"), dict):
            raise errors.CorruptData(
                f"the state of multipart upload {upload_id!r} is damaged; abort it",
                bucket=bucket,
                key=key,
                backend=self.backend,
            )
        if record.get("key") != key:
            raise self._no_upload(bucket, key, upload_id)
        return record

    def _part(self, bucket: str, key: str, upload_id: str, number: int) -> PartInfo | None:
        raw = self.store.read_part(bucket, key, upload_id, number)
        if raw is None:
            return None
        record = self._decode(raw)
        try:
            if record is None:
                raise TypeError(type(raw).__name__)  # noqa: TRY301 - one handler for all shapes
            return PartInfo(number, str(record["etag"]), int(record["size"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise errors.CorruptData(
                f"part {number} of multipart upload {upload_id!r} has a damaged record "
                f"({type(exc).__name__}); upload the part again, or abort the upload",
                bucket=bucket,
                key=key,
                backend=self.backend,
            ) from exc

    # -- the Backend methods --------------------------------------------------------------

    def start(self, bucket: str, key: str, headers: Headers) -> str:
        """Begin an upload of ``key`` with ``headers``; return its id (CreateMultipartUpload)."""
        upload_id = uuid.uuid4().hex
        record = {
            "key": key,
            "initiated": dt.datetime.now(dt.UTC).isoformat(),
            "headers": emulation.headers_to_record(headers),
        }
        self.store.create_upload(bucket, key, upload_id, json.dumps(record).encode())
        return upload_id

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: PartBody
    ) -> PartInfo:
        """Store one part; a later part of the same number replaces it (UploadPart)."""
        self._upload(bucket, key, upload_id)
        emulation.check_part_number(part_number, self.capabilities, bucket, key, self.backend)
        etag = _md5(data) if self.etag == "md5" else uuid.uuid4().hex
        size = len(data)
        record = json.dumps({"etag": etag, "size": size}, separators=(",", ":")).encode()
        try:
            self.store.write_part(bucket, key, upload_id, part_number, data, record)
        except UploadGone:
            raise self._gone(bucket, key, upload_id) from None
        return PartInfo(part_number, etag, size)

    def parts(self, bucket: str, key: str, upload_id: str) -> Iterator[PartInfo]:
        """The stored parts of the upload, by number (ListParts).

        Raises:
            NoSuchUpload: The upload is unknown.

        .. versionadded:: 0.4.0
        """
        self._upload(bucket, key, upload_id)
        found = []
        for number in sorted(set(self.store.part_numbers(bucket, key, upload_id))):
            part = self._part(bucket, key, upload_id, number)
            if part is not None:
                found.append(part)
        return iter(found)

    def complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[PartInfo],
        *,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Check ``parts`` as S3 does and commit the object (CompleteMultipartUpload).

        ``condition`` (If-None-Match / If-Match) is checked by the store as it commits;
        when it fails, :class:`~s3po.PreconditionFailed` is raised and the upload stays
        (as on S3), for the caller to abort.

        Raises:
            InvalidPart: No parts, too many, out of order or repeated (InvalidPartOrder),
                one never uploaded or of another ETag (InvalidPart), one but the last too
                small (EntityTooSmall).
            NoSuchUpload: The upload is unknown, or went away meanwhile.
            PreconditionFailed: ``condition`` does not hold.
        """
        record = self._upload(bucket, key, upload_id)
        stored: dict[int, PartInfo | None] = {}

        def size(number: int) -> int | None:
            if number not in stored:
                stored[number] = self._part(bucket, key, upload_id, number)
            found = stored[number]
            return None if found is None else found.size

        emulation.check_part_plan(
            parts, size, self.capabilities, lambda why: self._refuse(bucket, key, why)
        )
        plan: list[PartInfo] = []
        for part in parts:
            found = stored[part.part_number]
            assert found is not None  # noqa: S101 - check_part_plan refused missing parts
            if part.etag.strip('"') != found.etag:
                raise self._refuse(
                    bucket,
                    key,
                    f"part {part.part_number} has ETag {found.etag!r}, not {part.etag!r}",
                )
            plan.append(found)
        etag = emulation.multipart_etag_from([p.etag for p in plan]) if self.etag == "md5" else None
        if etag is None:
            etag = f"{uuid.uuid4().hex}-{len(plan)}"
        headers = emulation.headers_from_record(record["headers"])
        try:
            info = self.store.join_parts(
                bucket, key, upload_id, plan, etag=etag, headers=headers, condition=condition
            )
        except PartChanged as exc:
            raise self._refuse(
                bucket, key, f"part {exc.number} was uploaded again while the upload completed"
            ) from None
        except UploadGone:
            raise self._gone(bucket, key, upload_id) from None
        self.store.remove_upload(bucket, key, upload_id)
        return info

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard the upload and its parts (AbortMultipartUpload).

        An upload listed under ``.s3po/uploads/<id>`` (its record missing or damaged) is
        removed by aborting it under that key.
        """
        if key == CUT_OFF_PREFIX + upload_id and upload_id.isalnum():
            raw = self.store.read_upload(bucket, key, upload_id)
            if self._decode(raw) is None:
                self.store.remove_upload(bucket, key, upload_id)
                return
        self._upload(bucket, key, upload_id)
        self.store.remove_upload(bucket, key, upload_id)

    def uploads(self, bucket: str, prefix: str = "") -> Iterator[MultipartUpload]:
        """Incomplete uploads of keys under ``prefix``, by key then start time.

        An upload with no usable record is listed as ``.s3po/uploads/<id>``, started when
        the store last wrote it (None if the store does not know).
        """
        found = []
        for upload_id, raw, when in self.store.list_uploads(bucket):
            record = self._decode(raw)
            try:
                key = str(record["key"]) if record else None
                initiated = dt.datetime.fromisoformat(record["initiated"]) if record else when
            except (KeyError, TypeError, ValueError):
                key, initiated = None, when
            if key is None:
                key = CUT_OFF_PREFIX + upload_id
            if key.startswith(prefix):
                found.append(MultipartUpload(bucket, key, upload_id, initiated))
        earliest = dt.datetime.min.replace(tzinfo=dt.UTC)
        return iter(sorted(found, key=lambda u: (u.key, u.initiated or earliest, u.upload_id)))

"""What the store says: finding the upload to continue, opening the object to continue.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from s3po.backend.admin import list_parts
from s3po.backend.emulation import headers_to_record
from s3po.errors import NoSuchUpload, NotSupported, PreconditionFailed

if TYPE_CHECKING:
    from s3po.backend.models import GetResult, Headers, PartInfo
    from s3po.backend.protocol import Backend
    from s3po.resume.journal import DownloadJournal, StoredPart, UploadJournal

__all__ = ["Resumable", "find_upload", "headers_digest", "open_download"]

log = logging.getLogger("s3po.resume")


def headers_digest(headers: Headers) -> str:
    """A digest of the headers an upload starts with (a resumed one must start with the same).

    .. versionadded:: 0.4.0
    """
    record = json.dumps(headers_to_record(headers), sort_keys=True)
    return hashlib.sha256(record.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Resumable:
    """An upload the store still holds: its id, its stored parts, and the journal's record.

    .. versionadded:: 0.4.0
    """

    upload_id: str
    stored: dict[int, PartInfo]
    known: dict[int, StoredPart]


_GONE = "the store no longer has its upload"


def find_upload(
    backend: Backend,
    bucket: str,
    key: str,
    headers: Headers,
    journal: UploadJournal,
    part_size: int,
) -> Resumable | None:
    """The journaled upload to continue, with its parts as the store lists them; or None.

    The journal only names the upload: ``backend`` must still list it (ListMultipartUploads)
    and its parts are read from it (ListParts). An upload that cannot be continued (the
    file, the plan, the headers or the encoding changed) is aborted, its journal removed,
    and the reason logged.

    .. versionadded:: 0.4.0
    """
    upload_id, why = journal.prior(part_size, headers_digest(headers))
    if upload_id is None:
        if why is not None:
            log.info("not resuming the upload of s3://%s/%s: %s", bucket, key, why)
            journal.finish()
        return None
    if why is None:
        try:
            if any(
                u.upload_id == upload_id and u.key == key
                for u in backend.list_multipart(bucket, key)
            ):
                listed = list_parts(backend, bucket, key, upload_id)
                stored = {p.part_number: p for p in listed}
                log.info(
                    "resuming multipart upload %s of s3://%s/%s: %d parts stored",
                    upload_id,
                    bucket,
                    key,
                    len(stored),
                )
                return Resumable(upload_id, stored, journal.stored_parts())
            why = _GONE
        except NoSuchUpload:
            why = _GONE
        except NotSupported:
            why = f"the {backend.name!r} backend cannot list the parts of an upload"
    log.info("not resuming the upload of s3://%s/%s: %s; starting over", bucket, key, why)
    if why != _GONE:
        _abort_quietly(backend, bucket, key, upload_id)
    journal.finish()
    return None


def _abort_quietly(backend: Backend, bucket: str, key: str, upload_id: str) -> None:
    try:
        backend.abort_multipart(bucket, key, upload_id)
    except NoSuchUpload:
        pass
    except Exception:
        log.exception("could not abort stale upload %s of s3://%s/%s", upload_id, bucket, key)


def open_download(
    stack: Backend, bucket: str, key: str, journal: DownloadJournal, *, decompress: bool
) -> tuple[GetResult, list[tuple[int, int]]]:
    """Open the object for a resumable download: the response, and the ranges already on disk.

    An earlier run's partial file is continued only while the object is the one it began
    with: the GET is pinned to the journaled ETag (If-Match), and an object replaced since
    (PreconditionFailed) is downloaded afresh, its partial file truncated.

    .. versionadded:: 0.4.0
    """
    prior = journal.prior(decompress)
    if prior is not None:
        etag, size = prior
        try:
            raw = stack.get(bucket, key, if_match=etag)
        except PreconditionFailed:
            log.info(
                "s3://%s/%s changed since its download was interrupted; downloading it afresh",
                bucket,
                key,
            )
        else:
            if raw.info.size == size:
                ranges = journal.ranges()
                log.info(
                    "resuming the download of s3://%s/%s: %d bytes of its content on disk",
                    bucket,
                    key,
                    sum(hi - lo for lo, hi in ranges),
                )
                return raw, ranges
            raw.body.close()
    raw = stack.get(bucket, key)
    if raw.info.etag:
        journal.begin(raw.info.etag, raw.info.size, decompress)
    return raw, []

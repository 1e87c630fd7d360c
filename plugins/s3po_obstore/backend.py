"""The obstore backend: GET, PUT and DELETE through obstore's Rust client, the rest through boto3.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, NoReturn, cast

import obstore
import obstore.exceptions as oe

import s3po
from s3po.backend import (
    ALL_CONDITIONS,
    WIRE_CHECKSUMS,
    Capabilities,
    CommonPrefix,
    FileWindow,
    ForwardingBackend,
    GetResult,
    Headers,
    ObjectInfo,
    WriteCondition,
    emulation,
)
from s3po_obstore._errors import StreamBody, error_code, translate
from s3po_obstore._listing import Lister, entries, lean_environment, static_keys
from s3po_obstore._resolve import PROFILE_ENV, resolve
from s3po_obstore._store import StoreOptions, Stores, key_is_plain

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import boto3
    from mypy_boto3_s3 import S3Client
    from obstore import Attributes, GetOptions, PutMode, PutResult
    from s3po_s3.backend import S3Backend

    from s3po.backend import Backend, Readable, UploadBody
    from s3po.backend.admin import BucketInfo

__all__ = ["ObstoreBackend"]

#: The stream hands over whatever has arrived once it holds this much (or the body ended).
#: Small, so a trickling body never blocks one read for long: the retry layer's low-speed
#: limit and deadline see its bytes as they come.
_CHUNK = 1

#: Headers fields and the obstore attributes that carry them.
_FIELDS = (
    ("content_type", "Content-Type"),
    ("content_encoding", "Content-Encoding"),
    ("cache_control", "Cache-Control"),
    ("content_disposition", "Content-Disposition"),
    ("content_language", "Content-Language"),
)
_BY_ATTRIBUTE = {attribute: field for field, attribute in _FIELDS}
#: obstore reads these attribute names as headers, so metadata may not use them.
_NOT_METADATA = frozenset({a.lower() for _, a in _FIELDS} | {"storage-class"})
_NOT_FOUND = frozenset({"NoSuchKey", "NoSuchBucket", "NoSuchUpload"})
#: A range that starts past the object's end.
_UNSATISFIABLE = frozenset({"InvalidRange", "416"})
#: The policies whose PUTs obstore cannot send (it has no CRC32C, CRC64NVME or Content-MD5).
_BOTO3_PUTS = frozenset({"crc32c", "crc64nvme", "md5"})
#: The policies whose whole-object GETs go through boto3, which verifies them.
_VERIFIED_GETS = frozenset({"crc32c", "crc64nvme"})
#: What obstore raises: its own errors, FileNotFoundError (404), ValueError (bad paths).
_ERRORS = (oe.BaseError, OSError, ValueError)


def _unquote(etag: str | None) -> str:
    return (etag or "").strip('"')


def _read_all(stream: Readable) -> bytes:
    if isinstance(stream, FileWindow):
        stream.seek(0)  # a retried PUT reads the window again from its start
        return bytes(stream)  # one pread, checked against the file's identity and checksum
    return b"".join(iter(lambda: stream.read(1024 * 1024), b""))


def _attributes(headers: Headers) -> Attributes | None:
    """The obstore attributes for ``headers``; None when only boto3 can send them."""
    attributes: Attributes = {}
    for field, attribute in _FIELDS:
        value = getattr(headers, field)
        if value is not None:
            attributes[attribute] = value
    for name, value in headers.metadata.items():
        if name.lower() in _NOT_METADATA:
            return None
        attributes[name] = value
    for name, value in headers.extra.items():
        if name != "StorageClass":
            return None  # encryption, redirects, ...: boto3 knows them all
        attributes["Storage-Class"] = value
    return attributes


def _headers(attributes: Attributes) -> Headers:
    """The :class:`~s3po.Headers` of a GET's attributes."""
    fields: dict[str, str] = {}
    metadata: dict[str, str] = {}
    extra: dict[str, str] = {}
    for name, value in attributes.items():
        field = _BY_ATTRIBUTE.get(name)
        if field is not None:
            fields[field] = value
        elif name == "Storage-Class":
            extra["StorageClass"] = value
        else:
            metadata[name.lower()] = value
    if not fields.get("content_encoding"):
        fields.pop("content_encoding", None)
    return Headers(**fields, metadata=metadata, extra=extra)


class ObstoreBackend(ForwardingBackend):
    """S3 through obstore (Rust object_store) for GET, PUT and DELETE, and boto3 for the rest.

    Small objects are where boto3's per-request CPU cost shows; obstore signs and sends
    each request in Rust with the GIL released. The single-request calls ``get``, ``put``
    and ``delete`` go through obstore; ``list`` is a ListObjectsV2 the backend signs and
    sends itself when the credentials are static and no proxy is set
    (:mod:`s3po_obstore._listing`), else boto3's; everything else obstore cannot do with
    S3's exact semantics goes through an internal :class:`s3po_s3.backend.S3Backend` made
    from the same options: ``head`` (obstore's HEAD reports no headers or metadata), ``copy``,
    ``create_bucket``, multipart uploads, keys obstore's paths cannot carry (a leading or
    trailing ``/``, empty, ``.`` or ``..`` segments, control characters), and headers it
    cannot send (``Headers.extra`` other than ``StorageClass``), PUTs under
    ``checksum="md5"`` (obstore cannot send ``Content-MD5``), GETs under
    ``checksum="when_supported"`` (botocore validates the checksums of whole-object
    downloads), and every call when a ready ``client`` is given (its credentials, hooks and
    settings are boto3's alone).

    This is the backend ``s3po.Connection()`` uses when no backend is named.

    One obstore ``S3Store`` is made per bucket on first use and shared by every thread.
    obstore's own retries are off, so s3po's retry layer is the only one; its connection
    pool keeps ``max_pool_connections`` idle connections. Credentials: the keys given,
    else the session or profile (through boto3, so they refresh), else the standard
    environment variables, else boto3's default chain.

    Checksums: obstore can send only SHA-256 (``x-amz-checksum-sha256``), so its PUTs carry
    that one under ``"crc32"`` (default) and ``"when_supported"``; under ``"crc32c"``,
    ``"crc64nvme"`` and ``"md5"`` PUTs go through boto3, as on the S3 backend. Multipart
    uploads go through the S3 backend and follow its policy. obstore's GET can neither ask
    for the stored checksum nor show it, so under ``"crc32c"`` and ``"crc64nvme"``
    whole-object GETs go through boto3, which verifies them; under the default they stay
    on obstore and are not checked against the store's checksum (ranged GETs never are).

    Args:
        endpoint_url: The store's URL (``$S3PO_ENDPOINT_URL``); None means AWS S3.
        region_name: The region (``$S3PO_REGION``, else the profile's, else ``us-east-1``
            when an endpoint is given).
        profile_name: The AWS profile (``$S3PO_PROFILE``).
        aws_access_key_id: Access key; prefer the environment or a profile.
        aws_secret_access_key: Secret key.
        aws_session_token: Session token for temporary credentials.
        session: A ready ``boto3.Session`` for the credentials.
        client: A ready boto3 S3 client: every call then goes through it (the other
            connection options must be unset).
        addressing_style: ``"path"``, ``"virtual"`` or ``"auto"`` (``$S3PO_ADDRESSING_STYLE``);
            defaults to ``"path"`` with an endpoint, else ``"auto"``.
        checksum: The older name of ``checksum_algorithm``.
        max_pool_connections: Connections kept open at once, per client (default 64).
        connect_timeout: Seconds to wait for a connection (default 10).
        read_timeout: Seconds to wait for data on a connection (default 20): a server that
            accepts and never answers fails each attempt after this long, so with the
            default 4 attempts a call gives up in about 80 s. A body that trickles in is
            caught by :class:`~s3po.RetryConfig`'s low-speed limit instead.
        conditions: The conditional writes the store honours (default: all of
            :data:`~s3po.backend.ALL_CONDITIONS`); leave out what it ignores, so s3po
            refuses it rather than writing unconditionally (docs/s3-compatible.md).
        checksum_algorithm: ``"crc32"`` (default), ``"crc32c"``, ``"crc64nvme"``, ``"md5"``
            or ``"when_supported"``, any case (``$S3PO_CHECKSUM``), as on the S3 backend.
        checksum_type: ``"composite"`` or ``"full_object"``, as on the S3 backend.

    Raises:
        ConfigError: An option has a bad value, or options conflict.

    Example:
        ``s3po.Connection(backend="obstore", endpoint_url="http://127.0.0.1:8333")``

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.4.0
       ``checksum_algorithm`` and ``checksum_type``.
    """

    name = "obstore"
    capabilities = Capabilities()

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        profile_name: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        session: boto3.Session | None = None,
        client: S3Client | None = None,
        addressing_style: str | None = None,
        checksum: str | None = None,
        max_pool_connections: int = 64,
        connect_timeout: float = 10.0,
        read_timeout: float = 20.0,
        conditions: Iterable[str] | None = None,
        checksum_algorithm: str | None = None,
        checksum_type: str | None = None,
    ) -> None:
        """Resolve the options (boto3 only when they need it), then the obstore settings.

        The boto3 backend is made on the first call that needs it, unless resolving the
        options needs boto3 (a session, client or profile, or a region from the AWS config
        file): then it is made now, as the S3 backend would resolve them.
        """
        self._s3_options: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region_name,
            "profile_name": profile_name,
            "aws_access_key_id": aws_access_key_id,
            "aws_secret_access_key": aws_secret_access_key,
            "aws_session_token": aws_session_token,
            "session": session,
            "client": client,
            "addressing_style": addressing_style,
            "checksum": checksum,
            "max_pool_connections": max_pool_connections,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "conditions": conditions,
            "checksum_algorithm": checksum_algorithm,
            "checksum_type": checksum_type,
        }
        self._s3: S3Backend | None = None
        self._s3_lock = threading.Lock()
        self.name = "obstore"
        declared = ALL_CONDITIONS if conditions is None else frozenset(conditions)
        self.capabilities = Capabilities(
            max_connections=max_pool_connections,
            conditions=declared,
            checksum_algorithms=WIRE_CHECKSUMS,
        )
        resolved = resolve(
            endpoint_url=endpoint_url,
            region_name=region_name,
            profile_name=profile_name,
            session=session,
            client=client,
            addressing_style=addressing_style,
            checksum=checksum,
            max_pool_connections=max_pool_connections,
            checksum_algorithm=checksum_algorithm,
            checksum_type=checksum_type,
        )
        if resolved is not None:
            self.endpoint_url = resolved.endpoint_url
            self.checksum = resolved.checksum
            self.region_name = resolved.region_name
            style = resolved.addressing_style
        else:
            s3 = self.s3
            self.endpoint_url, self.checksum = s3.endpoint_url, s3.checksum
            self.region_name = s3.region_name or "us-east-1"
            style = s3.addressing_style
        self._where = self.endpoint_url or f"AWS S3 ({self.region_name})"
        #: Which single-object calls obstore makes; the others go to boto3 (see above).
        self._fast = client is None
        self._fast_get = self._fast and self.checksum != "when_supported"
        #: obstore sends SHA-256 or nothing: CRC32C, CRC64NVME and MD5 PUTs go through boto3.
        self._fast_put = self._fast and self.checksum not in _BOTO3_PUTS
        #: Whole-object GETs go through boto3 to be verified (obstore's GET can neither ask
        #: for the stored checksum nor show the headers that carry it).
        self._verify_whole = self.checksum in _VERIFIED_GETS
        try:
            self.stores = Stores(
                StoreOptions(
                    endpoint_url=self.endpoint_url,
                    region_name=self.region_name,
                    addressing_style=style,
                    checksum=self.checksum,
                    max_pool_connections=max_pool_connections,
                    connect_timeout=connect_timeout,
                    read_timeout=read_timeout,
                    aws_access_key_id=aws_access_key_id,
                    aws_secret_access_key=aws_secret_access_key,
                    aws_session_token=aws_session_token,
                    session=session,
                    # The profile the boto3 calls use, so both request paths sign alike.
                    profile_name=profile_name or os.environ.get(PROFILE_ENV) or None,
                )
            )
        except BaseException:
            self.close()
            raise
        keys = static_keys(
            aws_access_key_id,
            aws_secret_access_key,
            aws_session_token,
            chain=session is not None or bool(profile_name or os.environ.get(PROFILE_ENV)),
        )
        #: Lists without boto3 when it can list exactly as boto3 would (see _listing).
        self._lister = (
            Lister(
                endpoint_url=self.endpoint_url,
                region_name=self.region_name,
                addressing_style=style,
                keys=keys,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                where=self._where,
            )
            if self._fast and keys is not None and lean_environment(self.endpoint_url)
            else None
        )

    def __repr__(self) -> str:
        """Show where the backend points (never the credentials)."""
        return (
            f"ObstoreBackend(endpoint_url={self.endpoint_url!r}, region_name={self.region_name!r})"
        )

    @property
    def s3(self) -> S3Backend:
        """The boto3 backend of the calls obstore does not make (made on first use)."""
        s3 = self._s3
        if s3 is None:
            with self._s3_lock:
                s3 = self._s3
                if s3 is None:
                    from s3po_s3.backend import S3Backend  # noqa: PLC0415 - imports boto3

                    s3 = self._s3 = S3Backend(**self._s3_options)
        return s3

    @property
    def inner(self) -> Backend:
        """What :class:`~s3po.ForwardingBackend` forwards to: :attr:`s3`."""
        return self.s3

    @inner.setter
    def inner(self, backend: Backend) -> None:
        self._s3 = cast("S3Backend", backend)

    @property
    def client(self) -> S3Client:
        """The boto3 S3 client of the calls obstore does not make, as ``S3Backend.client``."""
        return self.s3.client

    # -- helpers --------------------------------------------------------------------------

    def _failed(self, op: str, bucket: str, key: str, exc: BaseException) -> NoReturn:
        """Raise the s3po error for ``exc``; a bare 404 asks boto3 whether the bucket exists.

        The one place the backend translates obstore's exceptions (through the SPI's table,
        :data:`s3po.backend.s3errors.S3_ERRORS`), called from each call's ``except _ERRORS``
        (s3po's own errors are re-raised unchanged before it); plain ``try`` blocks, not a
        context manager, so a batch of small objects pays no generator per call. Body
        reads map theirs in :class:`~s3po_obstore._errors.StreamBody`.
        """
        if isinstance(exc, FileNotFoundError) and error_code(exc) not in _NOT_FOUND:
            try:
                self.s3.head(bucket, key)
            except s3po.NoSuchBucket as missing:
                raise missing from exc
            except s3po.S3poError:
                pass
        raise translate(exc, op=op, bucket=bucket, key=key, where=self._where) from exc

    # -- the calls obstore makes ----------------------------------------------------------

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> GetResult:
        """Open the object's bytes ``[start, end)`` with one ranged GET.

        The body streams as it is read, and a body that ends before the size the store
        reported raises :class:`~s3po.TransientError` (the retry layer resumes it).
        """
        start = max(start, 0)
        whole = start == 0 and end is None
        if (
            not self._fast_get
            or (whole and self._verify_whole)
            or (end is not None and end <= start)
            or not key_is_plain(key)
        ):
            return self.s3.get(bucket, key, start=start, end=end, if_match=if_match)
        options: GetOptions = {}
        if end is not None:
            options["range"] = (start, end)
        elif start:
            options["range"] = {"offset": start}
        if if_match is not None:
            options["if_match"] = f'"{if_match.strip(chr(34))}"'
        try:
            result = obstore.get(self.stores.get(bucket), key, options=options or None)
        except s3po.S3poError:
            raise
        except _ERRORS as exc:
            if error_code(exc) in _UNSATISFIABLE:
                # start is past the end: boto3 answers as S3 does (an empty body at 0)
                return self.s3.get(bucket, key, start=start, end=end, if_match=if_match)
            self._failed("get", bucket, key, exc)
        try:
            meta = result.meta
            lo, hi = result.range
            # What the store said it holds: the request's range, cut at the object's size.
            # object_store frames the body by Content-Length alone, which may say less.
            want = min(meta["size"], end) if end is not None else meta["size"]
            hi = max(want, hi, lo)
            body = StreamBody(
                iter(result.stream(min_chunk_size=_CHUNK)),
                length=hi - lo,
                bucket=bucket,
                key=key,
                where=self._where,
            )
            info = ObjectInfo(
                bucket=bucket,
                key=key,
                size=meta["size"],
                etag=_unquote(meta["e_tag"]),
                last_modified=meta["last_modified"],
                headers=_headers(result.attributes),
                version_id=meta["version"],
            )
        except s3po.S3poError:
            raise
        except _ERRORS as exc:
            self._failed("get", bucket, key, exc)
        return GetResult(info=info, body=body, start=lo, end=hi)

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
        """Store the object in one PutObject; a stream is read whole first.

        ``condition`` becomes obstore's ``PutMode``: ``"create"`` (If-None-Match: *) or
        ``UpdateVersion`` (If-Match), checked by the server as it commits.
        """
        attributes = _attributes(headers)
        if not self._fast_put or attributes is None or not key_is_plain(key):
            return self.s3.put(bucket, key, body, headers=headers, size=size, condition=condition)
        data = body if isinstance(body, bytes | bytearray | memoryview) else _read_all(body)
        mode: PutMode = "overwrite"
        if condition is not None:
            mode = "create" if condition.if_none_match else {"e_tag": f'"{condition.etag}"'}
        try:
            result = self._put(bucket, key, data, attributes, mode)
        except (s3po.PreconditionFailed, s3po.NoSuchKey) as exc:
            # 412 for either condition; a 404 answers If-Match on a missing key (moto, S3).
            if condition is None:
                raise
            refused = emulation.write_refused(
                condition, None, bucket, key, self.name, known=condition.if_none_match
            )
            raise refused from exc
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=memoryview(data).nbytes,
            etag=_unquote(result["e_tag"]),
            headers=headers,
            version_id=result["version"],
        )

    def _put(
        self,
        bucket: str,
        key: str,
        data: bytes | bytearray | memoryview,
        attributes: Attributes,
        mode: PutMode,
    ) -> PutResult:
        try:
            return obstore.put(
                self.stores.get(bucket),
                key,
                data,
                attributes=attributes,
                use_multipart=False,
                mode=mode,
            )
        except s3po.S3poError:
            raise
        except _ERRORS as exc:
            self._failed("put", bucket, key, exc)

    def delete(self, bucket: str, key: str) -> None:
        """Delete the object (DeleteObject); a missing key is not an error."""
        if not self._fast or not key_is_plain(key):
            self.s3.delete(bucket, key)
            return
        try:
            obstore.delete(self.stores.get(bucket), key)
        except s3po.S3poError:
            raise
        except _ERRORS as exc:
            self._failed("delete", bucket, key, exc)

    def list(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str | None = None,
        *,
        start_after: str | None = None,
    ) -> Iterator[ObjectInfo | CommonPrefix]:
        """Yield objects and common prefixes under ``prefix`` in key order (ListObjectsV2).

        Signed and sent without boto3 when the credentials are static and nothing in the
        environment asks for more (:mod:`s3po_obstore._listing`); otherwise through boto3.
        Either way the entries and errors are the S3 backend's: ``start_after`` goes to
        the server as ``StartAfter``, and a common prefix it ends is skipped here.
        """
        if self._lister is None:
            return self.s3.list(bucket, prefix, delimiter, start_after=start_after)
        return entries(
            self._lister,
            bucket,
            prefix,
            delimiter,
            start_after,
            # AWS: the bucket is in another region; boto3 follows, from where this stopped
            redirected=lambda last: self.s3.list(bucket, prefix, delimiter, start_after=last),
        )

    # -- through boto3 (s3po.backend.admin) -----------------------------------------------

    def list_buckets(self) -> Iterator[BucketInfo]:
        """Yield the buckets these credentials can see, through :attr:`s3`."""
        return self.s3.list_buckets()

    def delete_bucket(self, bucket: str) -> None:
        """Delete an empty bucket, through :attr:`s3`."""
        self.s3.delete_bucket(bucket)

    def presign(self, method: str, bucket: str, key: str, *, expires_in: int) -> str:
        """A presigned URL for ``GET`` or ``PUT``, signed by :attr:`s3`."""
        return self.s3.presign(method, bucket, key, expires_in=expires_in)

    def close(self) -> None:
        """Drop the obstore stores and close the boto3 client (if one was made)."""
        stores = getattr(self, "stores", None)
        if stores is not None:
            stores.clear()
        if self._s3 is not None:
            self._s3.close()

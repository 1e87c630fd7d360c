"""ListObjectsV2 without boto3: one signed GET a page, over the standard library's HTTP.

object_store's listing cannot give S3's keys exactly (its paths drop a folder marker's
trailing ``/``, refuse ``//`` and list below a prefix as a folder), so the obstore backend
lists with S3's own request: ``GET /?list-type=2``, signed with AWS Signature Version 4 and
sent with :mod:`http.client`, which costs a few milliseconds to import where boto3 and its
client cost a quarter of a second (and is imported only when a listing is sent, as is the XML
parser, so a command that lists nothing never pays for either). The request is the one
botocore sends (``encoding-type=url``, keys decoded as botocore decodes them), so the entries
are the S3 backend's entry for entry.

It serves only what it can serve exactly: static credentials (keys given, or the standard
environment variables) and no proxy in the environment (a CA bundle in ``AWS_CA_BUNDLE``
is used as botocore uses it). Anything else
lists through boto3, as before (:func:`static_keys` and :func:`lean_environment` decide).

One connection per listing, reused page to page and closed when the listing ends, fails or
is dropped. Every failure is an s3po error: the server's code through the SPI's table, a
failed connection or a cut-off page :class:`~s3po.TransientError` (the retry layer resumes
the listing after the last entry it yielded), and a page that says it is truncated but
gives no continuation token an error, never the end of the listing.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import hmac
import os
import re
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING

import s3po
from s3po.backend import CommonPrefix, ObjectInfo
from s3po.backend.s3errors import RETRY_ADVICE, S3_ERRORS

if TYPE_CHECKING:
    import http.client
    from collections.abc import Callable, Generator, Iterator

__all__ = [
    "Keys",
    "Lister",
    "Page",
    "Redirected",
    "entries",
    "lean_environment",
    "static_keys",
]

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_CODE = re.compile(rb"<Code>([^<]+)</Code>")
_MESSAGE = re.compile(rb"<Message>([^<]*)</Message>")
#: Settings botocore (and obstore) honour that this request path does not: with any of
#: them set, listings go through boto3.
_NOT_SERVED = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)
#: Without an endpoint, botocore also reads these to pick S3's host.
_AWS_ENDPOINT_VARS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_USE_FIPS_ENDPOINT")
#: AWS's answers for a bucket in another region; boto3 follows them (it retries there).
_REDIRECT_CODES = frozenset(
    {"PermanentRedirect", "TemporaryRedirect", "AuthorizationHeaderMalformed", "301", "307"}
)


@dataclass(frozen=True, slots=True)
class Keys:
    """Static credentials (never shown in a repr)."""

    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:
        """Never show the credentials."""
        return "Keys(...)"


def static_keys(
    access_key: str | None, secret_key: str | None, token: str | None, *, chain: bool
) -> Keys | None:
    """The credentials when they are static, as the obstore stores resolve them; else None.

    Given keys win; else, when ``chain`` is False (no session and no profile), the
    standard environment variables; anything else is boto3's credential chain.
    """
    if access_key or secret_key:
        return Keys(access_key or "", secret_key or "", token or None)
    if chain or not os.environ.get("AWS_ACCESS_KEY_ID"):
        return None
    return Keys(
        os.environ["AWS_ACCESS_KEY_ID"],
        os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
        os.environ.get("AWS_SESSION_TOKEN") or None,
    )


def lean_environment(endpoint_url: str | None) -> bool:
    """Whether the environment lets this request path reach the store as boto3 would."""
    names = _NOT_SERVED if endpoint_url else _NOT_SERVED + _AWS_ENDPOINT_VARS
    return not any(os.environ.get(name) for name in names)


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="-_.~")


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def sign_get(
    *, host: str, path: str, query: str, keys: Keys, region: str, now: dt.datetime
) -> dict[str, str]:
    """The headers of a SigV4-signed GET with no body (``query`` already canonical)."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    headers = {"host": host, "x-amz-content-sha256": _EMPTY_SHA256, "x-amz-date": stamp}
    if keys.token:
        headers["x-amz-security-token"] = keys.token
    names = sorted(headers)
    canonical = "\n".join(
        [
            "GET",
            path,
            query,
            "".join(f"{name}:{headers[name]}\n" for name in names),
            ";".join(names),
            _EMPTY_SHA256,
        ]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{digest}"
    key = _hmac(
        _hmac(_hmac(_hmac(f"AWS4{keys.secret_key}".encode(), day), region), "s3"), "aws4_request"
    )
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={keys.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return headers


class Redirected(Exception):
    """AWS answered that the bucket lives in another region: boto3 knows how to follow."""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing, keys decoded.

    Attributes:
        objects: ``(key, size, etag without quotes, last modified)`` in key order.
        prefixes: The common prefixes, in order.
        token: The continuation token of the next page; None on the last page.
    """

    objects: list[tuple[str, int, str, dt.datetime | None]]
    prefixes: list[str]
    token: str | None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC) if text else None


def parse_page(body: bytes) -> Page:
    """Read a ListObjectsV2 answer.

    Raises:
        ValueError: The body is not a complete ListBucketResult, or it is truncated
            without a continuation token.
    """
    import xml.etree.ElementTree as ET  # noqa: PLC0415 - only when a page is read

    try:
        root = ET.fromstring(body)  # noqa: S314 - the store's own answer, as botocore parses it
    except ET.ParseError as exc:
        raise ValueError(f"the XML does not parse: {exc}") from exc
    if _local(root.tag) != "ListBucketResult":
        raise ValueError(f"expected ListBucketResult, got {_local(root.tag)}")
    fields: dict[str, str] = {}
    contents: list[dict[str, str]] = []
    prefixes: list[str] = []
    for child in root:
        name = _local(child.tag)
        if name == "Contents":
            contents.append({_local(e.tag): e.text or "" for e in child})
        elif name == "CommonPrefixes":
            prefixes.extend(e.text or "" for e in child if _local(e.tag) == "Prefix")
        else:
            fields[name] = child.text or ""
    decode = urllib.parse.unquote_plus if fields.get("EncodingType") == "url" else str
    objects = [
        (
            decode(item["Key"]),
            int(item["Size"]),
            item.get("ETag", "").strip('"'),
            _time(item.get("LastModified")),
        )
        for item in contents
    ]
    truncated = fields.get("IsTruncated", "false").strip().lower() == "true"
    token = fields.get("NextContinuationToken") or None
    if truncated and token is None:
        raise ValueError("the page says the listing goes on but gives no continuation token")
    return Page(objects, [decode(p) for p in prefixes], token if truncated else None)


class Lister:
    """Lists a bucket with signed ListObjectsV2 requests (see the module's docstring).

    Attributes:
        page_size: Keys asked for a page (S3's default and maximum, 1,000).
    """

    page_size = 1000

    def __init__(
        self,
        *,
        endpoint_url: str | None,
        region_name: str,
        addressing_style: str,
        keys: Keys,
        connect_timeout: float,
        read_timeout: float,
        where: str,
    ) -> None:
        """Settle where requests go; nothing is connected until a listing starts."""
        parts = urllib.parse.urlsplit(endpoint_url or f"https://s3.{region_name}.amazonaws.com")
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise s3po.ConfigError(f"endpoint_url {endpoint_url!r} is not an http(s) URL")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._base = parts.path.rstrip("/")
        self._aws = endpoint_url is None
        self._style = addressing_style
        self._region = region_name
        self._keys = keys
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._where = where

    def __repr__(self) -> str:
        """Show where it lists (never the credentials)."""
        return f"Lister({self._host!r})"

    def _address(self, bucket: str) -> tuple[str, str, str]:
        """The host to connect to, the Host header and the path for ``bucket``.

        Virtual hosts as the obstore stores choose them (``auto``: virtual on AWS unless
        the name has dots, path style with an endpoint).
        """
        style = self._style
        if style == "auto":
            style = "path" if not self._aws or "." in bucket else "virtual"
        name = self._host
        if style == "virtual":
            name = f"{bucket}.{name}"
            path = f"{self._base}/"
        else:
            path = f"{self._base}/{bucket}"
        header = f"[{name}]" if ":" in name else name
        if self._port is not None:
            header = f"{header}:{self._port}"
        return name, header, path

    def _connection(self, name: str) -> http.client.HTTPConnection:
        import http.client  # noqa: PLC0415 - only when a listing is sent

        if self._https:
            import ssl  # noqa: PLC0415 - only for https endpoints

            return http.client.HTTPSConnection(
                name,
                self._port,
                timeout=self._connect_timeout,
                # the CA bundle botocore would verify against
                context=ssl.create_default_context(cafile=os.environ.get("AWS_CA_BUNDLE") or None),
            )
        return http.client.HTTPConnection(name, self._port, timeout=self._connect_timeout)

    def pages(
        self, bucket: str, prefix: str, delimiter: str | None, start_after: str | None
    ) -> Generator[Page, None, None]:
        """Yield the listing's pages, in order, on one connection closed at the end.

        Raises:
            Redirected: AWS says the bucket is in another region (before any page).
            BackendError: The server refused the listing (its code, through the SPI's table).
            TransientError: The connection failed or a page came back incomplete.
        """
        name, host, path = self._address(bucket)
        where = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
        conn = self._connection(name)
        try:
            token: str | None = None
            while True:
                query = [("encoding-type", "url"), ("list-type", "2"), ("prefix", prefix)]
                if delimiter:
                    query.append(("delimiter", delimiter))
                if start_after:
                    query.append(("start-after", start_after))
                if token:
                    query.append(("continuation-token", token))
                if self.page_size != Lister.page_size:
                    query.append(("max-keys", str(self.page_size)))
                canonical = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(query))
                status, body = self._get(conn, host, path, canonical, where)
                if status != 200:  # noqa: PLR2004 - HTTP status
                    raise self._refused(status, body, bucket, prefix, where)
                try:
                    page = parse_page(body)
                except ValueError as exc:
                    raise s3po.TransientError(
                        f"list {where}: the page from {self._where} was not a complete "
                        f"listing ({exc}); {RETRY_ADVICE}",
                        bucket=bucket,
                        key=prefix or None,
                        backend="obstore",
                    ) from exc
                yield page
                if page.token is None:
                    return
                token = page.token
        finally:
            conn.close()

    def _get(
        self, conn: http.client.HTTPConnection, host: str, path: str, query: str, where: str
    ) -> tuple[int, bytes]:
        """Send one signed GET and read its whole answer; a stale connection is renewed once."""
        import http.client  # noqa: PLC0415 - loaded by _connection already

        # A reused keep-alive connection the server had closed: sent again once, on a new one.
        stale = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
        for attempt in (1, 2):
            headers = sign_get(
                host=host,
                path=path,
                query=query,
                keys=self._keys,
                region=self._region,
                now=dt.datetime.now(dt.UTC),
            )
            fresh = conn.sock is None
            try:
                if fresh:
                    conn.connect()
                    if conn.sock is not None:
                        conn.sock.settimeout(self._read_timeout)
                conn.request("GET", f"{path}?{query}", headers=headers)
                response = conn.getresponse()
                return response.status, response.read()
            except stale as exc:
                conn.close()
                if fresh or attempt == 2:  # noqa: PLR2004 - the second attempt
                    raise self._cut(exc, where) from exc
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise self._cut(exc, where) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _cut(self, exc: BaseException, where: str) -> s3po.TransientError:
        bucket = where[5:].partition("/")[0]
        return s3po.TransientError(
            f"list {where}: connection to {self._where} failed ({type(exc).__name__}: {exc}); "
            f"{RETRY_ADVICE}",
            bucket=bucket,
            key=where[5:].partition("/")[2] or None,
            backend="obstore",
        )

    def _refused(self, status: int, body: bytes, bucket: str, prefix: str, where: str) -> Exception:
        found = _CODE.search(body)
        code = found[1].decode("utf-8", "replace").strip() if found else str(status)
        said = _MESSAGE.search(body)
        message = said[1].decode("utf-8", "replace").strip() if said else ""
        if self._aws and code in _REDIRECT_CODES:
            return Redirected(code)
        detail = f"{code}: {message}" if message and message != code else code
        known = S3_ERRORS.get(code) or S3_ERRORS.get(str(status))
        if known is None:
            if status == 404:  # noqa: PLR2004 - HTTP status
                known = S3_ERRORS["NoSuchBucket"]
            elif status >= 500:  # noqa: PLR2004 - HTTP status
                known = (s3po.TransientError, RETRY_ADVICE)
            else:
                known = (s3po.BackendError, "the server refused the request; see its message")
        cls, advice = known
        return cls(
            f"list {where} failed at {self._where} ({detail}); {advice}",
            bucket=bucket,
            key=prefix or None,
            backend="obstore",
        )


def _entry_key(entry: ObjectInfo | CommonPrefix) -> str:
    return entry.key if isinstance(entry, ObjectInfo) else entry.prefix


def entries(
    lister: Lister,
    bucket: str,
    prefix: str,
    delimiter: str | None,
    start_after: str | None,
    *,
    redirected: Callable[[str | None], Iterator[ObjectInfo | CommonPrefix]],
) -> Iterator[ObjectInfo | CommonPrefix]:
    """The listing's objects and common prefixes in key order, as the S3 backend yields them.

    ``start_after`` goes to the server as ``start-after``; a common prefix it ends (the
    server folds the keys under it into the same prefix again) is skipped here. On a
    :class:`Redirected` answer the listing goes on through ``redirected(last)``, after the
    last entry yielded (or ``start_after``).
    """
    after = start_after.encode("utf-8") if start_after else None
    last = start_after
    pages = lister.pages(bucket, prefix, delimiter, start_after)
    try:
        for page in pages:
            objects = (
                ObjectInfo(bucket=bucket, key=key, size=size, etag=etag, last_modified=when)
                for key, size, etag, when in page.objects
            )
            folded = (CommonPrefix(p) for p in page.prefixes)
            merged: Iterator[ObjectInfo | CommonPrefix] = heapq.merge(
                objects, folded, key=_entry_key
            )
            for entry in merged:
                name = _entry_key(entry)
                if after is None or name.encode("utf-8") > after:
                    last = name
                    yield entry
    except Redirected:
        yield from redirected(last)
    finally:
        pages.close()

"""Building obstore's S3Store for each bucket, from the options the S3 backend resolved.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import obstore.exceptions as oe
from obstore.store import S3Store

import s3po

if TYPE_CHECKING:
    import boto3
    from obstore.auth.boto3 import Boto3CredentialProvider
    from obstore.store import ClientConfig, S3Config

__all__ = ["StoreOptions", "Stores", "key_is_plain"]

#: object_store reads its endpoint from these when none is given; s3po resolves the
#: endpoint itself (as botocore does), so when that says AWS S3 the store is told so.
_OBJECT_STORE_ENDPOINT_VARS = ("AWS_ENDPOINT", "AWS_ENDPOINT_URL")

#: No single request may outlive this; stalls are caught sooner by the read timeout.
_REQUEST_LIMIT = dt.timedelta(hours=12)


#: ASCII control characters, which object_store refuses in a path.
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def key_is_plain(key: str) -> bool:
    """Whether obstore's paths can carry ``key`` unchanged.

    object_store drops a leading or trailing ``/`` and refuses empty, ``.`` and ``..``
    segments and ASCII control characters; such keys go through boto3 instead.
    """
    if not key or key[0] == "/" or key[-1] == "/" or "//" in key or _CONTROL.search(key):
        return False
    framed = f"/{key}/"  # every segment between slashes, the first and last too
    return "/./" not in framed and "/../" not in framed


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreOptions:
    """What every bucket's S3Store shares (the credentials never appear in its repr)."""

    endpoint_url: str | None
    region_name: str
    addressing_style: str
    checksum: str
    max_pool_connections: int
    connect_timeout: float
    read_timeout: float
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    session: boto3.Session | None = None
    profile_name: str | None = None

    def __repr__(self) -> str:
        """Never show the credentials."""
        return f"StoreOptions(endpoint_url={self.endpoint_url!r}, region={self.region_name!r})"


class Stores:
    """One S3Store per bucket, made on first use and shared by every thread."""

    def __init__(self, options: StoreOptions) -> None:
        """Prepare the shared settings; stores are made lazily."""
        self._options = options
        self._lock = threading.Lock()
        self._stores: dict[str, S3Store] = {}
        #: Resolved with the first store, so a Connection that makes no obstore request
        #: never walks the credential chain (which may ask an instance metadata service).
        self._credentials: dict[str, str] | Boto3CredentialProvider | None = None
        self._resolved = False
        self._client: ClientConfig = {
            "allow_http": (options.endpoint_url or "").startswith("http://"),
            "connect_timeout": dt.timedelta(seconds=options.connect_timeout),
            "read_timeout": dt.timedelta(seconds=options.read_timeout),
            "timeout": _REQUEST_LIMIT,
            "pool_max_idle_per_host": str(options.max_pool_connections),
        }

    def get(self, bucket: str) -> S3Store:
        """The bucket's store."""
        store = self._stores.get(bucket)
        if store is None:
            with self._lock:
                store = self._stores.get(bucket)
                if store is None:
                    store = self._stores[bucket] = self._make(bucket)
        return store

    def _make(self, bucket: str) -> S3Store:
        options = self._options
        if not self._resolved:
            self._credentials = _credentials(options)
            self._resolved = True
        config: S3Config = {"region": options.region_name}
        style = options.addressing_style
        if style == "auto":  # as botocore: virtual hosts on AWS, unless the name has dots
            style = "path" if options.endpoint_url or "." in bucket else "virtual"
        config["virtual_hosted_style_request"] = style == "virtual"
        if options.endpoint_url:
            config["endpoint"] = options.endpoint_url
        elif any(os.environ.get(name) for name in _OBJECT_STORE_ENDPOINT_VARS):
            # $AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is set: AWS S3, as the boto3 calls go.
            host = f"s3.{options.region_name}.amazonaws.com"
            config["endpoint"] = (
                f"https://{bucket}.{host}" if style == "virtual" else f"https://{host}"
            )
        if options.checksum != "md5":
            config["checksum_algorithm"] = "sha256"
        provider = None
        if isinstance(self._credentials, dict):
            config.update(self._credentials)  # type: ignore[typeddict-item]
        else:
            provider = self._credentials
        try:
            return S3Store(
                bucket,
                config=config,
                client_options=self._client,
                # s3po's retry layer is the only one: obstore makes each request once.
                retry_config={"max_retries": 0},
                credential_provider=provider,
            )
        except (oe.BaseError, ValueError) as exc:
            raise s3po.ConfigError(
                f"obstore refused the options for bucket {bucket!r}: {exc}"
            ) from exc

    def clear(self) -> None:
        """Forget every store (their connections close as they are dropped)."""
        with self._lock:
            self._stores.clear()


def _credentials(options: StoreOptions) -> dict[str, str] | Boto3CredentialProvider | None:
    """Static keys, a provider following boto3's chain, or None for obstore's own lookup.

    Given keys win; a session or profile is asked through boto3 (so profiles, SSO and
    assumed roles refresh as they do for the S3 backend); the standard environment
    variables are read by obstore itself; anything else (``~/.aws/credentials``) is found
    by a default boto3 session. boto3 is imported only for those last two cases.
    """
    if options.aws_access_key_id or options.aws_secret_access_key:
        keys = {
            "access_key_id": options.aws_access_key_id or "",
            "secret_access_key": options.aws_secret_access_key or "",
        }
        if options.aws_session_token:
            keys["session_token"] = options.aws_session_token
        return keys
    session = options.session
    if session is None and options.profile_name is None and os.environ.get("AWS_ACCESS_KEY_ID"):
        return None
    import boto3  # noqa: PLC0415 - boto3's credential chain only when it is needed
    from obstore.auth.boto3 import Boto3CredentialProvider  # noqa: PLC0415 - imports boto3

    if session is None:
        session = boto3.Session(profile_name=options.profile_name)
    if session.get_credentials() is None:
        return None  # obstore's chain: container and instance credentials, web identity
    return Boto3CredentialProvider(session)

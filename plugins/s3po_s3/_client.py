"""Building the backend's boto3 client from options and the environment.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import botocore.config
import botocore.exceptions as bce

import s3po
from s3po.backend.checksums import ChecksumPolicy, checksum_policy

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "ADDRESSING_STYLE_ENV",
    "AWS_ENDPOINT_ENVS",
    "CHECKSUM_ENV",
    "ENDPOINT_URL_ENV",
    "IGNORE_ENDPOINTS_ENV",
    "PROFILE_ENV",
    "REGION_ENV",
    "ClientOptions",
    "ClientRecipe",
    "ask_checksums",
    "configured_endpoint",
    "make_client",
    "resolve_client",
    "unsigned_when_verified",
]

#: Environment variables read when the matching option is not given.
ENDPOINT_URL_ENV = "S3PO_ENDPOINT_URL"
REGION_ENV = "S3PO_REGION"
PROFILE_ENV = "S3PO_PROFILE"
ADDRESSING_STYLE_ENV = "S3PO_ADDRESSING_STYLE"
CHECKSUM_ENV = "S3PO_CHECKSUM"

_STYLES = ("path", "virtual", "auto")


#: botocore's own endpoint settings, in its order: the S3 variable, then the global one.
AWS_ENDPOINT_ENVS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
#: Set to ``true`` (here or as ``ignore_configured_endpoint_urls`` in the profile), botocore
#: ignores every configured endpoint; so does s3po.
IGNORE_ENDPOINTS_ENV = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"


def _option(value: str | None, env: str) -> str | None:
    return value if value is not None else (os.environ.get(env) or None)


def configured_endpoint(session: boto3.Session) -> str | None:
    """The endpoint boto3 users configure outside their code, as botocore looks it up.

    In botocore's order (``ConfiguredEndpointProvider``): ``$AWS_ENDPOINT_URL_S3``,
    ``$AWS_ENDPOINT_URL``, ``endpoint_url`` under ``s3`` in the ``services`` section the
    profile names, then the profile's own ``endpoint_url``. None when there is none, or
    when ``$AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` (or the profile's
    ``ignore_configured_endpoint_urls``) is true.

    Raises:
        ConfigError: The profile names a ``services`` section the config file lacks.
    """
    core = session._session  # noqa: SLF001 - boto3 keeps its botocore session here
    try:
        ignore = core.get_config_variable("ignore_configured_endpoint_urls")
        if ignore is True or str(ignore).lower() == "true":
            return None
        for name in AWS_ENDPOINT_ENVS:
            if os.environ.get(name):
                return os.environ[name]
        scoped = core.get_scoped_config()
    except bce.ProfileNotFound as exc:
        raise s3po.ConfigError(f"AWS profile not found: {exc}; check ~/.aws/config") from exc
    section = scoped.get("services")
    if section:
        services = core.full_config.get("services", {}).get(section)
        if not services:
            raise s3po.ConfigError(
                f"the AWS profile names services section {section!r}, which the AWS config "
                f"file lacks; add [services {section}] to it or remove 'services' from the profile"
            )
        endpoint = (services.get("s3") or {}).get("endpoint_url")
        if endpoint:
            return str(endpoint)
    endpoint = scoped.get("endpoint_url")
    return str(endpoint) if endpoint else None


def configured_style(session: boto3.Session) -> str | None:
    """The profile's ``s3 = addressing_style``, as botocore reads it; None when not set.

    s3po passes the style to botocore itself (path-style for an endpoint of its own), which
    overrides the profile's; so the profile's is read here, and only an option or
    ``$S3PO_ADDRESSING_STYLE`` takes precedence over it.

    Raises:
        ConfigError: The profile names a style botocore does not know.
    """
    core = session._session  # noqa: SLF001 - boto3 keeps its botocore session here
    try:
        section = core.get_scoped_config().get("s3")
    except bce.ProfileNotFound as exc:
        raise s3po.ConfigError(f"AWS profile not found: {exc}; check ~/.aws/config") from exc
    found = section.get("addressing_style") if isinstance(section, dict) else None
    if not found:
        return None
    style = str(found).lower()
    if style not in _STYLES:
        raise s3po.ConfigError(
            f"addressing_style must be one of {_STYLES}, not {found!r} "
            f"(s3 = addressing_style in the AWS profile {core.profile or 'default'!r})"
        )
    return style


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientOptions:
    """The backend's options, as given (None: not given; the environment may fill it)."""

    endpoint_url: str | None = None
    region_name: str | None = None
    profile_name: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    session: boto3.Session | None = None
    client: S3Client | None = None
    addressing_style: str | None = None
    checksum: str | None = None
    checksum_algorithm: str | None = None
    checksum_type: str | None = None
    max_pool_connections: int = 64
    connect_timeout: float = 10.0
    read_timeout: float = 20.0

    def __repr__(self) -> str:
        """Never show the credentials."""
        return f"ClientOptions(endpoint_url={self.endpoint_url!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientRecipe:
    """What the options resolved to, and how to make the client (not made yet).

    Making a boto3 S3 client loads botocore's service model (a large share of a short
    program's start-up), so the backend makes it on its first boto3 call.

    Attributes:
        build: Makes the client (or returns the one given); may raise ``ValueError`` or a
            ``BotoCoreError`` for options botocore refuses.
        checksum: The checksum policy (its name: ``"crc32"``, ``"md5"``, ...).
        policy: The checksum policy, with its multipart checksum type.
        owns_client: Whether the backend made the client (and so closes it).
        endpoint_url: The endpoint; None for AWS S3's own endpoints.
        region_name: The region; None when only botocore can tell (the client is made).
        addressing_style: ``"path"``, ``"virtual"`` or ``"auto"``.
    """

    build: Callable[[], S3Client]
    checksum: str
    policy: ChecksumPolicy
    owns_client: bool
    endpoint_url: str | None
    region_name: str | None
    addressing_style: str


#: The headers by which a store verifies a body itself (and refuses it, BadDigest, if damaged).
_VERIFIED_BY = (
    "Content-MD5",
    "x-amz-checksum-crc32",
    "x-amz-checksum-crc32c",
    "x-amz-checksum-crc64nvme",
    "x-amz-checksum-sha256",
)
#: The requests whose bodies are object data: the bodies worth not hashing twice.
_DATA_REQUESTS = ("PutObject", "UploadPart")


def unsigned_when_verified(client: S3Client) -> None:
    """Send object data as ``UNSIGNED-PAYLOAD`` when a checksum header already covers it.

    botocore signs the SHA-256 of every body on a plain-HTTP endpoint: a second pass over
    each part (with awscrt installed, a second read of it, holding the GIL) on top of the
    CRC32 or MD5 s3po sends, which the store verifies. A PutObject or UploadPart that
    carries such a header is signed with ``UNSIGNED-PAYLOAD`` instead, as botocore itself
    does over HTTPS; the headers stay signed, so the checksum cannot be changed in transit,
    and a body that does not match it is refused. Anything without one is signed as before.

    .. versionadded:: 0.4.0
    """
    s3_settings: Any = {**(getattr(client.meta.config, "s3", None) or {})}
    s3_settings["payload_signing_enabled"] = False
    unsigned = client.meta.config.merge(botocore.config.Config(s3=s3_settings))

    def before_sign(request: Any, **_: Any) -> None:  # noqa: ANN401 - botocore's AWSRequest
        if any(name in request.headers for name in _VERIFIED_BY):
            # botocore's S3 signers read payload_signing_enabled from the request's config
            request.context["client_config"] = unsigned

    for operation in _DATA_REQUESTS:
        client.meta.events.register(f"before-sign.s3.{operation}", before_sign)


def ask_checksums(client: S3Client) -> None:
    """Ask for the stored checksum (``x-amz-checksum-mode: ENABLED``) on whole-object GETs.

    Sent as a header rather than boto3's ``ChecksumMode`` parameter, which would make
    botocore check the body itself as well: s3po checks it in the read that delivers it
    (:class:`~s3po.backend.checksums.VerifyingBody`). A ranged GET is not asked: no
    checksum describes a range.

    .. versionadded:: 0.4.0
    """

    def before_sign(request: Any, **_: Any) -> None:  # noqa: ANN401 - botocore's AWSRequest
        if "Range" not in request.headers:
            request.headers["x-amz-checksum-mode"] = "ENABLED"

    client.meta.events.register("before-sign.s3.GetObject", before_sign)


def make_client(options: ClientOptions) -> tuple[S3Client, str, bool, str | None]:
    """Make (or take) the client; return it with its checksum policy, ownership and endpoint.

    The endpoint is None for AWS S3's own endpoints.

    Raises:
        ConfigError: An option has a bad value, or options conflict.
    """
    recipe = resolve_client(options)
    return recipe.build(), recipe.checksum, recipe.owns_client, recipe.endpoint_url


def resolve_client(options: ClientOptions) -> ClientRecipe:  # noqa: C901 - one check an option
    """Check the options and resolve them with the environment; the client is made later.

    Raises:
        ConfigError: An option has a bad value, or options conflict.
    """
    endpoint_url = _option(options.endpoint_url, ENDPOINT_URL_ENV)
    region_name = _option(options.region_name, REGION_ENV)
    profile_name = _option(options.profile_name, PROFILE_ENV)
    style = _option(options.addressing_style, ADDRESSING_STYLE_ENV)
    style = None if style is None else style.lower()
    if style is not None and style not in _STYLES:
        raise s3po.ConfigError(f"addressing_style must be one of {_STYLES}, not {style!r}")
    if options.checksum_algorithm is None and options.checksum is None:
        chosen = checksum_policy(os.environ.get(CHECKSUM_ENV) or None)
    else:
        chosen = checksum_policy(options.checksum_algorithm, checksum=options.checksum)
    chosen = checksum_policy(chosen.name, checksum_type=options.checksum_type)
    policy = chosen.name
    new = "request_checksum_calculation" in botocore.config.Config.OPTION_DEFAULTS
    if not new and (policy == "crc64nvme" or chosen.full_object):
        raise s3po.ConfigError(
            f"checksum_algorithm={policy!r} with checksum_type={chosen.type!r} needs boto3 "
            "1.36 or later (pip install -U boto3)"
        )
    if options.max_pool_connections < 1:
        raise s3po.ConfigError("max_pool_connections must be 1 or more")
    keys = (options.aws_access_key_id, options.aws_secret_access_key, options.aws_session_token)
    if options.client is not None:
        given = [options.endpoint_url, region_name, profile_name, options.session, *keys]
        if any(v is not None for v in given):
            raise s3po.ConfigError(
                "pass a ready client alone; endpoint, region, profile, session and "
                "credentials are the client's own"
            )
        given_client = options.client
        given_style = (getattr(given_client.meta.config, "s3", None) or {}).get(
            "addressing_style", "auto"
        )
        return ClientRecipe(
            build=lambda: given_client,
            checksum=policy,
            policy=chosen,
            owns_client=False,
            endpoint_url=given_client.meta.endpoint_url,
            region_name=given_client.meta.region_name,
            addressing_style=given_style,
        )
    session = options.session
    if session is not None and (profile_name is not None or any(keys)):
        raise s3po.ConfigError("pass a session or a profile/credentials, not both")
    if session is None:
        try:
            session = boto3.Session(
                aws_access_key_id=options.aws_access_key_id,
                aws_secret_access_key=options.aws_secret_access_key,
                aws_session_token=options.aws_session_token,
                profile_name=profile_name,
            )
        except bce.ProfileNotFound as exc:
            raise s3po.ConfigError(
                f"AWS profile {profile_name!r} not found; check ~/.aws/config or ${PROFILE_ENV}"
            ) from exc
    if endpoint_url is None:
        # boto3 would find these on its own, but s3po names the endpoint in its repr and
        # messages and picks path-style addressing for it, so it looks them up first.
        endpoint_url = configured_endpoint(session)
    style = style or configured_style(session) or ("path" if endpoint_url else "auto")
    region = region_name or session.region_name or ("us-east-1" if endpoint_url else None)
    settings: dict[str, Any] = {
        "signature_version": "s3v4",
        "s3": {"addressing_style": style},
        # s3po's retry layer is the only one: botocore makes each request once, so a silent
        # server costs one read_timeout per s3po attempt, never botocore's retries on top.
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "max_pool_connections": options.max_pool_connections,
        "connect_timeout": options.connect_timeout,
        "read_timeout": options.read_timeout,
        "tcp_keepalive": True,
    }
    if "request_checksum_calculation" in botocore.config.Config.OPTION_DEFAULTS:  # boto3 1.36+
        # botocore computes checksums itself only with "when_supported"; otherwise s3po
        # sends its own (as headers, never as aws-chunked trailers) and botocore adds none.
        botocore_policy = policy if policy == "when_supported" else "when_required"
        settings["request_checksum_calculation"] = botocore_policy
        settings["response_checksum_validation"] = botocore_policy
    config = botocore.config.Config(**settings)
    ready = session

    def build() -> S3Client:
        client = ready.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)
        unsigned_when_verified(client)
        if chosen.name not in {"md5", "when_supported"}:
            ask_checksums(client)
        return client

    return ClientRecipe(
        build=build,
        checksum=policy,
        policy=chosen,
        owns_client=True,
        endpoint_url=endpoint_url,
        region_name=region,
        addressing_style=style,
    )

"""The S3 backend's option resolution, done without boto3 when boto3 is not needed for it.

The obstore backend takes the S3 backend's options and must resolve them exactly as
:class:`s3po_s3.backend.S3Backend` does (the same environment variables, defaults and
errors). Importing boto3 costs most of a short program's start-up, so when the options
and the environment settle everything by themselves (keys or no credentials named, no
session, client or profile, and no endpoint settings in the AWS config file:
``$AWS_ENDPOINT_URL_S3`` and ``$AWS_ENDPOINT_URL`` are read here as botocore reads them,
and so are the default profile's ``region`` and ``s3 = addressing_style`` from the config
and credentials files),
:func:`resolve` works them out here; otherwise it returns None and the caller makes the
S3 backend at once to resolve them, as before.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import s3po
from s3po.backend.checksums import checksum_policy

__all__ = ["Resolved", "resolve"]

#: The S3 backend's environment variables (read when the matching option is not given).
ENDPOINT_URL_ENV = "S3PO_ENDPOINT_URL"
REGION_ENV = "S3PO_REGION"
PROFILE_ENV = "S3PO_PROFILE"
ADDRESSING_STYLE_ENV = "S3PO_ADDRESSING_STYLE"
CHECKSUM_ENV = "S3PO_CHECKSUM"

_STYLES = ("path", "virtual", "auto")
#: botocore reads the region from these, in this order, when no region is named.
_PROFILE_VARS = ("AWS_DEFAULT_PROFILE", "AWS_PROFILE")
_REGION_VAR = "AWS_DEFAULT_REGION"
_CONFIG_FILE_VAR = "AWS_CONFIG_FILE"
#: botocore's endpoint variables, in its order, and the one that turns them all off.
_AWS_ENDPOINT_VARS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
_IGNORE_ENDPOINTS_VAR = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
#: Only boto3 reads the AWS config file's endpoint settings: a file holding this text
#: (``endpoint_url``, ``ignore_configured_endpoint_urls``, ``services``) needs it.
_ENDPOINT_WORDS = ("endpoint_url", "services")
#: A profile's ``s3 = addressing_style`` is read here (:func:`_profile_style`) from the
#: default profile when nothing else may hold one; otherwise boto3 reads it.
_STYLE_WORD = "addressing_style"
_CREDENTIALS_FILE_VAR = "AWS_SHARED_CREDENTIALS_FILE"
_BOTO3_ONLY = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolved:
    """What the options resolved to.

    Attributes:
        endpoint_url: The endpoint; None for AWS S3.
        region_name: The region.
        addressing_style: ``"path"``, ``"virtual"`` or ``"auto"``.
        checksum: The checksum policy.
        profile_name: The AWS profile (always None here: a profile needs boto3).
    """

    endpoint_url: str | None
    region_name: str
    addressing_style: str
    checksum: str
    profile_name: str | None = None


def _option(value: str | None, env: str) -> str | None:
    return value if value is not None else (os.environ.get(env) or None)


def _config_file() -> str | None:
    """The AWS config file's text, or None when there is none."""
    return _read(os.environ.get(_CONFIG_FILE_VAR, "~/.aws/config"))


def _credentials_file() -> str | None:
    """The AWS credentials file's text, or None when there is none."""
    return _read(os.environ.get(_CREDENTIALS_FILE_VAR, "~/.aws/credentials"))


def _read(name: str) -> str | None:
    """The text of the file ``name`` (``~`` expanded), or None when there is none."""
    path = os.path.expanduser(name)  # noqa: PTH111 - no pathlib at start-up
    try:
        with open(path, encoding="utf-8", errors="replace") as file:  # noqa: PTH123 - as above
            return file.read()
    except OSError:
        return None


def _parsed(text: str) -> dict[str, dict[str, str]] | None:
    """An INI file's sections as botocore's configparser reads them; None if it refuses."""
    import configparser  # noqa: PLC0415 - only for a config file that is read here

    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text)
        return {name: dict(parser.items(name)) for name in parser.sections()}
    except configparser.Error:
        return None


def _default_profile(config: str) -> dict[str, str] | None:
    """The default profile's settings, as botocore reads them; None when only boto3 can tell.

    botocore reads the config file's ``[default]`` and merges the credentials file's over
    it. Only boto3 can tell when a profile is named in the environment, a
    ``[profile default]`` section may stand in for ``[default]``, or configparser refuses
    a file.
    """
    if any(name in os.environ for name in _PROFILE_VARS):
        return None
    sections = _parsed(config)
    credentials = _credentials_file()
    extra = {} if credentials is None else _parsed(credentials)
    if sections is None or extra is None:
        return None
    if any(name.startswith("profile") and "default" in name for name in sections):
        return None
    return sections.get("default", {}) | extra.get("default", {})


def _profile_style(profile: dict[str, str]) -> str | object | None:
    """The profile's ``s3 = addressing_style``, as botocore reads it.

    None when it names none; ``_BOTO3_ONLY`` when botocore would refuse the block or the
    style (boto3 then raises the S3 backend's error).
    """
    nested = profile.get("s3", "")
    if not nested.startswith("\n"):  # botocore reads only a nested ``s3 =`` block
        return None
    found = None
    for line in nested.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep:
            return _BOTO3_ONLY  # botocore refuses the file
        if key.strip() == _STYLE_WORD:
            found = value.strip()
    if not found:
        return None
    style = found.lower()
    return style if style in _STYLES else _BOTO3_ONLY


def _configured_endpoint() -> str | object | None:
    """The endpoint botocore would find in the environment, or ``_BOTO3_ONLY``.

    As ``s3po_s3._client.configured_endpoint`` finds it, without boto3 as long as the AWS
    config file says nothing about endpoints.
    """
    text = _config_file()
    if text is not None and any(word in text for word in _ENDPOINT_WORDS):
        return _BOTO3_ONLY
    if os.environ.get(_IGNORE_ENDPOINTS_VAR, "").lower() == "true":
        return None
    for name in _AWS_ENDPOINT_VARS:
        if os.environ.get(name):
            return os.environ[name]
    return None


def _region(given: str | None, endpoint_url: str | None) -> str | None:
    """The region boto3 would pick, or None when only boto3 can tell."""
    if given:
        return given
    if any(name in os.environ for name in _PROFILE_VARS):
        return None  # the profile's region is in the AWS config file
    if _REGION_VAR in os.environ:
        region = os.environ[_REGION_VAR] or None
    else:
        profile = _default_profile(_config_file() or "")
        if profile is None:
            return None  # only boto3 can read the profile's region
        region = profile.get("region") or None
    return region or ("us-east-1" if endpoint_url else None)


def resolve(
    *,
    endpoint_url: str | None,
    region_name: str | None,
    profile_name: str | None,
    session: object,
    client: object,
    addressing_style: str | None,
    checksum: str | None,
    max_pool_connections: int,
    checksum_algorithm: str | None = None,
    checksum_type: str | None = None,
) -> Resolved | None:
    """Resolve the options as the S3 backend does; None when that needs boto3.

    Raises:
        ConfigError: An option has a bad value (the S3 backend's messages, in its order).
    """
    if client is not None or session is not None or _option(profile_name, PROFILE_ENV):
        return None
    endpoint = _option(endpoint_url, ENDPOINT_URL_ENV)
    style = _option(addressing_style, ADDRESSING_STYLE_ENV)
    style = None if style is None else style.lower()
    if style is not None and style not in _STYLES:
        raise s3po.ConfigError(f"addressing_style must be one of {_STYLES}, not {style!r}")
    if checksum_algorithm is None and checksum is None:
        chosen = checksum_policy(os.environ.get(CHECKSUM_ENV) or None)
    else:
        chosen = checksum_policy(checksum_algorithm, checksum=checksum)
    policy = checksum_policy(chosen.name, checksum_type=checksum_type).name
    if max_pool_connections < 1:
        raise s3po.ConfigError("max_pool_connections must be 1 or more")
    if style is None and _STYLE_WORD in (_config_file() or "") + (_credentials_file() or ""):
        profile = _default_profile(_config_file() or "")  # the profile may name the style
        found_style = _BOTO3_ONLY if profile is None else _profile_style(profile)
        if found_style is _BOTO3_ONLY:
            return None
        style = found_style if isinstance(found_style, str) else None
    if endpoint is None:
        found = _configured_endpoint()
        if found is _BOTO3_ONLY:
            return None
        endpoint = found if isinstance(found, str) else None
    style = style or ("path" if endpoint else "auto")
    region = _region(_option(region_name, REGION_ENV), endpoint)
    if region is None:
        return None
    return Resolved(
        endpoint_url=endpoint, region_name=region, addressing_style=style, checksum=policy
    )

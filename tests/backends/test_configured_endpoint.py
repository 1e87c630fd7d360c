"""Endpoints configured as boto3 users configure them, honoured by s3po itself.

``$AWS_ENDPOINT_URL_S3``, ``$AWS_ENDPOINT_URL``, a profile's ``endpoint_url`` and the
``s3`` entry of the ``services`` section it names, in botocore's order, with
``ignore_configured_endpoint_urls`` turning them off. Both S3 backends find the endpoint
before boto3 does, so their repr and messages name it, they address it path-style, and
obstore (which otherwise read ``$AWS_ENDPOINT_URL`` by itself, with virtual hosts, and so
sent its requests without the bucket) sends them where the boto3 calls go.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from s3po_obstore._resolve import resolve
from s3po_obstore.backend import ObstoreBackend
from s3po_s3.backend import S3Backend

import s3po

_ENV = (
    "S3PO_ENDPOINT_URL",
    "S3PO_REGION",
    "S3PO_PROFILE",
    "S3PO_ADDRESSING_STYLE",
    "S3PO_CHECKSUM",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)
_KEYS: dict[str, Any] = {"aws_access_key_id": "id", "aws_secret_access_key": "secret"}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No S3 settings in the environment; ``tmp_path / "config"`` is the AWS config file."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    return monkeypatch


def _settings(
    env: pytest.MonkeyPatch, tmp_path: Path, how: str, url: str, *, region: str | None = None
) -> None:
    """Configure ``url`` the way ``how`` names, and nothing else."""
    if how in {"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"}:
        env.setenv(how, url)
        if region:
            env.setenv("S3PO_REGION", region)  # obstore resolves without boto3
        return
    lines = ["[default]"]
    if region:
        lines.append(f"region = {region}")
    if how == "profile":
        lines.append(f"endpoint_url = {url}")
    else:  # a services section
        lines += ["services = local", "", "[services local]", "s3 =", f"  endpoint_url = {url}"]
    (tmp_path / "config").write_text("\n".join(lines) + "\n")


_HOW = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "profile", "services")


@pytest.fixture
def moto(moto_server: Any, env: pytest.MonkeyPatch) -> Any:
    """moto, reset, with its keys in the environment and bucket ``configured``."""
    moto_server.reset()
    env.setenv("AWS_ACCESS_KEY_ID", moto_server.access_key)
    env.setenv("AWS_SECRET_ACCESS_KEY", moto_server.secret_key)
    moto_server.admin.create_bucket(Bucket="configured")
    return moto_server


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["s3", "obstore"])
@pytest.mark.parametrize("how", _HOW)
def test_only_configured_settings_reach_the_server(
    moto: Any, env: pytest.MonkeyPatch, tmp_path: Path, backend: str, how: str
) -> None:
    """No endpoint in the code: objects go to moto, and s3po names moto, not AWS."""
    _settings(env, tmp_path, how, moto.endpoint_url, region="us-east-1")
    with s3po.Connection(backend=backend) as conn:
        assert f"endpoint_url={moto.endpoint_url!r}" in repr(conn.transfer.stack())
        conn.upload_string("configured", "k.txt", "hello")
        assert conn.download_string("configured", "k.txt") == "hello"
        with pytest.raises(s3po.NoSuchKey, match=f"failed at {moto.endpoint_url}"):
            conn.download_bytes("configured", "missing")
    stored = moto.admin.get_object(Bucket="configured", Key="k.txt")["Body"].read()
    assert stored == b"hello"


@pytest.mark.parametrize("how", _HOW)
def test_both_backends_resolve_the_configured_endpoint(
    env: pytest.MonkeyPatch, tmp_path: Path, how: str
) -> None:
    _settings(env, tmp_path, how, "http://127.0.0.1:9", region="eu-west-3")
    s3 = S3Backend(**_KEYS)
    fast = ObstoreBackend(**_KEYS)
    try:
        for backend in (s3, fast):
            assert backend.endpoint_url == "http://127.0.0.1:9"
            assert backend.region_name == "eu-west-3"
        assert s3.addressing_style == "path"
        config: Any = s3.client.meta.config
        assert config.s3["addressing_style"] == "path"
        store = fast.stores.get("bucket").config
        assert store.get("endpoint") == "http://127.0.0.1:9"
        assert str(store.get("virtual_hosted_style_request")) == "false"  # obstore says so
        # Environment variables alone need no boto3; the config file's settings do.
        assert (fast._s3 is None) == how.startswith("AWS_")
    finally:
        s3.close()
        fast.close()


def test_botocore_order(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """S3's variable, the global one, the services section, then the profile's own."""
    (tmp_path / "config").write_text(
        "[default]\nendpoint_url = http://profile:1\nservices = s\n"
        "[services s]\ns3 =\n  endpoint_url = http://services:1\n"
    )

    def endpoint() -> str | None:
        backend = S3Backend(**_KEYS)
        backend.close()
        return backend.endpoint_url

    assert endpoint() == "http://services:1"
    env.setenv("AWS_ENDPOINT_URL", "http://global:1")
    assert endpoint() == "http://global:1"
    env.setenv("AWS_ENDPOINT_URL_S3", "http://s3:1")
    assert endpoint() == "http://s3:1"
    env.setenv("S3PO_ENDPOINT_URL", "http://s3po:1")  # s3po's own setting comes first
    assert endpoint() == "http://s3po:1"
    backend = S3Backend(endpoint_url="http://given:1", **_KEYS)  # and the option before all
    assert backend.endpoint_url == "http://given:1"
    backend.close()


@pytest.mark.parametrize("where", ["environment", "config file"])
def test_ignore_configured_endpoint_urls(
    env: pytest.MonkeyPatch, tmp_path: Path, where: str
) -> None:
    """As botocore: AWS S3 itself, in s3po's words and in obstore's requests."""
    env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    env.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    if where == "environment":
        env.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    else:
        (tmp_path / "config").write_text("[default]\nignore_configured_endpoint_urls = true\n")
    s3 = S3Backend(**_KEYS)
    fast = ObstoreBackend(**_KEYS)
    try:
        assert s3.endpoint_url is None
        assert s3.client.meta.endpoint_url == "https://s3.eu-west-3.amazonaws.com"
        assert fast.endpoint_url is None
        assert "AWS S3 (eu-west-3)" in fast._where
        endpoint = fast.stores.get("bucket").config.get("endpoint")
        assert endpoint == "https://bucket.s3.eu-west-3.amazonaws.com"
    finally:
        s3.close()
        fast.close()


def test_a_missing_services_section_is_a_config_error(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    del env
    (tmp_path / "config").write_text("[default]\nservices = nowhere\n")
    with pytest.raises(s3po.ConfigError, match=r"services section 'nowhere'"):
        S3Backend(**_KEYS)
    with pytest.raises(s3po.ConfigError, match=r"services section 'nowhere'"):
        ObstoreBackend(endpoint_url=None, region_name="us-east-1", **_KEYS)


def test_the_fast_path_defers_to_boto3_for_the_config_file(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A region given, but endpoint settings in the config file: only boto3 reads those."""
    del env
    (tmp_path / "config").write_text("[default]\nendpoint_url = http://127.0.0.1:9\n")
    options: dict[str, Any] = {
        "endpoint_url": None,
        "region_name": "us-east-1",
        "profile_name": None,
        "session": None,
        "client": None,
        "addressing_style": None,
        "checksum": None,
        "max_pool_connections": 64,
    }
    assert resolve(**options) is None
    (tmp_path / "config").write_text("[default]\nregion = eu-west-1\n")
    resolved = resolve(**options)
    assert resolved is not None
    assert (resolved.endpoint_url, resolved.addressing_style) == (None, "auto")


@pytest.mark.parametrize(("configured", "expected"), [("virtual", "virtual"), ("PATH", "path")])
@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9", None])
def test_the_profiles_addressing_style_is_kept(
    env: pytest.MonkeyPatch,
    tmp_path: Path,
    configured: str,
    expected: str,
    endpoint: str | None,
) -> None:
    """``s3 = addressing_style`` in the profile holds when the code and $S3PO_ names none."""
    del env
    (tmp_path / "config").write_text(
        f"[default]\nregion = eu-west-3\ns3 =\n  addressing_style = {configured}\n"
    )
    s3 = S3Backend(endpoint_url=endpoint, **_KEYS)
    fast = ObstoreBackend(endpoint_url=endpoint, **_KEYS)
    try:
        assert s3.addressing_style == expected
        config: Any = s3.client.meta.config
        assert config.s3["addressing_style"] == expected
        store = fast.stores.get("bucket").config
        assert (
            str(store.get("virtual_hosted_style_request")).lower()
            == str(expected == "virtual").lower()
        )
    finally:
        s3.close()
        fast.close()


def test_an_explicit_addressing_style_wins_over_the_profiles(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "config").write_text(
        "[default]\nregion = eu-west-3\ns3 =\n  addressing_style = virtual\n"
    )
    for named, variable in (("path", None), (None, "path")):
        if variable:
            env.setenv("S3PO_ADDRESSING_STYLE", variable)
        s3 = S3Backend(endpoint_url="http://127.0.0.1:9", addressing_style=named, **_KEYS)
        try:
            assert s3.addressing_style == "path"
        finally:
            s3.close()


def test_a_bad_addressing_style_in_the_profile_is_a_config_error(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    del env
    (tmp_path / "config").write_text(
        "[default]\nregion = eu-west-3\ns3 =\n  addressing_style = sideways\n"
    )
    with pytest.raises(s3po.ConfigError, match=r"addressing_style.*sideways.*profile"):
        S3Backend(endpoint_url="http://127.0.0.1:9", **_KEYS)


_OPTIONS: dict[str, Any] = {
    "endpoint_url": None,
    "region_name": "eu-west-3",
    "profile_name": None,
    "session": None,
    "client": None,
    "addressing_style": None,
    "checksum": None,
    "max_pool_connections": 64,
}


@pytest.mark.parametrize(
    "block",
    [
        "s3 =\n  addressing_style = virtual\n",
        "s3 =\n  signature_version = s3v4\n  addressing_style = PATH\n",
        "s3 =\n  signature_version = s3v4\n  # addressing_style = path\n",
        "s3 = addressing_style\n",
        "[profile other]\ns3 =\n  addressing_style = path\n",
    ],
)
@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9", None])
def test_the_fast_path_reads_the_profiles_style_as_boto3_does(
    env: pytest.MonkeyPatch, tmp_path: Path, block: str, endpoint: str | None
) -> None:
    """The default profile's ``s3 = addressing_style`` is read without boto3, to the same."""
    del env
    (tmp_path / "config").write_text(f"[default]\nregion = eu-west-3\n{block}")
    resolved = resolve(**{**_OPTIONS, "endpoint_url": endpoint})
    s3 = S3Backend(endpoint_url=endpoint, region_name="eu-west-3", **_KEYS)
    try:
        assert resolved is not None
        assert resolved.addressing_style == s3.addressing_style
    finally:
        s3.close()


@pytest.mark.parametrize(
    ("config", "credentials", "variable"),
    [
        ("[default]\ns3 =\n  addressing_style = sideways\n", "", None),  # boto3's error
        ("[default]\ns3 =\n  addressing_style = path\n", "", "AWS_PROFILE"),
        ("[default]\ns3 =\n  addressing_style = path\n", "", "AWS_DEFAULT_PROFILE"),
        ("[profile default]\ns3 =\n  addressing_style = path\n", "", None),
        ("[default]\naddressing_style\n", "", None),  # no value: configparser refuses it
        ("[default]\ns3 =\n  addressing_style path\n", "", None),  # botocore refuses it
    ],
)
def test_the_fast_path_defers_to_boto3_for_a_style_it_cannot_settle(
    env: pytest.MonkeyPatch, tmp_path: Path, config: str, credentials: str, variable: str | None
) -> None:
    (tmp_path / "config").write_text(config)
    (tmp_path / "credentials").write_text(credentials)
    if variable:
        env.setenv(variable, "default")
    assert resolve(**_OPTIONS) is None


def test_the_credentials_files_style_is_merged_in_as_botocore_merges_it(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    del env
    (tmp_path / "config").write_text("[default]\nregion = eu-west-3\n")
    (tmp_path / "credentials").write_text("[default]\ns3 =\n  addressing_style = virtual\n")
    resolved = resolve(**{**_OPTIONS, "endpoint_url": "http://127.0.0.1:9"})
    s3 = S3Backend(endpoint_url="http://127.0.0.1:9", **_KEYS)
    try:
        assert resolved is not None
        assert resolved.addressing_style == s3.addressing_style == "virtual"
    finally:
        s3.close()


def test_a_profile_naming_a_style_needs_no_boto3(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The bench's and many users' config file: a region and ``addressing_style = path``."""
    del env
    (tmp_path / "config").write_text(
        "[default]\nregion = eu-west-3\ns3 =\n  addressing_style = path\n"
    )
    script = textwrap.dedent(
        """
        import sys
        from s3po_obstore.backend import ObstoreBackend
        fast = ObstoreBackend(aws_access_key_id="id", aws_secret_access_key="secret")
        assert fast.region_name == "eu-west-3", fast.region_name
        store = fast.stores.get("bucket").config
        assert str(store.get("virtual_hosted_style_request")).lower() == "false", store
        print(" ".join(sorted(sys.modules)))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert not set(out.stdout.split()) & {"boto3", "botocore", "s3po_s3.backend"}

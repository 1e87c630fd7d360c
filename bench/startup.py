"""Start-up cost in a fresh interpreter: ``startup.py CLIENT ENDPOINT KEY SECRET RESULT.json``.

Times three steps, each from the end of the last: ``import`` of the library, building a
client for ``ENDPOINT`` as bench/worker.py does, and one first request (a 4 KiB PUT), which
catches work a client defers until it is used. The figure is import + construction, the
cost of ``import s3po; s3po.Connection(...)`` against ``import boto3; boto3.client(...)``.
Only ``time`` and ``sys`` are imported before the clock starts (the arguments come from the
command line, not a JSON file), so whatever a library imports is charged to it.
"""

import sys
import time

REGION = "us-east-1"
BUCKET = "bench"


def _s3po(backend: str | None, endpoint: str, key: str, secret: str) -> tuple[float, object]:
    """s3po's start-up; ``backend=None`` is the one ``Connection()`` picks by default."""
    started = time.perf_counter()
    import s3po  # noqa: PLC0415

    imported = time.perf_counter() - started
    named = {"backend": backend} if backend is not None else {}
    conn = s3po.Connection(
        **named,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )
    return imported, lambda: conn.upload_string(
        BUCKET, f"startup/{backend or 'default'}", b"x" * 4096
    )


def _boto3(endpoint: str, key: str, secret: str) -> tuple[float, object]:
    started = time.perf_counter()
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    imported = time.perf_counter() - started
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}),
    )
    return imported, lambda: client.put_object(Bucket=BUCKET, Key="startup/boto3", Body=b"x" * 4096)


def _crt(endpoint: str, key: str, secret: str) -> tuple[float, object]:
    started = time.perf_counter()
    import io  # noqa: PLC0415

    import botocore.session  # noqa: PLC0415
    from awscrt.auth import AwsCredentialsProvider  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415
    from s3transfer.crt import (  # noqa: PLC0415
        BotocoreCRTRequestSerializer,
        CRTTransferManager,
        create_s3_crt_client,
    )

    imported = time.perf_counter() - started
    crt = create_s3_crt_client(
        REGION,
        crt_credentials_provider=AwsCredentialsProvider.new_static(key, secret),
        use_ssl=False,
    )
    serializer = BotocoreCRTRequestSerializer(
        botocore.session.Session(),
        {
            "region_name": REGION,
            "endpoint_url": endpoint,
            "config": Config(s3={"addressing_style": "path"}),
        },
    )
    manager = CRTTransferManager(crt, serializer)
    return imported, lambda: manager.upload(io.BytesIO(b"x" * 4096), BUCKET, "startup/crt").result()


def _obstore(endpoint: str, key: str, secret: str) -> tuple[float, object]:
    started = time.perf_counter()
    import obstore  # noqa: PLC0415
    from obstore.store import S3Store  # noqa: PLC0415

    imported = time.perf_counter() - started
    store = S3Store(
        BUCKET,
        endpoint=endpoint,
        access_key_id=key,
        secret_access_key=secret,
        region=REGION,
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )
    return imported, lambda: obstore.put(store, "startup/obstore", b"x" * 4096)


MAKERS = {
    "s3po": lambda *a: _s3po(None, *a),
    "s3po-boto3": lambda *a: _s3po("s3", *a),
    "boto3": _boto3,
    "crt": _crt,
    "obstore": _obstore,
}


def main() -> None:
    """Time the steps, then write them (and this process's VmHWM) as JSON."""
    client, endpoint, key, secret, out = sys.argv[1:6]
    started = time.perf_counter()
    imported, first = MAKERS[client](endpoint, key, secret)
    built = time.perf_counter()
    first()  # type: ignore[operator]
    done = time.perf_counter()
    import json  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    hwm = next(
        (
            int(line.split()[1]) / 1024
            for line in Path("/proc/self/status").read_text().splitlines()
            if line.startswith("VmHWM:")
        ),
        0.0,
    )
    result = {
        "ok": True,
        "seconds": built - started,
        "import_s": imported,
        "construct_s": built - started - imported,
        "first_request_s": done - built,
        "bytes": 0,
        "objects": 1,
        "rss_mb": round(hwm, 1),
    }
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()

"""A process killed mid-upload leaves a multipart upload behind; ``cleanup`` finds and ends it.

SIGKILL gives s3po no chance to abort, which is exactly the case ``Connection.cleanup`` and
``s3po cleanup`` exist for.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from s3po_reliability import open_uploads  # type: ignore[import-not-found]

import s3po

pytestmark = pytest.mark.integration

#: Uploads 5 MiB + 1 byte at once (so the multipart upload starts and part 1 goes up), then
#: blocks forever waiting for more.
_UPLOADER = textwrap.dedent(
    """
    import json, sys, threading
    import s3po

    class Slow:
        def __init__(self):
            self.sent = 0
        def read(self, n=-1):
            if self.sent > 5 * 1024 * 1024:
                threading.Event().wait()  # until killed
            n = 5 * 1024 * 1024 + 1 if n < 0 else min(n, 5 * 1024 * 1024 + 1 - self.sent)
            self.sent += n
            return b"x" * n

    options = json.loads(sys.argv[1])
    config = s3po.TransferConfig(
        chunk=s3po.ChunkConfig(threshold=5 * 1024 * 1024, part_size=5 * 1024 * 1024)
    )
    with s3po.Connection("s3", config=config, **options) as conn:
        conn.upload_fileobj(sys.argv[2], sys.argv[3], Slow())
    """
)


def _kill_mid_upload(server: Any, bucket: str, key: str, tmp_path: Path) -> None:
    script = tmp_path / "uploader.py"
    script.write_text(_UPLOADER)
    proc = subprocess.Popen(
        [sys.executable, str(script), json.dumps(server.options()), bucket, key],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(600):  # the upload exists and its first part is stored
            uploads = open_uploads(server, bucket)
            if uploads:
                parts = server.admin.list_parts(
                    Bucket=bucket, Key=key, UploadId=uploads[0]["UploadId"]
                ).get("Parts", [])
                if parts:
                    break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        else:
            pytest.fail("the uploader never got a part stored")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


def test_cleanup_aborts_the_upload_of_a_killed_process(
    s3_server: Any, bucket: str, tmp_path: Path
) -> None:
    _kill_mid_upload(s3_server, bucket, "orphans/one.bin", tmp_path)
    assert [u["Key"] for u in open_uploads(s3_server, bucket)] == ["orphans/one.bin"]
    with s3po.Connection("s3", **s3_server.options()) as conn:
        assert conn.cleanup(bucket, "other/", older_than=dt.timedelta(0)) == []
        aborted = conn.cleanup(bucket, "orphans/", older_than=dt.timedelta(0))
    assert [u.key for u in aborted] == ["orphans/one.bin"]
    assert open_uploads(s3_server, bucket) == []
    assert s3_server.admin.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0

    # Second round, through the command line.
    _kill_mid_upload(s3_server, bucket, "orphans/two.bin", tmp_path)
    script = shutil.which("s3po", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "s3po.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3PO_", "AWS_"))}
    env.update(
        AWS_ACCESS_KEY_ID=s3_server.access_key,
        AWS_SECRET_ACCESS_KEY=s3_server.secret_key,
        AWS_DEFAULT_REGION=s3_server.region,
    )
    url = f"s3://{bucket}/orphans/"
    result = subprocess.run(
        [*command, "cleanup", url, "--older-than", "0s", "--endpoint-url", s3_server.endpoint_url],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert "orphans/two.bin" in result.stdout.decode()
    assert open_uploads(s3_server, bucket) == []

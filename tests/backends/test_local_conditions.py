"""The local backend's conditional writes between processes, and their commit step."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest
from s3po_local import LocalBackend

import s3po
from s3po.backend import Headers, WriteCondition

CREATE = WriteCondition(if_none_match=True)
PROCESSES = 4
ROUNDS = 2


def _race(root: str, key: str, me: int, start: multiprocessing.synchronize.Barrier) -> bool:
    backend = LocalBackend(root, fsync=False)
    start.wait()
    try:
        backend.put("bkt", key, b"writer %d" % me, headers=Headers(), condition=CREATE)
    except s3po.PreconditionFailed:
        return False
    return True


def _swap(root: str, key: str, me: int, start: multiprocessing.synchronize.Barrier) -> bool:
    backend = LocalBackend(root, fsync=False)
    seen = backend.head("bkt", key).etag
    start.wait()
    try:
        backend.put(
            "bkt",
            key,
            b"writer %d" % me,
            headers=Headers(),
            condition=WriteCondition(if_match=seen),
        )
    except s3po.PreconditionFailed:
        return False
    return True


def test_processes_racing_one_key(tmp_path: Path) -> None:
    """Processes racing on one key (create, or swap the version all read): one wins a round."""
    backend = LocalBackend(tmp_path, fsync=False)
    backend.create_bucket("bkt")
    context = multiprocessing.get_context("spawn")
    # One pool for every round (spawning interpreters is the slow part).
    with context.Pool(PROCESSES) as pool, context.Manager() as manager:
        start = manager.Barrier(PROCESSES)  # reusable: every round starts all at once
        rounds = [(worker, n) for worker in (_race, _swap) for n in range(ROUNDS)]
        for worker, n in rounds:
            key = f"{worker.__name__}{n}"
            if worker is _swap:
                backend.put("bkt", key, b"base", headers=Headers())
            args = [(str(tmp_path), key, me, start) for me in range(PROCESSES)]
            won = pool.starmap(worker, args)
            assert won.count(True) == 1, (key, won)
            with backend.get("bkt", key) as result:
                assert result.body.readall() == b"writer %d" % won.index(True)
    leftovers = [p for p in (tmp_path / "bkt").rglob("*") if p.name.startswith(".s3po-tmp-")]
    assert leftovers == []


def test_link_refuses_a_file_placed_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If-None-Match is a no-replace link: an object that lands just before it is kept."""
    backend = LocalBackend(tmp_path, fsync=False)
    backend.create_bucket("bkt")
    real_link = os.link

    def racing_link(src: str, dst: str, **kw: object) -> None:
        # A writer that takes no lock (a hand-made file with a record, moved in by
        # rename) lands between our check and our link.
        monkeypatch.setattr(os, "link", real_link)
        backend.put("bkt", "aside/theirs", b"theirs", headers=Headers())  # another folder
        (tmp_path / "bkt" / "aside" / "theirs").rename(tmp_path / "bkt" / "k")
        real_link(src, dst, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "link", racing_link)
    with pytest.raises(s3po.PreconditionFailed):
        backend.put("bkt", "k", b"ours", headers=Headers(), condition=CREATE)
    with backend.get("bkt", "k") as result:
        assert result.body.readall() == b"theirs"
    assert sorted(p.name for p in (tmp_path / "bkt").iterdir()) == ["aside", "k"]

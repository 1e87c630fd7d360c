"""``s3po check SRC DST``: compare a local folder and a prefix (or two prefixes) by checksums.

Nothing is downloaded: each pair is compared as ``sync --checksum`` compares it
(:func:`s3po._cli.compare.same_content`): an object's stored s3po checksum
(``s3po-xxh128``/``s3po-sha256``, of the content before compression) against the same hash
of the file, or a plain-MD5 ETag (a single-part object without Content-Encoding) against
the file's MD5. A pair with no checksum in common is compared by size and counted as such.
Both listings must finish; a listing that fails is an error, never "nothing there".

.. versionadded:: 0.4.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from s3po._cli.common import Local, Remote, UsageError, parse_location
from s3po._cli.compare import same_content
from s3po._cli.plan import _entries, _with_metadata

if TYPE_CHECKING:
    from s3po._cli.common import Context
    from s3po._cli.plan import Entry

__all__ = ["cmd_check"]


def _compare(ctx: Context, sources: dict[str, Entry], targets: dict[str, Entry]) -> dict[str, int]:
    """Print each difference between the two sides; count every kind of outcome."""
    counts = {"equal": 0, "differ": 0, "missing_on_src": 0, "missing_on_dst": 0, "by_size": 0}
    out = ctx.out
    for rel in sorted(set(sources) | set(targets)):
        if rel not in targets:
            counts["missing_on_dst"] += 1
            out.result(f"missing on DST: {rel}", {"path": rel, "status": "missing_on_dst"})
            continue
        if rel not in sources:
            counts["missing_on_src"] += 1
            out.result(f"missing on SRC: {rel}", {"path": rel, "status": "missing_on_src"})
            continue
        same = same_content(sources[rel], targets[rel])
        if same is None:
            counts["by_size"] += 1
            a, b = sources[rel].size, targets[rel].size
            same = a is not None and a == b
        if same:
            counts["equal"] += 1
        else:
            counts["differ"] += 1
            out.result(f"differ: {rel}", {"path": rel, "status": "differ"})
    return counts


def cmd_check(ctx: Context) -> int:
    """Print each difference (missing on either side, differ) and a summary; 1 if any."""
    src, dst = parse_location(ctx.args.src), parse_location(ctx.args.dst)
    if not isinstance(src, Local | Remote) or not isinstance(dst, Local | Remote):
        raise UsageError("check compares folders and prefixes, not '-'")
    if isinstance(src, Local) and isinstance(dst, Local):
        raise UsageError("one of SRC and DST must be an s3:// URL")
    for side in (src, dst):
        if isinstance(side, Local) and not side.path.is_dir():
            raise UsageError(f"{side} is not a folder")
    jobs = max(1, int(ctx.opt("jobs", 8)))
    sources, src_tree = _entries(ctx.conn, src, source=True)
    targets, dst_tree = _entries(ctx.conn, dst, source=True)
    for tree, where in ((src_tree, src), (dst_tree, dst)):
        for rel, why in tree.unreadable if tree is not None else []:
            ctx.out.error(f"cannot read {where.child(rel)}: {why}")
    paired = set(sources) & set(targets)
    sources = _with_metadata(ctx.conn, sources, paired, jobs)
    targets = _with_metadata(ctx.conn, targets, paired, jobs)
    counts = _compare(ctx, sources, targets)
    unreadable = sum(len(t.unreadable) for t in (src_tree, dst_tree) if t is not None)
    differences = (
        counts["differ"] + counts["missing_on_src"] + counts["missing_on_dst"] + unreadable
    )
    ctx.out.result(
        f"{counts['equal']} equal, {counts['differ']} differ, {counts['missing_on_dst']} "
        f"missing on DST, {counts['missing_on_src']} missing on SRC"
        + (
            f", {counts['by_size']} compared by size only (no checksum in common)"
            if counts["by_size"]
            else ""
        ),
        {"summary": counts, "unreadable": unreadable},
    )
    return 1 if differences else 0

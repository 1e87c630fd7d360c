"""The ``s3po`` argument parser: every command and option, and nothing that runs them.

It imports no part of the pipeline, so ``s3po --help``, ``s3po --version`` and a mistyped
command line cost the interpreter's start-up and argparse, not the transfer stack; each
command's module is imported by :func:`s3po.cli.main` once the command is known.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import argparse
import difflib
import re
from typing import TYPE_CHECKING, Any, NoReturn, cast

from s3po._cli.filters import add_filter_options
from s3po._cli.throttle import parse_rate
from s3po._version import __version__
from s3po.backend.admin import PRESIGN_METHODS

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "COMMAND_NAMES",
    "MANIFEST_FORMATS",
    "MAX_EXPIRES",
    "LeanParseError",
    "build_parser",
    "command_of",
    "lean_parser",
]

#: Every command (tests/cli/test_lean_start.py checks them against the full parser's).
COMMAND_NAMES = frozenset(
    {"cat", "check", "cleanup", "cp", "du", "head", "ls", "mb", "mv", "presign", "rb", "rm"}
    | {"sync"}
)
#: The global options that take a value: the word after one is its value, not a command.
_VALUED = (
    "--backend",
    "--root",
    "--endpoint-url",
    "--profile",
    "--region",
    "--retries",
    "--timeout",
    "--bwlimit",
)

#: ``--manifest-format``'s choices: :data:`s3po.manifest.FORMATS`, which is not imported here
#: (tests/cli/test_lean_start.py checks that the two agree).
MANIFEST_FORMATS = ("csv", "jsonl", "inventory")
#: ``--checksum-algorithm`` and ``--checksum-type``'s choices: those of
#: :mod:`s3po.backend.checksums`, not imported here (tests/cli/test_lean_start.py checks them).
CHECKSUM_POLICIES = ("crc32", "crc32c", "crc64nvme", "md5", "when_supported")
CHECKSUM_TYPES = ("composite", "full_object")
#: The longest validity SigV4 allows: 7 days.
MAX_EXPIRES = 7 * 24 * 3600


def _expires(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 0 < value <= MAX_EXPIRES:
        msg = f"{text!r} is not a whole number of seconds from 1 to {MAX_EXPIRES} (7 days)"
        raise argparse.ArgumentTypeError(msg)
    return value


_EPILOG = """\
exit status: 0 all good, 1 some transfers or requests failed, 2 bad input or skipped
symlinks, 130 interrupted, 141 standard output closed early.
Global options may come before or after the command. See docs/cli.md for the details."""


def _global_options(*, suppress: bool) -> argparse.ArgumentParser:
    """The options every command takes; ``suppress`` keeps a subcommand from resetting them."""
    parser = argparse.ArgumentParser(add_help=False)
    default: Any = argparse.SUPPRESS if suppress else None
    flag: Any = argparse.SUPPRESS if suppress else False
    group = parser.add_argument_group("global options")
    group.add_argument(
        "--backend",
        default=default,
        metavar="NAME",
        help="storage backend (default: $S3PO_BACKEND, else 'local' with --root, else "
        "'obstore', S3 through obstore and boto3; 's3' is S3 through boto3 alone)",
    )
    group.add_argument(
        "--root", default=default, metavar="DIR", help="the local backend's folder of buckets"
    )
    group.add_argument("--endpoint-url", default=default, metavar="URL", help="S3 endpoint URL")
    group.add_argument("--profile", default=default, metavar="NAME", help="AWS profile name")
    group.add_argument("--region", default=default, metavar="NAME", help="AWS region name")
    group.add_argument(
        "--retries", type=int, default=default, metavar="N", help="retries after the first attempt"
    )
    group.add_argument(
        "--timeout",
        type=_seconds,
        default=default,
        metavar="SECONDS",
        help="give up on each transfer (every part and retry of it) after this long; "
        "default: no limit (stalled bodies still fail below 1 KiB/s for 30 s)",
    )
    group.add_argument(
        "--dry-run",
        "--dryrun",
        action="store_true",
        default=flag,
        help="print what would be transferred or deleted, and touch nothing",
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", default=flag, help="no progress, no action lines"
    )
    group.add_argument(
        "--only-show-errors",
        action="store_true",
        default=flag,
        help="print errors only (and results of ls, head, cat): no action lines, no bars",
    )
    group.add_argument("--no-progress", action="store_true", default=flag, help="no progress bars")
    group.add_argument(
        "--bwlimit",
        type=parse_rate,
        default=default,
        metavar="RATE",
        help="bytes per second for all transfers together, e.g. 10M or 512KiB",
    )
    group.add_argument(
        "--json", action="store_true", default=flag, help="one JSON object per output line"
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="log what s3po does (-v: INFO; -vv: DEBUG, and the INFO lines of boto3 and urllib3)",
    )
    group.add_argument(
        "--debug", action="store_true", default=flag, help="debug logging and full tracebacks"
    )
    return parser


def _seconds(text: str) -> float:
    """A positive number of seconds, for ``--timeout``."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        msg = f"{text!r} is not a positive number of seconds"
        raise argparse.ArgumentTypeError(msg)
    return value


def _transfer_options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("transfer options")
    group.add_argument("--compress", metavar="CODEC", help="compress uploads: gzip, zstd, br, ...")
    group.add_argument(
        "--header",
        action="append",
        metavar="'NAME: VALUE'",
        help="header for uploads, e.g. 'Cache-Control: max-age=60' or 'x-amz-meta-owner: me' "
        "(repeatable)",
    )
    group.add_argument("--content-type", metavar="TYPE", help="Content-Type of uploads")
    group.add_argument(
        "--guess-mime-type",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="give a file uploaded without --content-type the type its extension names "
        "(default; --no-guess-mime-type stores none)",
    )
    group.add_argument(
        "--follow-symlinks",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="upload what symlinks in a local source point at, folders included (default); "
        "--no-follow-symlinks leaves them out",
    )
    group.add_argument(
        "--no-decompress",
        action="store_true",
        help="download compressed objects as stored, without undoing Content-Encoding",
    )
    group.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="concurrent transfers (default: 32 when the files average 1 MiB or less, else 8)",
    )
    group.add_argument(
        "--part-size", metavar="SIZE", help="multipart part size, e.g. 8MiB (default 8MiB)"
    )
    group.add_argument(
        "--threshold", metavar="SIZE", help="use multipart above this size (default 10MiB)"
    )
    group.add_argument(
        "--checksum-algorithm",
        type=str.lower,
        choices=CHECKSUM_POLICIES,
        metavar="NAME",
        help="checksum the store verifies on uploads and keeps with each object: crc32 "
        "(default), crc32c, crc64nvme (these two need s3po[crc]), md5 or when_supported; "
        "see docs/s3-compatible.md for what each store takes",
    )
    group.add_argument(
        "--checksum-type",
        type=str.lower,
        choices=CHECKSUM_TYPES,
        metavar="TYPE",
        help="a multipart upload's checksum: composite (default for crc32, crc32c) or "
        "full_object (crc64nvme's only type)",
    )
    group.add_argument(
        "--resume",
        action="store_true",
        help="continue interrupted multipart uploads and ranged downloads of the same files, "
        "and keep what an interrupted one stored (s3po cleanup removes it)",
    )
    return parser


class _Parser(argparse.ArgumentParser):
    """An argument parser that suggests the closest command for a mistyped one."""

    def error(self, message: str) -> NoReturn:
        """Exit 2 with ``message``, plus "did you mean ...?" for an unknown command."""
        match = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if match is not None:
            choices = re.findall(r"'([^']*)'", match.group(2))
            close = difflib.get_close_matches(match.group(1), choices, n=1, cutoff=0.5)
            if close:
                message = f"{message}; did you mean {close[0]!r}?"
        super().error(message)


class _Unused:
    """Stands for the parser of a command that this command line does not give."""

    def add_argument(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
        """Take the argument and forget it."""

    def add_argument_group(self, *_args: Any, **_kwargs: Any) -> _Unused:  # noqa: ANN401
        """Stand for the group too."""
        return self


_UNUSED = _Unused()


class LeanParseError(Exception):
    """A command line the lean parser did not take; the full parser says why."""


class _LeanParser(_Parser):
    """:func:`lean_parser`'s parser: it raises instead of printing an error and exiting."""

    def error(self, message: str) -> NoReturn:
        """Raise :class:`LeanParseError` (the full parser reports it)."""
        raise LeanParseError(message)


def command_of(argv: Sequence[str]) -> str | None:
    """The command ``argv`` gives, read as argparse reads it, or None if unsure.

    The first word that is not an option, nor the value of a global option that takes one
    (``--root DIR``; an abbreviation such as ``--prof`` counts), is the command.
    """
    takes_value = False
    for word in argv:
        if takes_value:
            takes_value = False
        elif word == "--":
            return None
        elif word.startswith("-"):
            takes_value = (
                "=" not in word
                and word.startswith("--")
                and any(option.startswith(word) for option in _VALUED)
            )
        else:
            return word if word in COMMAND_NAMES else None
    return None


def lean_parser(argv: Sequence[str]) -> tuple[argparse.ArgumentParser, str | None]:
    """A parser for ``argv`` that defines only the options of the command it gives.

    Building every subcommand's options costs more than parsing them (argparse looks up
    translations and the terminal width per parser and option), so the other commands are
    stubs with their help line only: ``s3po --help`` lists them all the same. When the
    command cannot be told, this is :func:`build_parser`'s full parser. The lean parser
    raises :class:`LeanParseError` where the full one would print an error: parse such a
    command line again with the full parser.

    Returns:
        The parser and the command it was built for (None: the full parser).

    .. versionadded:: 0.4.0
    """
    only = command_of(argv)
    return _build(only), only


def build_parser() -> argparse.ArgumentParser:
    """Build the ``s3po`` argument parser with all its subcommands.

    Returns:
        The parser; ``parse_args`` gives a namespace with ``command`` set.

    .. versionadded:: 0.1.0
    """
    return _build(None)


def _build(only: str | None) -> argparse.ArgumentParser:
    """The parser: every command's options, or (``only``) one command's and stubs."""
    parser = (_Parser if only is None else _LeanParser)(
        prog="s3po",
        description="Move data to and from S3-compatible object storage.",
        parents=[_global_options(suppress=False)],
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"s3po {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=argparse.ArgumentParser
    )
    common = _global_options(suppress=True)
    transfer = _transfer_options()

    def command(name: str, text: str, *extra: argparse.ArgumentParser) -> argparse.ArgumentParser:
        if only is not None and name != only:
            sub.add_parser(name, help=text, add_help=False)
            return cast("argparse.ArgumentParser", _UNUSED)
        return sub.add_parser(
            name, help=text, description=text, parents=[*extra, common], epilog=_EPILOG
        )

    cp = command("cp", "copy files and objects (s3:// URLs, local paths, '-')", transfer)
    cp.add_argument("src", metavar="SRC", nargs="?")
    cp.add_argument("dst", metavar="DST", nargs="?")
    _manifest_options(cp)
    cp.add_argument("-r", "--recursive", action="store_true", help="copy folders and prefixes")
    cp.add_argument(
        "--delete-source",
        action="store_true",
        help="move: delete each source once its copy is stored and verified",
    )
    cp.add_argument(
        "-n",
        "--no-clobber",
        action="store_true",
        help="skip destinations that exist (as cp -n, rclone --ignore-existing); uploads "
        "send If-None-Match: *, so a key created meanwhile is kept too",
    )
    add_filter_options(cp)

    mv = command("mv", "move: copy, then delete each source once its copy is verified", transfer)
    mv.add_argument("src", metavar="SRC")
    mv.add_argument("dst", metavar="DST")
    mv.add_argument("-r", "--recursive", action="store_true", help="move folders and prefixes")
    add_filter_options(mv)

    sync = command("sync", "make DST hold what SRC holds (folder <-> prefix)", transfer)
    sync.add_argument("src", metavar="SRC")
    sync.add_argument("dst", metavar="DST")
    sync.add_argument("--delete", action="store_true", help="delete what DST has and SRC lacks")
    rules = sync.add_argument_group("comparison (one of; default: sizes, then newer mtimes)")
    rules.add_argument("--size-only", action="store_true", help="copy when the sizes differ")
    rules.add_argument(
        "--exact-timestamps",
        action="store_true",
        help="copy when the sizes or the mtimes differ, older or newer",
    )
    rules.add_argument(
        "--checksum",
        action="store_true",
        help="copy when the content differs: stored checksum or ETag against the file's hash",
    )
    add_filter_options(sync)

    _listing_parsers(command)

    cat = command("cat", "write objects to standard output, decompressed")
    cat.add_argument("urls", metavar="URL", nargs="+")
    cat.add_argument("--no-decompress", action="store_true", help="write the stored bytes")

    rm = command("rm", "delete an object, or with -r everything under a prefix")
    rm.add_argument("url", metavar="URL")
    rm.add_argument("-r", "--recursive", action="store_true", help="delete under the prefix")
    rm.add_argument("-j", "--jobs", type=int, default=8, metavar="N", help="concurrent deletes")
    add_filter_options(rm)

    head = command("head", "show an object's size, ETag, headers and metadata")
    head.add_argument("url", metavar="URL")

    cleanup = command(
        "cleanup", "abort incomplete multipart uploads under a prefix, remove stale resume journals"
    )
    cleanup.add_argument("url", metavar="URL")
    cleanup.add_argument(
        "--older-than",
        default="1d",
        metavar="AGE",
        help="only uploads started this long ago: 30m, 12h, 1d, 2w (default 1d; 0s for all)",
    )
    _buckets_parsers(command)
    _presign_parsers(command)
    _check_parsers(command)
    return parser


def _manifest_options(parser: argparse.ArgumentParser) -> None:
    """``cp``'s options for copies listed in a file."""
    group = parser.add_argument_group("copies from a manifest (no SRC and DST)")
    group.add_argument(
        "--from-manifest",
        metavar="FILE",
        help="copy each row of FILE: CSV 'source,destination' or JSON lines "
        '{"source": ..., "destination": ...}; rows done before are skipped',
    )
    group.add_argument(
        "--manifest-format",
        choices=MANIFEST_FORMATS,
        help="the manifest's format (default: by its name or first character); 'inventory' "
        "is an S3 Inventory CSV of bucket,key, copied below --to",
    )
    group.add_argument(
        "--to", metavar="S3URL", help="for --manifest-format inventory: where objects go"
    )
    group.add_argument(
        "--report",
        metavar="FILE",
        help="where failed rows go, in the manifest's format (default NAME.failed.csv beside "
        "it); give it back to --from-manifest to retry them",
    )
    group.add_argument(
        "--done-log",
        metavar="FILE",
        help="the log of rows done, for resuming (default MANIFEST.done beside it)",
    )
    group.add_argument(
        "--dask",
        metavar="SCHEDULER",
        help="run on a dask.distributed cluster (tcp://host:8786): rows travel in groups",
    )


def _listing_parsers(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``ls`` and ``du``; ``command(name, help)`` makes a subparser with the globals."""
    ls = command("ls", "list buckets, or objects and folders under s3://BUCKET/PREFIX")
    ls.add_argument("url", metavar="URL", nargs="?", help="omit it to list the buckets")
    ls.add_argument("-r", "--recursive", action="store_true", help="every object, full keys")
    ls.add_argument("-H", "--human-readable", action="store_true", help="sizes as 1.5 MiB")
    ls.add_argument(
        "--summarize", action="store_true", help="end with the number of objects and total size"
    )
    du = command("du", "total size and number of objects under s3://BUCKET/PREFIX")
    du.add_argument("url", metavar="URL")
    du.add_argument("-H", "--human-readable", action="store_true", help="size as 1.5 MiB")


def _buckets_parsers(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``mb`` and ``rb``; ``command(name, help)`` makes a subparser with the globals."""
    mb = command("mb", "make a bucket: s3://BUCKET")
    mb.add_argument("url", metavar="URL")
    rb = command("rb", "remove a bucket: s3://BUCKET (it must be empty, unless --force)")
    rb.add_argument("url", metavar="URL")
    rb.add_argument(
        "--force",
        action="store_true",
        help="first delete every object and abort every incomplete upload in the bucket",
    )
    rb.add_argument("-j", "--jobs", type=int, default=8, metavar="N", help="concurrent deletes")


def _presign_parsers(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``presign``; ``command(name, help)`` makes a subparser with the globals."""
    presign = command("presign", "print a presigned URL to GET (or PUT) s3://BUCKET/KEY")
    presign.add_argument("url", metavar="URL")
    presign.add_argument(
        "--expires-in",
        type=_expires,
        default=3600,
        metavar="SECONDS",
        help="how long the URL works (default 3600, at most 604800)",
    )
    presign.add_argument(
        "--method",
        type=str.upper,
        choices=PRESIGN_METHODS,
        default="GET",
        help="GET to download (default), PUT to upload with e.g. curl -T",
    )


def _check_parsers(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``check``; ``command(name, help)`` makes a subparser with the globals."""
    check = command(
        "check",
        "compare SRC and DST by stored checksums without downloading; exit 1 on differences",
    )
    check.add_argument("src", metavar="SRC")
    check.add_argument("dst", metavar="DST")
    check.add_argument(
        "-j", "--jobs", type=int, default=8, metavar="N", help="concurrent HEAD requests"
    )

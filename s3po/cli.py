"""The ``s3po`` command line: copy, sync, list and clean up objects from a shell.

Run ``s3po --help`` or see docs/cli.md. Exit status: 0 when everything worked, 1 when a
transfer or request failed (each failure is named on stderr), 2 for bad input (the command
line, an option value, an unknown codec or backend, a missing local source; also a run that
skipped a broken symlink or a symlink loop with a warning and did the rest), 130 on Ctrl-C,
141 when standard output's reader went away (``s3po ls ... | head -1``; nothing is printed).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import re
import sys
import traceback
from typing import TYPE_CHECKING, Any, NoReturn

from s3po._cli import buckets, check, listing, presign
from s3po._cli.commands import COMMANDS
from s3po._cli.common import Context, UsageError
from s3po._cli.filters import add_filter_options
from s3po._cli.manifest import add_manifest_options
from s3po._cli.output import Output, StderrHandler, close_stdout
from s3po._cli.run import USAGE_ERRORS
from s3po._cli.throttle import TokenBucket, parse_rate
from s3po._version import __version__
from s3po.backend.checksums import CHECKSUM_POLICIES, CHECKSUM_TYPES
from s3po.config import ChunkConfig, RetryConfig, TransferConfig, parse_size
from s3po.connection import DEFAULT_BACKEND_ENV, Connection, default_backend
from s3po.errors import S3poError
from s3po.plugins import default_registries

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["build_parser", "main"]

#: Exit statuses.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: Standard output's reader went away (``s3po ls ... | head -1``): 128 + SIGPIPE, the
#: status a shell reports for a program that SIGPIPE ended.
EXIT_BROKEN_PIPE = 141

_GLOBAL_DEFAULTS: dict[str, Any] = {
    "backend": None,
    "root": None,
    "endpoint_url": None,
    "profile": None,
    "region": None,
    "retries": None,
    "timeout": None,
    "dry_run": False,
    "no_progress": False,
    "only_show_errors": False,
    "bwlimit": None,
    "quiet": False,
    "json": False,
    "debug": False,
    "verbose": 0,
}

#: Libraries below s3po whose loggers the CLI keeps at WARNING unless asked (-vv, --debug):
#: their INFO lines ("Found credentials in environment variables") are not the user's
#: business on a normal run, and their DEBUG lines print request headers.
_THIRD_PARTY_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "aiobotocore", "obstore")

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


def build_parser() -> argparse.ArgumentParser:
    """Build the ``s3po`` argument parser with all its subcommands.

    Returns:
        The parser; ``parse_args`` gives a namespace with ``command`` set.

    .. versionadded:: 0.1.0
    """
    parser = _Parser(
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
        return sub.add_parser(
            name, help=text, description=text, parents=[*extra, common], epilog=_EPILOG
        )

    cp = command("cp", "copy files and objects (s3:// URLs, local paths, '-')", transfer)
    cp.add_argument("src", metavar="SRC", nargs="?")
    cp.add_argument("dst", metavar="DST", nargs="?")
    add_manifest_options(cp)
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

    listing.add_parsers(command)

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
    buckets.add_parsers(command)
    presign.add_parsers(command)
    check.add_parsers(command)
    return parser


def _open_connection(args: argparse.Namespace) -> Connection:

    backend = (
        args.backend
        or os.environ.get(DEFAULT_BACKEND_ENV)
        or ("local" if args.root else default_backend(default_registries()))
    )
    endpoint = args.endpoint_url
    if endpoint is not None and "://" not in endpoint:
        raise UsageError(
            f"--endpoint-url {endpoint!r} has no scheme; add http:// (or https://): "
            f"--endpoint-url http://{endpoint}"
        )
    options: dict[str, Any] = {}
    if args.root is not None:
        options["root"] = args.root
    for flag, option in (
        ("endpoint_url", "endpoint_url"),
        ("profile", "profile_name"),
        ("region", "region_name"),
    ):
        value = getattr(args, flag)
        if value is not None:
            options[option] = value
    for option in ("checksum_algorithm", "checksum_type"):
        value = getattr(args, option, None)
        if value is not None:
            options[option] = value
    chunk: dict[str, int] = {}
    for name in ("part_size", "threshold"):
        value = getattr(args, name, None)
        if value is not None:
            chunk[name] = parse_size(value)
    config = TransferConfig(
        chunk=ChunkConfig(**chunk),
        retry=RetryConfig(deadline=getattr(args, "timeout", None)),
        resume=bool(getattr(args, "resume", False)),
    )
    try:
        return Connection(backend, config=config, retries=args.retries, **options)
    except TypeError as exc:
        given = ", ".join(f"--{k.removesuffix('_name').replace('_', '-')}" for k in options)
        raise UsageError(f"the {backend!r} backend does not take {given}: {exc}") from None


def _error_line(exc: BaseException, *, debug: bool = False) -> str:

    if isinstance(exc, UsageError | S3poError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    hint = "" if debug else " (run with --debug for the traceback)"
    return f"{type(exc).__name__}: {exc}{hint}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``s3po`` command line.

    Args:
        argv: The arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 all good, 1 something failed, 2 bad input, 130 interrupted.

    .. versionadded:: 0.1.0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, value in _GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, value)
    _setup_logging(args)

    data_on_stdout = args.command == "cat" or (args.command == "cp" and args.dst == "-")
    out = Output(
        json_mode=args.json,
        quiet=args.quiet or args.only_show_errors,
        data_on_stdout=data_on_stdout,
        progress=not args.no_progress,
        throttle=TokenBucket(args.bwlimit).take if args.bwlimit else None,
    )
    try:
        with _open_connection(args) as conn:
            status = COMMANDS[args.command](Context(args, conn, out))
    except KeyboardInterrupt:
        out.error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``s3po cat ... | head``): say nothing more, on a quiet stdout.
        close_stdout()
        return EXIT_BROKEN_PIPE
    except (UsageError, *USAGE_ERRORS) as exc:
        _print_traceback(args, exc)
        out.error(_error_line(exc, debug=args.debug))
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line and a status
        _print_traceback(args, exc)
        out.error(_error_line(exc, debug=args.debug))
        return EXIT_FAILED
    return EXIT_BROKEN_PIPE if out.pipe_closed else status


def _log_levels(args: argparse.Namespace) -> tuple[int, int]:
    """The levels of s3po's own loggers and of everything else, from -q, -v and --debug.

    s3po's loggers follow the command line: ERROR with ``-q``, WARNING by default, INFO with
    ``-v``, DEBUG with ``-vv`` or ``--debug``. Other libraries stay at WARNING (ERROR with
    ``-q``) and reach INFO with ``-vv`` or ``--debug``, never DEBUG: botocore's and
    urllib3's DEBUG lines print request headers, and the Authorization header names the
    access key id.
    """
    verbose = 2 if args.debug else args.verbose
    if args.quiet and not verbose:
        return logging.ERROR, logging.ERROR
    own = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    return own, logging.INFO if verbose >= 2 else logging.WARNING  # noqa: PLR2004 - -vv


def _setup_logging(args: argparse.Namespace) -> None:
    """One handler on stderr, above a progress bar while one is drawn; levels per `_log_levels`.

    Python's warnings go through it too, so they never draw over a bar either.
    """
    own, others = _log_levels(args)
    logging.basicConfig(
        level=others,
        format="s3po: %(levelname)s: %(name)s: %(message)s",
        handlers=[StderrHandler()],
    )
    logging.captureWarnings(True)  # noqa: FBT003 - the stdlib's signature
    logging.getLogger().setLevel(others)
    logging.getLogger("s3po").setLevel(own)
    for name in _THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(others)


def _print_traceback(args: argparse.Namespace, exc: BaseException) -> None:
    if args.debug:
        traceback.print_exception(exc, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())

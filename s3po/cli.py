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
import importlib
import logging
import os
import sys
import traceback
from typing import TYPE_CHECKING, Any

from s3po._cli.common import USAGE_ERRORS, Context, UsageError
from s3po._cli.output import Output, StderrHandler, close_stdout
from s3po._cli.parser import LeanParseError, build_parser, lean_parser
from s3po._cli.throttle import TokenBucket
from s3po.errors import S3poError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from s3po.client.connection import Connection

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

#: Each command's function, as ``module:function``: only the module of the command given is
#: imported, so ``s3po ls`` does not load the machinery of ``sync``, nor ``--help`` any.
_COMMANDS = {
    "cat": "s3po._cli.commands:cmd_cat",
    "check": "s3po._cli.check:cmd_check",
    "cleanup": "s3po._cli.commands:cmd_cleanup",
    "cp": "s3po._cli.commands:cmd_cp",
    "du": "s3po._cli.listing:cmd_du",
    "head": "s3po._cli.commands:cmd_head",
    "ls": "s3po._cli.listing:cmd_ls",
    "mb": "s3po._cli.buckets:cmd_mb",
    "mv": "s3po._cli.commands:cmd_mv",
    "presign": "s3po._cli.presign:cmd_presign",
    "rb": "s3po._cli.buckets:cmd_rb",
    "rm": "s3po._cli.commands:cmd_rm",
    "sync": "s3po._cli.commands:cmd_sync",
}


def _command(name: str) -> Callable[[Context], int]:
    """The function of the command ``name``, imported now."""
    module, _, function = _COMMANDS[name].partition(":")
    command: Callable[[Context], int] = getattr(importlib.import_module(module), function)
    return command


def _parse(argv: list[str]) -> argparse.Namespace:
    """Parse ``argv`` with the lean parser; what it does not take, with the full one."""
    parser, only = lean_parser(argv)
    if only is not None:
        try:
            args = parser.parse_args(argv)
        except LeanParseError:
            pass  # the full parser below prints the error and exits 2
        else:
            if args.command == only:
                return args
    return build_parser().parse_args(argv)


def _open_connection(args: argparse.Namespace) -> Connection:
    from s3po.client.connection import (  # noqa: PLC0415 - not for --help and bad input
        DEFAULT_BACKEND_ENV,
        Connection,
        default_backend,
    )
    from s3po.config import ChunkConfig, RetryConfig, TransferConfig, parse_size  # noqa: PLC0415
    from s3po.plugins import default_registries  # noqa: PLC0415

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
    args = _parse(sys.argv[1:] if argv is None else list(argv))
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
            status = _command(args.command)(Context(args, conn, out))
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

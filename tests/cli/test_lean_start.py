"""The CLI starts lean: no boto3 or asyncio for a copy that does not need them, and a batch
passes only the options that differ from the connection's (no per-file configuration)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from s3po import cli
from s3po._cli.parser import (
    CHECKSUM_POLICIES,
    CHECKSUM_TYPES,
    COMMAND_NAMES,
    MANIFEST_FORMATS,
    build_parser,
    command_of,
    lean_parser,
)
from s3po._cli.run import Settings, _overrides
from s3po.backend import checksums
from s3po.manifest import FORMATS


def test_a_local_copy_imports_neither_boto3_nor_asyncio(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"hello")
    (tmp_path / "store" / "bkt").mkdir(parents=True)
    script = textwrap.dedent(
        f"""
        import sys
        from s3po.cli import main
        status = main(["--root", {str(tmp_path / "store")!r}, "cp", "-q",
                       {str(tmp_path / "a.txt")!r}, "s3://bkt/a.txt"])
        assert status == 0, status
        print(" ".join(sorted(sys.modules)))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert "s3po._cli.run" in loaded
    assert not loaded & {"boto3", "botocore", "asyncio", "s3po.client.aio"}
    assert not loaded & {"importlib.metadata", "s3po._cli.check", "s3po._cli.compare", "rich"}


def test_only_a_codec_is_passed_per_call() -> None:
    assert _overrides(Settings(retries=3)) == {}
    assert _overrides(Settings(compress="gzip", retries=3)) == {"compress": "gzip"}


#: Modules no lean start may import: the S3 clients, the progress bars, the hashes and codecs
#: of a transfer, the data-frame and filesystem libraries, the asyncio front end, and the
#: distribution metadata that an entry-point scan reads.
HEAVY = frozenset(
    {
        "boto3",
        "botocore",
        "obstore",
        "rich",
        "xxhash",
        "zstandard",
        "brotli",
        "isal",
        "pyarrow",
        "pandas",
        "fsspec",
        "s3fs",
        "asyncio",
        "importlib.metadata",
        "s3po.client.aio",
    }
)
#: ... and the pipeline itself, which --help and --version do not need either.
PIPELINE = frozenset(
    {
        "pluggy",
        "s3po.client.connection",
        "s3po.transfer.core",
        "s3po.middleware.chunking",
        "s3po.plugins",
        "s3po.resume",
        "s3po.manifest",
    }
)


def _modules_after(code: str) -> set[str]:
    script = code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_import_s3po_is_lean() -> None:
    loaded = _modules_after("import s3po")
    assert not loaded & (HEAVY | PIPELINE)


@pytest.mark.parametrize("flag", ["--help", "--version", "cp --help"])
def test_help_and_version_are_lean(flag: str) -> None:
    code = textwrap.dedent(
        f"""
        import contextlib, io
        from s3po.cli import main
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
            main({flag.split()!r})
        """
    )
    loaded = _modules_after(code)
    assert "s3po._cli.parser" in loaded
    assert not loaded & (HEAVY | PIPELINE)


def test_manifest_formats_of_the_parser_are_the_library_s() -> None:
    assert MANIFEST_FORMATS == FORMATS


def test_checksum_choices_of_the_parser_are_the_library_s() -> None:
    assert CHECKSUM_POLICIES == checksums.CHECKSUM_POLICIES
    assert CHECKSUM_TYPES == checksums.CHECKSUM_TYPES


def _choices(parser: argparse.ArgumentParser) -> set[str]:
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(sub.choices)


def test_command_names_are_every_command() -> None:
    assert _choices(build_parser()) == COMMAND_NAMES == set(cli._COMMANDS)


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["cp", "a", "s3://b/k"], "cp"),
        (["-q", "--root", "ls", "cp", "a", "b"], "cp"),  # a value that looks like a command
        (["--root=ls", "rm", "s3://b/k"], "rm"),
        (["--prof", "sync", "ls", "s3://b/"], "ls"),  # an abbreviated --profile
        (["--json", "-v", "head", "s3://b/k"], "head"),
        (["--help"], None),
        (["nonsense", "cp"], None),
        (["--", "cp"], None),
    ],
)
def test_command_of_reads_argv_as_argparse_does(argv: list[str], command: str | None) -> None:
    assert command_of(argv) == command
    if command is not None:
        assert build_parser().parse_args(argv).command == command


@pytest.mark.parametrize(
    "argv",
    [
        ["cp", "-r", "--exclude", "*.log", "--compress", "gzip", "src/", "s3://b/p/"],
        ["--endpoint-url", "http://x", "sync", "--delete", "--size-only", "a", "s3://b/"],
        ["ls", "-r", "-H", "s3://b/", "--json"],
        ["cp", "--from-manifest", "m.csv", "--manifest-format", "csv"],
        ["presign", "s3://b/k", "--method", "put", "--expires-in", "60"],
        ["rb", "--force", "s3://b", "-j", "4"],
        ["--retries", "2", "mv", "-r", "a", "s3://b/"],
    ],
)
def test_the_lean_parser_parses_as_the_full_one(argv: list[str]) -> None:
    parser, only = lean_parser(argv)
    assert only == argv[0] if not argv[0].startswith("-") else only is not None
    assert vars(parser.parse_args(argv)) == vars(build_parser().parse_args(argv))


def test_the_lean_parser_lists_every_command_in_its_help() -> None:
    lean, _ = lean_parser(["cp", "a", "b"])
    assert lean.format_help() == build_parser().format_help()


@pytest.mark.parametrize(
    "argv",
    [["cp", "--no-such-option", "a", "b"], ["rm"], ["ls", "--jobs", "x"], ["cp", "-j", "x"]],
)
def test_bad_input_gets_the_full_parser_s_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as lean_exit:
        cli.main(argv)
    lean_err = capsys.readouterr().err
    with pytest.raises(SystemExit) as full_exit:
        build_parser().parse_args(argv)
    assert lean_exit.value.code == full_exit.value.code == 2
    assert lean_err == capsys.readouterr().err

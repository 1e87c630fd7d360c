"""The pieces of the ``s3po`` command line; the entry point is :mod:`s3po.cli`.

Modules:
    common: locations (``s3://bucket/key``, paths, ``-``), durations, headers, the run context.
    output: human lines, JSON lines, errors and rich progress bars.
    plan: what a ``cp`` or ``sync`` has to do, as a list of actions.
    run: carrying actions out, one at a time or as a batch.
    commands: one function per subcommand.

.. versionadded:: 0.1.0
"""

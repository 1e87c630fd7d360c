"""The built-in codecs, one plugin module each: ``gzip``, ``zstd`` and ``br`` (brotli).

Each module is declared in the ``s3po`` entry-point group and registers its codec lazily,
so a codec whose library is missing costs nothing until it is asked for, and then raises
:class:`~s3po.UnknownCodec` with the ``pip install`` line that adds it.

.. versionadded:: 0.1.0
"""

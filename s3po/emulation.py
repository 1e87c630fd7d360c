"""S3's emulation rules, under their old name: see :mod:`s3po.backend.emulation`.

.. versionadded:: 0.1.0
.. versionchanged:: 0.2.0
   The content moved to :mod:`s3po.backend.emulation`; this module only re-exports it.
"""

from __future__ import annotations

from s3po.backend.emulation import (
    DEFAULT_CONTENT_TYPE,
    check_part_number,
    check_part_plan,
    fold_listing,
    headers_from_record,
    headers_to_record,
    multipart_etag,
    read_range,
    s3_key_order,
)

__all__ = [
    "DEFAULT_CONTENT_TYPE",
    "check_part_number",
    "check_part_plan",
    "fold_listing",
    "headers_from_record",
    "headers_to_record",
    "multipart_etag",
    "read_range",
    "s3_key_order",
]

"""Where the shared calls were; see :mod:`s3po.client.calls`."""

from __future__ import annotations

from s3po.client.base import UNSET
from s3po.client.calls import Calls, CallsOf

__all__ = ["UNSET", "Calls", "CallsOf"]

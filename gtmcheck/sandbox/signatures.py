"""HubSpot webhook signatures for the sandbox: the pure functions live in ``gtmcheck.signatures``.

They moved there so that the webhooks kind can sign probes without importing the sandbox (layers); this
module keeps the sandbox's imports working.
"""

from __future__ import annotations

from ..signatures import (
    HEADER_TIMESTAMP,
    HEADER_V1_V2,
    HEADER_V3,
    HEADER_VERSION,
    MAX_AGE_MS,
    sign_headers,
    sign_v1,
    sign_v2,
    sign_v3,
    verify_v1,
    verify_v2,
    verify_v3,
)

__all__ = [
    "HEADER_TIMESTAMP", "HEADER_V1_V2", "HEADER_V3", "HEADER_VERSION", "MAX_AGE_MS", "sign_headers", "sign_v1",
    "sign_v2", "sign_v3", "verify_v1", "verify_v2", "verify_v3",
]

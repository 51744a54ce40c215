"""The webhooks kind: versioned payload schemas, captured samples, sender/receiver drift, signed deliveries.

``kind`` is the ``WebhooksKind`` the registry builds; ``schema`` its closed fragment; ``model`` compiles a
checklist into a ``WebhooksSpec``; ``validate`` (schema registry, payload errors), ``samples`` (sources),
``compat`` (sender against receiver, the version rule), ``lint`` (WEBHOOK1xx) and ``checks`` (the run);
``load``, ``diff``, ``rules`` and ``report`` are the classifier behind ``gtmcheck webhooks diff``.
"""

from .kind import WebhooksKind, spec_of
from .model import WebhooksSpec

__all__ = ["WebhooksKind", "WebhooksSpec", "spec_of"]

"""The reconcile kind: CRM against warehouse totals (RECONCILE-TOTALS) and dropped handoffs (RECONCILE-HANDOFFS).

``kind`` holds the ``ReconcileKind`` the registry builds; ``schema`` its closed JSON Schema; ``model`` compiles
a checklist into typed sides; ``rules`` the REC1xx lint rules; ``sql`` every query the kind sends to a
warehouse; ``totals`` fetches and compares; ``messages`` writes what a CFO reads. ``drilldown`` (the records
that differ) and ``handoffs`` (RECONCILE-HANDOFFS) are called lazily when present.
"""

from .kind import ReconcileKind, spec_of
from .model import ReconcileSpec, TotalsEntry
from .totals import warehouse_of

__all__ = ["ReconcileKind", "ReconcileSpec", "TotalsEntry", "spec_of", "warehouse_of"]

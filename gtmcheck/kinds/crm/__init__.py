"""The crm kind: the CRM build-out's definition of done, verified against the CRM itself.

``kind`` is the ``CrmKind`` the registry builds; ``schema`` its closed fragment; ``model`` compiles a checklist
into a ``CrmSpec``; ``lint`` (CRM1xx); the checks: ``fields`` (CRM-FIELDS-MAPPED, properties), ``dedup``
(CRM-DEDUP-ACTIVE), ``flush`` (CRM-TEST-RECORDS-FLUSHED), ``handoff`` (CRM-HANDOFF-SLA); ``lifecycle``
(CRM-LIFECYCLE-QA) and ``mappings`` (CRM-FIELDS-MAPPED, mappings) are called when present.
"""

from .kind import CrmKind, spec_of
from .model import CrmSpec

__all__ = ["CrmKind", "CrmSpec", "spec_of"]

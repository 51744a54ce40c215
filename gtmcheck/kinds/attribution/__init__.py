"""The attribution kind: the declared model recomputed in the warehouse (``models``, ``sql``) and checked.

``kind`` holds the ``AttributionKind`` the registry builds; ``schema`` its closed JSON Schema; ``compiled``
turns a checklist into the ``models`` dataclasses and the checks' settings; ``lint`` the ATTR1xx rules;
``model_check``, ``channels_check``, ``baseline_check``, ``board_check`` and ``cadence_check`` the ATTR-* checks;
``utm_map`` reads the UTM checklist's channel map.
"""

from .compiled import AttributionSpec
from .kind import AttributionKind, spec_of

__all__ = ["AttributionKind", "AttributionSpec", "spec_of"]

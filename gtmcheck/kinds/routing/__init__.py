"""The routing kind: routing rules as explicit logic, linted offline and proven with synthetic leads.

``kind`` holds the schema fragment, the ``RoutingSpec`` model and the ``RoutingKind`` the registry builds;
``logic`` is the condition solver; ``rules`` (ROUTE1xx) and ``owners`` (ROUTE2xx, against the CRM) are the
lint rules; ``leads`` plans which leads to send, ``live`` sends them and judges the owners, and ``checks``
holds one function per DoD item.
"""

from .kind import RoutingKind, RoutingSpec, spec_of

__all__ = ["RoutingKind", "RoutingSpec", "spec_of"]

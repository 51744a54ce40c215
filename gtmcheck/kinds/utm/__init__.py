"""The UTM kind: the taxonomy documented in the checklist, campaign URLs linted offline and resolved live.

``kind`` holds the schema fragment and the ``UtmKind`` the registry builds; ``model`` compiles a checklist
into a ``UtmSpec``; ``rules`` (UTM2xx, the taxonomy) and ``url_rules`` (UTM1xx, campaign URLs) are the lint
rules; ``resolve`` walks a campaign URL's redirects in a run.
"""

from .kind import UtmKind, spec_of
from .model import UtmSpec

__all__ = ["UtmKind", "UtmSpec", "spec_of"]

"""The version and where an installed user finds the docs: named once, for ``--help``, reports and the User-Agent."""

__version__ = "0.1.0"

HOMEPAGE = "https://github.com/gtmcheck/gtmcheck"
DOCS_URL = f"{HOMEPAGE}#readme"

"""Where an installed user finds the documentation: named once, shown by ``--help`` and the User-Agent."""

HOMEPAGE = "https://github.com/gtmcheck/gtmcheck"
DOCS_URL = f"{HOMEPAGE}#readme"

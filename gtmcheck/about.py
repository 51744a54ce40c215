"""What gtmcheck is and where an installed user finds its documentation: named once, shown by ``--version``,
``--help``, the report and the User-Agent.
"""

__version__ = "0.1.0"

HOMEPAGE = "https://github.com/gtmcheck/gtmcheck"
DOCS_URL = f"{HOMEPAGE}#readme"

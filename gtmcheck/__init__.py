"""gtmcheck: definition-of-done checklists for GTM infrastructure, compiled into pytest checks."""

__version__ = "0.1.0"

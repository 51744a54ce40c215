"""One alert per owner: ``gtmcheck notify`` and the digests it sends.

It turns a run's report.json into digests of what is new, changed and resolved since the last alert
(``command``), sent to Slack, a JSON webhook or GitHub issues.

Kept import-light: the project schema reads ``settings.NOTIFY_SCHEMA`` without loading httpx.
"""

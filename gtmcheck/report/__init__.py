"""The sign-off report: built from a run's results, written as JSON, Markdown, HTML (and JUnit by pytest)."""

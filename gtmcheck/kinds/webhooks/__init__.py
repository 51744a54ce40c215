"""Webhook payload schemas: an offline classifier of the changes between two versions (``diff``)."""

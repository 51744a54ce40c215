"""The reconcile kind: CRM and warehouse totals agree, the records that differ, dropped handoffs."""

"""The attribution kind: the declared model recomputed in the warehouse (``models``, ``sql``) and checked."""

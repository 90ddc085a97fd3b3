"""Hooks that connect the imaging app to the records pipeline (filled in by the indexer)."""

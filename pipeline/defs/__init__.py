"""Dagster definitions, one small module per concern (loaded by ``dagster.load_defs``)."""

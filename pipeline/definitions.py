"""The Dagster code location: everything in ``pipeline/defs`` (one small module per concern)."""
import dagster as dg

from pipeline import defs as defs_package

defs = dg.Definitions.merge(
    dg.load_defs(defs_package),
    dg.Definitions(executor=dg.in_process_executor),  # avoids a 4-5 s process start per step
)

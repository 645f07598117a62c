"""The Dagster code location: everything in ``pipeline/defs`` (one small module per concern)."""
import warnings
from pathlib import Path

import dagster as dg

# Dagster 1.13 binds these Definitions' resources to the inbox sensor's ingest_batch_job by copying the
# sensor (SensorDefinition.with_attributes), and the copy passes owners=[]: a BetaWarning that the
# `owners` parameter is in beta, although none of our sensors sets owners.  It would be the only noise
# in an analyst's `lsrp run` console, so exactly that warning is silenced.  Here, not in
# pipeline/defs/sensors.py: load_from_defs_folder imports that module inside warnings.catch_warnings(),
# which drops any filter set there.
warnings.filterwarnings("ignore", message=r"Parameter `owners` of initializer `SensorDefinition\.__init__` "
                                          r"is currently in beta", category=dg.BetaWarning)

defs = dg.Definitions.merge(
    dg.load_from_defs_folder(path_within_project=Path(__file__).resolve().parent),
    dg.Definitions(executor=dg.in_process_executor),  # avoids a 4-5 s process start per step
)

"""Benchmark packs (one per LA per quarter), the national overview and the index, offline (plotly.js once).

    from reports import publish, write_pdfs
    result = publish(warehouse_path, out_dir, "2026-27-Q2")
"""
from .publish import PublishResult, publish, write_index, write_pdfs

__all__ = ["PublishResult", "publish", "write_pdfs", "write_index"]

"""Imported by the pack workers' forkserver (``reports.publish._Renderer``): the report modules and what every
pack render loads (catalogue, plan template, xlsxwriter), once, before the workers fork from it."""
from reports.publish import warm

try:
    warm()
except Exception:  # noqa: BLE001 - a cold worker still renders (it loads these itself); the server must not die
    pass

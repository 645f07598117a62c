"""The forecaster: one module for every projection the product shows (issue 21).

``forecast(rows, Spec.of(indicator))`` projects each area's remaining quarters of the plan year and the
year end with an interval; ``backtest`` scores the method against the naive forecast; ``verdict`` says
whether the year-end target is on course.  The method is stated in forecasting/model.py and the README
("Forecasts").  It imports ``contracts`` only: pure Python, no numpy.
"""
from forecasting.periods import Calendar, calendar_of
from forecasting.series import Backtest, Outlook, Projection, Row, Spec, backtest, forecast
from forecasting.verdict import verdict

__all__ = ["Backtest", "Calendar", "Outlook", "Projection", "Row", "Spec", "backtest", "calendar_of", "forecast",
           "verdict"]

"""The sample generator: invented, calibrated returns for all 153 LAs and the published-figure returns.

Not part of the service.  It stands where real LAs stand: it writes workbooks (through the product's
own template builder, ``pipeline.template``) that the pipeline then receives like any other upload.
Nothing in ``pipeline``, ``contracts``, ``reports`` or ``portal`` imports it, except the CLI's
``lsrp sample`` and ``lsrp run --sample`` which call it to fill an inbox.

- ``calibration``: per-LA quantities read from real DfE statistics (``calibration_data/``)
- ``sample``: the quarterly returns, with the seeded broken cases the README lists
- ``plan_sample``: the plan parts of each return (cover, milestones, spend, risks, sign-off)
- ``published``: returns whose figures are the published ones, to check the marts reproduce them
"""

"""What a configuration will cost: the run's ``Clock``, the ``CostModel`` learned from timed
trials, the refit's price and the time held back for it (``reserve``), and memory sizing.
May import ``space``, ``features``, ``config`` and the base modules; never ``search`` or later.
"""

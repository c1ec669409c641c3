"""What a configuration will cost: the run's ``Clock``, the ``CostModel`` learned from timed
trials (``model``) from priors until then (``priors``), the refit's price (``refit``), and
the memory a trial's features and classifier will take (``memory``).
May import ``space``, ``features``, ``config`` and the base modules; never ``search`` or later.
"""

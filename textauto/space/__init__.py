"""The search space: what a trial can be.

``build.build_pipeline(trial, space, ctx)`` is the only place a pipeline is assembled, for the
search, the refit and the tests alike; ``classifiers`` holds each classifier's declared ranges
beside its builder (our own ``nbsvm`` and ``boosting`` estimators live here too); ``config``
is the ``[space]`` section a user declares. May import ``textauto.features`` and the base
modules (``components``, ``params``, ``timeout``, ``inference``, ``exceptions``).
"""

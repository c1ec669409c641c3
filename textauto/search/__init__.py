"""The Optuna study: sampler, pruner, storage, the objective that validates one trial under its
time limit, workers sharing a study, classifier swaps, the feature cache, and the out-of-fold
store each completed trial writes (``oof``, the interface the ensemble reads). Returns a
``SearchResult``. May import ``cost``, ``validation``, ``space``, ``features``, ``config``.
"""

"""From the search's trials to the saved model: greedy selection over out-of-fold predictions,
stacking, ``EnsembleClassifier`` and the final refit within the budget. May import ``search``
and everything below it.
"""

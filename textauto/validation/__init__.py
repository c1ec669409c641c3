"""How a candidate is scored honestly: the splits (k-fold or holdout, grouped so that repeated
or nested phrases never straddle a split), and the metrics. May import only the base modules.
"""

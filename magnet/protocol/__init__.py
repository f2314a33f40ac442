"""The evaluation protocol: what a predictor may see, how it is run, and how its predictions meet the truth.

Data path: ``corpus`` (targets + per-instance truth from the HELM tables,
``targets``) -> ``splits`` (folds and the revealed sample: the only
information boundary) -> ``fold_run`` (one predictor on one fold) run by
``runner`` over ``execution`` backends (local processes, Ray) -> ``truth``
(predictions joined with the actual stats) -> ``baselines`` and ``benchmark``
(scores, noise floor and the MBE check per predictor x split).
"""

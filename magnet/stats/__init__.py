"""Statistics on arrays: scoring, bootstrap intervals, the MBE partial-correlation check, the noise floor.

Nothing here knows about HELM or the corpus: arrays in, small result objects
out, so each formula can be checked against pingouin and scipy.
"""

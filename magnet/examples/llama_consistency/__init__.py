"""The llama consistency example of aiq-magnet's pipeline cards, implemented on magnet.

aiq-magnet's ``llama_pipeline.yaml`` and ``llama_kwdagger.yaml`` cards name these modules:

* :mod:`~magnet.examples.llama_consistency.llama_predict` -- one step: the mean MMLU ``exact_match`` (test
  split, unperturbed) of two HELM models, written to ``results.json`` as ``{"result": {symbol: value}}``;
* :mod:`~magnet.examples.llama_consistency.claim` -- the consistency claim over such a file, written to
  ``verdict.json`` as ``{"result": {"status", "output", "symbols"}}``;
* :mod:`~magnet.examples.llama_consistency.pipelines` -- both as a two-node ``kwdagger.Pipeline``
  (needs the ``cards`` extra).
"""

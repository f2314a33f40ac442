"""The llama consistency example as a two-node ``kwdagger.Pipeline`` (``llama_predict -> claim_eval``).

aiq-magnet's ``llama_kwdagger.yaml`` card names ``magnet.examples.llama_consistency.pipelines.llama_pipeline()``;
kwdagger (the ``cards`` extra) runs it over the card's ``matrix``, each node a ``python -m`` process.

Example:
    >>> dag = llama_pipeline()
    >>> list(dag.node_dict)
    ['llama_predict', 'claim_eval']
    >>> sorted(dag.node_dict['llama_predict'].algo_params)
    ['base_model', 'comp_model', 'helm_runs_path', 'threshold']
"""

from __future__ import annotations

import kwdagger


class LlamaPredictNode(kwdagger.ProcessNode):
    """Two models' mean MMLU exact_match (:mod:`~magnet.examples.llama_consistency.llama_predict`)."""

    name = "llama_predict"
    executable = "python -m magnet.examples.llama_consistency.llama_predict"
    algo_params = {"base_model": None, "comp_model": None, "threshold": 0.1,
                   "helm_runs_path": "./data/crfm-helm-public/lite/benchmark_output"}
    out_paths = {"results_fpath": "results.json"}
    primary_out_key = "results_fpath"


class ConsistencyClaimNode(kwdagger.ProcessNode):
    """The consistency claim over the predicted scores (:mod:`~magnet.examples.llama_consistency.claim`)."""

    name = "claim_eval"
    executable = "python -m magnet.examples.llama_consistency.claim"
    in_paths = {"symbols_fpath"}
    out_paths = {"verdict_fpath": "verdict.json"}
    primary_out_key = "verdict_fpath"


def llama_pipeline() -> kwdagger.Pipeline:
    """``llama_predict`` (results_fpath) -> ``claim_eval`` (symbols_fpath), graphs built."""
    nodes = {"llama_predict": LlamaPredictNode(), "claim_eval": ConsistencyClaimNode()}
    nodes["llama_predict"].outputs["results_fpath"].connect(nodes["claim_eval"].inputs["symbols_fpath"])
    dag = kwdagger.Pipeline(list(nodes.values()))
    dag.build_nx_graphs()
    return dag

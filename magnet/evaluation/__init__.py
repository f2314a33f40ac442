"""Evaluation cards: claims about predictors and HELM data, checked as VERIFIED, FALSIFIED or INCONCLUSIVE.

.. warning::

   **Cards are code.** A card's ``python`` symbols, ``ref`` functions and
   ``claim`` are executed with the full rights of the user running
   ``magnet evaluate`` (files, network, subprocesses); there is no sandbox.
   The per-cell subprocess and time limit protect a *sweep* from a hanging or
   crashing card, not your machine from a malicious one. Evaluate only cards
   you trust, exactly as you would run only scripts you trust.
   (``--check`` validates cards without running any of their code.)

A card is a YAML file stating a claim ("ModelMean's MAE is lower than a random
guess's under leave-one-model-out") and how to compute the symbols it is
stated in from HELM outputs. ``magnet evaluate CARD.yaml`` (or ``python -m
magnet.evaluation CARD.yaml``) evaluates it and records the verdict with its
evidence in ``verdict.json``. Examples: ``cards/`` (and ``cards/README.md``).

Card format (JSON Schema: ``magnet/evaluation/card_schema.json``)
-----------------------------------------------------------------

.. code-block:: yaml

    title: ModelMean beats a random guess            # required
    description: why and how                          # required
    inputs:                                           # optional, defaults shown
      benchmark_output: null     # a HELM benchmark_output, relative to the card; null = demo corpus
      demo_preset: default       # default | small | large (when benchmark_output is null)
      suite: null                # only this suite
      stats: null                # target stat names (default: each run's main metric)
      split: leave-one-model-out # kfold | leave-one-model-out | leave-one-scenario-out | leave-one-run-out
      n_folds: 5
      num_eval_samples: 10
      seed: 0
      n_boot: 1000
    symbols:                                          # required: name -> symbol
      board:
        type: leaderboard        # number integer boolean string interval estimate table leaderboard list mapping any
        python: |
          run_benchmark(["predictors.model_mean:ModelMean", "predictors.example_random_predictor:ExampleRandomPredictor"])
      diff:
        type: estimate
        depends_on: [board]      # optional: symbols the code reads are added automatically
        ref: magnet.evaluation.namespace:paired_mae_diff     # `package.module:function`
        args: [$board, ModelMean, ExampleRandomPredictor]    # list or mapping; `$name` = a symbol's value
      margin: {type: number, value: 0.0}                      # a constant (sweepable)
    claim: ci_below(diff, margin)                     # required: a Python expression over the symbols
    sweep: {num_eval_samples: [5, 10]}                # optional: grid; every cell evaluated separately
    tolerance: 0.0               # optional: `tolerance` in the namespace, default of approx(a, b)
    timeout: 600                 # optional: seconds per cell (--timeout overrides)
    expected: VERIFIED           # optional: the verdict the authors expect (--strict checks it)
    references: []               # optional

Each symbol has a ``type`` and exactly one of ``python`` (code), ``ref`` (a
function, called with ``args``; ``$name`` is a symbol, ``$inputs.key`` an
input, ``$$x`` the literal ``$x``) or ``value`` (a constant).

**The value of a python symbol** is the value of its *last statement if that
is an expression*; otherwise the variable *named like the symbol*; otherwise
the variable ``value``; otherwise the symbol fails. Code sees the card
namespace (:mod:`magnet.evaluation.namespace`: ``inputs``, ``corpus()``,
``main_scores()``, ``run_benchmark()``, ``paired_mae_diff``,
``spearman_ci``, ``decide``/``ci_above``/``ci_below``, ``require``,
``np``, ``pd``, ...) and the values of its dependencies.

**Dependencies** are ``depends_on`` plus the symbol names the code reads
without assigning them plus the ``$name`` arguments of a ``ref``. Symbols are
evaluated in dependency order (``graphlib.TopologicalSorter``); a cycle is a
validation error naming the cycle.

**Types** are checked after evaluation: a NaN ``number``/``interval``/
``estimate`` or an empty ``table`` means *missing data* (INCONCLUSIVE), a
value of another type is an error (INCONCLUSIVE).

**Decisions with uncertainty.** ``decide(interval, threshold, ">")``
(``ci_above``), ``decide(interval, threshold, "<")`` (``ci_below``) return
True or False when the whole interval lies on one side of the threshold and an
:class:`Undecided` marker (with the reason) when it contains the threshold.
In the claim, ``and``/``or``/``not`` follow three-valued (Kleene) logic; a
claim that ends Undecided is INCONCLUSIVE (see :mod:`magnet.evaluation.logic`).

**Verdicts.** VERIFIED (claim true), FALSIFIED (claim false), INCONCLUSIVE
(undecided, missing data, an exception in a symbol or the claim, a timeout,
a crash), always with a ``reason`` and a ``cause``; see
:mod:`magnet.evaluation.evaluate` for ``verdict.json``.

Validation (:mod:`magnet.evaluation.card`) reports every problem as
``file:line: field: problem``: schema errors, unknown symbols in
``depends_on``/``$`` arguments/the claim, syntax errors, cycles, bad sweep keys.

MAGNET's card format
--------------------

Cards written for Kitware's MAGNET package (aiq-magnet) run unchanged; a card
whose ``claim`` is a mapping with ``python`` is in MAGNET's form:

.. code-block:: yaml

    title: In-domain Model Consistency for Llama Family       # required
    description: scores of a model family stay within a bound   # required
    version: 1.0                     # optional metadata: version, organizations, submitter {name, email},
    organizations: [Kitware]         # tags, links [{title, url, type}], category (shown by summarize())
    claim:                           # required: code; finishing = VERIFIED, AssertionError = FALSIFIED
      python: |                      # (with its message), any other error = INCONCLUSIVE
        assert abs(comp_score - base_score) < threshold, f"{comp_model} ..."
    claim_aggregation_strategy:      # optional: all (default) | any | fraction (parameters: {threshold: 0.6})
      type: all
    symbols:                         # required
      threshold: {type: float, value: 0.1}            # a constant
      comp_model: {sweep: [meta/llama-3-8b, ...]}     # one setting per value (product over swept symbols)
      scores:
        type: List[Tuple[str, float]]                 # a Python type name, checked (pytypes.py)
        depends_on: [run_specs]                       # also shares run_specs' imports and definitions
        python: |
          scores = ...                                # assigns the variable named like the symbol

Each setting of a sweep is evaluated like any cell (in turn in the card's worker process, with its own time limit); the
card's verdict aggregates them (:func:`aggregate_verdicts`,
``card_verdict.json``). :class:`EvaluationCard` is MAGNET's API over this
engine: ``EvaluationCard(path, output_path, validate)``, ``.summarize()``,
``.evaluate()``, ``.replace()``, ``.dispatch()``, ``.evaluations``.

MAGNET's *pipeline cards* compute their symbols with programs: a ``pipeline:``
section (one executable run per combination of its ``algo_params``, by
magnet's isolated runner, :mod:`magnet.evaluation.pipeline`) or a ``kwdagger:``
section (a ``kwdagger.Pipeline`` over a ``matrix``, run by the kwdagger package,
:mod:`magnet.evaluation.kwdagger_runner`). The claim is evaluated once per run
(:mod:`magnet.evaluation.pipeline_cards`); see docs/howto/pipeline-cards.md.

Command line
------------

``python -m magnet.evaluation CARD.yaml [CARD2.yaml | DIR ...] [--out DIR]
[--timeout S] [--jobs N] [--check] [--strict]`` (also ``magnet evaluate``):
one subprocess per card/cell with a time limit, a summary table, exit status
0 when every card was evaluated (whatever the verdicts), 2 on invalid cards.

API
---

Example:
    >>> from magnet.evaluation import Card, evaluate_card
    >>> card = Card.from_text('''
    ... title: arithmetic
    ... description: a claim that needs no data
    ... symbols:
    ...   x: {type: number, python: "2 + 2"}
    ...   limit: {type: number, value: 5}
    ... claim: x < limit
    ... ''')
    >>> v = evaluate_card(card)
    >>> v.verdict, v.reason
    ('VERIFIED', 'claim holds: x = 4; limit = 5')
"""

from magnet.evaluation.card import Card, CardError, Cell, Issue, card_schema, load_card
from magnet.evaluation.evaluate import (
    CardResult, CellResult, Verdict, aggregate_verdicts, card_results, evaluate_card, run_card_files, run_cards,
)
from magnet.evaluation.evaluation_card import EvaluationCard
from magnet.evaluation.logic import (
    Estimate, MissingData, Undecided, UndecidedError, all_of, any_of, ci_above, ci_below, decide, not_, require,
)

__all__ = [
    "Card", "CardError", "Cell", "Issue", "card_schema", "load_card",
    "CardResult", "CellResult", "Verdict", "aggregate_verdicts", "card_results", "evaluate_card", "run_cards",
    "run_card_files", "EvaluationCard",
    "Estimate", "MissingData", "Undecided", "UndecidedError", "all_of", "any_of", "ci_above", "ci_below", "decide",
    "not_", "require",
]

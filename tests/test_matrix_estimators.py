"""The score-matrix estimators of ``predictors/_matrix.py`` checked against independent computations:
design-unbiasedness of the difference estimators by simulation over random coresets, the calibrated
curve against scipy's optimiser, the choice of
how many candidates to average against a brute-force enumeration, and coreset selection that reads the
source only. Real data: the HELM Lite outcomes in tests/data."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize

from magnet.peers.anchor_points import anchor_weights
from predictors import _matrix as M

DATA = Path(__file__).resolve().parent / "data" / "benchpred-helm-lite"


@pytest.fixture(scope="module")
def gsm():
    return np.load(DATA / "gsm.npy").astype(float)


@pytest.mark.parametrize("estimator", [M.irt_dr_estimate, M.item_ridge_dr_estimate, M.calibrated_irt_dr_estimate,
                                       M.difference_average])
def test_difference_estimators_are_unbiased_over_random_coresets(gsm, estimator):
    """Over uniformly random coresets, a difference estimator's mean is the target's true full mean."""
    src, targets = gsm[:60, :400], gsm[[62, 75, 82], :400]  # real models; the truth is their own mean
    truth = targets.mean(1)
    rng = np.random.default_rng(0)
    draws = np.array([estimator(src, core, targets[:, core]) for core in
                      (np.sort(rng.choice(400, size=20, replace=False)) for _ in range(300))])
    err = draws.mean(0) - truth
    se = draws.std(0, ddof=1) / np.sqrt(len(draws))
    assert np.all(np.abs(err) < 4 * se), (err, se)
    # ... and the model earns its keep: less spread than the plain coreset mean on the same coresets
    rng = np.random.default_rng(0)
    plain = np.array([targets[:, core].mean(1) for core in
                      (np.sort(rng.choice(400, size=20, replace=False)) for _ in range(300))])
    assert np.mean(np.abs(draws - truth)) < np.mean(np.abs(plain - truth))


def test_the_irt_curve_alone_is_biased_where_the_difference_estimator_is_not(gsm):
    """The control: the curve's own estimate (observed + curve) is off for a model beyond the source."""
    order = np.argsort(gsm.mean(1))
    src, target = gsm[order[:40]], gsm[order[-1:]]  # the best model, the 40 weakest as source
    rng = np.random.default_rng(1)
    cores = [np.sort(rng.choice(gsm.shape[1], size=30, replace=False)) for _ in range(200)]
    curve = np.mean([M.irt_estimate(src, c, target[:, c])[0] for c in cores])
    dr = np.array([M.irt_dr_estimate(src, c, target[:, c])[0] for c in cores])
    truth = target.mean()
    assert abs(dr.mean() - truth) < 4 * dr.std(ddof=1) / np.sqrt(len(dr))
    assert abs(curve - truth) > 4 * dr.std(ddof=1) / np.sqrt(len(dr))


def test_calibrated_curve_matches_scipys_penalised_logistic_fit(gsm):
    src, target = gsm[:50, :300], gsm[[70], :300]
    core = np.arange(0, 300, 6)
    y = target[0, core]
    a, b, _ = M.fit_irt(src)
    theta = M.irt_abilities(target[:, core], a[core], b[core])[0]
    z = a * theta + b

    def loss(w, l2=1.0):  # negative penalised log-likelihood, penalty toward (0, 1)
        eta = w[0] + w[1] * z[core]
        return np.sum(np.logaddexp(0, eta) - y * eta) + 0.5 * l2 * (w[0] ** 2 + (w[1] - 1) ** 2)

    w = optimize.minimize(loss, x0=[0.0, 1.0], method="BFGS", options={"gtol": 1e-10}).x
    p = 1 / (1 + np.exp(-(w[0] + w[1] * z)))
    expected = p.mean() + (y - p[core]).mean()
    assert M.calibrated_irt_dr_estimate(src, core, target[:, core])[0] == pytest.approx(expected, abs=1e-8)


def _brute_force_top(inner, rules):
    """The rule with the least leave-one-split-out error, enumerating every held-out split and candidate set."""
    best, best_loss = None, np.inf
    for r in rules:
        total = 0.0
        for s in range(len(inner)):
            others = [inner[i] for i in range(len(inner)) if i != s]
            mae = {j: np.mean(np.concatenate([np.abs(P[:, j] - y) for P, y in others]))
                   for j in range(inner[0][0].shape[1])}
            chosen = sorted(mae, key=lambda j: (mae[j], j))[:r]
            total += np.abs(inner[s][0][:, chosen].mean(1) - inner[s][1]).sum()
        if total < best_loss - 1e-15:
            best, best_loss = r, total
    return best


@pytest.mark.parametrize("seed", range(6))
def test_choose_top_agrees_with_a_brute_force_enumeration(seed):
    rng = np.random.default_rng(seed)
    inner = []
    for _ in range(rng.integers(2, 6)):
        y = rng.random(rng.integers(3, 9))
        noise = rng.gamma(1.0, 0.1, size=5)  # candidates of different quality, some biased
        P = y[:, None] + rng.normal(0, noise, size=(len(y), 5)) + rng.normal(0, 0.05, size=5)
        inner.append((P, y))
    rules = (1, 2, 3, 4, 5)
    assert M.choose_top(inner, rules) == _brute_force_top(inner, rules)


def _world_with_biased_anchor_weights(rng, n_models=60, n_items=200):
    """Three quarters of the items follow a 2PL curve in one ability (they correlate, so they share anchors);
    the others are independent coin flips, at 0.2 for every source model and at 0.9 for the strongest models (a
    skill the source cannot show). Each coin-flip item joins whichever coreset item it happens to correlate
    with most, mostly a curve item, so the anchors' cluster weights give the coin-flip coreset items a fraction
    of their share: weighted by them, the coreset under-counts the items where the targets beat every item model."""
    theta = np.sort(rng.normal(0, 1.5, n_models))
    n_curve = 3 * n_items // 4
    curve = 1 / (1 + np.exp(-(2.0 * theta[:, None] - rng.normal(0, 1, n_curve))))
    coin = np.where(np.arange(n_models)[:, None] >= n_models - 12, 0.9, 0.2) * np.ones((1, n_items - n_curve))
    S = (rng.random((n_models, n_items)) < np.hstack([curve, coin])).astype(float)
    return S[:40], S[-12:]


def test_ensemble_beyond_the_source_is_unbiased_on_random_coresets_where_anchor_weights_are_biased():
    """Extrapolation on a random coreset: the ensemble's candidates weigh the coreset items equally, so over
    random coresets its mean error is 0 (within 4 SE) although anchor-weighted residuals are biased here (the
    old branch, difference_average post-stratified by anchor_weights, is off by about -0.04)."""
    src, tgt = _world_with_biased_anchor_weights(np.random.default_rng(0))
    truth = tgt.mean(1)
    rng = np.random.default_rng(1)
    new, anchored = [], []
    for seed in range(30):
        core = np.sort(rng.choice(src.shape[1], size=30, replace=False))
        assert M.targets_beyond_source(src, core, tgt[:, core])
        new.append((M.ensemble_estimate(src, core, tgt[:, core], seed, inner_splits=2) - truth).mean())
        w = anchor_weights(src, core)
        anchored.append((M.difference_average(src, core, tgt[:, core], weights=w) - truth).mean())
    new, anchored = np.array(new), np.array(anchored)
    se = new.std(ddof=1) / np.sqrt(len(new))
    assert abs(new.mean()) < 4 * se, (new.mean(), se)
    assert anchored.mean() < -0.02 and anchored.mean() < new.mean() - 6 * se  # the world does bias anchor weights


@pytest.mark.parametrize("design", ["random", "anchor"])
def test_ensemble_beyond_the_source_chooses_among_its_designs_candidates_on_inner_extrapolation_splits(gsm, design):
    """Beyond the source, the estimate is the average of the best of EXTRAPOLATION_PARTS[design] on the inner
    splits, and those hold out the strongest source models (trained on weaker ones)."""
    order = np.argsort(gsm.mean(1))
    src, tgt = gsm[order[:40], :300], gsm[order[-10:], :300]
    core = np.arange(0, 300, 10)
    assert M.targets_beyond_source(src, core, tgt[:, core])
    splits = M._inner_splits(src, core, tgt[:, core], np.random.default_rng(3), M.INNER_SPLITS)
    means = src.mean(1)
    assert all(means[val].min() >= means[tr].max() for tr, val in splits)
    parts = list(M.EXTRAPOLATION_PARTS[design].values())
    err = np.zeros(len(parts))
    for tr, val in splits:
        for j, f in enumerate(parts):
            err[j] += np.abs(f(src[tr], core, src[val][:, core]) - src[val].mean(1)).sum()
    best = np.argsort(err, kind="stable")[:1]
    expected = np.mean([parts[j](src, core, tgt[:, core]) for j in best], axis=0)
    got = M.ensemble_estimate(src, core, tgt[:, core], 3, top=1, design=design)
    np.testing.assert_allclose(got, np.clip(expected, 0, 1), atol=1e-12)
    with pytest.raises(ValueError, match="design"):
        M.ensemble_estimate(src, core, tgt[:, core], 3, design="stratified")


def test_ensemble_inside_the_source_averages_the_candidates_best_under_inner_validation(gsm):
    rng = np.random.default_rng(5)
    perm = rng.permutation(len(gsm))
    src, tgt = gsm[perm[:60], :250], gsm[perm[60:], :250]
    core = np.sort(rng.choice(250, 25, replace=False))
    assert not M.targets_beyond_source(src, core, tgt[:, core])
    for top in (1, 2):
        got = M.ensemble_estimate(src, core, tgt[:, core], 7, top=top)
        # the same inner splits, recomputed here: rank every candidate on them, average the best `top`
        splits = M._inner_splits(src, core, tgt[:, core], np.random.default_rng(7), M.INNER_SPLITS)
        parts = list(M.ENSEMBLE_PARTS.values())
        err = np.zeros(len(parts))
        count = 0
        for tr, val in splits:
            for j, f in enumerate(parts):
                err[j] += np.abs(f(src[tr], core, src[val][:, core]) - src[val].mean(1)).sum()
            count += len(val)
        best = np.argsort(err / count, kind="stable")[:top]
        expected = np.mean([parts[j](src, core, tgt[:, core]) for j in best], axis=0)
        np.testing.assert_allclose(got, np.clip(expected, 0, 1), atol=1e-12)


def test_select_coreset_picks_anchors_where_items_cluster_by_subject():
    """A simulated world with five subjects whose abilities are unrelated: a random 10-item coreset misses
    subjects, anchors cover them; the choice uses the source models only."""
    rng = np.random.default_rng(0)
    n_models, subjects, per = 60, 5, 60
    ability = rng.normal(0, 2.0, size=(n_models, subjects))
    difficulty = rng.normal(0, 0.5, size=subjects * per)
    subject = np.repeat(np.arange(subjects), per)
    prob = 1 / (1 + np.exp(-(ability[:, subject] - difficulty)))
    S = (rng.random(prob.shape) < prob).astype(float)
    core, how = M.select_coreset(S, 10, 0)
    assert how == "anchor"
    assert len(set(core.tolist())) == 10 and set(subject[core]) == set(range(subjects))
    # the same source gives the same choice, whatever happens to models outside it
    core2, how2 = M.select_coreset(S.copy(), 10, 0)
    assert how2 == how and core2.tolist() == core.tolist()
    assert M.select_coreset(S, 10, 0, strategy="random")[1] == "random"


def test_choose_top_rules_beyond_the_candidate_count_are_dropped():
    inner = [(np.column_stack([y, y + 0.2]), y) for y in (np.linspace(0, 1, 4), np.linspace(0.2, 0.8, 4))]
    assert M.choose_top(inner, (1, 2, 3, 8)) == 1


ANCHOR_PARTS = ("anchor_mean", "irt_dr_anchor", "item_ridge_dr_anchor")


def _small_inside(gsm):
    """40 real source models, 10 targets inside their range, 200 items, a 15-item coreset."""
    rng = np.random.default_rng(3)
    perm = rng.permutation(len(gsm))
    src, tgt = gsm[perm[:40], :200], gsm[perm[40:50], :200]
    core = np.sort(rng.choice(200, 15, replace=False))
    assert not M.targets_beyond_source(src, core, tgt[:, core])
    return src, core, tgt[:, core]


def test_anchor_weights_memo_changes_no_candidate_and_no_ensemble_estimate(gsm, monkeypatch):
    """The memo on, then off (every anchor candidate computing its own weights, as before): identical anchor
    candidates on the ensemble's inner splits (same shapes, other models), on the whole source with the coreset and
    with another coreset of the same size, and identical ensemble estimates."""
    src, core, tgt = _small_inside(gsm)
    other = np.sort(np.random.default_rng(4).choice(200, len(core), replace=False))
    splits = M._inner_splits(src, core, tgt, np.random.default_rng(0), M.INNER_SPLITS)
    cases = [(src[tr], core, src[val][:, core]) for tr, val in splits] + [(src, core, tgt), (src, other, tgt)]

    def run():
        preds = [M.ENSEMBLE_PARTS[name](s, c, t) for s, c, t in cases for name in ANCHOR_PARTS]
        return preds + [M.ensemble_estimate(src, core, tgt, 0, top=top) for top in ("auto", len(M.ENSEMBLE_PARTS))]

    monkeypatch.setattr(M, "_ANCHOR_WEIGHTS", {})
    with_memo = run()
    monkeypatch.setattr(M, "_anchor_weights_cached", M.anchor_weights)
    without = run()
    for got, expected in zip(with_memo, without, strict=True):
        np.testing.assert_array_equal(got, expected)
    assert len(M._ANCHOR_WEIGHTS) == len(cases)  # one entry per distinct (source, coreset)
    assert not next(iter(M._ANCHOR_WEIGHTS.values())).flags.writeable  # shared, so nobody may change it


def test_ensemble_computes_anchor_weights_once_per_source_and_coreset(gsm, monkeypatch):
    """Three candidates weigh the coreset by anchor_weights on the same inner source: computed once per inner split
    and once for the final fit (all candidates averaged, so the anchor ones are fitted on the whole source)."""
    src, core, tgt = _small_inside(gsm)
    calls = Counter()

    def counting(source, coreset):
        calls[np.asarray(source).tobytes(), np.asarray(coreset).tobytes()] += 1
        return anchor_weights(source, coreset)

    monkeypatch.setattr(M, "anchor_weights", counting)
    monkeypatch.setattr(M, "_ANCHOR_WEIGHTS", {})
    M.ensemble_estimate(src, core, tgt, 0, top=len(M.ENSEMBLE_PARTS))
    assert sorted(calls.values()) == [1] * (M.INNER_SPLITS + 1)


@pytest.mark.parametrize("mode", ["predictor", "shared"])
def test_coreset_ensemble_estimates_with_the_design_it_revealed(tmp_path, monkeypatch, mode):
    """Through magnet's protocol: with --reveal predictor, CoresetEnsemble reveals an anchor coreset on a world
    whose items cluster by subject and then estimates with the anchor design's candidates; on a coreset magnet
    drew (--reveal shared) it uses the random design (equal weights)."""
    import warnings

    from magnet.backends.matrix.import_scores import import_scores
    from magnet.protocol.corpus import Corpus
    from magnet.protocol.runner import run_protocol
    from predictors.matrix import CoresetEnsemble

    rng = np.random.default_rng(0)
    ability = rng.normal(0, 3.0, size=(24, 8))
    subject = np.repeat(np.arange(8), 15)
    prob = 1 / (1 + np.exp(-(ability[:, subject] - rng.normal(0, 0.3, size=120))))
    import_scores((rng.random(prob.shape) < prob).astype(float), tmp_path, scenario="toy", metric="exact_match")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corpus = Corpus.load(tmp_path, errors="skip")
    designs, real = [], M.ensemble_estimate

    def spy(*args, design="random", **kwargs):
        designs.append(design)
        return real(*args, design=design, **kwargs)

    monkeypatch.setattr(M, "ensemble_estimate", spy)
    chosen = []
    monkeypatch.setattr(M, "select_coreset", lambda *a, _real=M.select_coreset, **k: chosen.append(_real(*a, **k)) or chosen[-1])
    res = run_protocol(CoresetEnsemble(), corpus, split="interpolation", num_eval_samples=8, reveal_mode=mode,
                       progress=False)
    assert [f.status for f in res.folds] == ["ok"] and len(res.predictions) == 6
    if mode == "predictor":
        assert [how for _, how in chosen] == ["anchor"] and designs == ["anchor"]
    else:
        assert chosen == [] and designs == ["random"]

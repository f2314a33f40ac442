"""Development measurement of the adaptive estimators (predictors/_adaptive.py) on the HELM Lite matrices, outside the pipeline.

    PYTHONPATH=. python benchmarks/bench_adaptive.py SEEDS BUDGETS [MATRICES]     # e.g. 0,1,2,3 25,50
Prints the mean gap over (seed, target model) per (budget, policy, estimator). Policies: cat (Fisher
information), active (surrogate-proportional draws), uniform (random order, adaptive surrogate).
Not yet the issue-32 benchmark (no peers in the same run, no intervals, no plot).
"""
import sys, time, numpy as np
sys.path.insert(0, str(__import__('pathlib').Path(__file__).resolve().parents[1]))
from predictors import _adaptive as A
from magnet.peers import load_benchpred_matrix
from magnet.peers.protocol import split_models
seeds = [int(s) for s in sys.argv[1].split(',')]
budgets = [int(b) for b in sys.argv[2].split(',')]
mats = sys.argv[3].split(',') if len(sys.argv) > 3 else ['gsm','math','mmlu']
def uniform_policy(fit, order, y):
    th = A.ability(fit, order, y); f = A._sigmoid(th*fit.a+fit.b)
    m = A._unrevealed(fit.n_items, order); return f, m/m.sum()
A.POLICIES['uniform'] = uniform_policy
t0=time.time()
for name in mats:
    S = load_benchpred_matrix(name).astype(float)
    for split in ['interpolation','extrapolation']:
        res = {}
        for seed in seeds:
            src, tgt = split_models(S, split, seed)
            fit = A.fit_source(S[src])
            for K in budgets:
                for pol in ['cat','active','uniform']:
                    ests = {}
                    for ti, t in enumerate(tgt):
                        order, y = A.simulate(fit, S[t], K, pol, seed=seed*1000+ti)
                        truth = S[t].mean()
                        cand = {'cat': lambda: A.cat_estimate(fit, order, y),
                                'cat_nocorr': lambda: A.cat_estimate(fit, order, y, correct=False),
                                'mean': lambda: y.mean()}
                        if pol != 'cat':
                            cand['dr_w1'] = lambda: A.active_estimate(fit, order, y, pol, 1.0)
                            cand['dr_w2'] = lambda: A.active_estimate(fit, order, y, pol, 2.0)
                            cand['dr_last'] = lambda: float(A.active_steps(fit, order, y, pol)[-10:].mean())
                        for k_, fn in cand.items():
                            res.setdefault((K, pol, k_), []).append(abs(fn()-truth))
        for key in sorted(res):
            print(name, split, key, f"{np.mean(res[key]):.4f}", flush=True)
print('time', time.time()-t0)

"""Every built-in predictor, leave-one-model-out, on the committed lm-eval and EEE demo data (about 1 min each).

Until magnet.sources wires these formats into Corpus.load, the corpus is built from read_tables through
tests/source_tables.TablesOutputs. Run from the repository root:

    python benchmarks/check_sources_builtin_predictors.py
"""
import sys, time, warnings
sys.path.insert(0, "tests")
from source_tables import TablesOutputs
from magnet.backends import lm_eval, eee
from magnet.protocol.benchmark import benchmark
from magnet.protocol.corpus import Corpus
from predictors.builtin import BUILTIN_PREDICTORS
for name, mod, root in [("lm-eval", lm_eval, "tests/data/lm-eval-demo"), ("eee", eee, "tests/data/eee-demo")]:
    corpus = Corpus.load(TablesOutputs(mod.read_tables(root), root))
    t = time.perf_counter()
    board = benchmark([c() for c in BUILTIN_PREDICTORS], corpus, splits=["leave-one-model-out"], progress=False, n_boot=200)
    print(name, f"{time.perf_counter()-t:.1f}s")
    for r in board.main_rows():
        print(f"  {r.predictor:20s} n={r.n} models={r.n_models} mae={r.mae:.3f} failed_folds={r.failed_folds} mbe={r.mbe.get('verdict')} controls={r.mbe.get('controls')}")

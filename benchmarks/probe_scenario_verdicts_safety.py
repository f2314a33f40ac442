import warnings, time
from pathlib import Path
from magnet.backends.helm.outputs import HelmOutputs
from magnet.protocol.benchmark import benchmark
from magnet.protocol.corpus import Corpus
from predictors.scenario_mean import ScenarioMean
from predictors.revealed_sample_mean import RevealedSampleMean
from predictors.model_mean import ModelMean
from predictors.shrinkage import Shrinkage
from predictors.additive import Additive
warnings.simplefilter("ignore")
t=time.time()
corpus = Corpus.load(HelmOutputs.coerce(Path("tests/data/helm-safety-v3/benchmark_output"), cache_dir=False))
for nes in (1,):
    board = benchmark([ScenarioMean(), Additive()], corpus, splits=["leave-one-model-out","kfold"], num_eval_samples=nes, progress=False, n_boot=50)
    for r in board.rows:
        if r.stat!="main": continue
        m=r.mbe
        print(nes, r.split, r.predictor, r.n, m["verdict"], round(m.get("estimate",float('nan')),3), m.get("scenarios"), m.get("pooled_verdict"), round(m.get("pooled_estimate",float('nan')),3), m.get("between_scenarios_only"), m.get("scenario_checks"), m.get("scenario_adjustment"))
print(time.time()-t)

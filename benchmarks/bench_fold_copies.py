"""Cost of the per-fold private copies (magnet/protocol/private_copy.py) on the default 72-run demo.

    PYTHONPATH=. python benchmarks/bench_fold_copies.py

1. Each corpus table copied once: the old pickle round trip of the whole frame vs ``private_copy`` (best of 5, ms).
2. The MAGNET-style example predictors called MAGNET's way (leave-one-run-out, 72 folds): wall and CPU seconds.
   Run it in a checkout of the old code too (``git worktree add /tmp/old main``) for the before/after.
"""
import pickle
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from magnet.backends.helm.helm_outputs import HelmOutputs  # noqa: E402
from magnet.example_random_instance_predictor import ExampleRandomInstancePredictor  # noqa: E402
from magnet.example_random_predictor import ExampleRandomPredictor  # noqa: E402
from magnet.protocol.corpus import Corpus  # noqa: E402


def best(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1e3


def main():
    outputs = HelmOutputs.demo()
    try:
        from magnet.protocol.private_copy import private_copy
    except ImportError:  # the old code
        private_copy = None
    corpus = Corpus.load(outputs)
    for name in ("run_specs", "scenario_states", "stats", "per_instance_stats"):
        df = getattr(corpus, name)
        row = f"{name:20s} {len(df):6d} rows  pickle {best(lambda: pickle.loads(pickle.dumps(df))):7.1f} ms"
        if private_copy:
            row += f"  private_copy {best(lambda: private_copy(df)):7.1f} ms"
        print(row)
    suite = outputs.suites()[0].path
    for cls in (ExampleRandomPredictor, ExampleRandomInstancePredictor):
        wall, cpu = time.perf_counter(), time.process_time()
        result = cls(num_eval_samples=5)(helm_suites=suite, quiet=True)
        print(f"{cls.__name__}: wall {time.perf_counter() - wall:.1f} s, cpu {time.process_time() - cpu:.1f} s; {result}")


if __name__ == "__main__":
    main()

"""aiq-magnet's own cards and call forms, unchanged, on magnet (see aiq_magnet/PROVENANCE.md)."""

from importlib.resources import files

import yaml

from magnet.backends.helm.helm_outputs import HelmOutputs, HelmSuiteRuns
from magnet.evaluation import EvaluationCard


def test_helm_outputs_finds_suites_like_magnet(lite_helm_dir):
    bo = lite_helm_dir / "lite" / "benchmark_output"
    for path in (bo, bo / "runs", bo.parent):
        assert [s.name for s in HelmOutputs(path).suites()] == ["v1.0.0", "v1.2.0"]


def test_simple_card_verified(tmp_path):
    card = EvaluationCard(files("magnet") / "cards" / "simple.yaml", tmp_path / "results")
    assert card.evaluate() == "VERIFIED"


def test_llama_runs_read_like_the_card(lite_helm_dir):
    runs = []
    for suite in HelmOutputs(lite_helm_dir / "lite" / "benchmark_output").suites():
        runs.extend(suite.runs("mmlu*model=meta_*llama*").paths)
    view = HelmSuiteRuns.coerce(runs)
    stats = view.stats()
    assert len(runs) == 60 and set(stats["stats.name.split"]) == {"test", "valid"}
    assert "stats.name.perturbation.computed_on" in stats


def test_submitter_without_email_rejected(tmp_path):
    """aiq's tests/test_schema.py case 'invalid-nested-schema', on magnet's validation."""
    import pytest

    from magnet.evaluation import CardError, load_card

    data = yaml.safe_load((files("magnet") / "cards" / "simple.yaml").read_text())
    data["submitter"] = {"name": "No Email"}
    path = tmp_path / "no_email.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(CardError, match="email"):
        load_card(path)


BROKEN = {  # aiq's tests/test_schema.py cases (its pydantic schema module is internal; magnet validates the same cards)
    "null-required-field": {"title": None},
    "missing-claim": {"claim": None},
    "invalid-nested-schema": {"submitter": {"name": "No Email"}},
    "no-backend-or-symbols": {"symbols": None},
    "symbol-missing-resolution": {"symbols": {"x": {}}},
}


def test_aiq_schema_cases_on_magnet_validation(tmp_path):
    import pytest

    from magnet.evaluation import CardError, load_card

    simple = yaml.safe_load((files("magnet") / "cards" / "simple.yaml").read_text())
    for name in ("simple.yaml", "llama.yaml", "llama_pipeline.yaml", "llama_kwdagger.yaml"):
        load_card(files("magnet") / "cards" / name)  # aiq's cards are valid
    for case, broken in BROKEN.items():
        path = tmp_path / f"{case}.yaml"
        path.write_text(yaml.safe_dump({**simple, **broken}, sort_keys=False))
        with pytest.raises(CardError):
            load_card(path)
    no_symbols = {k: v for k, v in simple.items() if k != "symbols"}
    path = tmp_path / "no_symbols.yaml"
    path.write_text(yaml.safe_dump(no_symbols, sort_keys=False))
    with pytest.raises(CardError, match="a card needs `symbols`, a `pipeline` or a `kwdagger` section"):
        load_card(path)

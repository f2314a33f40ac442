"""magnet.sources: format detection and the one entry point, on the real HELM demo (Inspect: test_inspect_source)."""

from __future__ import annotations

import pytest

from magnet import sources
from magnet.backends.helm.outputs import HelmOutputs
from magnet.cli.main import main
from magnet.errors import UserError
from magnet.sources import detect_format, open_outputs


def test_helm_output_is_detected_and_opened_as_before(small_root):
    assert detect_format(small_root) == "helm"
    outputs = open_outputs(small_root)
    assert isinstance(outputs, HelmOutputs) and open_outputs(outputs) is outputs
    assert outputs.stats().equals(HelmOutputs.coerce(small_root).stats())


def test_nothing_to_read_is_one_line_naming_the_path(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no HELM runs, Inspect logs, lm-eval results or Every Eval Ever"):
        detect_format(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UserError, match="notes.txt: expected a directory"):
        detect_format(tmp_path / "notes.txt")
    with pytest.raises(UserError, match="no such file or directory"):
        open_outputs(tmp_path / "absent")


def test_a_missing_backend_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sources.FORMATS, "nosuch", "magnet.backends.nosuch")
    with pytest.raises(UserError, match="--source-format nosuch: its reader cannot be imported") as info:
        open_outputs(tmp_path, source_format="nosuch")
    assert "frameworks" in info.value.hint


def test_cli_source_format_helm_is_the_old_behaviour(small_root, capsys):
    assert main(["ls", str(small_root), "--source-format", "helm"]) == 0
    assert "HELM outputs in" in capsys.readouterr().out
    assert main(["ls", str(small_root), "--source-format", "inspect"]) == 2
    assert "no Inspect logs" in capsys.readouterr().err


def test_lm_eval_output_goes_through_the_same_entry_point(capsys):
    from magnet.backends.lm_eval import build_demo
    from magnet.protocol.corpus import Corpus

    path = build_demo(preset="small")
    assert detect_format(path) == "lm-eval"
    outputs = open_outputs(path)
    assert type(outputs).__name__ == "TableOutputs" and outputs.source_format == "lm-eval"
    corpus = Corpus.load(path)
    assert corpus.targets["run_spec.name"].nunique() == len(outputs.runs()) == 18
    assert main(["ls", str(path)]) == 0
    assert "lm-eval results in" in capsys.readouterr().out

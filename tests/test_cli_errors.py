"""Every command answers a user's mistake with one ``error:`` line and exit status 2, never a traceback.

Table-driven: each case is a command line, the words its error line must
contain, and the paths that must not exist afterwards (a failed command
writes nothing). Most cases run in-process through ``magnet.cli.main.main``
(fast); the ``python -m`` entry points run as subprocesses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from magnet.backends.helm.outputs import HelmOutputs
from magnet.cli.errors import BUG_LINE, run_command
from magnet.cli.main import main as magnet_main

ROOT = Path(__file__).resolve().parents[1]
PREDICTOR = "predictors.example_random_predictor:ExampleRandomPredictor"


@pytest.fixture(scope="module")
def demo_root():
    return str(HelmOutputs.demo(preset="small").root)


@pytest.fixture
def bad_predictors(tmp_path, monkeypatch):
    """A module with predictors that fail in the ways users' predictors do."""
    (tmp_path / "my_bad_predictors.py").write_text(textwrap.dedent("""
        from magnet.predictor import Predictor

        class RaisesInInit(Predictor):
            def __init__(self):
                raise RuntimeError("no GPU found")
            def predict(self, *args):
                return {}

        class NotAPredictor:
            pass
    """))
    (tmp_path / "my_broken_module.py").write_text("import nosuchpackage_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def _cases(tmp: Path, demo: str) -> list[tuple[str, list[str], list[str], list[Path]]]:
    """(id, argv, words the error line must contain, paths that must not exist afterwards)."""
    empty_file = tmp / "empty.json"
    empty_file.write_text("")
    empty_dir = tmp / "empty_dir"
    empty_dir.mkdir()
    out_dir = tmp / "out_dir"
    out_dir.mkdir()
    a_file = tmp / "a_file.txt"
    a_file.write_text("x")
    bad_name = os.fsdecode(bytes(tmp) + b"/caf\xe9-not-utf8")  # a name that is not UTF-8
    os.mkdir(os.fsencode(bad_name))
    new_out = tmp / "new_out"
    new_export = tmp / "new_dir" / "stats.parquet"
    bench = ["benchmark", "--root-dir", demo, "--no-builtin", "--predictor", PREDICTOR, "--quiet"]
    safety = ROOT / "tests" / "data" / "helm-safety-v3" / "benchmark_output"
    run = next((safety / "runs" / "v3").glob("harm_bench:*"))
    one = tmp / "one" / "runs" / "v3"
    one.mkdir(parents=True)
    shutil.copytree(run, one / run.name)
    shutil.copy(safety / "runs" / "v3" / "schema.json", one)
    nopis = tmp / "nopis"
    shutil.copytree(safety, nopis)
    for f in nopis.rglob("per_instance_stats.json"):
        f.unlink()
    noschema = tmp / "noschema" / "runs" / "v3"
    noschema.mkdir(parents=True)
    for r in (safety / "runs" / "v3").glob("harm_bench:*"):
        shutil.copytree(r, noschema / r.name)
    out30 = tmp / "out30"
    for v in ("a", "b"):
        two = tmp / "two" / "runs" / v
        two.mkdir(parents=True)
        for r in (safety / "runs" / "v3").glob("harm_bench:*"):
            os.symlink(r, two / r.name)
        shutil.copy(safety / "runs" / "v3" / "schema.json", two)
    return [
        ("two-suites-same-runs", ["benchmark", "--root-dir", str(tmp / "two"), "--quiet"],
         ["2 suites", "(a, b)"], []),
        ("one-run-kfold", ["benchmark", "--root-dir", str(tmp / "one"), "--quiet", "--out", str(out30)],
         ["holds 1 run"], [out30]),
        ("no-per-instance-stats", ["benchmark", "--root-dir", str(nopis), "--split", "leave-one-model-out", "--quiet",
                                   "--out", str(out30)], ["per_instance_stats.json"], [out30]),
        ("root-dir-is-one-run", ["benchmark", "--root-dir", str(run), "--stat", "harm_bench_score", "--quiet"],
         ["holds 1 run"], []),
        ("no-schema-json", ["benchmark", "--root-dir", str(tmp / "noschema"), "--quiet", "--out", str(out30)],
         ["schema.json"], [out30]),
        ("zero-eval-samples", ["benchmark", "--num-eval-samples", "0"], ["--num-eval-samples", "got 0"], []),
        ("predictor-file-missing", ["predict", "--predictor", str(tmp / "nofile.py")], ["no such file"], []),
        ("no-command", [], ["a command is required"], []),
        ("unknown-command", ["frobnicate"], ["invalid choice", "frobnicate"], []),
        ("predictor-without-class", ["predict", "--predictor", "predictors.model_mean"], ["MODULE:CLASS"], []),
        ("predictor-no-such-class", ["predict", "--predictor", "predictors.model_mean:NoClass"],
         ["predictors.model_mean:NoClass", "has no 'NoClass'"], []),
        ("predictor-no-such-module", ["predict", "--predictor", "nosuch:Thing"], ["cannot import module 'nosuch'"], []),
        ("predictor-module-fails-import", ["predict", "--predictor", "my_broken_module:X"], ["nosuchpackage_xyz"], []),
        ("predictor-raises-in-init", ["predict", "--predictor", "my_bad_predictors:RaisesInInit"],
         ["RaisesInInit() raised RuntimeError", "no GPU found"], []),
        ("not-a-predictor", ["predict", "--predictor", "my_bad_predictors:NotAPredictor"], ["not a predictor"], []),
        ("benchmark-bad-predictor-writes-nothing", bench + ["--predictor", "nosuch:Thing", "--out", str(new_out)],
         ["nosuch"], [new_out]),
        ("negative-eval-samples", ["benchmark", "--num-eval-samples", "-3"], ["--num-eval-samples", "-3"], []),
        ("non-numeric-eval-samples", ["benchmark", "--num-eval-samples", "ten"], ["--num-eval-samples", "'ten'"], []),
        ("fractional-count", ["predict", "--predictor", PREDICTOR, "--num-eval-samples", "2.5"], ["whole"], []),
        ("one-fold", ["benchmark", "--n-folds", "1"], ["--n-folds", ">= 2"], []),
        ("zero-jobs", ["benchmark", "--n-jobs", "0"], ["--n-jobs", ">= 1"], []),
        ("zero-timeout", ["predict", "--predictor", PREDICTOR, "--timeout", "0"], ["--timeout", "> 0"], []),
        ("unknown-split", ["predict", "--predictor", PREDICTOR, "--split", "random"], ["--split", "invalid choice"], []),
        ("out-unwritable", bench + ["--out", "/proc/magnet-x"], ["--out /proc/magnet-x", "cannot write"], []),
        ("out-is-a-file", bench + ["--out", str(a_file)], ["not a directory"], []),
        ("root-dir-missing", ["predict", "--predictor", PREDICTOR, "--root-dir", str(tmp / "nope")], ["nope"], []),
        ("root-dir-is-a-file", ["predict", "--predictor", PREDICTOR, "--root-dir", str(a_file)],
         ["a_file.txt", "expected a directory"], []),
        ("root-dir-empty", ["predict", "--predictor", PREDICTOR, "--root-dir", str(empty_dir)],
         ["empty_dir", "no HELM runs"], []),
        ("root-dir-not-utf8", ["predict", "--predictor", PREDICTOR, "--root-dir", bad_name], ["no HELM runs"], []),
        ("unknown-suite", ["predict", "--predictor", PREDICTOR, "--root-dir", demo, "--suite", "nosuite"],
         ["no suite 'nosuite'"], []),
        ("stat-in-no-run", ["predict", "--predictor", PREDICTOR, "--root-dir", demo, "--stat", "nosuch_stat"],
         ["nosuch_stat", "nothing to predict"], []),
        ("ls-missing", ["ls", str(tmp / "missing")], ["missing"], []),
        ("ls-a-file", ["ls", str(empty_file)], ["empty.json", "expected a directory"], []),
        ("export-unwritable", ["export", demo, "--table", "stats", "-o", "/proc/x.parquet"],
         ["-o /proc/x.parquet", "cannot write"], []),
        ("export-to-a-directory", ["export", demo, "--table", "stats", "-o", str(out_dir)], ["is a directory"], []),
        ("export-unknown-format", ["export", demo, "--table", "stats", "-o", str(tmp / "stats.xlsx")],
         ["stats.xlsx", "format"], [tmp / "stats.xlsx"]),
        ("export-bad-input-writes-nothing", ["export", str(empty_dir), "--table", "stats", "-o", str(new_export)],
         ["no HELM runs"], [new_export, new_export.parent]),
        ("download-unwritable", ["download", "helm", "/proc/x", "--benchmark", "lite", "--version", "v1.0.0"],
         ["/proc/x"], []),
        ("download-bad-regex", ["download", "helm", str(new_out), "--benchmark", "lite", "--runs", "regex:(mmlu"],
         ["regex:(mmlu", "invalid regular expression"], [new_out]),
        ("evaluate-no-cards", ["evaluate", str(empty_dir)], ["no card files"], []),
        ("evaluate-empty-card", ["evaluate", str(empty_file)], ["empty.json"], []),
        ("evaluate-bad-jobs", ["evaluate", "cards", "--jobs", "0"], ["--jobs", ">= 1"], []),
        ("evaluate-out-unwritable", ["evaluate", str(ROOT / "cards" / "simple.yaml"), "--out", "/proc/x"],
         ["--out /proc/x"], []),
    ]


def test_every_bad_input_gets_one_error_line_and_status_2(tmp_path, demo_root, bad_predictors, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("MAGNET_DEBUG", raising=False)
    failures = []
    for case_id, argv, words, absent in _cases(tmp_path, demo_root):
        try:
            status = magnet_main(argv)
        except SystemExit as e:  # argparse's errors exit
            status = e.code
        out, err = capsys.readouterr()
        lines = [line for line in err.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("error:")]
        problems = []
        if status != 2:
            problems.append(f"exit status {status}")
        if "Traceback" in err:
            problems.append("a traceback")
        if len(errors) != 1:
            problems.append(f"{len(errors)} error lines")
        elif not all(w in errors[0] for w in words):
            problems.append(f"error line lacks {words}: {errors[0]!r}")
        if any(not line.startswith(("error:", "hint:", "warning:")) for line in lines):
            problems.append(f"other stderr lines: {lines}")
        problems += [f"{p} was written" for p in absent if p.exists()]
        if problems:
            failures.append(f"{case_id} ({' '.join(argv)}): {'; '.join(problems)}")
    assert not failures, "\n".join(failures)


def test_debug_shows_the_traceback_too(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert magnet_main(["--debug", "predict", "--predictor", "nosuch:Thing"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-2].startswith("error: --predictor nosuch:Thing")
    monkeypatch.setenv("MAGNET_DEBUG", "1")
    assert magnet_main(["predict", "--predictor", "nosuch:Thing"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_an_internal_error_is_a_bug_with_its_traceback(capsys):
    def broken(args):
        return {}["missing"]

    assert run_command(broken, None) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "KeyError: 'missing'" in err
    assert err.strip().splitlines()[-1] == BUG_LINE.format(version="0.1.0")


def test_warnings_are_one_line_each(demo_root, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status = magnet_main(["predict", "--predictor", PREDICTOR, "--root-dir", demo_root, "--quiet",
                          "--num-eval-samples", "1000"])
    err = capsys.readouterr().err
    assert status == 0
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "covers every eval instance of 16 of 16 runs" in warnings[0], err


def test_fold_without_train_runs_is_warned(capsys, monkeypatch, tmp_path):
    """One model only: leave-one-model-out leaves its fold no train runs."""
    demo = Path(HelmOutputs.demo(preset="small").root)
    runs = sorted((demo / "runs").glob("*/*atlas-1b*"))
    suite = tmp_path / "benchmark_output" / "runs" / "one"
    suite.mkdir(parents=True)
    for run in runs:
        os.symlink(run, suite / run.name)
    schema = next((demo / "runs").glob("*/schema.json"), None)
    if schema:
        os.symlink(schema, suite / "schema.json")
    status = magnet_main(["predict", "--predictor", PREDICTOR, "--root-dir", str(tmp_path / "benchmark_output"),
                          "--quiet"])
    err = capsys.readouterr().err
    assert status == 0 and "have no train runs" in err, err


def test_version(capsys):
    assert magnet_main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == "magnet 0.1.0"


@pytest.mark.parametrize("argv, words", [
    (["-m", "magnet.evaluation", "--jobs", "x", "cards"], ["--jobs", "'x'"]),
    (["-m", "magnet.evaluation", "/no/such/card.yaml"], ["/no/such/card.yaml"]),
    (["-m", "predictors.model_mean", "--num-eval-samples", "-1"], ["--num-eval-samples"]),
    (["-m", "predictors.model_mean", "--root-dir", "/no/such/dir"], ["/no/such/dir"]),
    (["-m", "magnet.cli", "predict", "--predictor", "x"], ["MODULE:CLASS"]),
    (["-m", "magnet", "predict", "--predictor", "x"], ["MODULE:CLASS"]),
])
def test_python_m_entry_points(argv, words):
    proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "MAGNET_DEBUG": ""})
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert sum(line.startswith("error:") for line in lines) == 1 or any("error" in line for line in lines), lines
    assert all(w in proc.stderr for w in words), proc.stderr
    json.dumps(lines)  # the messages are plain text


BLEND = """
from magnet.predictor import Predictor


class Blend(Predictor):
    def predict(self, train_split, sequestered_test_split):
        return {}
"""


@pytest.mark.parametrize("spec", ["blend:Blend", "./blend.py:Blend", "blend.py", "{tmp}/blend.py"])
def test_own_predictor_from_the_working_directory(spec, tmp_path, monkeypatch, capsys, demo_root):
    """A predictor file in the current directory runs by module:Class and by path (issue 30)."""
    (tmp_path / "blend.py").write_text(BLEND)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(tmp_path))])
    sys.modules.pop("blend", None)
    status = magnet_main(["benchmark", "--root-dir", demo_root, "--no-builtin", "--predictor",
                          spec.format(tmp=tmp_path), "--split", "leave-one-model-out", "--quiet"])
    err = capsys.readouterr().err
    # Blend predicts nothing: every fold fails on missing runs, which is the predictor's result, not a load error
    assert "cannot import" not in err and "Traceback" not in err, err
    assert status == 1 and "every fold failed for Blend/leave-one-model-out" in err, err


def test_rerun_into_out_with_another_setting_names_it(tmp_path, capsys, demo_root, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "out"
    bench = ["benchmark", "--root-dir", demo_root, "--no-builtin", "--predictor", PREDICTOR, "--quiet",
             "--split", "leave-one-model-out", "--out", str(out)]
    assert magnet_main(bench) == 0
    capsys.readouterr()
    assert magnet_main(bench + ["--num-eval-samples", "5"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    # the folder the user gave (not magnet's runs/<predictor>-<split> inside it), and the setting that differs
    assert err[0].startswith(f"error: --out {out}: ") and "--num-eval-samples 5 now, 10 there" in err[0], err
    assert "--overwrite" in err[1], err
    assert magnet_main(bench + ["--num-eval-samples", "5", "--overwrite"]) == 0


def test_a_predictors_own_exception_is_reported_once_with_its_line(tmp_path, monkeypatch, capsys, demo_root):
    (tmp_path / "bad.py").write_text(BLEND.replace("return {}", "return self.helper()") +
                                     "\n    def helper(self):\n        return {}['no_such_column']\n")
    monkeypatch.chdir(tmp_path)
    sys.modules.pop("bad", None)
    argv = ["benchmark", "--root-dir", demo_root, "--no-builtin", "--predictor", "bad.py", "--quiet",
            "--split", "leave-one-model-out"]
    assert magnet_main(argv) == 1
    out, err = capsys.readouterr()
    text = " ".join((out + err).split())  # the console folds long lines
    assert text.count("no_such_column") == 1 and "bad.py:10inhelper" in text.replace(" ", ""), out + err
    assert "Traceback" not in err
    assert magnet_main(["--debug", *argv]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_a_one_run_suite_is_not_told_to_point_at_a_suite(tmp_path, capsys):
    """Issue 30: a suite of one run (AIR-Bench 2024 publishes one) gets a hint that fits; a run folder gets its own."""
    safety = ROOT / "tests" / "data" / "helm-safety-v3" / "benchmark_output" / "runs" / "v3"
    run = next(safety.glob("harm_bench:*"))
    suite = tmp_path / "benchmark_output" / "runs" / "v1"
    suite.mkdir(parents=True)
    shutil.copytree(run, suite / run.name)
    shutil.copy(safety / "schema.json", suite)
    hints = {}
    for root in (tmp_path / "benchmark_output", run):
        assert magnet_main(["benchmark", "--root-dir", str(root), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert "holds 1 run" in err, err
        hints[root] = next(line for line in err.splitlines() if line.startswith("hint:"))
    assert "other models" in hints[tmp_path / "benchmark_output"] and "not one run" in hints[run], hints


def test_rerun_after_fixing_the_predictor_does_not_replay_its_old_error(tmp_path, monkeypatch, capsys, demo_root):
    """Issue 30: fix the bug, rerun into the same --out: the failed folds run again (they used to replay the error)."""
    good = textwrap.dedent("""
        from predictors.model_mean import ModelMean


        class Fixable(ModelMean):
            pass
    """)
    broken = good.replace("    pass", "    def predict(self, **inputs):\n        return {}['no_such_column']")
    (tmp_path / "fixable.py").write_text(broken)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))
    sys.modules.pop("fixable", None)
    argv = ["benchmark", "--root-dir", demo_root, "--no-builtin", "--predictor", "fixable.py", "--quiet",
            "--split", "leave-one-model-out", "--out", str(tmp_path / "out")]
    assert magnet_main(argv) == 1
    assert "no_such_column" in "".join("".join(capsys.readouterr()).split())  # the console folds long lines
    (tmp_path / "fixable.py").write_text(good)
    sys.modules.pop("fixable", None)
    assert magnet_main(argv) == 0
    out, err = capsys.readouterr()
    assert "no_such_column" not in "".join((out + err).split()) and "wrote leaderboard.json" in out, out + err


def test_without_a_terminal_progress_lines_go_to_stderr_and_warnings_print_once(demo_root, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status = magnet_main(["benchmark", "--root-dir", demo_root, "--no-builtin", "--predictor", PREDICTOR,
                          "--predictor", "predictors.model_mean:ModelMean", "--num-eval-samples", "1000"])
    err = capsys.readouterr().err
    assert status == 0, err
    assert "ExampleRandomPredictor / kfold: 5 of 5 folds done" in err, err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == len(set(warnings)) >= 1, err


def test_help_teaches(capsys):
    import argparse

    from magnet.cli.main import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    for argv in (["--help"], *([name, "--help"] for name in commands)):
        with pytest.raises(SystemExit):
            magnet_main(argv)
        out = " ".join(capsys.readouterr().out.split())
        assert "``" not in out and "examples:" in out, (argv, out)  # no RST markup; an example or two
    # a one-line description of every option and argument of every command (issue 30, item 4)
    undescribed = {name: [a.option_strings[-1] if a.option_strings else a.dest for a in p._actions
                          if not a.help and a.dest != "help"] for name, p in commands.items()}
    assert not any(undescribed.values()), undescribed
    with pytest.raises(SystemExit):
        magnet_main(["benchmark", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "built-in predictors: RevealedSampleMean" in out and "leave-one-model-out: each model's runs" in out
    assert "seeds the folds" in out and "damaged runs" in out

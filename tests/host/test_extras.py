"""Optional extras (issue 16): a feature whose library is not installed fails in one line naming the
extra that installs it, and everything else works without it. A library is made missing here as if
it were not installed: None in ``sys.modules`` makes its import fail as a missing module's does."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from taskhub import UserError, require_extra
from taskhub.cli import main

REPO = Path(__file__).resolve().parents[2]
QUIET = ["trainer.max_epochs=1", "trainer.device=cpu", "trainer.progress=none", "trainer.num_threads=1"]


def missing(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_require_extra_imports_or_names_the_extra(tmp_path, monkeypatch):
    assert require_extra("json", "hf", "x") is json
    with pytest.raises(UserError) as info:
        require_extra("taskhub_no_such_library.sub", "speech-beam", "task.decoder.type=beam",
                      package="no-such-library", instead="task.decoder.type=greedy")
    assert str(info.value) == ("task.decoder.type=beam needs no-such-library: pip install 'taskhub-dl[speech-beam]' "
                               "(or use task.decoder.type=greedy)")
    with pytest.raises(UserError, match=r"^model=fancy needs taskhub-no-such-library: pip install 'taskhub-line\[fancy\]'$"):
        require_extra("taskhub_no_such_library", "fancy", "model=fancy", distribution="taskhub-line")  # a plugin's own
    # Installed but broken (a wheel built for another numpy) is not called missing.
    (tmp_path / "taskhub_broken_library.py").write_text("raise ImportError('built against numpy 1.x')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UserError, match=r"^dataset=parquet needs taskhub-broken-library, which is installed but does "
                                        r"not import \(built against numpy 1\.x\); reinstall it: "
                                        r"pip install 'taskhub-dl\[parquet\]'$"):
        require_extra("taskhub_broken_library", "parquet", "dataset=parquet")


def test_text_transformer_without_transformers(tmp_path, capsys, monkeypatch):
    import taskhub_text.task  # noqa: F401  (first: torchmetrics imports transformers when its metadata is there)

    missing(monkeypatch, "transformers")
    assert main(["run", "task=text", "model=transformer", "dataset.num_samples=200", *QUIET,
                 f"hydra.run.dir={tmp_path}"]) == 2
    assert one_line(capsys) == "error: model=transformer needs transformers: pip install 'taskhub-dl[hf]'"
    assert not (tmp_path / "checkpoints").exists()


def test_other_hugging_face_features_without_transformers(monkeypatch):
    from taskhub_speech.models import Wav2Vec2
    from taskhub_text.datasets import hf
    from taskhub_text.tokenization import pretrained_tokenizer

    missing(monkeypatch, "transformers", "datasets")
    with pytest.raises(UserError, match=r"^model=wav2vec2 needs transformers: pip install 'taskhub-dl\[hf\]'$"):
        Wav2Vec2(num_features=1, vocab_size=8)
    with pytest.raises(UserError, match=r"^task\.tokenizer\.pretrained=bert-base-uncased \(no tokenizer\.json there\) "
                                        r"needs transformers: pip install 'taskhub-dl\[hf\]'$"):
        pretrained_tokenizer("bert-base-uncased")
    with pytest.raises(UserError, match=r"^dataset=hf needs datasets: pip install 'taskhub-dl\[hf\]'$"):
        hf("imdb")


def test_parquet_without_pyarrow(tmp_path, capsys, monkeypatch):
    from taskhub_tabular.task import read_rows

    data = tmp_path / "train.parquet"
    data.write_bytes(b"PAR1")  # never read: the missing library is found first
    missing(monkeypatch, "pyarrow")
    assert main(["run", "task=tabular", "dataset=parquet", f"dataset.train={data}", "dataset.label=y", *QUIET,
                 f"hydra.run.dir={tmp_path / 'run'}"]) == 2
    assert one_line(capsys) == "error: dataset=parquet needs pyarrow: pip install 'taskhub-dl[parquet]'"
    with pytest.raises(UserError, match=r"^input=.*train\.parquet \(a parquet file\) needs pyarrow: "
                                        r"pip install 'taskhub-dl\[parquet\]'$"):
        read_rows(data)


def test_speech_bpe_units_without_sentencepiece(tmp_path, capsys, monkeypatch):
    missing(monkeypatch, "sentencepiece")
    assert main(["run", "task=speech", "task.units=bpe", *QUIET, f"hydra.run.dir={tmp_path}"]) == 2
    assert one_line(capsys) == "error: task.units=bpe needs sentencepiece: pip install 'taskhub-dl[bpe]'"


def test_cmaes_sampler_without_cmaes(monkeypatch):
    pytest.importorskip("optuna")
    from taskhub_sweep.study import build_sampler

    missing(monkeypatch, "cmaes")
    with pytest.raises(UserError, match=r"^sweep\.sampler=cmaes needs cmaes: pip install 'taskhub-dl\[sweeps\]'$"):
        build_sampler(OmegaConf.create({"sampler": "cmaes"}))


# A fresh interpreter (this one has optuna imported and the sweep plugin registered with it), without the
# sweeps and launchers extras: no optuna, no cmaes, no hydra_plugins package at all.
WITHOUT_OPTUNA = ("import sys; sys.modules.update(dict.fromkeys(['optuna', 'cmaes', 'hydra_plugins'])); "
                  "from taskhub.cli import main; sys.exit(main(sys.argv[1:]))")


def without_optuna(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_OPTUNA, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_without_optuna_runs_work_and_sweep_optuna_is_one_line(tmp_path):
    listed = without_optuna("plugins", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "sweep" in [p["name"] for p in json.loads(listed.stdout)]
    tiny = ["task=vision", "model=mlp", "dataset.num_samples=200", "dataset.size=16", *QUIET]
    run = without_optuna("run", *tiny, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "run" / "summary.json").is_file()
    sweep = without_optuna("run", "-m", *tiny, "sweep=optuna", "optimizer.lr=tag(log, interval(1e-4, 1e-1))",
                           f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert sweep.returncode == 2, sweep.stderr[-2000:]
    assert sweep.stderr.strip().splitlines() == ["error: sweep=optuna needs optuna: pip install 'taskhub-dl[sweeps]'"]


def test_dev_and_all_install_every_extra():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    features = set(extras) - {"all", "dev", "bench"}  # bench: one benchmark's comparison library
    assert {"hf", "sweeps", "parquet", "bpe", "tracking", "serve", "speech-beam"} <= features

    def included(extra: str) -> set[str]:
        names = set()
        for requirement in extras[extra]:
            if requirement.startswith("taskhub-dl["):
                names |= set(requirement[len("taskhub-dl["):requirement.index("]")].split(","))
        return names

    assert included("all") == features
    assert "all" in included("dev")



def test_conformance_skips_a_model_whose_extra_is_missing_and_says_so(monkeypatch):
    """A plugin's conformance suite in an environment without an optional library: the model that
    needs it is reported (a warning naming the extra), the other pairs are still checked."""
    from taskhub.errors import MissingExtra
    from taskhub.testing import PluginConformance

    missing(monkeypatch, "transformers")
    with pytest.raises(MissingExtra):  # still a UserError: one line on the command line
        require_extra("transformers", "hf", "model=transformer")

    class TextSuite(PluginConformance):
        task = "text"
        overrides = ("dataset.num_samples=200", "trainer.num_threads=1")

    with pytest.warns(UserWarning, match=r"model=transformer dataset=reviews not checked: .*taskhub-dl\[hf\]"):
        TextSuite().test_every_model_and_dataset_pair_builds_and_steps()

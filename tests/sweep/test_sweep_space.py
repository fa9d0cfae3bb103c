"""Hydra's sweep syntax becomes Optuna distributions, and trial parameters become overrides again."""
from __future__ import annotations

import optuna
import pytest

from taskhub import UserError
from taskhub_sweep.space import as_overrides, parse


def test_sweep_space_from_hydra_syntax():
    space = parse(["task=vision", "optimizer.lr=tag(log, interval(1e-4, 1e-1))", "model=choice(cnn,mlp)",
                   "dataset.batch_size=range(16,65,16)", "trainer.max_epochs=tag(int, interval(1, 4))", "seed=1,2"],
                  {"optimizer.lr": "0.5", "optimizer.weight_decay": "interval(0, 0.1)"})
    d = space.distributions
    assert d["optimizer.lr"] == optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)  # command line wins
    assert d["model"] == optuna.distributions.CategoricalDistribution(["cnn", "mlp"])
    assert d["dataset.batch_size"] == optuna.distributions.IntDistribution(16, 64, step=16)
    assert d["trainer.max_epochs"] == optuna.distributions.IntDistribution(1, 4)
    assert d["seed"] == optuna.distributions.CategoricalDistribution([1, 2])
    assert d["optimizer.weight_decay"] == optuna.distributions.FloatDistribution(0.0, 0.1)
    assert space.fixed == ["task=vision"]
    assert parse(["dataset.batch_size=range(16,65,16)", "m=a,b"]).grid() == {
        "dataset.batch_size": [16, 32, 48, 64], "m": ["a", "b"]}


def test_sweep_space_grid_rejects_intervals():
    with pytest.raises(UserError, match="interval"):
        parse(["optimizer.lr=interval(0.1, 1)"]).grid()


def test_sweep_overrides_round_trip():
    assert as_overrides({"optimizer.lr": 0.001, "model": "mlp", "flag": True, "x": None, "name": "a b"}) == [
        "optimizer.lr=0.001", "model=mlp", "flag=true", "x=null", "name='a b'"]

"""The demo: a shortened run trains the digits classifier, logs to TensorBoard, checkpoints
and resumes."""

from __future__ import annotations

import glob
import os

import pytest

import gpuarr
from gpuarr import demo


def _tags(logdir: str) -> dict:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(logdir, size_guidance={"scalars": 0, "histograms": 0, "images": 0})
    acc.Reload()
    return acc


@pytest.mark.slow
def test_demo_trains_logs_checkpoints_and_resumes(tmp_path, capsys):
    logdir = str(tmp_path / "run")
    args = ["--logdir", logdir, "--seed", "0", "--no-progress"]
    out = demo.main(["--epochs", "8", *args])
    assert out["test_accuracy"] >= 0.95
    assert out["epoch"] == 8
    printed = capsys.readouterr().out
    assert "final test accuracy" in printed
    assert f"tensorboard --logdir {logdir}" in printed

    ckpt_path = os.path.join(logdir, demo.CHECKPOINT)
    ckpt = gpuarr.load(ckpt_path)
    assert set(ckpt) >= {"model", "optimizer", "epoch"} and ckpt["epoch"] == 8
    assert set(ckpt["optimizer"]) == {"state", "param_groups"}

    acc = _tags(logdir)
    scalars = set(acc.Tags()["scalars"])
    assert {"train/loss", "train/accuracy", "train/learning_rate", "test/loss",
            "test/accuracy"} <= scalars
    assert any(t.startswith("weights/") for t in acc.Tags()["histograms"])
    assert "inputs/train_digits" in acc.Tags()["images"]
    lrs = [e.value for e in acc.Scalars("train/learning_rate")]
    assert len(lrs) == 8 and lrs[0] == pytest.approx(1e-2) and lrs[-1] < lrs[0]

    # --resume continues from epoch 8 to 10, with the schedule and optimizer state restored
    more = demo.main(["--epochs", "10", "--resume", *args])
    assert more["epoch"] == 10
    assert gpuarr.load(ckpt_path)["epoch"] == 10
    assert more["test_accuracy"] >= 0.95
    acc = _tags(logdir)
    assert [e.step for e in acc.Scalars("test/accuracy")] == list(range(10))
    # training picked up where it stopped: the first resumed losses are those of a trained
    # model, not of a fresh one (about ln 10 = 2.3)
    losses = {e.step: e.value for e in acc.Scalars("train/loss")}
    steps_per_epoch = len(losses) // 10
    assert max(losses[8 * steps_per_epoch + i] for i in range(3)) < 0.6
    assert len(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))) == 2


def test_demo_resume_without_checkpoint_fails(tmp_path):
    with pytest.raises(SystemExit, match="no checkpoint"):
        demo.main(["--epochs", "1", "--resume", "--logdir", str(tmp_path), "--no-progress"])


def test_demo_device_choice(tmp_path):
    args = ["--epochs", "1", "--logdir", str(tmp_path), "--no-progress", "--device", "cuda"]
    if gpuarr.cuda.is_available():
        out = demo.main(args)
        assert out["test_accuracy"] > 0.8
    else:
        with pytest.raises(SystemExit, match="--device cuda: CUDA is not available"):
            demo.main(args)
    out = demo.main(["--epochs", "1", "--logdir", str(tmp_path / "auto"), "--no-progress",
                     "--device", "auto"])
    assert out["test_accuracy"] > 0.8


# the placeholder compile's warning (it returns the step unchanged) is expected, not news
@pytest.mark.filterwarnings("ignore:gpuarr.compile.*no compiler yet:UserWarning")
def test_demo_compile_flag_times_eager_and_compiled_steps(tmp_path, capsys):
    out = demo.main(["--epochs", "1", "--logdir", str(tmp_path), "--no-progress", "--compile"])
    assert out["test_accuracy"] > 0.8  # training goes through the compiled step
    times = out["step_seconds"]
    assert set(times) == {"eager", "compiled"} and all(t > 0 for t in times.values())
    printed = capsys.readouterr().out
    assert "training step (batch 32, median of" in printed
    assert "eager" in printed and "compiled" in printed
    assert "gpuarr.compile" in printed  # what compile did: its stats, or that it passed through
    assert "ran eagerly because" not in printed  # the demo's step is pure tensor work
    # without the flag, no step timing
    plain = demo.main(["--epochs", "1", "--logdir", str(tmp_path / "plain"), "--no-progress"])
    assert "step_seconds" not in plain
    # the same training either way (a prediction or two may flip if a replay rounds differently)
    assert plain["test_accuracy"] == pytest.approx(out["test_accuracy"], abs=2 / 359)

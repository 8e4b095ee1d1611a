"""gpuarr.tensorboard never imports TensorFlow (even when installed), PyTorch or CuPy."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tb_helpers import subprocess_env

CHILD = textwrap.dedent(
    """
    import json, os, sys
    marker = sys.argv[2]
    import gpuarr.tensorboard
    from gpuarr.utils.tensorboard import SummaryWriter
    import numpy as np

    heavy = ("tensorflow", "torch", "cupy")
    after_import = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
    with SummaryWriter(sys.argv[1]) as w:
        w.add_scalar("s", 1.0, 0)
        w.add_scalar("n", 1.0, 0, new_style=True)
        w.add_scalars("m", {"a": 1.0}, 0)
        w.add_histogram("h", np.arange(10.0), 0)
        w.add_histogram_raw("r", 0, 1, 2, 1, 1, [1.0], [2])
        w.add_image("i", np.zeros((3, 4, 4)), 0)
        w.add_images("j", np.zeros((2, 3, 4, 4)), 0)
        w.add_text("t", "x", 0)
        w.add_pr_curve("p", np.array([0, 1]), np.array([0.2, 0.9]), 0)
        w.add_hparams({"lr": 0.1}, {"acc": 1.0}, run_name="hp")
        w.flush()
    after_logging = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
    tried_tf = os.path.exists(marker)
    # Control: TensorBoard's own lazy `tf` does try the (fake) TensorFlow on first use.
    import tensorboard.compat
    tensorboard.compat.tf.__version__
    print(json.dumps({
        "same_class": SummaryWriter is gpuarr.tensorboard.SummaryWriter,
        "after_import": after_import,
        "after_logging": after_logging,
        "tried_tf": tried_tf,
        "control_tried_tf": os.path.exists(marker),
    }))
    """
)

FAKE_TF = textwrap.dedent(
    """
    import os
    open({marker!r}, "w").close()
    raise ImportError("this fake TensorFlow records that someone tried to import it")
    """
)


def test_no_tensorflow_torch_or_cupy(tmp_path):
    fake = tmp_path / "site"
    (fake / "tensorflow").mkdir(parents=True)
    marker = tmp_path / "tensorflow-was-imported"
    (fake / "tensorflow" / "__init__.py").write_text(FAKE_TF.format(marker=str(marker)))
    env = subprocess_env()
    env["PYTHONPATH"] = str(fake) + ":" + env["PYTHONPATH"]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "run"), str(marker)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["same_class"]
    assert result["after_import"] == []
    assert result["after_logging"] == []
    assert result["tried_tf"] is False
    assert result["control_tried_tf"] is True  # the detector works

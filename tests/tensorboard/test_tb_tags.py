"""Tags are checked at the call: a tag that cannot be stored raises there, not at flush.

Tags (and other strings) go into the event file as UTF-8, so a ``str`` holding a lone
surrogate (e.g. from ``os.fsdecode`` of undecodable bytes) cannot be stored.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from tb_helpers import accumulate, summary_events

BAD_TAGS = [
    ("\ud800", ValueError, "lone surrogate"),
    ("loss/\udcff/train", ValueError, "lone surrogate"),
    (b"loss", TypeError, "must be a str"),
    (3, TypeError, "must be a str"),
    (None, TypeError, "must be a str"),
    ("", ValueError, "must not be empty"),
]

CALLS = {
    "add_scalar": lambda w, t: w.add_scalar(t, 1.0, 0),
    "add_scalar_new_style": lambda w, t: w.add_scalar(t, 1.0, 0, new_style=True),
    "add_scalars_main_tag": lambda w, t: w.add_scalars(t, {"a": 1.0}, 0),
    "add_scalars_key": lambda w, t: w.add_scalars("m", {"a": 1.0, t: 2.0}, 0),
    "add_histogram": lambda w, t: w.add_histogram(t, np.arange(4.0), 0),
    "add_histogram_raw": lambda w, t: w.add_histogram_raw(t, 0, 1, 2, 1, 1, [1.0], [2], 0),
    "add_image": lambda w, t: w.add_image(t, np.zeros((3, 2, 2)), 0),
    "add_images": lambda w, t: w.add_images(t, np.zeros((1, 3, 2, 2)), 0),
    "add_figure": lambda w, t: w.add_figure(t, None, 0),  # the tag is checked first
    "add_text": lambda w, t: w.add_text(t, "hello", 0),
    "add_pr_curve": lambda w, t: w.add_pr_curve(t, np.array([0, 1]), np.array([0.2, 0.8]), 0),
    "add_hparams_metric": lambda w, t: w.add_hparams({"lr": 0.1}, {t: 1.0}, run_name="hp"),
    "add_hparams_name": lambda w, t: w.add_hparams({t: 0.1}, {"m": 1.0}, run_name="hp"),
}


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("tag,exc,match", BAD_TAGS)
def test_bad_tag_raises_at_the_call(writer, call, tag, exc, match):
    if call == "add_hparams_name" and tag == "":
        CALLS[call](writer, tag)  # an empty hparam name is allowed (as in torch): no error
        return
    with pytest.raises(exc, match=match):
        CALLS[call](writer, tag)
    writer.flush()  # nothing bad was queued: the flush succeeds
    assert summary_events(writer.get_logdir()) == []


def test_surrogate_error_names_the_problem(writer):
    with pytest.raises(ValueError, match=r"tag 'loss\\udc80' .*lone surrogate '\\udc80' at "
                                          r"index 4"):
        writer.add_scalar("loss\udc80", 1.0, 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda w: w.add_text("t", "bad \ud800 text", 0),
        lambda w: w.add_hparams({"opt": "sgd\ud800"}, {"m": 1.0}, run_name="hp"),
        lambda w: w.add_hparams({"lr": 0.1}, {"m": 1.0}, run_name="hp\ud800"),
    ],
)
def test_other_strings_with_surrogates_raise_at_the_call(writer, call):
    with pytest.raises(ValueError, match="lone surrogate"):
        call(writer)
    writer.flush()
    assert summary_events(writer.get_logdir()) == []


def test_unicode_tags_keep_working(writer):
    tags = ["损失/训练", "émoji 🚀", "Ωmega", "a" * 300, "tab\tand\nnewline"]
    for i, tag in enumerate(tags):
        writer.add_scalar(tag, float(i), i)
        writer.add_text(tag, f"text {tag}", i)
    writer.flush()
    acc = accumulate(writer.get_logdir())
    for i, tag in enumerate(tags):
        assert [(e.step, e.value) for e in acc.Scalars(tag)] == [(i, float(i))]


@pytest.mark.parametrize(
    "call",
    [
        lambda w: w.add_scalars("m\0", {"a": 1.0}, 0),
        lambda w: w.add_scalars("m", {"a": 1.0, "b\0": 2.0}, 0),
        lambda w: w.add_hparams({"lr": 0.1}, {"m": 1.0}, run_name="hp\0"),
    ],
)
def test_nul_in_a_sub_run_name_raises_before_anything_is_written(writer, call):
    with pytest.raises(ValueError, match="NUL"):
        call(writer)
    writer.flush()
    assert summary_events(writer.get_logdir()) == []
    assert [d for d in os.listdir(writer.get_logdir()) if not d.startswith("events.")] == []

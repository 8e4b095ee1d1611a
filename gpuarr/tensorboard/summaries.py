"""Builders of ``Summary`` protocol buffers, one per kind of logged data.

All messages come from the ``tensorboard`` package's generated protobuf modules (``summary_pb2``,
``tensor_pb2`` and the plugins' ``plugin_data_pb2``/``api_pb2``); only those modules are
imported, never ``tensorboard.compat.tf`` or anything that would try to load TensorFlow.
The layouts follow what TensorBoard's plugins read and what ``torch.utils.tensorboard`` writes.
"""

from __future__ import annotations

import io
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
from google.protobuf import struct_pb2
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
from tensorboard.plugins.pr_curve.plugin_data_pb2 import PrCurvePluginData
from tensorboard.plugins.text.plugin_data_pb2 import TextPluginData

from ._convert import check_text, to_float
from ._prepare import image_to_uint8, make_grid

__all__ = [
    "scalar",
    "histogram",
    "image",
    "encode_png",
    "text",
    "pr_curve",
    "hparams",
    "HPARAMS_EXPERIMENT_TAG",
    "HPARAMS_SESSION_START_TAG",
    "HPARAMS_SESSION_END_TAG",
]

# Tags and version the hparams plugin looks for (tensorboard.plugins.hparams.metadata).
HPARAMS_EXPERIMENT_TAG = "_hparams_/experiment"
HPARAMS_SESSION_START_TAG = "_hparams_/session_start_info"
HPARAMS_SESSION_END_TAG = "_hparams_/session_end_info"
_HPARAMS_VERSION = 0


def _plugin_metadata(name: str, content: bytes = b"") -> SummaryMetadata:
    plugin_data = SummaryMetadata.PluginData(plugin_name=name, content=content)
    return SummaryMetadata(plugin_data=plugin_data)


def scalar(arg: tuple[str, float]) -> Summary:
    """``(tag, value)`` -> a ``simple_value`` summary (what the scalars dashboard reads).

    Example:
        >>> scalar(("loss", 0.5)).value[0].simple_value
        0.5
    """
    tag, value = arg
    return Summary(value=[Summary.Value(tag=tag, simple_value=value)])


def histogram(arg: tuple) -> Summary:
    """``(tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts)`` -> summary."""
    tag, vmin, vmax, num, vsum, sum_squares, limits, counts = arg
    histo = HistogramProto(
        min=vmin,
        max=vmax,
        num=num,
        sum=vsum,
        sum_squares=sum_squares,
        bucket_limit=np.asarray(limits, dtype=np.float64).tolist(),
        bucket=np.asarray(counts, dtype=np.float64).tolist(),
    )
    return Summary(value=[Summary.Value(tag=tag, histo=histo)])


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of a ``(H, W, 3|4)`` uint8 array, encoded with Pillow."""
    from PIL import Image  # lazy: Pillow is only needed once an image is logged

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")  # (H, W, 3) -> RGB, (H, W, 4) -> RGBA
    return buffer.getvalue()


def image(arg: tuple[str, np.ndarray]) -> Summary:
    """``(tag, nhwc)`` -> an image summary; a batch is tiled into a grid first.

    Runs on the writer thread: the float-to-uint8 conversion and the PNG encoding are the
    expensive parts of logging an image.
    """
    tag, nhwc = arg
    pixels = image_to_uint8(make_grid(nhwc))
    height, width, channels = pixels.shape
    img = Summary.Image(
        height=height, width=width, colorspace=channels, encoded_image_string=encode_png(pixels)
    )
    return Summary(value=[Summary.Value(tag=tag, image=img)])


def text(arg: tuple[str, str]) -> Summary:
    """``(tag, text)`` -> a text-plugin summary under ``<tag>/text_summary`` (as torch)."""
    tag, string = arg
    tensor = TensorProto(
        dtype="DT_STRING",
        string_val=[string.encode("utf-8")],
        tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]),
    )
    metadata = _plugin_metadata("text", TextPluginData(version=0).SerializeToString())
    value = Summary.Value(tag=tag + "/text_summary", metadata=metadata, tensor=tensor)
    return Summary(value=[value])


def pr_curve(arg: tuple[str, np.ndarray, int]) -> Summary:
    """``(tag, data (6, num_thresholds), num_thresholds)`` -> a PR-curve-plugin summary."""
    tag, data, num_thresholds = arg
    tensor = TensorProto(
        dtype="DT_FLOAT",
        float_val=np.asarray(data, dtype=np.float64).reshape(-1).tolist(),
        tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=s) for s in data.shape]),
    )
    content = PrCurvePluginData(version=0, num_thresholds=num_thresholds).SerializeToString()
    metadata = _plugin_metadata("pr_curves", content)
    return Summary(value=[Summary.Value(tag=tag, metadata=metadata, tensor=tensor)])


def _hparam_value(name: str, value: Any) -> tuple[str, Any]:
    """(``DataType`` name, Python value) of one hyperparameter; bool is checked before int."""
    if isinstance(value, (bool, np.bool_)):
        return "DATA_TYPE_BOOL", bool(value)
    if isinstance(value, str):
        return "DATA_TYPE_STRING", check_text(value, f"add_hparams(): hparam_dict[{name!r}]")
    if isinstance(value, numbers.Real):
        return "DATA_TYPE_FLOAT64", float(value)
    if all(hasattr(value, a) for a in ("detach", "cpu", "numpy")) or isinstance(value, np.ndarray):
        return "DATA_TYPE_FLOAT64", to_float(value, f"add_hparams(): hparam_dict[{name!r}]")
    raise ValueError(
        f"add_hparams(): hparam_dict[{name!r}] must be int, float, str, bool, a one-element "
        f"tensor or None, got {type(value).__name__}"
    )


def _struct_value(kind: str, value: Any) -> struct_pb2.Value:
    if kind == "DATA_TYPE_BOOL":
        return struct_pb2.Value(bool_value=value)
    if kind == "DATA_TYPE_STRING":
        return struct_pb2.Value(string_value=value)
    return struct_pb2.Value(number_value=value)


def hparams(
    hparam_dict: Mapping[str, Any],
    metric_names: list[str],
    hparam_domain_discrete: Mapping[str, list] | None = None,
) -> tuple[Summary, Summary, Summary]:
    """The experiment, session-start and session-end summaries of the hparams plugin.

    Args:
        hparam_dict: Hyperparameter name -> bool, str, number or one-element tensor
            (None values are skipped, as torch does).
        metric_names: Tags of the metrics to show next to the hyperparameters.
        hparam_domain_discrete: Optional name -> list of every value the parameter can take.

    Returns:
        ``(experiment, session_start_info, session_end_info)`` summaries.

    Raises:
        TypeError: if a discrete domain does not match its hyperparameter.
        ValueError: if a value has an unsupported type, or a name or string value holds a
            lone surrogate (it cannot be stored as UTF-8).
    """
    domains = dict(hparam_domain_discrete or {})
    for name, domain in domains.items():
        if name not in hparam_dict or not isinstance(domain, list):
            raise TypeError(
                f"add_hparams(): hparam_domain_discrete[{name!r}] must be a list and {name!r} "
                "must be a key of hparam_dict"
            )
    start = plugin_data_pb2.SessionStartInfo()
    infos = []
    for name, value in hparam_dict.items():
        if not isinstance(name, str):
            raise TypeError(
                f"add_hparams(): hparam name must be a str, got {type(name).__name__} {name!r}"
            )
        check_text(name, "add_hparams(): hparam name")
        if value is None:
            continue
        kind, value = _hparam_value(name, value)
        start.hparams[name].CopyFrom(_struct_value(kind, value))
        info = api_pb2.HParamInfo(name=name, type=api_pb2.DataType.Value(kind))
        if name in domains:
            try:
                converted = [_hparam_value(name, d) for d in domains[name]]
            except ValueError as exc:
                raise TypeError(str(exc)) from None
            if any(k != kind for k, _ in converted):
                raise TypeError(
                    f"add_hparams(): hparam_domain_discrete[{name!r}] must hold values of the "
                    f"same type as hparam_dict[{name!r}]"
                )
            info.domain_discrete.CopyFrom(
                struct_pb2.ListValue(values=[_struct_value(k, v) for k, v in converted])
            )
        infos.append(info)
    experiment = api_pb2.Experiment(
        hparam_infos=infos,
        metric_infos=[api_pb2.MetricInfo(name=api_pb2.MetricName(tag=m)) for m in metric_names],
    )
    end = plugin_data_pb2.SessionEndInfo(status=api_pb2.Status.Value("STATUS_SUCCESS"))

    def wrap(tag: str, **content: Any) -> Summary:
        data = plugin_data_pb2.HParamsPluginData(version=_HPARAMS_VERSION, **content)
        metadata = _plugin_metadata("hparams", data.SerializeToString())
        return Summary(value=[Summary.Value(tag=tag, metadata=metadata)])

    return (
        wrap(HPARAMS_EXPERIMENT_TAG, experiment=experiment),
        wrap(HPARAMS_SESSION_START_TAG, session_start_info=start),
        wrap(HPARAMS_SESSION_END_TAG, session_end_info=end),
    )

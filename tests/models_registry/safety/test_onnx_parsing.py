"""Issue #11, hole 3: ONNX external data hidden from the scanner's protobuf walker.

An over-long varint tag (bits above 32) and a ``data_location`` of 2**32+1 made the old hand
walker see no external data, while onnxruntime's C++ parser (keeping the low 32 bits) followed
it and read a file from the model's folder.  The verdict now comes from the official onnx
protobuf definitions, parsed in a limited child process; any external data anywhere is refused.
"""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.external_data_helper import set_external_data

from models_registry.safety import ScanLimits
from models_registry.safety.onnx_check import parse_onnx_isolated

from . import payloads as p
from .test_benign_models import assert_safe
from .test_pickle_payloads import assert_refused, scan

EXTERNAL = "onnx_external_data"


def add_model_bytes(tensor_extra: bytes) -> bytes:
    """Y = X + W with W float[3], hand-encoded; ``tensor_extra`` is appended to W's TensorProto."""
    dims = p.pb(1, p.pb(2, "N")) + p.pb(1, p.pb(1, 3))
    ttype = p.pb(1, p.pb(1, 1) + p.pb(2, dims))
    node = p.pb(1, "X") + p.pb(1, "W") + p.pb(2, "Y") + p.pb(3, "n0") + p.pb(4, "Add")
    tensor = p.pb(1, 3) + p.pb(2, 1) + p.pb(8, "W") + tensor_extra
    graph = (
        p.pb(1, node)
        + p.pb(2, "g")
        + p.pb(5, tensor)
        + p.pb(11, p.pb(1, "X") + p.pb(2, ttype))
        + p.pb(12, p.pb(1, "Y") + p.pb(2, ttype))
    )
    return p.pb(1, 8) + p.pb(2, "hand-made") + p.pb(7, graph) + p.pb(8, p.pb(2, 13))


def hidden_external_data(location: str = "weights.bin") -> bytes:
    """W's external_data entry behind a tag with bit 32 set, and data_location = 2**32 + 1."""
    entry = p.pb(1, "location") + p.pb(2, location)
    overlong_tag = p._varint((1 << 32) | (13 << 3) | 2)  # field 13 (external_data), bytes
    return add_model_bytes(overlong_tag + p._varint(len(entry)) + entry + p._varint(14 << 3) + p._varint(2**32 + 1))


def test_overlong_varint_tag_and_data_location_2_pow_32_plus_1_are_refused_as_external_data(write):
    data = hidden_external_data()
    assert len(p._varint((1 << 32) | (13 << 3) | 2)) == 5
    report = scan(write, "model.onnx", data)
    assert_refused(report, EXTERNAL, "data_location=1")
    assert "external files" in next(i for i in report.reasons if i.code == EXTERNAL).message


def test_positive_control_onnxruntime_really_reads_the_hidden_external_file(tmp_path):
    (tmp_path / "weights.bin").write_bytes(np.array([7, 8, 9], dtype=np.float32).tobytes())
    (tmp_path / "model.onnx").write_bytes(hidden_external_data())
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    out = session.run(None, {"X": np.zeros((1, 3), dtype=np.float32)})[0]
    assert out.tolist() == [[7.0, 8.0, 9.0]]  # the file next to the model was read


def test_data_location_2_pow_32_plus_1_alone_is_refused_by_the_official_parse(write):
    data = add_model_bytes(p._varint(14 << 3) + p._varint(2**32 + 1))
    assert_refused(scan(write, "model.onnx", data), EXTERNAL, "initializer[0](W): data_location=1")


def _add_model(**graph_kw) -> onnx.ModelProto:
    X = helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 3])
    Y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 3])
    W = numpy_helper.from_array(np.array([1, 2, 3], np.float32), "W")
    graph = helper.make_graph([helper.make_node("Add", ["X", "W"], ["Y"])], "g", [X], [Y], [W], **graph_kw)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def test_onnx_saved_with_external_data_by_the_onnx_package_is_refused(tmp_path):
    path = tmp_path / "model.onnx"
    onnx.save_model(
        _add_model(),
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )
    from models_registry.safety import scan_model_file

    assert_refused(scan_model_file(path, "model.onnx"), EXTERNAL, "location=weights.bin")


def _external(tensor: TensorProto, location="../secret.bin") -> TensorProto:
    set_external_data(tensor, location=location)  # sets data_location = EXTERNAL
    tensor.ClearField("raw_data")
    return tensor


def _tensor(name="C"):
    return numpy_helper.from_array(np.array([1, 2, 3], np.float32), name)


def _model_with_external_in(place: str) -> onnx.ModelProto:
    X = helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 3])
    Y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 3])
    if place == "constant_attribute":
        nodes = [
            helper.make_node("Constant", [], ["C"], value=_external(_tensor())),
            helper.make_node("Add", ["X", "C"], ["Y"]),
        ]
        return helper.make_model(helper.make_graph(nodes, "g", [X], [Y]), opset_imports=[helper.make_opsetid("", 13)])
    if place == "sparse_initializer":
        values = _external(numpy_helper.from_array(np.array([5.0], np.float32), "S"))
        indices = numpy_helper.from_array(np.array([1], np.int64), "S_idx")
        sparse = helper.make_sparse_tensor(values, indices, [3])
        model = _add_model(sparse_initializer=[sparse])
        return model
    if place == "if_subgraph":
        cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
        out = helper.make_tensor_value_info("Z", TensorProto.FLOAT, [3])
        then_g = helper.make_graph(
            [helper.make_node("Identity", ["T"], ["Z"])], "then", [], [out], [_external(_tensor("T"))]
        )
        else_g = helper.make_graph([helper.make_node("Identity", ["E"], ["Z"])], "else", [], [out], [_tensor("E")])
        nodes = [helper.make_node("If", ["cond"], ["Z"], then_branch=then_g, else_branch=else_g)]
        return helper.make_model(
            helper.make_graph(nodes, "g", [cond], [out]), opset_imports=[helper.make_opsetid("", 13)]
        )
    if place == "function":
        fn_node = helper.make_node("Constant", [], ["K"], value=_external(_tensor("K")))
        add = helper.make_node("Add", ["x", "K"], ["y"])
        function = helper.make_function("local.fn", "AddK", ["x"], ["y"], [fn_node, add], [helper.make_opsetid("", 13)])
        nodes = [helper.make_node("AddK", ["X"], ["Y"], domain="local.fn")]
        return helper.make_model(
            helper.make_graph(nodes, "g", [X], [Y]),
            functions=[function],
            opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("local.fn", 1)],
        )
    raise ValueError(place)


@pytest.mark.parametrize("place", ["constant_attribute", "sparse_initializer", "if_subgraph", "function"])
def test_external_data_anywhere_in_the_model_is_refused(write, place):
    model = _model_with_external_in(place)
    report = scan(write, "model.onnx", model.SerializeToString())
    assert_refused(report, EXTERNAL, "secret.bin")


def test_external_data_in_a_loop_body_nested_in_an_if_branch_is_refused(write):
    out = helper.make_tensor_value_info("Z", TensorProto.FLOAT, [3])
    cond_in = helper.make_tensor_value_info("c", TensorProto.BOOL, [])
    iter_in = helper.make_tensor_value_info("i", TensorProto.INT64, [])
    body = helper.make_graph(
        [helper.make_node("Identity", ["c"], ["c_out"]), helper.make_node("Identity", ["T"], ["Z"])],
        "body",
        [iter_in, cond_in],
        [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []), out],
        [_external(_tensor("T"), "deep.bin")],
    )
    loop = helper.make_node("Loop", ["", "cond"], ["Z"], body=body)
    then_g = helper.make_graph([loop], "then", [], [out])
    else_g = helper.make_graph([helper.make_node("Identity", ["E"], ["Z"])], "else", [], [out], [_tensor("E")])
    cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
    graph = helper.make_graph(
        [helper.make_node("If", ["cond"], ["Z"], then_branch=then_g, else_branch=else_g)], "g", [cond], [out]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    assert_refused(scan(write, "model.onnx", model.SerializeToString()), EXTERNAL, "deep.bin")


def test_fields_the_onnx_format_does_not_define_are_refused(write):
    data = p.onnx_identity_model() + p.pb(99, "hidden")
    assert_refused(scan(write, "model.onnx", data), "onnx_unknown_fields", "model")


def test_a_data_location_outside_the_enum_is_refused(write):
    # proto2 enums keep unknown values as unknown fields: the official parse reports them.
    assert_refused(scan(write, "model.onnx", add_model_bytes(p.pb(14, 2))), "onnx_unknown_fields")


def test_a_parser_that_runs_out_of_time_refuses_the_file(write):
    report = scan(write, "model.onnx", p.onnx_identity_model(), limits=ScanLimits(onnx_parse_timeout=0.001))
    assert_refused(report, "onnx_parse_timeout")


def test_a_parser_that_runs_out_of_memory_refuses_the_file(write):
    report = scan(write, "model.onnx", p.onnx_identity_model(), limits=ScanLimits(onnx_parse_memory=16 * 1024**2))
    assert_refused(report, "onnx_parse_crashed")


def test_the_parser_child_reports_the_facts_of_a_real_model(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(_add_model().SerializeToString())
    facts = parse_onnx_isolated(path, ScanLimits())
    assert facts["ok"] and facts["graph"] and facts["ir_version"] == 8 and facts["nodes"] == 1
    assert facts["external"] == [] and facts["unknown_fields"] == [] and facts["custom"] == []


def _ml_classifier() -> onnx.ModelProto:
    X = helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 2])
    label = helper.make_tensor_value_info("label", TensorProto.INT64, [None])
    probs = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])
    node = helper.make_node(
        "LinearClassifier",
        ["X"],
        ["label", "probabilities"],
        domain="ai.onnx.ml",
        coefficients=[1.0, -1.0, -1.0, 1.0],
        intercepts=[0.0, 0.0],
        classlabels_ints=[0, 1],
        post_transform="SOFTMAX",
    )
    graph = helper.make_graph([node], "clf", [X], [label, probs])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 1)])


def _if_model() -> onnx.ModelProto:
    out = helper.make_tensor_value_info("Z", TensorProto.FLOAT, [3])
    then_g = helper.make_graph([helper.make_node("Identity", ["T"], ["Z"])], "then", [], [out], [_tensor("T")])
    else_g = helper.make_graph([helper.make_node("Identity", ["E"], ["Z"])], "else", [], [out], [_tensor("E")])
    cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
    graph = helper.make_graph(
        [helper.make_node("If", ["cond"], ["Z"], then_branch=then_g, else_branch=else_g)], "g", [cond], [out]
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


@pytest.mark.parametrize(
    "build, feed",
    [
        (_add_model, {"X": np.zeros((2, 3), np.float32)}),
        (_ml_classifier, {"X": np.ones((2, 2), np.float32)}),
        (_if_model, {"cond": np.array(True)}),
    ],
)
def test_real_onnx_models_built_with_the_onnx_package_pass_and_run(write, build, feed):
    model = build()
    model.ir_version = min(model.ir_version, 9)
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    assert_safe(scan(write, "model.onnx", data), "onnx")
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    assert session.run(None, feed)

// The graph runtime on small graphs written by hand, with outputs worked out by hand: padding
// modes, Gemm's attributes, Softmax's opset change, the pools fovea's pool2d does not take, and
// the loader's refusals. The ONNX conformance suite (run_conformance.py) covers the rest.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "fovea/graph/graph_model.hpp"
#include "harness/compare.hpp"

using namespace fovea;
using graph::GraphValue;

namespace {

Tensor<float> values(const Shape& shape, std::vector<float> v) {
  Tensor<float> t(shape);
  REQUIRE(static_cast<int64_t>(v.size()) == t.numel());
  for (int64_t i = 0; i < t.numel(); ++i)
    t[i] = v[static_cast<size_t>(i)];
  return t;
}

// A graph weights file in memory: `nodes` is the JSON array of nodes, inputs are float.
SafeTensorsFile graph_file(const std::string& nodes, const std::vector<std::string>& inputs,
                           const std::vector<std::string>& outputs,
                           const std::map<std::string, Tensor<float>>& weights = {},
                           int opset = 13) {
  SafeTensorsWriter w;
  std::string inits, ins, outs;
  for (const auto& [name, t] : weights) {
    w.add(name, t);
    inits += (inits.empty() ? "" : ",") + std::string(R"({"name":")") + name + R"(","tensor":")" +
             name + R"(","kind":"float"})";
  }
  for (const std::string& i : inputs)
    ins += (ins.empty() ? "" : ",") + std::string(R"({"name":")") + i + R"(","dtype":"float"})";
  for (const std::string& o : outputs)
    outs += (outs.empty() ? "" : ",") + std::string(R"({"name":")") + o + R"(","dtype":"float"})";
  w.set_metadata("architecture", "graph");
  w.set_metadata("graph", R"({"opset":)" + std::to_string(opset) + R"(,"inputs":[)" + ins +
                              R"(],"outputs":[)" + outs + R"(],"initializers":[)" + inits +
                              R"(],"nodes":)" + nodes + "}");
  const std::string bytes = w.serialize();
  return SafeTensorsFile::from_bytes(std::vector<uint8_t>(bytes.begin(), bytes.end()), "hand");
}

Tensor<float> run1(const SafeTensorsFile& file, const Tensor<float>& x) {
  return load_graph_model(file)->forward(x);
}

void check_values(const Tensor<float>& got, const Shape& shape, std::vector<float> want) {
  REQUIRE(got.shape() == shape);
  for (int64_t i = 0; i < got.numel(); ++i)
    CHECK(got[i] == doctest::Approx(want[static_cast<size_t>(i)]).epsilon(1e-6));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("io") {
  TEST_CASE("graph Conv auto_pad SAME_UPPER pads at the end and SAME_LOWER at the start") {
    // x = [[1, 2], [3, 4]], a 2x2 all-ones kernel, stride 1: one row and column of padding.
    const Tensor<float> x = values({1, 1, 2, 2}, {1, 2, 3, 4});
    const std::map<std::string, Tensor<float>> w{{"w", values({1, 1, 2, 2}, {1, 1, 1, 1})}};
    const auto conv = [&](const char* mode) {
      return graph_file(std::string(R"([{"name":"c","op_type":"Conv","inputs":["x","w"],)") +
                            R"("outputs":["y"],"attributes":{"auto_pad":")" + mode + R"("}}])",
                        {"x"}, {"y"}, w);
    };
    // Padding after: each window sums itself, its right, lower and lower-right neighbours.
    check_values(run1(conv("SAME_UPPER"), x), {1, 1, 2, 2}, {10, 6, 7, 4});
    // Padding before: each window sums itself, its left, upper and upper-left neighbours.
    check_values(run1(conv("SAME_LOWER"), x), {1, 1, 2, 2}, {1, 3, 4, 10});
    check_values(run1(conv("VALID"), x), {1, 1, 1, 1}, {10});
  }

  TEST_CASE("graph Gemm applies transA alpha and beta with a broadcast C") {
    // A^T = [[1, 3], [2, 4]], B = identity; 2 * A^T + 0.5 * [10, 20] = [[7, 16], [9, 18]].
    const SafeTensorsFile file = graph_file(
        R"([{"name":"g","op_type":"Gemm","inputs":["a","b","c"],"outputs":["y"],)"
        R"("attributes":{"transA":1,"alpha":2.0,"beta":0.5}}])",
        {"a"}, {"y"}, {{"b", values({2, 2}, {1, 0, 0, 1})}, {"c", values({2}, {10, 20})}});
    check_values(run1(file, values({2, 2}, {1, 2, 3, 4})), {2, 2}, {7, 16, 9, 18});
  }

  TEST_CASE("graph Softmax flattens to 2-D before opset 13 and uses one axis from 13") {
    const float ln3 = std::log(3.0f);
    const Tensor<float> x = values({1, 2, 2}, {0, ln3, ln3, 0});
    const std::string node = R"([{"name":"s","op_type":"Softmax","inputs":["x"],"outputs":["y"],)"
                             R"("attributes":{"axis":1}}])";
    // Opset 11: one row of 4: exp = 1, 3, 3, 1 over a sum of 8.
    check_values(run1(graph_file(node, {"x"}, {"y"}, {}, 11), x), {1, 2, 2},
                 {0.125f, 0.375f, 0.375f, 0.125f});
    // Opset 13: pairs along axis 1: (0, ln3) -> (1/4, 3/4) and (ln3, 0) -> (3/4, 1/4).
    check_values(run1(graph_file(node, {"x"}, {"y"}, {}, 13), x), {1, 2, 2},
                 {0.25f, 0.75f, 0.75f, 0.25f});
  }

  TEST_CASE("graph pools take dilations and pads wider than half the kernel") {
    // 1-D max pool, kernel 2, dilation 2 over [1, 5, 2, 4, 3]: taps (0, 2), (1, 3), (2, 4).
    const SafeTensorsFile maxpool =
        graph_file(R"([{"name":"m","op_type":"MaxPool","inputs":["x"],"outputs":["y"],)"
                   R"("attributes":{"kernel_shape":[2],"dilations":[2]}}])",
                   {"x"}, {"y"});
    check_values(run1(maxpool, values({1, 1, 5}, {1, 5, 2, 4, 3})), {1, 1, 3}, {2, 5, 3});
    // Average, kernel 3, pads 2 over [2, 4]: windows start at -2, -1, 0, 1 and cover {2},
    // {2, 4}, {2, 4}, {4}; with the padding counted every divisor is 3.
    const auto avg = [](int include) {
      return graph_file(R"([{"name":"a","op_type":"AveragePool","inputs":["x"],"outputs":["y"],)"
                        R"("attributes":{"kernel_shape":[3],"pads":[2,2],"count_include_pad":)" +
                            std::to_string(include) + "}}]",
                        {"x"}, {"y"});
    };
    check_values(run1(avg(0), values({1, 1, 2}, {2, 4})), {1, 1, 4}, {2, 3, 3, 4});
    check_values(run1(avg(1), values({1, 1, 2}, {2, 4})), {1, 1, 4}, {2.0f / 3, 2, 2, 4.0f / 3});
  }

  TEST_CASE("graph Reshape copies 0 and infers -1 unless allowzero") {
    CHECK(graph::reshape_target({2, 3, 4}, {0, -1}, false) == Shape{2, 12});
    CHECK(graph::reshape_target({2, 3, 4}, {-1, 0, 2}, false) == Shape{4, 3, 2});
    CHECK(graph::reshape_target({0, 3}, {3, 0}, true) == Shape{3, 0});
    CHECK(error_of([] {
            graph::reshape_target({2, 3}, {-1, -1}, false);
          }).find("more than one -1") != std::string::npos);
    CHECK(error_of([] {
            graph::reshape_target({2, 3}, {4, 0}, true);
          }).find("cannot reshape") != std::string::npos);
  }

  TEST_CASE("graph Clip with min above max gives max everywhere") {
    const SafeTensorsFile file =
        graph_file(R"([{"name":"c","op_type":"Clip","inputs":["x","lo","hi"],"outputs":["y"],)"
                   R"("attributes":{}}])",
                   {"x"}, {"y"}, {{"lo", values({}, {2})}, {"hi", values({}, {1})}});
    check_values(run1(file, values({3}, {-1, 1.5f, 5})), {3}, {1, 1, 1});
  }

  TEST_CASE("graph loader lists every unsupported node and names bad attributes") {
    const std::string message = error_of([] {
      load_graph_model(graph_file(
          R"([{"name":"a","op_type":"Cos","inputs":["x"],"outputs":["t"],"attributes":{}},)"
          R"({"name":"b","op_type":"Relu","inputs":["t"],"outputs":["u"],"attributes":{}},)"
          R"({"name":"c","op_type":"Tan","inputs":["u"],"outputs":["y"],"attributes":{}}])",
          {"x"}, {"y"}));
    });
    CHECK(message.find("2 node(s)") != std::string::npos);
    CHECK(message.find("node 'a' (Cos)") != std::string::npos);
    CHECK(message.find("node 'c' (Tan)") != std::string::npos);
    CHECK(message.find("Relu") == std::string::npos);

    const std::string attr = error_of([] {
      load_graph_model(graph_file(
          R"([{"name":"r","op_type":"Relu","inputs":["x"],"outputs":["y"],"attributes":{"k":1}}])",
          {"x"}, {"y"}));
    });
    CHECK(attr.find("node 'r' (Relu): attribute 'k' is not supported") != std::string::npos);

    const std::string dangling = error_of([] {
      load_graph_model(graph_file(
          R"([{"name":"r","op_type":"Relu","inputs":["nope"],"outputs":["y"],"attributes":{}}])",
          {"x"}, {"y"}));
    });
    CHECK(dangling.find("reads 'nope'") != std::string::npos);
  }

  TEST_CASE("graph run errors name the node and GraphModel exposes initializers") {
    const SafeTensorsFile file = graph_file(
        R"([{"name":"mm","op_type":"MatMul","inputs":["x","w"],"outputs":["y"],"attributes":{}}])",
        {"x"}, {"y"}, {{"w", values({3, 1}, {1, 2, 3})}});
    const auto model = load_graph_model(file);
    REQUIRE(model->named_tensors().size() == 1);
    CHECK(model->named_tensors()[0].name == "w");
    CHECK(model->parameter_count() == 3);
    // [1, 1, 1] . [1, 2, 3] = 6 and [1, 0, 2] . [1, 2, 3] = 7.
    check_values(model->forward(values({2, 3}, {1, 1, 1, 1, 0, 2})), {2, 1}, {6, 7});
    const std::string message = error_of([&] { model->forward(values({2, 2}, {1, 2, 3, 4})); });
    CHECK(message.find("node 'mm' (MatMul): matmul:") != std::string::npos);
  }
}

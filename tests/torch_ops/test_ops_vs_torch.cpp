// fovea's reference ops against PyTorch on randomized cases that gen_cases.py writes: float64
// inputs, torch's float64 outputs, compared to 1e-10 relative. Every rank-4 case runs in NCHW
// and again with its activations in NHWC. The cases come from $FOVEA_TORCH_CASES_DIR, else from
// <build>/tests/torch_ops/cases, where the ctest fixture torch_ops_generate_cases writes them.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fovea/io/json.hpp"
#include "fovea/io/npy.hpp"
#include "fovea/ops/activation/reference.hpp"
#include "fovea/ops/attention/reference.hpp"
#include "fovea/ops/batchnorm/reference.hpp"
#include "fovea/ops/conv2d/reference.hpp"
#include "fovea/ops/elementwise/reference.hpp"
#include "fovea/ops/linear/reference.hpp"
#include "fovea/ops/pool2d/reference.hpp"
#include "fovea/ops/softmax/reference.hpp"
#include "harness/compare.hpp"

using namespace fovea;
namespace fs = std::filesystem;

namespace {

// float64 in and out: torch and fovea differ only in summation order, about 1e-15.
constexpr double kTolerance = 1e-10;

const std::set<std::string> kKnownOps = {"conv2d",
                                         "max_pool2d",
                                         "avg_pool2d",
                                         "adaptive_avg_pool2d",
                                         "batchnorm",
                                         "linear",
                                         "softmax",
                                         "log_softmax",
                                         "activation",
                                         "add",
                                         "mul",
                                         "concat",
                                         "squeeze_excitation",
                                         "cbam"};

struct OpCase {
  std::string name;  // file stem, e.g. "007_conv2d"
  std::string op;
  json::Value attrs;
  std::vector<Tensor<double>> inputs;
  Tensor<double> expected;
};

fs::path cases_dir() {
  if (const char* dir = std::getenv("FOVEA_TORCH_CASES_DIR")) return dir;
  return fs::path(FOVEA_BINARY_DIR) / "tests" / "torch_ops" / "cases";
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  FOVEA_CHECK(in, "cannot open ", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<fs::path> case_files() {
  const fs::path dir = cases_dir();
  FOVEA_CHECK(fs::is_directory(dir), "no torch cases directory ", dir.string(),
              "; generate it with tests/torch_ops/gen_cases.py --out DIR and set "
              "FOVEA_TORCH_CASES_DIR, or run through ctest");
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

json::Value read_spec(const fs::path& spec_path) {
  return json::parse(read_text(spec_path), spec_path.string());
}

OpCase load_case(const fs::path& spec_path, const json::Value& spec) {
  OpCase c;
  c.name = spec_path.stem().string();
  c.op = spec.at("op").as_string();
  c.attrs = spec.at("attrs");
  const fs::path dir = spec_path.parent_path();
  for (const json::Value& file : spec.at("inputs").as_array()) {
    c.inputs.push_back(read_npy<double>((dir / file.as_string()).string()));
  }
  c.expected = read_npy<double>((dir / spec.at("expected").as_string()).string());
  return c;
}

std::vector<OpCase> load_cases(const std::string& op) {
  std::vector<OpCase> cases;
  for (const fs::path& file : case_files()) {
    const json::Value spec = read_spec(file);
    if (spec.at("op").as_string() == op) cases.push_back(load_case(file, spec));
  }
  return cases;
}

int64_t attr(const OpCase& c, const char* key) {
  return c.attrs.at(key).as_int64();
}

Tensor<double> optional_input(const std::vector<Tensor<double>>& in, size_t i) {
  return in.size() > i ? in[i] : Tensor<double>();
}

Pool2dAttrs pool_attrs(const OpCase& c) {
  Pool2dAttrs a;
  a.kernel_h = attr(c, "kernel_h"), a.kernel_w = attr(c, "kernel_w");
  a.stride_h = attr(c, "stride_h"), a.stride_w = attr(c, "stride_w");
  a.pad_top = attr(c, "pad_top"), a.pad_left = attr(c, "pad_left");
  a.pad_bottom = attr(c, "pad_bottom"), a.pad_right = attr(c, "pad_right");
  a.ceil_mode = c.attrs.at("ceil_mode").as_bool();
  a.count_include_pad = c.attrs.at("count_include_pad").as_bool();
  return a;
}

// Runs fovea's reference op of `c` on `in` (the case's inputs, possibly in another layout).
Tensor<double> run_op(const OpCase& c, const std::vector<Tensor<double>>& in) {
  if (c.op == "conv2d") {
    Conv2dAttrs a;
    a.stride_h = attr(c, "stride_h"), a.stride_w = attr(c, "stride_w");
    a.pad_top = attr(c, "pad_top"), a.pad_left = attr(c, "pad_left");
    a.pad_bottom = attr(c, "pad_bottom"), a.pad_right = attr(c, "pad_right");
    a.dilation_h = attr(c, "dilation_h"), a.dilation_w = attr(c, "dilation_w");
    a.groups = attr(c, "groups");
    return conv2d_reference(in.at(0), in.at(1), optional_input(in, 2), a);
  }
  if (c.op == "max_pool2d") return max_pool2d_reference(in.at(0), pool_attrs(c));
  if (c.op == "avg_pool2d") return avg_pool2d_reference(in.at(0), pool_attrs(c));
  if (c.op == "adaptive_avg_pool2d") {
    return adaptive_avg_pool2d_reference(in.at(0), attr(c, "out_h"), attr(c, "out_w"));
  }
  if (c.op == "batchnorm") {
    return batchnorm_reference(in.at(0), in.at(1), in.at(2), in.at(3), in.at(4),
                               c.attrs.at("eps").as_number());
  }
  if (c.op == "linear") return linear_reference(in.at(0), in.at(1), optional_input(in, 2));
  const auto axis = [&] { return static_cast<int>(attr(c, "axis")); };
  if (c.op == "softmax") return softmax_reference(in.at(0), axis());
  if (c.op == "log_softmax") return log_softmax_reference(in.at(0), axis());
  if (c.op == "activation") {
    return activation_reference(in.at(0), activation_from_name(c.attrs.at("kind").as_string()));
  }
  if (c.op == "add") return add_reference(in.at(0), in.at(1));
  if (c.op == "mul") return mul_reference(in.at(0), in.at(1));
  if (c.op == "concat") return concat_reference(in, axis());
  if (c.op == "squeeze_excitation") {
    const auto kind = [&](const char* key) {
      return activation_from_name(c.attrs.at(key).as_string());
    };
    return squeeze_excitation_reference(in.at(0), in.at(1), in.at(2), in.at(3), in.at(4),
                                        kind("act"), kind("scale_act"));
  }
  if (c.op == "cbam") return cbam_reference(in.at(0), in.at(1), in.at(2), in.at(3), in.at(4));
  fail("case ", c.name, " has unknown op '", c.op, "'");
}

// The case's inputs with its activations (not conv weights) moved to `layout`.
std::vector<Tensor<double>> inputs_in_layout(const OpCase& c, Layout layout) {
  std::vector<Tensor<double>> in = c.inputs;
  // Weights (conv, SE and CBAM filters) stay in their (K, C, R, S) layout.
  const bool has_weights = c.op == "conv2d" || c.op == "squeeze_excitation" || c.op == "cbam";
  const size_t activations = has_weights ? 1 : in.size();
  for (size_t i = 0; i < activations; ++i) {
    if (in[i].rank() == 4) in[i] = in[i].to_layout(layout);
  }
  return in;
}

std::string describe(const OpCase& c, Layout layout) {
  std::ostringstream out;
  out << c.name << " in " << layout_name(layout) << ", attrs " << json::dump(c.attrs) << ", inputs";
  for (const Tensor<double>& t : c.inputs)
    out << ' ' << t.shape();
  out << ", expected " << c.expected.shape();
  return out.str();
}

void check_op_against_torch(const std::string& op) {
  const std::vector<OpCase> cases = load_cases(op);
  REQUIRE_MESSAGE(!cases.empty(), "no ", op, " cases in ", cases_dir().string());
  for (const OpCase& c : cases) {
    const bool has_rank4 = std::any_of(c.inputs.begin(), c.inputs.end(),
                                       [](const Tensor<double>& t) { return t.rank() == 4; });
    for (Layout layout : {Layout::nchw, Layout::nhwc}) {
      if (layout == Layout::nhwc && !has_rank4) continue;
      const std::string what = describe(c, layout);
      INFO(what);
      try {
        const Tensor<double> got = run_op(c, inputs_in_layout(c, layout));
        const bool same_shape = got.shape() == c.expected.shape();
        CHECK_MESSAGE(same_shape, "fovea's output has shape ", got.shape());
        if (same_shape) CHECK(test::max_relative_error(got, c.expected) <= kTolerance);
      } catch (const Error& e) {
        FAIL_CHECK("fovea threw: ", e.what());
      }
    }
  }
  MESSAGE(op, ": ", cases.size(), " torch cases compared");
}

}  // namespace

TEST_SUITE("torch") {
  TEST_CASE("torch cases: every op is known and there are at least 100 cases") {
    const std::vector<fs::path> files = case_files();
    CHECK(files.size() >= 100);
    std::set<std::string> seen;
    for (const fs::path& file : files) {
      const std::string op = read_spec(file).at("op").as_string();
      INFO(file.string());
      CHECK(kKnownOps.count(op) == 1);
      seen.insert(op);
    }
    CHECK(seen == kKnownOps);
  }

  TEST_CASE("torch cases: the comparison notices a 1e-9 relative error") {
    // The tolerance must be tight enough to catch an error far below float precision.
    const OpCase c = load_cases("conv2d").at(0);
    Tensor<double> wrong = run_op(c, c.inputs).clone();
    double max_abs = 0;
    for (double v : c.expected)
      max_abs = std::max(max_abs, std::abs(v));
    wrong[0] += 1e-9 * max_abs;
    CHECK(test::max_relative_error(wrong, c.expected) > kTolerance);
  }

  TEST_CASE("conv2d matches torch") {
    check_op_against_torch("conv2d");
  }
  TEST_CASE("max_pool2d matches torch") {
    check_op_against_torch("max_pool2d");
  }
  TEST_CASE("avg_pool2d matches torch") {
    check_op_against_torch("avg_pool2d");
  }
  TEST_CASE("adaptive_avg_pool2d matches torch") {
    check_op_against_torch("adaptive_avg_pool2d");
  }
  TEST_CASE("batchnorm matches torch") {
    check_op_against_torch("batchnorm");
  }
  TEST_CASE("linear matches torch") {
    check_op_against_torch("linear");
  }
  TEST_CASE("softmax matches torch") {
    check_op_against_torch("softmax");
  }
  TEST_CASE("log_softmax matches torch") {
    check_op_against_torch("log_softmax");
  }
  TEST_CASE("activations match torch") {
    check_op_against_torch("activation");
  }
  TEST_CASE("add matches torch") {
    check_op_against_torch("add");
  }
  TEST_CASE("mul matches torch") {
    check_op_against_torch("mul");
  }
  TEST_CASE("squeeze_excitation matches torchvision") {
    check_op_against_torch("squeeze_excitation");
  }
  TEST_CASE("cbam matches torch primitives") {
    check_op_against_torch("cbam");
  }
  TEST_CASE("concat matches torch") {
    check_op_against_torch("concat");
  }
}

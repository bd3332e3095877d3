// The prune program end to end: a random ResNet-20 file pruned to half its MACs by the CLI
// must equal the same pruning done in process (prune_to_macs), reach its MAC target, and run in
// classify from the file alone (no --model) with the logits of the in-process model.
//
//   prune_cli_roundtrip PRUNE_EXE CLASSIFY_EXE WORK_DIR
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>

#include "fovea/fovea.hpp"
#include "fovea/prune/target.hpp"

using namespace fovea;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::cout << (ok ? "ok    " : "FAIL  ") << what << "\n";
  failures += ok ? 0 : 1;
}

int run(const std::string& command) {
  std::cout << "$ " << command << std::endl;
  return std::system(command.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: prune_cli_roundtrip PRUNE_EXE CLASSIFY_EXE WORK_DIR\n";
    return 2;
  }
  const std::string prune_exe = argv[1], classify_exe = argv[2], dir = argv[3];
  std::filesystem::create_directories(dir);
  const std::string dense_path = dir + "/dense.safetensors",
                    pruned_path = dir + "/pruned.safetensors";
  const std::string x_path = dir + "/x.npy", y_path = dir + "/y.npy";
  try {
    set_num_threads(1);
    ModelOptions model_options;
    model_options.num_classes = 10;
    auto dense = build_model("resnet20_cifar", model_options);
    init_weights(*dense, 7);
    save_state_dict(*dense, dense_path,
                    {{"architecture", "resnet20_cifar"}, {"num_classes", "10"}});

    check(run("'" + prune_exe + "' --weights '" + dense_path +
              "' --method l1 --target-macs 0.5 --round 4 --bench 1 --threads 1 --out '" +
              pruned_path + "'") == 0,
          "prune exits 0");

    // The same pruning in process.
    auto model = load_model(dense_path, LoadFor::training).model;
    prune::PruneOptions options;
    options.multiple = 4;
    const Shape input{1, 3, 32, 32};
    const prune::PruneReport report = prune::prune_to_macs(*model, options, input, 0.5);
    check(report.after.macs <= report.before.macs / 2, "the in-process pruning meets the target");

    auto from_file = load_model(pruned_path, LoadFor::training).model;
    check(prune::count_macs(*from_file, input) == report.after.macs,
          "the file holds the in-process model's widths (" + std::to_string(report.after.macs) +
              " of " + std::to_string(report.before.macs) + " MACs)");

    Tensor<float> x(Shape{2, 3, 32, 32});
    x.fill_uniform(3, -1.0, 1.0);
    write_npy(x_path, x);
    check(run("'" + classify_exe + "' --weights '" + pruned_path + "' --input-npy '" + x_path +
              "' --dump-logits '" + y_path + "' --threads 1 --topk 1") == 0,
          "classify runs the pruned file without --model");
    prepare_for_inference(*model);
    const Tensor<float> expected = model->forward(x);
    const Tensor<float> got = read_npy<float>(y_path);
    double worst = 0, scale = 0;
    check(got.shape() == expected.shape(), "classify's logits have the expected shape");
    for (int64_t i = 0; i < expected.numel() && got.shape() == expected.shape(); ++i) {
      worst = std::max(worst, std::abs(double(got.data()[i]) - double(expected.data()[i])));
      scale = std::max(scale, std::abs(double(expected.data()[i])));
    }
    check(worst <= 1e-5 * std::max(1.0, scale),
          "classify's logits equal the in-process model's (largest difference " +
              std::to_string(worst) + ")");
  } catch (const std::exception& e) {
    std::cout << "FAIL  " << e.what() << "\n";
    return 1;
  }
  return failures == 0 ? 0 : 1;
}

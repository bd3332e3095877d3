// The prune program end to end: a random ResNet-20 file pruned to half its MACs by the CLI
// must equal the same pruning done in process (prune_to_macs), reach its MAC target, and run in
// classify from the file alone (no --model) with the logits of the in-process model; and the
// same file sparsified by magnitude and 2:4 must hold the sparsity its metadata lists; and
// fine-tuning with distillation from the unpruned model runs on a small CIFAR-like folder.
//
//   prune_cli_roundtrip PRUNE_EXE CLASSIFY_EXE WORK_DIR
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "fovea/fovea.hpp"
#include "fovea/prune/sparse/sparse_io.hpp"
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

// A 32x32 24-bit BMP of random pixels (BMP rows run bottom-up, each 96 bytes, no padding).
void write_random_bmp(const std::string& path, uint64_t seed) {
  const uint32_t width = 32, height = 32, pixels = width * height * 3;
  uint8_t header[54] = {'B', 'M'};
  const auto put32 = [&header](int at, uint32_t v) {
    for (int i = 0; i < 4; ++i)
      header[at + i] = uint8_t(v >> (8 * i));
  };
  put32(2, 54 + pixels), put32(10, 54), put32(14, 40), put32(18, width), put32(22, height);
  header[26] = 1, header[28] = 24;
  put32(34, pixels);
  std::vector<char> data(pixels);
  Rng rng(seed);
  for (char& c : data)
    c = char(rng.below(256));
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(header), sizeof header);
  out.write(data.data(), std::streamsize(data.size()));
}

// root/{train,test}/class<k>/ with `per_class` random images in each of the 10 classes.
void write_tiny_cifar(const std::string& root, int per_class) {
  uint64_t seed = 1;
  for (const char* split : {"train", "test"})
    for (int k = 0; k < 10; ++k) {
      const std::string folder = root + "/" + split + "/class" + std::to_string(k);
      std::filesystem::create_directories(folder);
      for (int i = 0; i < per_class; ++i)
        write_random_bmp(folder + "/" + std::to_string(i) + ".bmp", seed++);
    }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
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

    // Unstructured and 2:4 sparsity: every conv but the first and the classifier sparsified, the
    // masks listed in the file, the file run by classify as the in-process load of it runs.
    for (const std::string method : {"magnitude", "2:4"}) {
      const std::string sparse_path = dir + "/sparse.safetensors";
      check(run("'" + prune_exe + "' --weights '" + dense_path + "' --method " + method +
                (method == "magnitude" ? " --sparsity 0.75" : "") +
                " --bench 1 --threads 1 --out '" + sparse_path + "'") == 0,
            "prune --method " + method + " exits 0");
      auto sparse = load_model(sparse_path, LoadFor::training);
      const prune::sparse::SparsityMasks masks =
          prune::sparse::masks_from_metadata(sparse.metadata, *sparse.model);
      bool every_weight_sparse = masks.entries().size() == 18;
      for (const prune::sparse::MaskedWeight& m : masks.entries()) {
        every_weight_sparse &= m.name != "conv1.weight" && m.name != "fc.weight";
        every_weight_sparse &= method == "2:4"
                                   ? prune::sparse::is_2_4(*m.weight)
                                   : std::abs(prune::sparse::sparsity_of(*m.weight) - 0.75) < 0.01;
      }
      check(every_weight_sparse, method + ": the 18 inner convs are sparse, conv1 and fc dense");
      check(run("'" + classify_exe + "' --weights '" + sparse_path + "' --input-npy '" + x_path +
                "' --dump-logits '" + y_path + "' --threads 1 --topk 1") == 0,
            "classify runs the " + method + " file");
      prepare_for_inference(*sparse.model);
      const Tensor<float> sparse_expected = sparse.model->forward(x);
      const Tensor<float> sparse_got = read_npy<float>(y_path);
      check(sparse_got.shape() == sparse_expected.shape() &&
                std::equal(sparse_got.begin(), sparse_got.end(), sparse_expected.begin()),
            method + ": classify's logits are the in-process model's");
    }

    // Iterative pruning: three prunings to the same target, the last within it.
    check(run("'" + prune_exe + "' --weights '" + dense_path +
              "' --method l1 --global --target-macs 0.5 --round 4 --steps 3 --bench 0 "
              "--threads 1 --out '" +
              pruned_path + "'") == 0,
          "prune --steps 3 exits 0");
    auto stepped = load_model(pruned_path, LoadFor::training);
    const int64_t stepped_macs = prune::count_macs(*stepped.model, input);
    check(stepped_macs <= report.before.macs / 2 && stepped_macs > report.before.macs * 4 / 10 &&
              stepped.metadata["pruning"].find("\"steps\":3") != std::string::npos,
          "--steps 3 reaches the target (" + std::to_string(stepped_macs) +
              " MACs) and says so in the metadata");

    // Fine-tuning with the unpruned model as teacher, on 40 random training images.
    const std::string cifar = dir + "/tiny_cifar", log = dir + "/distill.log";
    write_tiny_cifar(cifar, 4);
    check(run("'" + prune_exe + "' --weights '" + dense_path +
              "' --method l1 --target-macs 0.5 --round 4 --data '" + cifar +
              "' --epochs 1 --batch 8 --calib-images 16 --distill --distill-temperature 3 "
              "--bench 0 --threads 1 --out '" +
              pruned_path + "' > '" + log + "' 2>&1") == 0,
          "prune --distill --epochs 1 exits 0");
    const std::string said = read_text(log);
    check(said.find("distilling from " + dense_path +
                    " (resnet20_cifar), temperature 3, soft "
                    "weight 0.9") != std::string::npos &&
              said.find("epoch 1/1") != std::string::npos,
          "prune names its teacher and fine-tunes an epoch");
    check(prune::count_macs(*load_model(pruned_path, LoadFor::training).model, input) ==
              report.after.macs,
          "the distilled file keeps the pruned widths");
  } catch (const std::exception& e) {
    std::cout << "FAIL  " << e.what() << "\n";
    return 1;
  }
  return failures == 0 ? 0 : 1;
}

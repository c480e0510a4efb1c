// Shared test helpers: a seeding fixture, scratch directories, fixture-file writers and a
// runner for the real `ddim` binary.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

namespace ddim::test {

/// Seeds LibTorch's global generator before each test, so that tests are repeatable.
class SeededTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(1234); }
};

/// Every parameter of `net` random and non-zero (N(0, 0.2²): a U-Net's head starts at zero) and
/// its batch norms' statistics far from (0, 1): what the folded and prepared forms of the U-Net
/// are tested on, so that they have something to fold.
void randomise_weights_and_statistics(torch::nn::Module& net);

/// A fresh, empty scratch directory for the running test (under the build tree).
std::string scratch_dir();

/// Writes bytes to a file (creating parent directories).
void write_bytes(const std::string& path, const std::vector<char>& bytes);
void write_text(const std::string& path, const std::string& text);
std::vector<char> read_bytes(const std::string& path);
std::string read_text(const std::string& path);
bool file_exists(const std::string& path);

/// IDX bytes for a uint8 tensor (magic 0x00000803 for 3 dimensions, etc.).
std::vector<char> idx_bytes(const torch::Tensor& data);
/// Compresses bytes with zlib: `window_bits` 16 + 15 gives a gzip stream, -15 a raw deflate
/// stream (as in a zip record).
std::vector<char> deflate_bytes(const std::vector<char>& bytes, int window_bits);
/// gzip-compresses bytes.
std::vector<char> gzip_bytes(const std::vector<char>& bytes);

/// Writes a tiny MNIST-style directory: `n_train` and `n_test` random 28x28 images with labels
/// 0..9, gzipped when `gz`. Returns the images written (uint8 [N, 28, 28]) for checks.
torch::Tensor write_mnist_fixture(const std::string& dir, int64_t n_train, int64_t n_test, bool gz = true);

/// Writes a CIFAR-10 batch file of `n` random records; returns the uint8 images [n, 3, 32, 32].
torch::Tensor write_cifar_fixture(const std::string& path, int64_t n, uint64_t seed = 0);

struct CommandResult {
  int status = -1;
  std::string out, err;
};

/// The last non-empty line of a command's output: the one error line a user reads.
std::string last_line(const std::string& s);

/// Runs the built `ddim` binary with `args`, capturing stdout and stderr.
CommandResult run_ddim(const std::vector<std::string>& args);

/// Starts the binary without waiting (output to files under the scratch directory); returns
/// its process id.
int spawn_ddim(const std::vector<std::string>& args, const std::string& log_prefix);
/// The same with extra environment variables (e.g. RANK and WORLD_SIZE for data-parallel runs).
int spawn_ddim_env(const std::vector<std::string>& args,
                   const std::vector<std::pair<std::string, std::string>>& env,
                   const std::string& log_prefix);
/// Waits for a spawned process; returns its exit status (128 + signal if killed).
int wait_ddim(int pid);

/// The arguments of a tiny U-Net that trains in seconds.
std::vector<std::string> tiny_unet_args();

/// A directory of things that many tests of one binary share (a trained model): `make(dir)`
/// fills it the first time any test process asks, and every later process reuses it. A lock
/// keeps concurrent test processes from making it twice; the directory's name includes the
/// build time of the test binary and of the ddim tool, so a rebuild makes it afresh.
std::string shared_dir(const std::string& name, const std::function<void(const std::string& dir)>& make);

/// A tiny U-Net trained with the ddim tool for a few steps on an MNIST-style fixture, shared
/// by the tests of a binary: `dir`/model.pt, fixture data in `dir`/mnist.
std::string shared_tiny_model();

/// Whether the ddim tool was built (DDIM_BUILD_TOOLS).
bool have_binary();

/// Path of the source tree (for configs/).
std::string source_dir();

}  // namespace ddim::test

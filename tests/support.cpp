#include "support.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace fs = std::filesystem;

namespace ddim::test {

std::string scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "global";
  for (auto& c : name)
    if (c == '/') c = '_';
  const fs::path dir = fs::path(DDIM_TEST_TMP) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  const fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void write_text(const std::string& path, const std::string& text) {
  write_bytes(path, std::vector<char>(text.begin(), text.end()));
}

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

std::string read_text(const std::string& path) {
  auto b = read_bytes(path);
  return std::string(b.begin(), b.end());
}

bool file_exists(const std::string& path) { return fs::exists(path); }

std::vector<char> idx_bytes(const torch::Tensor& data) {
  auto t = data.to(torch::kUInt8).contiguous();
  std::vector<char> out = {0, 0, 0x08, static_cast<char>(t.dim())};
  for (int64_t d = 0; d < t.dim(); ++d) {
    const auto s = static_cast<uint32_t>(t.size(d));
    out.push_back(static_cast<char>(s >> 24));
    out.push_back(static_cast<char>(s >> 16));
    out.push_back(static_cast<char>(s >> 8));
    out.push_back(static_cast<char>(s));
  }
  const auto* p = reinterpret_cast<const char*>(t.data_ptr<uint8_t>());
  out.insert(out.end(), p, p + t.numel());
  return out;
}

std::vector<char> deflate_bytes(const std::vector<char>& bytes, int window_bits) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
  std::vector<char> out(deflateBound(&zs, bytes.size()) + 64);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::vector<char> gzip_bytes(const std::vector<char>& bytes) { return deflate_bytes(bytes, 16 + MAX_WBITS); }

torch::Tensor write_mnist_fixture(const std::string& dir, int64_t n_train, int64_t n_test, bool gz) {
  auto gen = at::detail::createCPUGenerator(42);
  auto images = torch::randint(0, 256, {n_train + n_test, 28, 28}, gen, torch::kInt64).to(torch::kUInt8);
  auto labels = torch::arange(n_train + n_test, torch::kInt64).remainder(10).to(torch::kUInt8);
  auto write = [&](const std::string& name, const torch::Tensor& t) {
    auto bytes = idx_bytes(t);
    write_bytes(dir + "/" + name + (gz ? ".gz" : ""), gz ? gzip_bytes(bytes) : bytes);
  };
  write("train-images-idx3-ubyte", images.narrow(0, 0, n_train));
  write("train-labels-idx1-ubyte", labels.narrow(0, 0, n_train));
  write("t10k-images-idx3-ubyte", images.narrow(0, n_train, n_test));
  write("t10k-labels-idx1-ubyte", labels.narrow(0, n_train, n_test));
  return images;
}

torch::Tensor write_cifar_fixture(const std::string& path, int64_t n, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto images = torch::randint(0, 256, {n, 3, 32, 32}, gen, torch::kInt64).to(torch::kUInt8);
  auto labels = torch::arange(n, torch::kInt64).remainder(10).to(torch::kUInt8);
  auto records = torch::cat({labels.view({n, 1}), images.view({n, 3072})}, 1).contiguous();
  const auto* p = reinterpret_cast<const char*>(records.data_ptr<uint8_t>());
  write_bytes(path, std::vector<char>(p, p + records.numel()));
  return images;
}

namespace {
int64_t build_time(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_mtime) : 0;
}
}  // namespace

bool have_binary() { return std::string(DDIM_BINARY).size() > 0 && file_exists(DDIM_BINARY); }

std::string last_line(const std::string& s) {
  const auto end = s.find_last_not_of('\n');
  if (end == std::string::npos) return "";
  const auto start = s.rfind('\n', end);
  const size_t from = start == std::string::npos ? 0 : start + 1;
  return s.substr(from, end - from + 1);
}

std::string shared_dir(const std::string& name, const std::function<void(const std::string& dir)>& make) {
  const auto stamp = std::max(build_time("/proc/self/exe"), build_time(DDIM_BINARY));
  const fs::path root = fs::path(DDIM_TEST_TMP) / "shared";
  fs::create_directories(root);
  const auto dir = (root / fmt::format("{}-{}", name, stamp)).string();
  const int lock = ::open((dir + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ::flock(lock, LOCK_EX);  // released when the descriptor is closed, or the process ends
  if (!file_exists(dir + "/.ready")) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    make(dir);
    if (!::testing::Test::HasFailure()) write_text(dir + "/.ready", "");
  }
  ::close(lock);
  return dir;
}

std::string shared_tiny_model() {
  return shared_dir("tiny-model",
                    [](const std::string& dir) {
                      write_mnist_fixture(dir + "/mnist", 32, 8);
                      std::vector<std::string> args = {"train", "--data",     "mnist:" + dir + "/mnist",
                                                       "--out", dir + "/run", "--steps",
                                                       "4"};
                      const auto tiny = tiny_unet_args();
                      args.insert(args.end(), tiny.begin(), tiny.end());
                      const auto r = run_ddim(args);
                      ASSERT_EQ(r.status, 0) << r.err;
                    }) +
         "/run/model.pt";
}

CommandResult run_ddim(const std::vector<std::string>& args) {
  // stdout and stderr go to files, so that neither pipe can fill up and block the child.
  fs::create_directories(DDIM_TEST_TMP);
  std::string out_path = std::string(DDIM_TEST_TMP) + "/stdout-XXXXXX";
  std::string err_path = std::string(DDIM_TEST_TMP) + "/stderr-XXXXXX";
  const int out_fd = ::mkstemp(out_path.data());
  const int err_fd = ::mkstemp(err_path.data());
  std::vector<std::string> argv_storage = {DDIM_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(out_fd);
  ::close(err_fd);
  CommandResult r;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  fs::remove(out_path);
  fs::remove(err_path);
  return r;
}

int spawn_ddim(const std::vector<std::string>& args, const std::string& log_prefix) {
  return spawn_ddim_env(args, {}, log_prefix);
}

int spawn_ddim_env(const std::vector<std::string>& args,
                   const std::vector<std::pair<std::string, std::string>>& env,
                   const std::string& log_prefix) {
  std::vector<std::string> argv_storage = {DDIM_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int out_fd = ::open((log_prefix + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int err_fd = ::open((log_prefix + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out_fd);
  ::close(err_fd);
  return pid;
}

int wait_ddim(int pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<std::string> tiny_unet_args() {
  return {"--widths",          "8,16", "--block-depth",   "1", "--embedding-dims", "8", "--batch",   "8",
          "--preview-samples", "4",    "--preview-steps", "2", "--log-every",      "2", "--threads", "1"};
}

std::string source_dir() { return DDIM_SOURCE_DIR; }

void randomise_weights_and_statistics(torch::nn::Module& net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net.parameters()) p.copy_(torch::randn_like(p) * 0.2);
  for (auto& b : net.named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) b.value().copy_(torch::randn_like(b.value()));
    if (b.key().find("running_var") != std::string::npos)
      b.value().copy_(torch::rand_like(b.value()) * 3 + 0.2);
  }
}

}  // namespace ddim::test

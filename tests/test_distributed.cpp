// Data-parallel training over c10d/Gloo on this machine: two ranks in threads of one process
// (exact comparisons of their weights) and two real processes launched the way torchrun does.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <thread>

#include "ddim/core/error.h"
#include "ddim/io/checkpoint.h"
#include "ddim/nn/unet.h"
#include "ddim/training/denoiser_trainer.h"
#include "ddim/training/distributed.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {

Dataset tiny_images(int64_t n) {
  Dataset d;
  d.spec = "tiny";
  auto x = torch::zeros({n, 1, 8, 8}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) x[i][0].narrow(0, i % 4, 4).narrow(1, (i / 4) % 4, 4).fill_(90 + 2 * i);
  d.storage = x;
  return d;
}

nlohmann::json tiny_unet(NormKind norm) {
  UNetOptions u;
  u.widths = {8, 16};
  u.block_depth = 1;
  u.embedding_dims = 8;
  u.image_size = 8;
  u.norm = norm;
  u.groups = 4;
  return u.to_json();
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Trains `steps` steps on each of `world` ranks (threads); returns each rank's model state.
std::vector<TensorDict> train_ranks(int world, NormKind norm, int64_t batch, int64_t steps) {
  auto store = c10::make_intrusive<c10d::HashStore>();
  std::vector<TensorDict> states(world);
  std::vector<std::string> errors(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        ProcessGroup pg(store, r, world, std::chrono::seconds(60));
        DenoiserTrainOptions t;
        t.batch = batch;
        t.preview_samples = 0;
        t.seed = 11;
        DenoiserTrainer trainer(tiny_unet(norm), ScheduleOptions{}, tiny_images(64), nullptr, t, torch::kCPU,
                                {}, &pg);
        for (int64_t s = 0; s < steps; ++s) trainer.step(s);
        states[r] = trainer.checkpoint(steps).states["model"];
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (int r = 0; r < world; ++r) EXPECT_EQ(errors[r], "") << "rank " << r;
  return states;
}

TensorDict train_single(NormKind norm, int64_t batch, int64_t steps) {
  DenoiserTrainOptions t;
  t.batch = batch;
  t.preview_samples = 0;
  t.seed = 11;
  DenoiserTrainer trainer(tiny_unet(norm), ScheduleOptions{}, tiny_images(64), nullptr, t, torch::kCPU);
  for (int64_t s = 0; s < steps; ++s) trainer.step(s);
  return trainer.checkpoint(steps).states["model"];
}

}  // namespace

#define DDIM_REQUIRE_DISTRIBUTED() \
  if (!distributed_available()) GTEST_SKIP() << "this build has no data-parallel support (no gloo headers)"

TEST(Distributed, TwoRanksHoldIdenticalWeightsAndEqualOneProcessOnTheGlobalBatch) {
  DDIM_REQUIRE_DISTRIBUTED();
  const auto ranks = train_ranks(2, NormKind::Group, 8, 6);
  ASSERT_EQ(ranks.size(), 2u);
  const auto single = train_single(NormKind::Group, 16, 6);
  for (const auto& [name, t] : ranks[0]) {
    EXPECT_TRUE(torch::equal(t, ranks[1].at(name))) << name;
    EXPECT_TRUE(torch::allclose(t, single.at(name), 1e-4, 1e-5))
        << name << ": " << (t - single.at(name)).abs().max();
  }
}

TEST(Distributed, BatchNormStatisticsStayIdenticalAcrossRanks) {
  DDIM_REQUIRE_DISTRIBUTED();
  const auto ranks = train_ranks(2, NormKind::Batch, 8, 4);
  for (const auto& [name, t] : ranks[0]) EXPECT_TRUE(torch::equal(t, ranks[1].at(name))) << name;
}

TEST(Distributed, EnvironmentOfTheLaunchers) {
  ::setenv("RANK", "1", 1);
  ::setenv("WORLD_SIZE", "4", 1);
  ::setenv("LOCAL_RANK", "1", 1);
  ::setenv("MASTER_ADDR", "10.0.0.7", 1);
  ::setenv("MASTER_PORT", "12345", 1);
  auto e = distributed_env();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->rank, 1);
  EXPECT_EQ(e->world_size, 4);
  EXPECT_EQ(e->master_addr, "10.0.0.7");
  EXPECT_EQ(e->master_port, 12345);
  ::setenv("RANK", "4", 1);
  EXPECT_THROW(distributed_env(), InvalidArgument);
  for (const auto* v : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}) ::unsetenv(v);
  ::setenv("SLURM_PROCID", "2", 1);
  ::setenv("SLURM_NTASKS", "3", 1);
  e = distributed_env();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->launcher, "slurm");
  EXPECT_EQ(e->rank, 2);
  ::unsetenv("SLURM_PROCID");
  ::unsetenv("SLURM_NTASKS");
  EXPECT_FALSE(distributed_env().has_value());
}

TEST(DistributedCli, TwoProcessesEqualOneProcessOnTheGlobalBatch) {
  DDIM_REQUIRE_DISTRIBUTED();
  const auto dir = scratch_dir();
  write_mnist_fixture(dir + "/mnist", 32, 8);
  auto args = [&](const std::string& out, const std::string& batch) {
    return std::vector<std::string>{"train",
                                    "--data",
                                    "mnist:" + dir + "/mnist",
                                    "--widths",
                                    "8,16",
                                    "--block-depth",
                                    "1",
                                    "--embedding-dims",
                                    "8",
                                    "--norm",
                                    "group",
                                    "--groups",
                                    "4",
                                    "--batch",
                                    batch,
                                    "--steps",
                                    "4",
                                    "--log-every",
                                    "2",
                                    "--preview-samples",
                                    "0",
                                    "--threads",
                                    "1",
                                    "--out",
                                    out};
  };
  const auto port = std::to_string(free_port());
  std::vector<int> pids;
  for (int r = 0; r < 2; ++r)
    pids.push_back(spawn_ddim_env(args(dir + "/dp", "4"),
                                  {{"RANK", std::to_string(r)},
                                   {"WORLD_SIZE", "2"},
                                   {"LOCAL_RANK", std::to_string(r)},
                                   {"MASTER_ADDR", "127.0.0.1"},
                                   {"MASTER_PORT", port}},
                                  dir + "/rank" + std::to_string(r)));
  for (int r = 0; r < 2; ++r)
    EXPECT_EQ(wait_ddim(pids[r]), 0) << read_text(dir + "/rank" + std::to_string(r) + ".err");
  EXPECT_NE(read_text(dir + "/rank0.err").find("processes hold identical weights"), std::string::npos)
      << read_text(dir + "/rank0.err");
  ASSERT_EQ(run_ddim(args(dir + "/single", "8")).status, 0);
  const auto a = load_checkpoint(dir + "/dp/model.pt"), b = load_checkpoint(dir + "/single/model.pt");
  EXPECT_EQ(a.meta["world_size"], 2);
  for (const auto& [name, t] : a.states.at("model"))
    EXPECT_TRUE(torch::allclose(t, b.states.at("model").at(name), 1e-4, 1e-5)) << name;
}

TEST(DistributedCli, AMissingProcessEndsTheJobWithinTheTimeout) {
  DDIM_REQUIRE_DISTRIBUTED();
  const auto dir = scratch_dir();
  const auto start = std::chrono::steady_clock::now();
  const int pid = spawn_ddim_env(
      {"train", "--data", "toy:gaussian", "--steps", "5", "--dist-timeout", "3", "--out", dir + "/run"},
      {{"RANK", "0"},
       {"WORLD_SIZE", "2"},
       {"MASTER_ADDR", "127.0.0.1"},
       {"MASTER_PORT", std::to_string(free_port())}},
      dir + "/rank0");
  EXPECT_EQ(wait_ddim(pid), 1);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(secs, 30.0);
  const auto err = read_text(dir + "/rank0.err");
  EXPECT_NE(err.find("could not join the process group"), std::string::npos) << err;
}

TEST(DistributedCli, RanksJoinTheStoreOfTorchrunsAgent) {
  // torchrun's agent hosts the store itself and tells its workers so
  // (TORCHELASTIC_USE_AGENT_STORE=True): rank 0 must join it as a client rather than bind the port.
  DDIM_REQUIRE_DISTRIBUTED();
  const auto dir = scratch_dir();
  c10d::TCPStoreOptions o;
  o.port = 0;  // any free port
  o.isServer = true;
  o.waitWorkers = false;
  o.timeout = std::chrono::seconds(60);
  auto agent = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", o);
  std::vector<int> pids;
  for (int r = 0; r < 2; ++r)
    pids.push_back(spawn_ddim_env(
        {"train", "--data", "toy:gaussian", "--steps", "3", "--threads", "1", "--out", dir + "/run"},
        {{"RANK", std::to_string(r)},
         {"WORLD_SIZE", "2"},
         {"LOCAL_RANK", std::to_string(r)},
         {"MASTER_ADDR", "127.0.0.1"},
         {"MASTER_PORT", std::to_string(agent->getPort())},
         {"TORCHELASTIC_USE_AGENT_STORE", "True"}},
        dir + "/rank" + std::to_string(r)));
  for (int r = 0; r < 2; ++r)
    EXPECT_EQ(wait_ddim(pids[r]), 0) << read_text(dir + "/rank" + std::to_string(r) + ".err");
  EXPECT_EQ(load_checkpoint(dir + "/run/model.pt").meta["world_size"], 2);
}

TEST(DistributedCli, ARankThatDiesEndsTheOthersWithAnError) {
  DDIM_REQUIRE_DISTRIBUTED();
  const auto dir = scratch_dir();
  const auto port = std::to_string(free_port());
  std::vector<int> pids;
  for (int r = 0; r < 2; ++r)
    pids.push_back(spawn_ddim_env({"train", "--data", "toy:gaussian", "--steps", "1000000", "--threads", "1",
                                   "--dist-timeout", "20", "--checkpoint-every", "20", "--out", dir + "/run"},
                                  {{"RANK", std::to_string(r)},
                                   {"WORLD_SIZE", "2"},
                                   {"MASTER_ADDR", "127.0.0.1"},
                                   {"MASTER_PORT", port}},
                                  dir + "/rank" + std::to_string(r)));
  // Once training runs (rank 0 has written a checkpoint), rank 1 dies without a word.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!file_exists(dir + "/run/model.pt") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ::kill(pids[1], SIGKILL);
  EXPECT_EQ(wait_ddim(pids[1]), 128 + SIGKILL);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(wait_ddim(pids[0]), 1);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 40.0);
  const auto err = read_text(dir + "/rank0.err");
  EXPECT_NE(err.find("data-parallel"), std::string::npos) << err;
  // What was saved before stays whole.
  EXPECT_NO_THROW(load_checkpoint(dir + "/run/model.pt"));
}

TEST(DistributedCli, ARunResumesWithAnotherNumberOfProcesses) {
  DDIM_REQUIRE_DISTRIBUTED();
  const auto dir = scratch_dir();
  const auto port = std::to_string(free_port());
  std::vector<int> pids;
  for (int r = 0; r < 2; ++r)
    pids.push_back(spawn_ddim_env(
        {"train", "--data", "toy:gaussian", "--steps", "4", "--threads", "1", "--out", dir + "/run"},
        {{"RANK", std::to_string(r)},
         {"WORLD_SIZE", "2"},
         {"MASTER_ADDR", "127.0.0.1"},
         {"MASTER_PORT", port}},
        dir + "/rank" + std::to_string(r)));
  for (int r = 0; r < 2; ++r)
    ASSERT_EQ(wait_ddim(pids[r]), 0) << read_text(dir + "/rank" + std::to_string(r) + ".err");
  const auto r = run_ddim({"train", "--resume", dir + "/run", "--steps", "7", "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto c = load_checkpoint(dir + "/run/model.pt");
  EXPECT_EQ(c.meta["world_size"], 1);
  EXPECT_EQ(c.meta["step"], 7);
}

TEST(DistributedCli, TrainEmbedderRunsOnTwoProcesses) {
  DDIM_REQUIRE_DISTRIBUTED();
  const auto dir = scratch_dir();
  write_mnist_fixture(dir + "/mnist", 32, 8);
  std::vector<std::string> args = {"train", "--data",      "mnist:" + dir + "/mnist", "--steps", "2",
                                   "--out", dir + "/model"};
  for (const auto& s : tiny_unet_args()) args.push_back(s);
  const auto r = run_ddim(args);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto port = std::to_string(free_port());
  std::vector<int> pids;
  for (int rank = 0; rank < 2; ++rank)
    pids.push_back(spawn_ddim_env({"train-embedder", "--model", dir + "/model/model.pt", "--arch", "conv3-16",
                                   "--batch", "4", "--steps", "3", "--ddim-steps", "2", "--validation-images",
                                   "4", "--threads", "1", "--out", dir + "/emb"},
                                  {{"RANK", std::to_string(rank)},
                                   {"WORLD_SIZE", "2"},
                                   {"MASTER_ADDR", "127.0.0.1"},
                                   {"MASTER_PORT", port}},
                                  dir + "/rank" + std::to_string(rank)));
  for (int rank = 0; rank < 2; ++rank)
    EXPECT_EQ(wait_ddim(pids[rank]), 0) << read_text(dir + "/rank" + std::to_string(rank) + ".err");
  EXPECT_NE(read_text(dir + "/rank0.err").find("the 2 processes hold identical weights"), std::string::npos)
      << read_text(dir + "/rank0.err");
  EXPECT_EQ(load_checkpoint(dir + "/emb/model.pt").meta["world_size"], 2);
}

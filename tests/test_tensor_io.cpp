#include <cstdlib>

#include "ddim/core/error.h"
#include "ddim/io/tensor_io.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

class TensorIo : public SeededTest {};

TEST_F(TensorIo, TensorAndDictRoundTrip) {
  const auto dir = scratch_dir();
  auto t = torch::randn({2, 1, 4, 4});
  save_tensor(dir + "/t.pt", t);
  EXPECT_TRUE(torch::equal(load_tensor(dir + "/t.pt"), t));
  TensorDict d = {{"a", torch::arange(5)}, {"b.weight", torch::randn({3, 3})}};
  save_tensor_dict(dir + "/d.pt", d);
  auto back = load_tensor_dict(dir + "/d.pt");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_TRUE(torch::equal(back["a"], d["a"]));
  EXPECT_TRUE(torch::equal(back["b.weight"], d["b.weight"]));
  EXPECT_THROW(load_tensor_dict(dir + "/t.pt"), Error);  // a tensor is not a dict
}

TEST_F(TensorIo, TruncatedAndForeignFilesAreRefused) {
  const auto dir = scratch_dir();
  save_tensor(dir + "/t.pt", torch::randn({64, 64}));
  auto bytes = read_bytes(dir + "/t.pt");
  bytes.resize(bytes.size() / 2);
  write_bytes(dir + "/cut.pt", bytes);
  try {
    load_tensor(dir + "/cut.pt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.pt: not a readable .pt file"), std::string::npos) << e.what();
  }
  write_text(dir + "/text.pt", "hello");
  EXPECT_THROW(load_tensor(dir + "/text.pt"), Error);
  EXPECT_THROW(load_tensor(dir + "/missing.pt"), Error);
}

// The files must open in Python's torch.load (Debian's python3-torch, installed by
// scripts/install-deps.sh) and Python's files must open here. (LibTorch 1.13's unpickler
// lacks the SETITEM opcode that Python uses for one-entry dicts; dicts of two or more
// entries and bare tensors load.)
TEST_F(TensorIo, InteroperatesWithPythonTorch) {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "Python torch is not installed (scripts/install-deps.sh installs python3-torch)";
  const auto dir = scratch_dir();
  auto t = torch::arange(12, torch::kFloat32).view({3, 4});
  save_tensor(dir + "/from_cpp.pt", t);
  save_tensor_dict(dir + "/dict_cpp.pt", {{"w", t * 2}});
  const std::string script = dir + "/check.py";
  write_text(script,
             "import sys, torch\n"
             "d = sys.argv[1]\n"
             "t = torch.load(d + '/from_cpp.pt')\n"
             "assert t.shape == (3, 4) and float(t.sum()) == 66.0, t\n"
             "w = torch.load(d + '/dict_cpp.pt')['w']\n"
             "assert float(w[2, 3]) == 22.0\n"
             "torch.save({'x': torch.ones(2, 2) * 3, 'y': torch.zeros(1)}, d + '/from_py.pt')\n"
             "torch.save(torch.full((5,), 7.0), d + '/tensor_py.pt')\n");
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + dir).c_str()), 0);
  EXPECT_TRUE(torch::equal(load_tensor_dict(dir + "/from_py.pt")["x"], torch::ones({2, 2}) * 3));
  EXPECT_TRUE(torch::equal(load_tensor(dir + "/tensor_py.pt"), torch::full({5}, 7.0)));
}

#include "ddim/core/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "ddim/core/error.h"
#include "ddim/core/interrupt.h"

extern char** environ;

namespace ddim {

bool program_exists(const std::string& program) {
  auto executable = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) return executable(program);
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && executable(dir + "/" + program)) return true;
  }
  return false;
}

ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::function<void(const std::string&)>& on_stderr_line) {
  DDIM_CHECK_ARG(!argv.empty(), "run_process: no program given");
  DDIM_CHECK(program_exists(argv[0]), "{}: the program is not installed (not found in PATH)", argv[0]);
  int err[2];
  DDIM_CHECK(::pipe(err) == 0, "{}: cannot create a pipe: {}", argv[0], std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, err[0]);
  posix_spawn_file_actions_addclose(&actions, err[1]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(err[1]);
  if (rc != 0) {
    ::close(err[0]);
    DDIM_FAIL("{}: cannot start the program: {}", argv[0], std::strerror(rc));
  }

  ProcessResult result;
  std::string pending;
  auto emit = [&](std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) result.last_error_line = line;
    if (on_stderr_line) on_stderr_line(line);
  };
  bool interrupted = false;
  char buffer[4096];
  for (;;) {
    if (interrupt_requested() && !interrupted) {
      interrupted = true;
      ::kill(pid, SIGTERM);
    }
    pollfd p{err[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);  // wakes up to notice an interrupt
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    const ssize_t n = ::read(err[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buffer, static_cast<size_t>(n));
    size_t start = 0, end;
    while ((end = pending.find('\n', start)) != std::string::npos) {
      emit(pending.substr(start, end - start));
      start = end + 1;
    }
    pending.erase(0, start);
  }
  ::close(err[0]);
  if (!pending.empty()) emit(pending);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (interrupted) throw_if_interrupted();
  return result;
}

}  // namespace ddim

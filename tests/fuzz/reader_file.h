// The fuzz input as a file, for readers that take a path: an anonymous memory file (memfd) whose
// /proc/self/fd path the reader opens. The file closes with the object.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace camgraph::fuzz {

class InputFile {
 public:
  InputFile(const uint8_t* data, size_t size) {
    fd_ = ::memfd_create("camgraph-fuzz", MFD_CLOEXEC);
    if (fd_ >= 0 && size > 0 && ::write(fd_, data, size) != ssize_t(size)) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~InputFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  bool ok() const { return fd_ >= 0; }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_ = -1;
};

}  // namespace camgraph::fuzz

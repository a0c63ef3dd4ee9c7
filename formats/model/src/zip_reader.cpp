// Zip container of torch.save checkpoints (see zip_reader.h).
#include "zip_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace camgraph::checkpoint_detail {

std::uint16_t le16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint64_t le64(const unsigned char* p) {
  return static_cast<std::uint64_t>(le32(p)) | (static_cast<std::uint64_t>(le32(p + 4)) << 32);
}

namespace {

class FileSource : public ByteSource {
 public:
  explicit FileSource(const std::filesystem::path& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
      throw std::runtime_error(path.string() + ": cannot open checkpoint file (" + std::strerror(errno) +
                               "; does it exist and is it readable?)");
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      throw std::runtime_error(path.string() + ": not a regular file");
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
  }
  ~FileSource() override { ::close(fd_); }
  std::uint64_t size() const override { return size_; }
  void read(std::uint64_t offset, void* dst, std::uint64_t n) const override {
    auto* out = static_cast<char*>(dst);
    while (n > 0) {
      const ssize_t got = ::pread(fd_, out, static_cast<size_t>(std::min<std::uint64_t>(n, 1u << 30)),
                                  static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw std::runtime_error(std::string("read error: ") + std::strerror(errno));
      if (got == 0) throw std::runtime_error("the file became shorter while it was read");
      out += got;
      offset += static_cast<std::uint64_t>(got);
      n -= static_cast<std::uint64_t>(got);
    }
  }

 private:
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
  std::uint64_t size() const override { return bytes_.size(); }
  void read(std::uint64_t offset, void* dst, std::uint64_t n) const override {
    if (n) std::memcpy(dst, bytes_.data() + offset, static_cast<size_t>(n));
  }

 private:
  std::string_view bytes_;
};

constexpr std::uint32_t kLocalHeader = 0x04034b50u, kCentralHeader = 0x02014b50u, kEnd = 0x06054b50u,
                        kEnd64 = 0x06064b50u, kEnd64Locator = 0x07064b50u;
constexpr std::uint64_t kLocalHeaderSize = 30, kCentralHeaderSize = 46, kEndSize = 22;

}  // namespace

std::unique_ptr<ByteSource> file_source(const std::filesystem::path& path) {
  return std::make_unique<FileSource>(path);
}
std::unique_ptr<ByteSource> memory_source(std::string_view bytes) { return std::make_unique<MemorySource>(bytes); }

ZipReader::ZipReader(std::unique_ptr<ByteSource> bytes, std::string source)
    : bytes_(std::move(bytes)), source_(std::move(source)), file_size_(bytes_->size()) {
  read_directory();
}

void ZipReader::fail(const std::string& what, std::uint64_t offset) const {
  throw std::runtime_error(source_ + ": " + what + " (offset " + std::to_string(offset) + ")");
}

std::uint64_t ZipReader::size_of(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) fail("zip entry '" + name + "' is missing", 0);
  return it->second.size;
}

void ZipReader::read_at(std::uint64_t offset, void* dst, std::uint64_t n, const std::string& what) const {
  if (offset > file_size_ || n > file_size_ - offset)
    fail("truncated file: " + what + " (" + std::to_string(n) + " bytes) runs past the end of the " +
             std::to_string(file_size_) + "-byte file",
         offset);
  try {
    bytes_->read(offset, dst, n);
  } catch (const std::runtime_error& e) {
    fail(std::string(e.what()) + " in " + what, offset);
  }
}

void ZipReader::read(const std::string& name, void* dst, std::uint64_t n) {
  auto it = entries_.find(name);
  if (it == entries_.end()) fail("zip entry '" + name + "' is missing", 0);
  ZipEntry& e = it->second;
  if (e.method != 0)
    fail("zip entry '" + name + "' is compressed (method " + std::to_string(e.method) +
             "); torch.save writes stored entries: re-save the checkpoint with torch.save",
         e.header_offset);
  if (n > e.size) fail("zip entry '" + name + "' is shorter than its tensor data", e.header_offset);
  if (e.data_offset == 0) {
    unsigned char h[kLocalHeaderSize];
    read_at(e.header_offset, h, kLocalHeaderSize, "local header of '" + name + "'");
    if (le32(h) != kLocalHeader) fail("corrupt zip: bad local header for '" + name + "'", e.header_offset);
    const std::uint64_t data = e.header_offset + kLocalHeaderSize + le16(h + 26) + le16(h + 28);  // no overflow:
    if (data > file_size_ || e.size > file_size_ - data)  // header_offset <= file size (checked)
      fail("truncated file: entry '" + name + "' (" + std::to_string(e.size) + " bytes) runs past the end of the " +
               std::to_string(file_size_) + "-byte file",
           data);
    e.data_offset = data;
  }
  read_at(e.data_offset, dst, n, "entry '" + name + "'");
}

std::string ZipReader::read_all(const std::string& name) {
  std::string s(static_cast<std::size_t>(size_of(name)), '\0');  // size_of <= file size (read_directory)
  read(name, s.data(), s.size());
  return s;
}

void ZipReader::read_directory() {
  if (file_size_ < kEndSize) fail("not a PyTorch checkpoint: file too short to be a zip (truncated?)", 0);
  const std::uint64_t tail = std::min<std::uint64_t>(file_size_, kEndSize + 65535 + 20);
  std::vector<unsigned char> buf(tail);
  read_at(file_size_ - tail, buf.data(), tail, "zip end record");
  std::int64_t eocd = -1;
  for (std::int64_t i = static_cast<std::int64_t>(tail - kEndSize); i >= 0; --i)
    if (le32(&buf[static_cast<size_t>(i)]) == kEnd) {
      eocd = i;
      break;
    }
  if (eocd < 0) fail("not a zip archive or truncated (no end-of-central-directory record)", file_size_);
  const std::uint64_t eocd_offset = file_size_ - tail + static_cast<std::uint64_t>(eocd);
  const unsigned char* e = &buf[static_cast<size_t>(eocd)];
  std::uint64_t count = le16(e + 10);
  std::uint64_t cd_size = le32(e + 12);
  std::uint64_t cd_offset = le32(e + 16);
  if (eocd >= 20 && le32(&buf[static_cast<size_t>(eocd) - 20]) == kEnd64Locator) {
    const std::uint64_t z64 = le64(&buf[static_cast<size_t>(eocd) - 20 + 8]);
    unsigned char r[56];
    read_at(z64, r, 56, "zip64 end record");
    if (le32(r) != kEnd64) fail("corrupt zip64 end record", z64);
    count = le64(r + 32);
    cd_size = le64(r + 40);
    cd_offset = le64(r + 48);
  }
  if (cd_offset > file_size_ || cd_size > file_size_ - cd_offset)
    fail("truncated file: the central directory (" + std::to_string(cd_size) + " bytes at offset " +
             std::to_string(cd_offset) + ") runs past the end of the " + std::to_string(file_size_) + "-byte file",
         eocd_offset);
  if (count > cd_size / kCentralHeaderSize)
    fail("corrupt zip: " + std::to_string(count) + " entries cannot fit a " + std::to_string(cd_size) +
             "-byte central directory",
         eocd_offset);
  std::vector<unsigned char> cd(static_cast<size_t>(cd_size));  // <= file size
  read_at(cd_offset, cd.data(), cd_size, "central directory");
  std::uint64_t p = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t used = 0;
    read_central_entry(cd.data() + p, cd_size - p, cd_offset + p, used);
    p += used;
  }
}

// One central directory header at h (`available` bytes left in the directory, at file offset `at`).
void ZipReader::read_central_entry(const unsigned char* h, std::uint64_t available, std::uint64_t at,
                                   std::uint64_t& used) {
  if (available < kCentralHeaderSize || le32(h) != kCentralHeader)
    fail("corrupt zip central directory (no entry header)", at);
  ZipEntry z;
  z.method = le16(h + 10);
  std::uint64_t csize = le32(h + 20), usize = le32(h + 24), off = le32(h + 42);
  const std::uint64_t nlen = le16(h + 28), xlen = le16(h + 30), clen = le16(h + 32);
  used = kCentralHeaderSize + nlen + xlen + clen;
  if (used > available) fail("corrupt zip central directory (entry runs past its end)", at);
  std::string name(reinterpret_cast<const char*>(h + kCentralHeaderSize), static_cast<size_t>(nlen));
  // ZIP64 extra field: present values replace the 0xFFFFFFFF ones, in this order.
  const unsigned char* x = h + kCentralHeaderSize + nlen;
  for (std::uint64_t q = 0; q + 4 <= xlen;) {
    const std::uint64_t id = le16(x + q), len = le16(x + q + 2), end = q + 4 + len;
    if (end > xlen) fail("corrupt zip: extra field of '" + name + "' runs past its entry", at);
    if (id == 0x0001) {
      std::uint64_t k = q + 4;
      for (std::uint64_t* v : {&usize, &csize, &off})
        if (*v == 0xFFFFFFFFu && k + 8 <= end) {
          *v = le64(x + k);
          k += 8;
        }
    }
    q = end;
  }
  if (z.method == 0 && csize != usize)
    fail("corrupt zip: stored entry '" + name + "' has two sizes (" + std::to_string(csize) + " and " +
             std::to_string(usize) + ")",
         at);
  z.size = z.method == 0 ? usize : csize;
  z.header_offset = off;
  // Bounded by the file now, so that no later allocation trusts a declared size.
  if (off > file_size_ || file_size_ - off < kLocalHeaderSize || z.size > file_size_ - off - kLocalHeaderSize)
    fail("zip entry '" + name + "' declares " + std::to_string(z.size) + " bytes at offset " + std::to_string(off) +
             ", past the end of the " + std::to_string(file_size_) + "-byte file (truncated or corrupt)",
         at);
  entries_[name] = z;
}

}  // namespace camgraph::checkpoint_detail

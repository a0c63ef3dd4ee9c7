// The zip container of torch.save checkpoints (internal to camgraph_model_formats): stored entries
// only (torch.save never compresses), ZIP64 aware. Every entry's declared size and offset are
// checked against the file's size when the central directory is read, so nothing later allocates
// more than the file holds. Errors are std::runtime_error "<source>: <problem> (offset N)".
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace camgraph::checkpoint_detail {

// Where the bytes come from: a file (read with pread) or memory.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual std::uint64_t size() const = 0;
  // Copies bytes [offset, offset + n) to dst; the caller has checked the range. Throws
  // std::runtime_error (without the source's name) on an I/O error.
  virtual void read(std::uint64_t offset, void* dst, std::uint64_t n) const = 0;
};
std::unique_ptr<ByteSource> file_source(const std::filesystem::path& path);  // throws naming the path
std::unique_ptr<ByteSource> memory_source(std::string_view bytes);           // bytes must outlive it

std::uint16_t le16(const unsigned char* p);
std::uint32_t le32(const unsigned char* p);
std::uint64_t le64(const unsigned char* p);

struct ZipEntry {
  std::uint64_t header_offset = 0;  // of its local header
  std::uint64_t data_offset = 0;    // resolved from the local header on first read (0: not yet)
  std::uint64_t size = 0;           // <= file size - header_offset - 30, checked
  std::uint16_t method = 0;
};

class ZipReader {
 public:
  ZipReader(std::unique_ptr<ByteSource> bytes, std::string source);

  const std::string& source() const { return source_; }
  std::uint64_t file_size() const { return file_size_; }
  const std::map<std::string, ZipEntry>& entries() const { return entries_; }
  bool has(const std::string& name) const { return entries_.count(name) != 0; }
  std::uint64_t size_of(const std::string& name) const;

  // Reads the first n bytes of entry `name` (n <= its size) into dst.
  void read(const std::string& name, void* dst, std::uint64_t n);
  std::string read_all(const std::string& name);  // at most the file's size

  [[noreturn]] void fail(const std::string& what, std::uint64_t offset) const;

 private:
  void read_at(std::uint64_t offset, void* dst, std::uint64_t n, const std::string& what) const;
  void read_directory();
  void read_central_entry(const unsigned char* h, std::uint64_t available, std::uint64_t at, std::uint64_t& used);

  std::unique_ptr<ByteSource> bytes_;
  std::string source_;
  std::uint64_t file_size_ = 0;
  std::map<std::string, ZipEntry> entries_;
};

}  // namespace camgraph::checkpoint_detail

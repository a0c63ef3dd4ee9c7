// Builds torch.save-like archives byte by byte for the checkpoint tests: zips of stored entries
// (with room to lie in any header field) and protocol-2 pickles.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace camgraph::testing {

inline void put16(std::string& s, std::uint32_t v) {
  s.push_back(char(v & 255));
  s.push_back(char((v >> 8) & 255));
}
inline void put32(std::string& s, std::uint32_t v) {
  put16(s, v & 0xFFFF);
  put16(s, v >> 16);
}
inline void put64(std::string& s, std::uint64_t v) {
  put32(s, std::uint32_t(v & 0xFFFFFFFFu));
  put32(s, std::uint32_t(v >> 32));
}

struct ZipFile {
  std::string name, data;
  // Lies, applied when set: the central directory's sizes, the local header's name length, the
  // central directory's extra field (raw bytes), the central directory's local-header offset.
  std::int64_t central_size = -1;
  std::int64_t local_name_length = -1;
  std::string central_extra;
  std::int64_t central_offset = -1;
};

// A zip of stored entries (what torch.save writes), enough for the reader, with lies where asked.
inline std::string zip_crafted(const std::vector<ZipFile>& files) {
  std::string out, central;
  for (const auto& f : files) {
    const auto offset = static_cast<std::uint32_t>(out.size());
    put32(out, 0x04034b50);
    for (int k = 0; k < 5; ++k) put16(out, k == 0 ? 20 : 0);  // version, flags, method, time, date
    put32(out, 0);                                            // crc (not checked)
    put32(out, f.data.size());
    put32(out, f.data.size());
    put16(out, f.local_name_length >= 0 ? std::uint32_t(f.local_name_length) : f.name.size());
    put16(out, 0);
    out += f.name + f.data;
    const std::uint32_t size = f.central_size >= 0 ? std::uint32_t(f.central_size) : f.data.size();
    put32(central, 0x02014b50);
    for (int k = 0; k < 6; ++k) put16(central, k < 2 ? 20 : 0);  // versions, flags, method, time, date
    put32(central, 0);
    put32(central, size);
    put32(central, size);
    put16(central, f.name.size());
    put16(central, f.central_extra.size());
    for (int k = 0; k < 3; ++k) put16(central, 0);  // comment, disk, internal attributes
    put32(central, 0);
    put32(central, f.central_offset >= 0 ? std::uint32_t(f.central_offset) : offset);
    central += f.name + f.central_extra;
  }
  const auto cd_offset = static_cast<std::uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, files.size());
  put16(out, files.size());
  put32(out, central.size());
  put32(out, cd_offset);
  put16(out, 0);
  return out;
}
// The same, honest.
inline std::string zip_stored(const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<ZipFile> z;
  for (const auto& [name, data] : files) z.push_back(ZipFile{name, data});
  return zip_crafted(z);
}

// Pickle pieces (protocol 2).
inline std::string u32(std::uint32_t v) {
  std::string s;
  put32(s, v);
  return s;
}
inline std::string unicode(const std::string& s) { return "X" + u32(s.size()) + s; }
inline std::string binint(std::int32_t v) { return "J" + u32(std::uint32_t(v)); }
inline std::string long8(std::int64_t v) {  // LONG1 with 8 bytes
  std::string s = "\x8a\x08";
  put64(s, std::uint64_t(v));
  return s;
}
inline const std::string kOrderedDict = "ccollections\nOrderedDict\n)R";  // OrderedDict()

// _rebuild_tensor_v2(storage `key` of `numel` elements of `storage_type`, offset, size, stride).
inline std::string tensor_pickle(const std::string& key, std::int64_t numel, const std::vector<std::int64_t>& size,
                                 const std::vector<std::int64_t>& stride, std::int64_t offset = 0,
                                 const std::string& storage_type = "FloatStorage") {
  std::string p = "ctorch._utils\n_rebuild_tensor_v2\n(";
  p += "(" + unicode("storage") + "ctorch\n" + storage_type + "\n" + unicode(key) + unicode("cpu") + long8(numel) +
       "tQ";
  p += long8(offset) + "(";
  for (auto s : size) p += long8(s);
  p += "t(";
  for (auto s : stride) p += long8(s);
  p += "t\x89" + kOrderedDict + "tR";
  return p;
}

// Protocol-2 pickle of OrderedDict{key: float32 tensor of `n` elements, shape (n,)}, as torch.save.
inline std::string one_tensor_pickle(const std::string& key, int n) {
  return "\x80\x02" + kOrderedDict + unicode(key) + tensor_pickle("0", n, {n}, {1}) + "s.";
}

}  // namespace camgraph::testing

// Values that flow on wires, seen generically by the engine (no torch here).
// Concrete value types are in values.h.
#pragma once
#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>

#include "camgraph/types.h"

namespace camgraph {

struct ValueArchive;  // values.h: JSON + named tensors, for the disk cache

class ValueBase {
 public:
  virtual ~ValueBase() = default;
  virtual PortType type() const = 0;
  virtual std::size_t byte_size() const = 0;   // for the memory cache budget
  virtual nlohmann::json summary() const = 0;  // short description for logs and events
  virtual void save(ValueArchive& archive) const = 0;
};

using Value = std::shared_ptr<const ValueBase>;

enum class DeviceKind { Auto, Cpu, Cuda };
const char* to_string(DeviceKind d);
bool parse_device(const std::string& s, DeviceKind& out);

}  // namespace camgraph

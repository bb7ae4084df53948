/*
 * json_fast.cc: hv_json_loadb (hv_json.h). simdjson parses; the tree is rebuilt with jansson's
 * constructors; anything on which the two libraries might differ is handed to jansson whole.
 * C++ only because simdjson is; nothing C++ crosses the C interface (no exception escapes it).
 */
#include "hv_json.h"

#include <cstring>
#include <new>

#include <simdjson.h>

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

/* simdjson's default nesting limit; deeper texts (jansson allows 2048) go to jansson. */
constexpr size_t max_depth = simdjson::DEFAULT_MAX_DEPTH;

/* NULL when jansson must decide: the caller drops what was built and falls back. */
json_t *convert(const element &e, size_t flags, size_t depth) {
  switch (e.type()) {
    case element_type::ARRAY: {
      simdjson::dom::array items;
      json_t *array = e.get(items) == simdjson::SUCCESS ? json_array() : nullptr;
      if (array == nullptr) return nullptr;
      for (element item : items) {
        json_t *v = depth < max_depth ? convert(item, flags, depth + 1) : nullptr;
        if (v == nullptr || json_array_append_new(array, v) != 0) {
          json_decref(array);
          return nullptr;
        }
      }
      return array;
    }
    case element_type::OBJECT: {
      simdjson::dom::object fields;
      json_t *object = e.get(fields) == simdjson::SUCCESS ? json_object() : nullptr;
      if (object == nullptr) return nullptr;
      for (simdjson::dom::key_value_pair field : fields) {
        std::string_view key = field.key;
        /* jansson refuses a NUL in a key and, when asked, a key seen before */
        bool refuse = std::memchr(key.data(), 0, key.size()) != nullptr ||
                      ((flags & JSON_REJECT_DUPLICATES) &&
                       json_object_getn(object, key.data(), key.size()) != nullptr);
        json_t *v = refuse || depth >= max_depth ? nullptr : convert(field.value, flags, depth + 1);
        /* the key is UTF-8: simdjson checked the whole text and every \u escape it decoded */
        if (v == nullptr ||
            json_object_setn_new_nocheck(object, key.data(), key.size(), v) != 0) {
          json_decref(object);
          return nullptr;
        }
      }
      return object;
    }
    case element_type::STRING: {
      std::string_view s;
      if (e.get(s) != simdjson::SUCCESS) return nullptr;
      if (!(flags & JSON_ALLOW_NUL) && std::memchr(s.data(), 0, s.size()) != nullptr)
        return nullptr;
      return json_stringn_nocheck(s.data(), s.size()); /* UTF-8, as the key above */
    }
    case element_type::INT64: {
      int64_t i = 0;
      return e.get(i) == simdjson::SUCCESS ? json_integer(static_cast<json_int_t>(i)) : nullptr;
    }
    case element_type::UINT64:
      return nullptr; /* past int64: jansson says "too big integer" */
    case element_type::DOUBLE: { /* finite: simdjson refuses overflow */
      double d = 0;
      return e.get(d) == simdjson::SUCCESS ? json_real(d) : nullptr;
    }
    case element_type::BOOL: {
      bool b = false;
      return e.get(b) == simdjson::SUCCESS ? json_boolean(b) : nullptr;
    }
    case element_type::NULL_VALUE:
      return json_null();
  }
  return nullptr;
}

constexpr size_t fast_flags = JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY;

json_t *load_fast(const char *text, size_t len, size_t flags, bool padded) noexcept {
  if (text == nullptr || (flags & ~fast_flags) != 0) return nullptr;
  try {
    simdjson::dom::parser parser;
    element root;
    if (parser.parse(text, len, !padded).get(root) != simdjson::SUCCESS) return nullptr;
    if (!(flags & JSON_DECODE_ANY) && !root.is_array() && !root.is_object()) return nullptr;
    return convert(root, flags, 1);
  } catch (...) { /* std::bad_alloc and the like: jansson decides */
    return nullptr;
  }
}

json_t *load(const char *text, size_t len, size_t flags, json_error_t *error, bool padded) {
  json_t *tree = len >= HV_JSON_FAST_MIN_BYTES ? load_fast(text, len, flags, padded) : nullptr;
  if (tree == nullptr) return json_loadb(text, len, flags, error);
  if (error != nullptr) { /* as jansson leaves it after a success */
    std::memset(error, 0, sizeof *error);
    error->line = error->column = -1;
    std::strcpy(error->source, "<buffer>");
  }
  return tree;
}

} // namespace

extern "C" json_t *hv_json_loadb(const char *text, size_t len, size_t flags, json_error_t *error) {
  return load(text, len, flags, error, false);
}

extern "C" json_t *hv_json_loadb_padded(const char *text, size_t len, size_t flags,
                                         json_error_t *error) {
  return load(text, len, flags, error, true);
}

extern "C" json_t *hv_json__load_fast(const char *text, size_t len, size_t flags) {
  return load_fast(text, len, flags, false);
}

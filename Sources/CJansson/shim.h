#include <jansson.h>

// jansson's function-like macros do not import into Swift; these wrap them.
static inline int saddle_json_typeof(const json_t *json) { return (int)json_typeof(json); }
static inline size_t saddle_json_real_precision(int n) { return JSON_REAL_PRECISION(n); }
static inline void saddle_json_decref(json_t *json) { json_decref(json); }

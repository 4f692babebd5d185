// Where the training stream stands, so that a resumed run gets exactly the batches it would have got.
#pragma once

#include <cstdint>

#include "core/strict_json.h"

namespace moe::train {

struct DataCursor {
    int64_t epoch = 0;
    int64_t position = 0;      // the next packed sequence of that epoch (always < its sequence count:
                               // the epoch after is started as soon as one ends)
    uint64_t rng_state = 0;    // the epoch's shuffle RNG after drawing its order (from seed and epoch)
    uint64_t fingerprint = 0;  // of the training samples, seq_len and seed: Dataset::seek refuses
                               // a cursor saved for other data

    // {"format": "moe.data_cursor", "version": 1, "epoch", "position", "rng_state", "fingerprint"}
    // (the 64-bit values as 16 hex digits: JSON readers that use doubles would round them).
    Json to_json() const;
    // Throws moe::Error data.bad_cursor naming the field.
    static DataCursor from_json(const Json& j);

    bool operator==(const DataCursor&) const = default;
};

}  // namespace moe::train

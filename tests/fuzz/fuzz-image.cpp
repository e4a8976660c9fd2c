// Fuzz target: image decoding (PNG chunk checks + stb_image for PNG/BMP/GIF/..., libjpeg for JPEG) with a
// pixel cap. A bad file must end in glm::error; a decoded one must have the size it claims.
#include "common.h"
#include "image.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    glm::log_set_level(glm::log_level::error);  // truncated-JPEG warnings are expected here
    try {
        const glm::image_u8 img = glm::image_decode(data, size, "fuzz", 1 << 20);
        if (img.w <= 0 || img.h <= 0 || (int64_t) img.w * img.h > (1 << 20) ||
            img.rgb.size() != (size_t) img.w * img.h * 3) {
            abort();
        }
    } catch (const glm::error &) {
    }
    return 0;
}

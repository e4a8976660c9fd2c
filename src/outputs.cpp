#include "outputs.h"

#include "settings.h"

#include "common.h"

#include <stb/stb_easy_font.h>

#include <algorithm>
#include <cmath>
#include <fstream>

namespace glm {

using json = nlohmann::json;

static const char * k_result_format = "groundlmm.ground/1";

void phrase_color(int i, uint8_t rgb[3]) {
    // matplotlib's tab10, then tab10 again slightly darker
    static const uint8_t pal[10][3] = { { 31, 119, 180 }, { 255, 127, 14 }, { 44, 160, 44 },   { 214, 39, 40 },
                                        { 148, 103, 189 }, { 140, 86, 75 }, { 227, 119, 194 }, { 127, 127, 127 },
                                        { 188, 189, 34 },  { 23, 190, 207 } };
    const int     k         = i % 10;
    const float   f         = (i / 10) % 2 ? 0.7f : 1.0f;
    for (int c = 0; c < 3; ++c) {
        rgb[c] = (uint8_t) (pal[k][c] * f);
    }
}

static json span_json(const char_span & s) { return json::array({ s.begin, s.end }); }

static json rle_json(const rle & r) {
    return { { "size", { r.h, r.w } }, { "counts", rle_to_string(r) } };
}

json ground_phrase_to_json(const ground_phrase & p) {
    json j = {
        { "text", p.np.text },
        { "span", span_json(p.np.span) },
        { "head", p.np.head_text },
        { "head_span", span_json(p.np.head) },
        { "sentence", p.np.sentence },
        { "fallback_chunker", p.np.fallback },
        { "tokens", p.tokens },
        { "status", p.status },
        { "point", p.x >= 0 ? json::array({ p.x, p.y }) : json(nullptr) },
        { "peak", p.peak },
        { "mask", p.has_mask ? rle_json(p.mask) : json(nullptr) },
        { "score", p.score },
        { "mask_index", p.mask_index },
        { "all_scores", p.all_scores },
    };
    if (!p.all_masks.empty()) {
        json am = json::array();
        for (const rle & r : p.all_masks) {
            am.push_back(rle_json(r));
        }
        j["all_masks"] = am;
    }
    return j;
}

json ground_to_json(const ground_result & g, const attend_result & att) {
    json phrases = json::array();
    for (const ground_phrase & p : g.phrases) {
        phrases.push_back(ground_phrase_to_json(p));
    }
    // the settings table's names and values (settings.h), as used: stage 1 from the run, stage 2 resolved
    run_settings rs;
    rs.gen    = att.gen;
    rs.heads  = g.params.heads;
    rs.head_sel = g.params.head_sel;
    rs.ground = g.params;
    json settings = settings_to_json(rs);
    settings["refiner"] = g.refiner;
    if (g.params.maps.aspect == map_aspect::rect) {
        const grid_rect & r = g.params.maps.rect;
        settings["rect"]    = { r.x, r.y, r.w, r.h };
    }
    return {
        { "format", k_result_format },
        { "answer", g.answer },
        { "image", { { "path", att.image_path }, { "width", g.width }, { "height", g.height } } },
        { "phrases", phrases },
        { "sentences", { { "count", g.n_sentences }, { "fallback", g.n_fallback_sentences } } },
        { "settings", settings },
        { "models", { { "llm", att.llm_path }, { "vision", att.vision_path } } },
        { "grid", { { "w", g.grid_w }, { "h", g.grid_h } } },
        { "timings",
          { { "vision_s", att.t_vision_s },
            { "prompt_s", att.out.t_prompt_s },
            { "generate_s", att.out.t_gen_s },
            { "phrases_s", g.t_phrases_s },
            { "maps_s", g.t_maps_s },
            { "refine_s", g.t_refine_s } } },
    };
}

static char_span span_from(const json & j) { return { j.at(0).get<int>(), j.at(1).get<int>() }; }

static rle rle_from(const json & j) {
    return rle_from_string(j.at("counts").get<std::string>(), j.at("size").at(0), j.at("size").at(1));
}

ground_result ground_from_json(const json & j) {
    ground_result g;
    try {
        if (j.at("format").get<std::string>() != k_result_format) {
            fail("result format '%s', expected '%s'", j.at("format").get<std::string>().c_str(), k_result_format);
        }
        g.answer = j.at("answer");
        g.width  = j.at("image").at("width");
        g.height = j.at("image").at("height");
        g.grid_w = j.at("grid").at("w");
        g.grid_h = j.at("grid").at("h");
        g.n_sentences          = j.at("sentences").at("count");
        g.n_fallback_sentences = j.at("sentences").at("fallback");
        const json & s         = j.at("settings");
        g.params.head_sel      = head_set_parse(s.at("attn_heads").get<std::string>(), /*read_file=*/false);
        g.params.heads         = g.params.head_sel.kind;
        g.params.aspect_auto   = false;
        g.params.maps.aspect   = map_aspect_from_name(s.at("aspect"));
        if (g.params.maps.aspect == map_aspect::rect) {
            const json & r     = s.at("rect");
            g.params.maps.rect = { r.at(0).get<int>(), r.at(1).get<int>(), r.at(2).get<int>(), r.at(3).get<int>() };
        }
        g.params.maps.normalize     = s.at("normalize");
        g.params.maps.remove_corner = s.at("remove_corner");
        g.params.select        = mask_select_from_name(s.at("mask_select"));
        g.params.min_score     = s.at("min_score");
        g.refiner              = s.at("refiner");
        for (const json & p : j.at("phrases")) {
            ground_phrase q;
            q.np.text      = p.at("text");
            q.np.span      = span_from(p.at("span"));
            q.np.head_text = p.at("head");
            q.np.head      = span_from(p.at("head_span"));
            q.np.sentence  = p.at("sentence");
            q.np.fallback  = p.at("fallback_chunker");
            q.tokens       = p.at("tokens").get<std::vector<int>>();
            q.status       = p.at("status");
            if (!p.at("point").is_null()) {
                q.x = p.at("point").at(0);
                q.y = p.at("point").at(1);
            }
            q.peak = p.at("peak");
            if (!p.at("mask").is_null()) {
                q.has_mask = true;
                q.mask     = rle_from(p.at("mask"));
            }
            q.score      = p.at("score");
            q.mask_index = p.at("mask_index");
            q.all_scores = p.at("all_scores").get<std::vector<float>>();
            if (p.contains("all_masks")) {
                for (const json & m : p.at("all_masks")) {
                    q.all_masks.push_back(rle_from(m));
                }
            }
            g.phrases.push_back(std::move(q));
        }
    } catch (const json::exception & e) {
        fail("result JSON: missing or malformed field (%s)", e.what());
    }
    return g;
}

// ---------------------------------------------------------------------------------------------------------
// pictures

static void blend(uint8_t * px, const uint8_t c[3], float a) {
    for (int k = 0; k < 3; ++k) {
        px[k] = (uint8_t) std::lround(px[k] * (1.0f - a) + c[k] * a);
    }
}

static void fill_rect(image_u8 & img, int x0, int y0, int x1, int y1, const uint8_t c[3]) {
    x0 = std::max(x0, 0);
    y0 = std::max(y0, 0);
    x1 = std::min(x1, img.w);
    y1 = std::min(y1, img.h);
    for (int y = y0; y < y1; ++y) {
        for (int x = x0; x < x1; ++x) {
            memcpy(img.at(x, y), c, 3);
        }
    }
}

// Text with stb_easy_font (a 5x7-ish vector font drawn as axis-aligned quads), scaled by `scale`.
static int draw_text(image_u8 & img, int x, int y, const std::string & text, const uint8_t c[3], int scale) {
    std::vector<char> vb(std::max<size_t>(64, text.size() * 300));
    std::string       t  = text;
    for (char & ch : t) {  // stb_easy_font has glyphs for ASCII 32..126 only; other bytes read past its tables
        if ((unsigned char) ch < 32 || (unsigned char) ch > 126) {
            ch = '?';
        }
    }
    const int         nq = stb_easy_font_print(0, 0, t.data(), nullptr, vb.data(), (int) vb.size());
    int               maxx = 0;
    for (int q = 0; q < nq; ++q) {
        const float * v  = (const float *) (vb.data() + q * 4 * 16);
        const float   qx0 = v[0], qy0 = v[1], qx1 = v[2 * 4 + 0], qy1 = v[2 * 4 + 1];
        fill_rect(img, x + (int) (qx0 * scale), y + (int) (qy0 * scale), x + (int) (qx1 * scale),
                  y + (int) (qy1 * scale), c);
        maxx = std::max(maxx, (int) (qx1 * scale));
    }
    return maxx;
}

static void draw_disc(image_u8 & img, int cx, int cy, int r, const uint8_t c[3]) {
    for (int y = cy - r; y <= cy + r; ++y) {
        for (int x = cx - r; x <= cx + r; ++x) {
            if (x >= 0 && y >= 0 && x < img.w && y < img.h && (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) {
                memcpy(img.at(x, y), c, 3);
            }
        }
    }
}

image_u8 render_overlay(const image_u8 & img, const ground_result & g) {
    const int W = img.w, H = img.h;
    // legend lines below the image
    const int scale  = std::max(1, std::min(W, 1600) / 400);
    const int line_h = 12 * scale;
    int       n_lines = 0;
    for (const ground_phrase & p : g.phrases) {
        n_lines += p.x >= 0 ? 1 : 0;
    }
    image_u8 out;
    out.w = W;
    out.h = H + (n_lines > 0 ? n_lines * line_h + 6 * scale : 0);
    out.rgb.assign((size_t) out.w * out.h * 3, 255);
    std::copy(img.rgb.begin(), img.rgb.end(), out.rgb.begin());

    for (size_t i = 0; i < g.phrases.size(); ++i) {
        const ground_phrase & p = g.phrases[i];
        if (!p.has_mask) {
            continue;
        }
        uint8_t c[3];
        phrase_color((int) i, c);
        const std::vector<uint8_t> m = rle_decode(p.mask);
        for (int y = 0; y < H; ++y) {
            for (int x = 0; x < W; ++x) {
                if (!m[(size_t) y * W + x]) {
                    continue;
                }
                const bool edge = x == 0 || y == 0 || x == W - 1 || y == H - 1 || !m[(size_t) y * W + x - 1] ||
                                  !m[(size_t) y * W + x + 1] || !m[(size_t) (y - 1) * W + x] ||
                                  !m[(size_t) (y + 1) * W + x];
                blend(out.at(x, y), c, edge ? 1.0f : 0.45f);
            }
        }
    }
    const int     r = std::max(3, std::min(W, H) / 60);
    const uint8_t white[3] = { 255, 255, 255 }, black[3] = { 0, 0, 0 };
    int           line = 0;
    for (size_t i = 0; i < g.phrases.size(); ++i) {
        const ground_phrase & p = g.phrases[i];
        if (p.x < 0) {
            continue;
        }
        uint8_t c[3];
        phrase_color((int) i, c);
        draw_disc(out, p.x, p.y, r + std::max(1, r / 3), white);
        draw_disc(out, p.x, p.y, r, c);
        const int ly = H + 3 * scale + line * line_h;
        fill_rect(out, 4 * scale, ly + scale, 12 * scale, ly + 9 * scale, c);
        std::string label = p.np.text + "  (" + p.np.head_text + ")";
        if (p.has_mask) {
            label += strfmt("  score %.2f", p.score);
        } else if (p.status != "ok") {
            label += "  [" + p.status + "]";
        }
        draw_text(out, 16 * scale, ly, label, black, scale);
        ++line;
    }
    return out;
}

static std::string html_escape(const std::string & s) {
    std::string o;
    for (char ch : s) {
        switch (ch) {
            case '&':  o += "&amp;"; break;
            case '<':  o += "&lt;"; break;
            case '>':  o += "&gt;"; break;
            case '"':  o += "&quot;"; break;
            case '\n': o += "<br>\n"; break;
            default:   o += ch;
        }
    }
    return o;
}

// The text with every invalid UTF-8 sequence replaced by U+FFFD, exactly as the JSON outputs are written.
static std::string utf8_replace_invalid(const std::string & s) {
    const std::string quoted = nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return nlohmann::json::parse(quoted).get<std::string>();
}

std::string render_answer_html(const ground_result & g, const std::string & overlay_file) {
    std::string body;
    int         pos = 0;
    const int   n   = (int) g.answer.size();
    for (size_t i = 0; i < g.phrases.size(); ++i) {
        const ground_phrase & p = g.phrases[i];
        const int b = std::min(std::max(p.np.span.begin, pos), n), e = std::min(std::max(p.np.span.end, b), n);
        body += html_escape(g.answer.substr(pos, b - pos));
        uint8_t c[3];
        phrase_color((int) i, c);
        const int  hb = std::min(std::max(p.np.head.begin, b), e), he = std::min(std::max(p.np.head.end, hb), e);
        const bool grounded = p.x >= 0;
        std::string title = "head: " + p.np.head_text;
        if (grounded) {
            title += strfmt("; point (%d, %d)", p.x, p.y);
        }
        if (p.has_mask) {
            title += strfmt("; mask score %.3f", p.score);
        }
        if (p.status != "ok") {
            title += "; " + p.status;
        }
        body += strfmt("<span class=\"np\" style=\"background: rgba(%d,%d,%d,%s)\" title=\"%s\">", c[0], c[1], c[2],
                       grounded ? "0.35" : "0.08", html_escape(title).c_str());
        body += html_escape(g.answer.substr(b, hb - b)) + "<b>" + html_escape(g.answer.substr(hb, he - hb)) + "</b>" +
                html_escape(g.answer.substr(he, e - he)) + "</span>";
        pos = e;
    }
    body += html_escape(g.answer.substr(std::min(pos, n)));
    // token pieces can be partial UTF-8 characters (byte-fallback tokens): the page declares UTF-8, so it must be
    return utf8_replace_invalid(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>groundlmm</title>\n"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.6}"
        ".np{border-radius:3px;padding:0 2px}img{max-width:100%}</style></head><body>\n"
        "<p>" + body + "</p>\n<img src=\"" + html_escape(overlay_file) + "\" alt=\"overlay\">\n</body></html>\n");
}

image_u8 render_heatmap(const image_u8 & img, const ground_result & g, int i) {
    const ground_phrase & p = g.phrases.at((size_t) i);
    if (p.grid.empty()) {
        fail("phrase %d has no kept map (ground_params::keep_maps)", i);
    }
    const std::vector<float> up =
        maps_upsample(p.grid.data(), g.grid_h, g.grid_w, maps_upsample_geometry(img.w, img.h, g.params.maps));
    const auto [mn, mx]         = std::minmax_element(up.begin(), up.end());
    const float lo = *mn, span = std::max(*mx - *mn, 1e-12f);
    image_u8    out = img;
    for (size_t k = 0; k < up.size(); ++k) {
        const float t = (up[k] - lo) / span;  // jet colour map
        const uint8_t c[3] = { (uint8_t) (255 * std::clamp(1.5f - std::fabs(4 * t - 3), 0.0f, 1.0f)),
                               (uint8_t) (255 * std::clamp(1.5f - std::fabs(4 * t - 2), 0.0f, 1.0f)),
                               (uint8_t) (255 * std::clamp(1.5f - std::fabs(4 * t - 1), 0.0f, 1.0f)) };
        blend(&out.rgb[k * 3], c, 0.55f);
    }
    if (p.x >= 0) {
        const uint8_t white[3] = { 255, 255, 255 }, black[3] = { 0, 0, 0 };
        const int     r        = std::max(3, std::min(img.w, img.h) / 60);
        draw_disc(out, p.x, p.y, r + 1, black);
        draw_disc(out, p.x, p.y, r, white);
    }
    return out;
}

void ground_save(const std::string & dir, const image_u8 & img, const ground_result & g, const attend_result & att,
                 const ground_save_params & p) {
    make_dirs(dir);
    write_file(dir + "/result.json",
               ground_to_json(g, att).dump(1, ' ', false, json::error_handler_t::replace) + "\n");
    image_save_png(dir + "/overlay.png", render_overlay(img, g));
    write_file(dir + "/answer.html", render_answer_html(g));
    if (p.heatmaps) {
        for (size_t i = 0; i < g.phrases.size(); ++i) {
            if (!g.phrases[i].grid.empty()) {
                image_save_png(strfmt("%s/heatmap-%02zu.png", dir.c_str(), i), render_heatmap(img, g, (int) i));
            }
        }
    }
}

}  // namespace glm

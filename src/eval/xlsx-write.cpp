// eval/xlsx-write.cpp: one-sheet .xlsx, its zip container written by libzip (see xlsx-write.h).
#include "eval/xlsx-write.h"

#include "common.h"

#include <zip.h>

#include <cstdio>

namespace glm {

static std::string xml_escape(const std::string & s) {
    std::string o;
    for (unsigned char c : s) {
        switch (c) {
            case '&': o += "&amp;"; break;
            case '<': o += "&lt;"; break;
            case '>': o += "&gt;"; break;
            case '"': o += "&quot;"; break;
            default:
                if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                    o += strfmt("_x%04X_", c);  // XML 1.0 cannot hold these; OOXML's escape
                } else {
                    o += (char) c;
                }
        }
    }
    return o;
}

static std::string column_name(size_t c) {
    std::string s;
    for (size_t n = c + 1; n > 0; n = (n - 1) / 26) {
        s.insert(s.begin(), (char) ('A' + (n - 1) % 26));
    }
    return s;
}

void xlsx_write(const std::string & path, const std::vector<std::vector<xlsx_cell>> & rows) {
    std::string sheet = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
                        "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>";
    for (size_t r = 0; r < rows.size(); ++r) {
        sheet += strfmt("<row r=\"%zu\">", r + 1);
        for (size_t c = 0; c < rows[r].size(); ++c) {
            const xlsx_cell & x   = rows[r][c];
            const std::string ref = column_name(c) + std::to_string(r + 1);
            if (x.kind == xlsx_cell::number) {
                sheet += strfmt("<c r=\"%s\"><v>%.17g</v></c>", ref.c_str(), x.num);
            } else if (x.kind == xlsx_cell::text) {
                sheet += "<c r=\"" + ref + "\" t=\"inlineStr\"><is><t xml:space=\"preserve\">" + xml_escape(x.str) +
                         "</t></is></c>";
            }
        }
        sheet += "</row>";
    }
    sheet += "</sheetData></worksheet>";
    const std::vector<std::pair<std::string, std::string>> entries = {
        { "[Content_Types].xml",
          "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
          "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
          "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
          "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
          "<Override PartName=\"/xl/workbook.xml\" "
          "ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>"
          "<Override PartName=\"/xl/worksheets/sheet1.xml\" "
          "ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/></Types>" },
        { "_rels/.rels",
          "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
          "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
          "<Relationship Id=\"rId1\" "
          "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" "
          "Target=\"xl/workbook.xml\"/></Relationships>" },
        { "xl/workbook.xml",
          "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
          "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
          "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
          "<sheets><sheet name=\"Sheet1\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>" },
        { "xl/_rels/workbook.xml.rels",
          "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
          "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
          "<Relationship Id=\"rId1\" "
          "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" "
          "Target=\"worksheets/sheet1.xml\"/></Relationships>" },
        { "xl/worksheets/sheet1.xml", sheet },
    };
    const std::string tmp = path + ".tmp";
    std::remove(tmp.c_str());
    int   err = 0;
    zip_t * z = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z) {
        fail("%s: cannot create (libzip error %d)", path.c_str(), err);
    }
    for (const auto & e : entries) {
        zip_source_t * src = zip_source_buffer(z, e.second.data(), e.second.size(), 0);
        if (!src || zip_file_add(z, e.first.c_str(), src, ZIP_FL_ENC_UTF_8) < 0) {
            if (src) {
                zip_source_free(src);
            }
            const std::string why = zip_strerror(z);
            zip_discard(z);
            fail("%s: cannot add %s (%s)", path.c_str(), e.first.c_str(), why.c_str());
        }
    }
    if (zip_close(z) != 0) {  // the buffers above are read here
        const std::string why = zip_strerror(z);
        zip_discard(z);
        fail("%s: cannot write (%s)", path.c_str(), why.c_str());
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        fail("%s: cannot rename %s into place", path.c_str(), tmp.c_str());
    }
}

}  // namespace glm

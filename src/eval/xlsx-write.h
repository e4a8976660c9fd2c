// eval/xlsx-write.h: a minimal .xlsx writer (one sheet of numbers, inline strings and empty cells; the zip by
// libzip), for the MMBench evaluation server's submission file, which LLaVA writes with pandas.to_excel.
//
// Thread safety: pure functions apart from writing the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace glm {

struct xlsx_cell {
    enum kind_t { empty, number, text } kind = empty;
    double      num = 0;
    std::string str;  // UTF-8

    static xlsx_cell of_number(double v) { return { number, v, {} }; }
    static xlsx_cell of_text(std::string s) { return { text, 0, std::move(s) }; }
};

// Writes rows (the first is the header) as sheet "Sheet1" of a new workbook.
void xlsx_write(const std::string & path, const std::vector<std::vector<xlsx_cell>> & rows);

}  // namespace glm

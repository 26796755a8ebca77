// The lexer: Jinja2 3.1's tokeniter with trim_blocks and lstrip_blocks, one pass over the source.
#include "tokenizer/chat_template/lexer.h"

#include <cctype>
#include <cstdint>

#include "tokenizer/chat_template/value.h"

namespace moe::tokenizer::jinja {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// "\r\n" and "\r" to "\n", and one trailing newline dropped (keep_trailing_newline=False).
std::string normalize(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string source) : src_(std::move(source)) {}

  std::vector<Token> run() {
    bool line_starting = true;  // the last tag's end consumed a newline (or nothing came yet)
    while (pos_ < src_.size()) {
      const size_t tag = find_tag(pos_);
      std::string text = src_.substr(pos_, tag - pos_);
      if (tag == src_.size()) {
        add_text(text);
        break;
      }
      const char kind = src_[tag + 1];  // '{', '%' or '#'
      const char sign = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      if (sign == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      } else if (sign != '+' && kind != '{') {           // lstrip_blocks: only indentation before the tag
        const size_t line_begin = text.rfind('\n') + 1;  // npos + 1 == 0
        if (line_begin > 0 || line_starting) {
          bool blank = line_begin < text.size();
          for (size_t i = line_begin; i < text.size(); ++i) blank = blank && is_space(text[i]);
          if (blank) text.resize(line_begin);
        }
      }
      advance_to(tag);
      add_text(text);
      advance(2 + (sign == '-' || sign == '+' ? 1 : 0));
      if (kind == '#')
        skip_comment();
      else
        lex_tag(kind == '{');
      line_starting = pos_ > 0 && src_[pos_ - 1] == '\n';
    }
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i)
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    return src_.size();
  }

  void advance_to(size_t to) {
    for (; pos_ < to; ++pos_)
      if (src_[pos_] == '\n') ++line_;
  }
  void advance(size_t n) { advance_to(pos_ + n); }

  void add_text(const std::string& text) {
    if (!text.empty()) tokens_.push_back({Token::Kind::kText, text, line_});
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw TemplateError("chat template line " + std::to_string(line_) + ": " + what);
  }

  // After a tag's end: `-` strips all whitespace; a block or comment end (trim_blocks) one newline.
  void after_end(bool minus, bool block) {
    if (minus) {
      size_t end = pos_;
      while (end < src_.size() && is_space(src_[end])) ++end;
      advance_to(end);
    } else if (block && pos_ < src_.size() && src_[pos_] == '\n') {
      advance(1);
    }
  }

  void skip_comment() {
    const size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) fail("a comment {# is never closed");
    const bool minus = end > pos_ && src_[end - 1] == '-';
    advance_to(end + 2);
    after_end(minus, true);
  }

  void lex_tag(bool variable) {
    const int begin_line = line_;
    tokens_.push_back({variable ? Token::Kind::kVariableBegin : Token::Kind::kBlockBegin, "", line_});
    const char closer = variable ? '}' : '%';
    int depth = 0;  // open brackets: an end marker inside them is not the tag's end
    for (;;) {
      while (pos_ < src_.size() && is_space(src_[pos_])) advance(1);
      if (pos_ >= src_.size())
        throw TemplateError("chat template line " + std::to_string(begin_line) + ": " + (variable ? "{{" : "{%") +
                            " is never closed");
      const char c = src_[pos_];
      if (depth == 0) {
        const bool minus = c == '-' && src_.compare(pos_ + 1, 2, std::string(1, closer) + "}") == 0;
        if (minus || (c == closer && pos_ + 1 < src_.size() && src_[pos_ + 1] == '}')) {
          advance(minus ? 3 : 2);
          tokens_.push_back({variable ? Token::Kind::kVariableEnd : Token::Kind::kBlockEnd, "", line_});
          after_end(minus, !variable);
          return;
        }
      }
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t end = pos_;
        while (end < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[end])) || src_[end] == '_')) ++end;
        tokens_.push_back({Token::Kind::kName, src_.substr(pos_, end - pos_), line_});
        advance_to(end);
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        lex_number();
      } else if (c == '\'' || c == '"') {
        lex_string(c);
      } else {
        static const char* const kOperators[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<",
                                                 ">",  "=",  ".",  ",",  ":",  "|",  "(", ")", "[", "]", "{", "}"};
        const char* found = nullptr;
        for (const char* op : kOperators)
          if (src_.compare(pos_, std::char_traits<char>::length(op), op) == 0) {
            found = op;
            break;
          }
        if (!found) fail(std::string("unexpected character '") + c + "'");
        const std::string op = found;
        if (op == "(" || op == "[" || op == "{") ++depth;
        if ((op == ")" || op == "]" || op == "}") && depth > 0) --depth;
        tokens_.push_back({Token::Kind::kOperator, op, line_});
        advance(op.size());
      }
    }
  }

  void lex_number() {
    size_t end = pos_;
    const auto digits = [&] {
      while (end < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[end])) || src_[end] == '_')) ++end;
    };
    digits();
    bool is_float = false;
    if (end + 1 < src_.size() && src_[end] == '.' && std::isdigit(static_cast<unsigned char>(src_[end + 1]))) {
      is_float = true;
      ++end;
      digits();
    }
    if (end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      size_t exp = end + 1;
      if (exp < src_.size() && (src_[exp] == '+' || src_[exp] == '-')) ++exp;
      if (exp < src_.size() && std::isdigit(static_cast<unsigned char>(src_[exp]))) {
        is_float = true;
        end = exp;
        digits();
      }
    }
    std::string text;
    for (size_t i = pos_; i < end; ++i)
      if (src_[i] != '_') text += src_[i];
    tokens_.push_back({is_float ? Token::Kind::kFloat : Token::Kind::kInt, text, line_});
    advance_to(end);
  }

  // Python's "unicode-escape" decoding of the literal's body, as Jinja2 applies it.
  void lex_string(char quote) {
    const int begin_line = line_;
    std::string value;
    size_t i = pos_ + 1;
    for (;; ++i) {
      if (i >= src_.size())
        throw TemplateError("chat template line " + std::to_string(begin_line) + ": a string is never closed");
      const char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (++i >= src_.size()) continue;
      const char e = src_[i];
      const auto hex = [&](int n) {
        uint32_t cp = 0;
        for (int k = 0; k < n; ++k) {
          if (i + 1 >= src_.size() || !std::isxdigit(static_cast<unsigned char>(src_[i + 1])))
            fail("a truncated \\x, \\u or \\U escape in a string");
          const char h = src_[++i];
          cp = cp * 16 + static_cast<uint32_t>(
                             std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : std::tolower(h) - 'a' + 10);
        }
        append_utf8(value, cp);
      };
      switch (e) {
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case 'a':
          value += '\a';
          break;
        case 'b':
          value += '\b';
          break;
        case 'f':
          value += '\f';
          break;
        case 'v':
          value += '\v';
          break;
        case '\\':
        case '\'':
        case '"':
          value += e;
          break;
        case '\n':
          break;
        case 'x':
          hex(2);
          break;
        case 'u':
          hex(4);
          break;
        case 'U':
          hex(8);
          break;
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && i + 1 < src_.size() && src_[i + 1] >= '0' && src_[i + 1] <= '7'; ++k)
              cp = cp * 8 + static_cast<uint32_t>(src_[++i] - '0');
            append_utf8(value, cp);
          } else {
            value += '\\';
            value += e;
          }
      }
    }
    tokens_.push_back({Token::Kind::kString, value, begin_line});
    advance_to(i + 1);
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> lex_template(const std::string& source) { return Lexer(normalize(source)).run(); }

}  // namespace moe::tokenizer::jinja

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "fovea/io/json.hpp"

using namespace fovea;

namespace {

json::Value parse(std::string_view text) {
  return json::parse(text, "t.json");
}

// The message a malformed document produces (empty if it parsed).
std::string error_of(std::string_view text) {
  try {
    json::parse(text, "t.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("io") {
  TEST_CASE("json parses every kind of value and keeps object order") {
    const json::Value v = parse(R"( {"z": [1, 2.5, -3, true, false, null, "x"], "a": {}} )");
    REQUIRE(v.is_object());
    REQUIRE(v.size() == 2);
    CHECK(v.as_object()[0].first == "z");
    CHECK(v.as_object()[1].first == "a");
    const json::Value& z = v.at("z");
    REQUIRE(z.size() == 7);
    CHECK(z.at(0).as_uint64() == 1);
    CHECK(z.at(1).as_number() == 2.5);
    CHECK(z.at(2).as_int64() == -3);
    CHECK(z.at(3).as_bool() == true);
    CHECK(z.at(4).as_bool() == false);
    CHECK(z.at(5).is_null());
    CHECK(z.at(6).as_string() == "x");
    CHECK(v.at("a").is_object());
    CHECK(v.at("a").size() == 0);
    CHECK(v.find("missing") == nullptr);
    CHECK_THROWS_WITH_AS(v.at("missing"), doctest::Contains("no member 'missing'"), Error);
    CHECK_THROWS_WITH_AS(z.at(6).as_number(), doctest::Contains("is a string, expected a number"),
                         Error);
  }

  TEST_CASE("json integers stay exact past 2^53 and as_uint64 checks the text") {
    // 2^53 + 1 is not a double, but the integer is kept exactly.
    CHECK(parse("9007199254740993").as_uint64() == 9007199254740993ull);
    CHECK(parse("9007199254740993").as_number() == 9007199254740992.0);
    CHECK(parse("18446744073709551615").as_uint64() == UINT64_MAX);
    CHECK(parse("-9223372036854775808").as_int64() == INT64_MIN);
    CHECK(parse("0").as_uint64() == 0);
    const json::Value too_big = parse("18446744073709551616");
    CHECK_FALSE(too_big.is_integer());
    CHECK(too_big.as_number() == 18446744073709551616.0);
    CHECK_THROWS_WITH_AS(too_big.as_uint64(), doctest::Contains("64 bits"), Error);
    CHECK_THROWS_WITH_AS(parse("-1").as_uint64(), doctest::Contains("negative"), Error);
    CHECK_THROWS_WITH_AS(parse("1.0").as_uint64(), doctest::Contains("not an integer"), Error);
    CHECK_THROWS_WITH_AS(parse("1e3").as_uint64(), doctest::Contains("not an integer"), Error);
    CHECK(parse("1e3").as_number() == 1000.0);
    CHECK(parse("-0.5e-2").as_number() == -0.005);
    CHECK(parse("1E+2").as_number() == 100.0);
    CHECK(parse("5e-324").as_number() == std::ldexp(1.0, -1074));  // the smallest subnormal
    CHECK(parse("1e-400").as_number() == 0.0);                     // underflow reads as zero
  }

  TEST_CASE("json strings decode escapes and surrogate pairs and pass UTF-8 through") {
    CHECK(parse(R"("\"\\\/\b\f\n\r\t")").as_string() == "\"\\/\b\f\n\r\t");
    CHECK(parse(R"("\u0041\u00e9")").as_string() == "A\xc3\xa9");
    CHECK(parse(R"("\u20AC")").as_string() == "\xe2\x82\xac");
    // U+1F600 is the pair D83D DE00, four bytes in UTF-8.
    CHECK(parse(R"("\ud83d\ude00")").as_string() == "\xf0\x9f\x98\x80");
    CHECK(parse("\"\xf0\x9f\x98\x80 \xc3\xa9\"").as_string() == "\xf0\x9f\x98\x80 \xc3\xa9");
    CHECK(parse(R"("a\u0000b")").as_string() == std::string("a\0b", 3));
  }

  TEST_CASE("json errors name the source and the byte offset") {
    CHECK(error_of("") ==
          "t.json: invalid JSON at byte 0: unexpected end of input, expected a value");
    CHECK(error_of("[1 2]") ==
          "t.json: invalid JSON at byte 3: expected ',' or ']' after an array element, got "
          "character '2'");
    CHECK(error_of("{} x") ==
          "t.json: invalid JSON at byte 3: unexpected character 'x' after the JSON value");
  }

  TEST_CASE("json rejects each malformed kind") {
    CHECK(error_of("{").find("at byte 1: expected a string key") != std::string::npos);
    CHECK(error_of("[1,]").find("at byte 3: unexpected character ']'") != std::string::npos);
    CHECK(error_of(R"({"a":1,})").find("at byte 7: expected a string key") != std::string::npos);
    CHECK(error_of(R"({"a" 1})").find("at byte 5: expected ':'") != std::string::npos);
    CHECK(error_of(R"({1:2})").find("expected a string key") != std::string::npos);
    CHECK(error_of("01").find("at byte 0: leading zeros") != std::string::npos);
    CHECK(error_of("-01").find("at byte 1: leading zeros") != std::string::npos);
    CHECK(error_of("1.").find("at byte 2: expected a digit after the decimal point") !=
          std::string::npos);
    CHECK(error_of(".5").find("unexpected character '.'") != std::string::npos);
    CHECK(error_of("-").find("expected a digit after '-'") != std::string::npos);
    CHECK(error_of("1e").find("expected a digit in the exponent") != std::string::npos);
    CHECK(error_of("1e+").find("expected a digit in the exponent") != std::string::npos);
    CHECK(error_of("+1").find("unexpected character '+'") != std::string::npos);
    CHECK(error_of("NaN").find("unexpected character 'N'") != std::string::npos);
    CHECK(error_of("Infinity").find("unexpected character 'I'") != std::string::npos);
    CHECK(error_of("-Infinity").find("expected a digit after '-'") != std::string::npos);
    CHECK(error_of("1e400").find("outside the range of a double") != std::string::npos);
    CHECK(error_of("-123456789e999").find("outside the range of a double") != std::string::npos);
    CHECK(error_of("tru").find("invalid literal, expected 'true'") != std::string::npos);
    CHECK(error_of("nul").find("expected 'null'") != std::string::npos);
    CHECK(error_of("truex").find("after the JSON value") != std::string::npos);
    CHECK(error_of("\"abc").find("at byte 0: unterminated string") != std::string::npos);
    CHECK(error_of("\"a\tb\"").find("at byte 2: raw control character byte 0x09") !=
          std::string::npos);
    CHECK(error_of(R"("\x")").find("invalid escape sequence '\\x'") != std::string::npos);
    CHECK(error_of(R"("\u12")").find("4 hex digits") != std::string::npos);
    CHECK(error_of(R"("\ud83d")").find("is not followed by a \\u low surrogate") !=
          std::string::npos);
    CHECK(error_of(R"("\ud83dx")").find("is not followed by a \\u low surrogate") !=
          std::string::npos);
    CHECK(error_of(R"("\ude00")").find("unpaired low surrogate \\ude00") != std::string::npos);
    CHECK(error_of(R"("\ud83d\u0041")").find("which is not a low surrogate") != std::string::npos);
    CHECK(error_of("\"\xff\"").find("at byte 1: invalid UTF-8 lead byte 0xff") !=
          std::string::npos);
    CHECK(error_of("\"\xc0\xaf\"").find("invalid UTF-8 lead") !=
          std::string::npos);  // overlong '/'
    CHECK(error_of("\"\xed\xa0\x80\"").find("invalid UTF-8 sequence") !=
          std::string::npos);  // surrogate
    CHECK(error_of("\"\xe2\x82\"").find("invalid UTF-8 sequence") !=
          std::string::npos);  // cut short
    CHECK(error_of("\"\xf4\x90\x80\x80\"").find("invalid UTF-8 sequence") !=
          std::string::npos);  // > U+10FFFF
    CHECK(error_of("\xef\xbb\xbf{}").find("at byte 0: unexpected byte 0xef") !=
          std::string::npos);  // BOM
    CHECK(error_of(R"({"a":1,"a":2})").find("at byte 7: duplicate key \"a\"") != std::string::npos);
  }

  TEST_CASE("json error messages quote at most 64 bytes of hostile text") {
    const std::string digits(100000, '9');
    CHECK(error_of(digits + "e999") == "t.json: invalid JSON at byte 0: number " +
                                           std::string(64, '9') +
                                           "... is outside the range of a double");
    const std::string key(100000, 'k');
    // The second key starts after '{', the quoted first key (100002 bytes) and ":1,".
    const std::string doc = "{\"" + key + "\":1,\"" + key + "\":2}";
    CHECK(error_of(doc) ==
          "t.json: invalid JSON at byte 100006: duplicate key \"" + std::string(64, 'k') + "...\"");
  }

  TEST_CASE("json nesting is limited and deep input fails cleanly") {
    const std::string ok = std::string(json::kMaxDepth, '[') + std::string(json::kMaxDepth, ']');
    CHECK(parse(ok).is_array());
    const std::string deep =
        std::string(json::kMaxDepth + 1, '[') + std::string(json::kMaxDepth + 1, ']');
    CHECK(error_of(deep).find("at byte 128: nesting is deeper than the limit of 128") !=
          std::string::npos);
    // A million brackets must not blow the stack.
    CHECK(error_of(std::string(1000000, '[')).find("nesting") != std::string::npos);
    CHECK(error_of(std::string(1000000, '{')).find("expected a string key") != std::string::npos);
  }

  TEST_CASE("json dump is compact and reads back the same") {
    json::Value v = json::Value::object();
    v.set("name", "conv\n\"1\"\x01");
    v.set("shape", json::Value::Array{64, 3, 7, 7});
    v.set("scale", 0.1);
    v.set("big", uint64_t{18446744073709551615ull});
    v.set("neg", -5);
    v.set("flags", json::Value::Array{true, false, nullptr});
    v.set("empty", json::Value::object());
    const std::string text = json::dump(v);
    CHECK(text ==
          "{\"name\":\"conv\\n\\\"1\\\"\\u0001\",\"shape\":[64,3,7,7],\"scale\":0.1,"
          "\"big\":18446744073709551615,\"neg\":-5,\"flags\":[true,false,null],\"empty\":{}}");
    const json::Value back = json::parse(text, "dump");
    CHECK(back == v);
    CHECK(back.at("big").as_uint64() == UINT64_MAX);
    v.set("neg", 7);  // replaces in place, keeps the position
    CHECK(v.as_object()[4].first == "neg");
    CHECK(v.at("neg").as_uint64() == 7);
    // A value read as "2.0" prints as a non-integer so it reads back as one.
    CHECK(json::dump(parse("[2.0, 1e300, -0.0]")) == "[2.0,1e+300,-0.0]");
    CHECK_THROWS_WITH_AS(json::dump(json::Value(NAN)), doctest::Contains("cannot represent"),
                         Error);
  }
}

#include "auth/jwt.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <optional>

#include "json/bounded.hpp"

namespace fleetmcp::auth {
namespace {

// A token travels in a header: 16 KiB is several times what identity providers
// issue, and keeps a hostile one from costing more than a scan and two parses.
constexpr std::size_t kMaxTokenBytes = 16 << 10;
// Header and claims are flat in practice; 16 levels leaves room for nested
// claims (Keycloak's realm_access) and stops deep-nesting abuse early.
constexpr std::size_t kMaxTokenDepth = 16;
// A JWKS is fetched from the issuer; a few keys of a few KiB each in practice.
constexpr std::size_t kMaxJwksBytes = 256 << 10;
// A token without kid is tried against every key of its type: bound that work.
constexpr std::size_t kMaxKeys = 100;
// Excerpts of claims in reasons: enough to recognise, too short to flood a log.
constexpr std::size_t kMaxExcerpt = 64;
// A jti longer than this (or with control characters) is not logged as is.
constexpr std::size_t kMaxJtiBytes = 256;

template <auto F>
struct Free {
  template <class T>
  void operator()(T* p) const {
    F(p);
  }
};
using Bignum = std::unique_ptr<BIGNUM, Free<BN_free>>;
using ParamBuild = std::unique_ptr<OSSL_PARAM_BLD, Free<OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Free<OSSL_PARAM_free>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Free<EVP_PKEY_CTX_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX_free>>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, Free<ECDSA_SIG_free>>;

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

int base64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// RFC 7515's base64url: no padding, no blanks, and the unused low bits of the
// last character zero, so each byte string has exactly one encoding.
std::optional<std::string> base64url_decode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    const int v = base64url_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6 | static_cast<std::uint32_t>(v)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>(acc >> bits & 0xff));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

// Untrusted text fit for a reason: printable ASCII without '"' and '\'
// (error_description's charset), cut short.
std::string excerpt(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (out.size() >= kMaxExcerpt) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    out += u >= 0x20 && u < 0x7f && c != '"' && c != '\\' ? c : '?';
  }
  return out;
}
std::string in_quotes(std::string_view s) { return "'" + excerpt(s) + "'"; }

TokenFailure fail(TokenError error, std::string reason) { return TokenFailure{error, std::move(reason)}; }

const char* kty_for(std::string_view alg) {
  if (alg == "RS256") return "RSA";
  if (alg == "ES256") return "EC";
  if (alg == "EdDSA") return "OKP";
  return nullptr;
}

// ---- JWKS ------------------------------------------------------------------

std::shared_ptr<evp_pkey_st> from_params(const char* type, const OSSL_PARAM* params) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) != 1)
    pkey = nullptr;
  return pkey ? std::shared_ptr<evp_pkey_st>(pkey, EVP_PKEY_free) : nullptr;
}

// Whether OpenSSL's own public-key check passes (EC: the point is on the
// curve, not at infinity, of the group's order).
bool public_check(EVP_PKEY* pkey) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  return ctx && EVP_PKEY_public_check(ctx.get()) == 1;
}

std::size_t bit_length(std::string_view big_endian) {
  std::size_t i = 0;
  while (i < big_endian.size() && big_endian[i] == 0) ++i;
  if (i == big_endian.size()) return 0;
  std::size_t bits = (big_endian.size() - i - 1) * 8;
  for (auto top = static_cast<unsigned char>(big_endian[i]); top; top >>= 1) ++bits;
  return bits;
}

// A member that must be a base64url string: its bytes, or nothing and `why`.
std::optional<std::string> member_bytes(const nlohmann::json& jwk, const char* name, std::string& why) {
  const auto it = jwk.find(name);
  if (it == jwk.end()) {
    why = std::string("no ") + name;
    return std::nullopt;
  }
  auto decoded = it->is_string() ? base64url_decode(it->get_ref<const std::string&>()) : std::nullopt;
  if (!decoded) why = std::string(name) + " is not a base64url string";
  return decoded;
}

using KeyOrReason = std::variant<std::shared_ptr<evp_pkey_st>, std::string>;
KeyOrReason reason(std::string why) { return KeyOrReason(std::in_place_index<1>, std::move(why)); }

// Why an EC or OKP key's "crv" is not `expected`; nothing when it is.
std::optional<std::string> crv_problem(const nlohmann::json& jwk, std::string_view expected) {
  const auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string()) return "no crv";
  if (*crv != expected) return "crv " + excerpt(crv->get_ref<const std::string&>()) + " is not supported";
  return std::nullopt;
}

KeyOrReason rsa_key(const nlohmann::json& jwk) {
  std::string why;
  const auto modulus = member_bytes(jwk, "n", why);
  if (!modulus) return reason(why);
  const auto exponent = member_bytes(jwk, "e", why);
  if (!exponent) return reason(why);
  // Below 2048 bits is breakable or close to it; above 8192 only costs us time.
  const std::size_t bits = bit_length(*modulus);
  if (bits < 2048 || bits > 8192) return reason("the RSA modulus has " + std::to_string(bits) + " bits (2048..8192)");
  // An odd exponent of at most 64 bits, above 1: all real keys; a huge one is a
  // way to make each verification slow.
  const std::size_t e_bits = bit_length(*exponent);
  if (e_bits < 2 || e_bits > 64 || (static_cast<unsigned char>(exponent->back()) & 1) == 0)
    return reason("the RSA exponent is not an odd number of 2..64 bits");
  Bignum bn_n(BN_bin2bn(bytes(*modulus), static_cast<int>(modulus->size()), nullptr));
  Bignum bn_e(BN_bin2bn(bytes(*exponent), static_cast<int>(exponent->size()), nullptr));
  ParamBuild bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
    return reason("OpenSSL could not hold the key");
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  auto key = params ? from_params("RSA", params.get()) : nullptr;
  if (!key) return reason("OpenSSL refused the RSA key");
  return key;
}

KeyOrReason ec_key(const nlohmann::json& jwk) {
  if (auto problem = crv_problem(jwk, "P-256")) return reason(*problem);
  std::string why;
  const auto x = member_bytes(jwk, "x", why);
  if (!x) return reason(why);
  const auto y = member_bytes(jwk, "y", why);
  if (!y) return reason(why);
  // RFC 7518 6.2.1.2: coordinates are the full 32 bytes of P-256.
  if (x->size() != 32 || y->size() != 32) return reason("x and y are not 32 bytes each");
  const std::string point = '\x04' + *x + *y;  // SEC 1 uncompressed
  ParamBuild bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
    return reason("OpenSSL could not hold the key");
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  auto key = params ? from_params("EC", params.get()) : nullptr;
  // An off-curve point is how invalid-curve attacks start: never accepted.
  if (!key || !public_check(key.get())) return reason("the point is not on P-256");
  return key;
}

KeyOrReason okp_key(const nlohmann::json& jwk) {
  if (auto problem = crv_problem(jwk, "Ed25519")) return reason(*problem);
  std::string why;
  const auto x = member_bytes(jwk, "x", why);
  if (!x) return reason(why);
  if (x->size() != 32) return reason("x is not 32 bytes");
  ParamBuild bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, x->data(), 32) != 1)
    return reason("OpenSSL could not hold the key");
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  auto key = params ? from_params("ED25519", params.get()) : nullptr;
  if (!key) return reason("OpenSSL refused the Ed25519 key");
  return key;
}

// The key of one JWK, or why it cannot verify our tokens.
std::variant<PublicKey, std::string> jwk_key(const nlohmann::json& jwk) {
  using Out = std::variant<PublicKey, std::string>;
  auto skip = [](std::string why) { return Out(std::in_place_index<1>, std::move(why)); };
  if (!jwk.is_object()) return skip("not an object");
  PublicKey out;
  if (const auto use = jwk.find("use"); use != jwk.end()) {
    if (!use->is_string()) return skip("use is not a string");
    if (*use != "sig") return skip("use " + excerpt(use->get_ref<const std::string&>()) + " is not sig");
  }
  if (const auto ops = jwk.find("key_ops"); ops != jwk.end()) {
    bool verify = false;
    if (ops->is_array())
      for (const auto& op : *ops) verify = verify || op == "verify";
    if (!verify) return skip("key_ops does not include verify");
  }
  // A published private key is a leak at the issuer; never ours to use.
  for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "oth"})
    if (jwk.contains(secret)) return skip(std::string("has a private part (") + secret + ")");
  const auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) return skip("no kty");
  out.kty = kty->get<std::string>();
  if (const auto alg = jwk.find("alg"); alg != jwk.end()) {
    if (!alg->is_string()) return skip("alg is not a string");
    out.alg = alg->get<std::string>();
  }
  const char* wanted_alg = nullptr;
  if (out.kty == "RSA") {
    wanted_alg = "RS256";
  } else if (out.kty == "EC") {
    wanted_alg = "ES256";
  } else if (out.kty == "OKP") {
    wanted_alg = "EdDSA";
  } else if (out.kty == "oct") {
    return skip("kty oct is not a public key");
  } else {
    return skip("kty " + excerpt(out.kty) + " is not supported");
  }
  if (!out.alg.empty() && out.alg != wanted_alg)
    return skip("alg " + excerpt(out.alg) + " is not usable (kty " + out.kty + " serves " + wanted_alg + " only)");
  KeyOrReason key = out.kty == "RSA" ? rsa_key(jwk) : out.kty == "EC" ? ec_key(jwk) : okp_key(jwk);
  ERR_clear_error();  // a refused key leaves OpenSSL's reasons queued on this thread
  if (key.index() == 1) return skip(std::get<1>(std::move(key)));
  out.key = std::get<0>(std::move(key));
  return Out(std::in_place_index<0>, std::move(out));
}

// ---- Signatures ------------------------------------------------------------

// Whether the key is one that `alg` may use: its type, P-256 for ES256, and
// its own "alg" when the JWK named one.
bool serves(const PublicKey& key, std::string_view alg) {
  const char* kty = kty_for(alg);
  if (!key.key || !kty || key.kty != kty || (!key.alg.empty() && key.alg != alg)) return false;
  if (alg == "RS256") return EVP_PKEY_is_a(key.key.get(), "RSA") == 1;
  if (alg == "EdDSA") return EVP_PKEY_is_a(key.key.get(), "ED25519") == 1;
  char group[64] = {};
  std::size_t len = 0;
  return EVP_PKEY_is_a(key.key.get(), "EC") == 1 &&
         EVP_PKEY_get_group_name(key.key.get(), group, sizeof group, &len) == 1 &&
         std::string_view(group, len) == "prime256v1";
}

bool digest_verify(EVP_PKEY* key, const EVP_MD* md, std::string_view input, std::string_view signature) {
  MdCtx ctx(EVP_MD_CTX_new());
  const bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(input), input.size()) == 1;
  ERR_clear_error();
  return ok;
}

// JWS's ES256 signature is R||S, 32 bytes each; OpenSSL wants DER.
std::optional<std::string> es256_der(std::string_view raw) {
  EcdsaSig sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes(raw), 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes(raw) + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

bool signature_holds(const PublicKey& key, const UnverifiedToken& token, const std::string& es256) {
  if (token.alg == "RS256") return digest_verify(key.key.get(), EVP_sha256(), token.signing_input, token.signature);
  if (token.alg == "ES256") return digest_verify(key.key.get(), EVP_sha256(), token.signing_input, es256);
  return digest_verify(key.key.get(), nullptr, token.signing_input, token.signature);  // EdDSA: no prehash
}

// ---- Claims ----------------------------------------------------------------

// RFC 7519's NumericDate: seconds, possibly fractional, rounded the way that
// makes the check stricter.
std::optional<std::int64_t> numeric_date(const nlohmann::json& v, bool round_up) {
  if (auto whole = json::whole_number(v)) return *whole;
  if (!v.is_number_float()) return std::nullopt;
  const double d = v.get<double>();
  if (!(d > -9.2e18 && d < 9.2e18)) return std::nullopt;  // NaN too; converting out of range is undefined
  return static_cast<std::int64_t>(round_up ? std::ceil(d) : std::floor(d));
}

// A claim that is one string or an array of strings (groups, scp); a string is
// split on spaces when `split`.
bool string_list(const nlohmann::json& v, bool split, std::vector<std::string>& out) {
  auto add = [&](const std::string& s) {
    if (!split) {
      out.push_back(s);
      return;
    }
    for (std::size_t i = 0; i < s.size();) {
      const std::size_t end = std::min(s.find(' ', i), s.size());
      if (end > i) out.push_back(s.substr(i, end - i));
      i = end + 1;
    }
  };
  if (v.is_string()) {
    add(v.get_ref<const std::string&>());
    return true;
  }
  if (!v.is_array()) return false;
  for (const auto& item : v) {
    if (!item.is_string()) return false;
    out.push_back(item.get<std::string>());
  }
  return true;
}

const std::string* string_claim(const nlohmann::json& claims, const std::string& name) {
  const auto it = claims.find(name);
  return it != claims.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

bool has_control(std::string_view s) {
  for (const char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  return false;
}

std::string token_digest(std::string_view signing_input) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(signing_input.data(), signing_input.size(), md.data(), &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (int i = 0; i < 8; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

// One part of the token as a JSON object, or the failure naming the part.
std::variant<nlohmann::json, TokenFailure> json_part(std::string_view encoded, const char* what) {
  using Out = std::variant<nlohmann::json, TokenFailure>;
  const auto text = base64url_decode(encoded);
  if (!text) return Out(fail(TokenError::Malformed, std::string("the ") + what + " is not base64url"));
  json::Limits limits;
  limits.max_depth = kMaxTokenDepth;
  limits.max_string_bytes = kMaxTokenBytes;
  if (std::string why = json::check_limits(*text, limits); !why.empty())
    return Out(fail(TokenError::Malformed, std::string("the ") + what + " is refused: " + why));
  auto parsed = json::parse_bounded(*text, limits);
  if (!parsed.ok || !parsed.value.is_object())
    return Out(fail(TokenError::Malformed, std::string("the ") + what + " is not a JSON object"));
  return Out(std::move(parsed.value));
}

}  // namespace

std::string_view error_name(TokenError error) {
  switch (error) {
    case TokenError::Malformed: return "malformed";
    case TokenError::AlgorithmRefused: return "algorithm_refused";
    case TokenError::UnknownKey: return "unknown_key";
    case TokenError::BadSignature: return "bad_signature";
    case TokenError::WrongIssuer: return "wrong_issuer";
    case TokenError::WrongAudience: return "wrong_audience";
    case TokenError::Expired: return "expired";
    case TokenError::NotYetValid: return "not_yet_valid";
    case TokenError::MissingClaim: return "missing_claim";
  }
  return "unknown";
}

core::Result<KeySet> parse_jwks(std::string_view text) {
  if (text.size() > kMaxJwksBytes)
    return core::make_error(core::ErrorKind::BadRequest,
                            "the JWKS is larger than " + std::to_string(kMaxJwksBytes) + " bytes");
  json::Limits limits;
  limits.max_depth = 16;
  limits.max_string_bytes = kMaxJwksBytes;
  auto parsed = json::parse_bounded(text, limits);
  if (!parsed.ok) return core::make_error(core::ErrorKind::BadRequest, "the JWKS is refused: " + parsed.error);
  const auto keys = parsed.value.is_object() ? parsed.value.find("keys") : parsed.value.end();
  if (!parsed.value.is_object() || keys == parsed.value.end() || !keys->is_array())
    return core::make_error(core::ErrorKind::BadRequest, "the document is not a JWKS (no \"keys\" array)");
  KeySet out;
  std::size_t index = 0;
  for (const auto& jwk : *keys) {
    if (index == kMaxKeys) {
      out.skipped.push_back("keys after the first " + std::to_string(kMaxKeys) + " are ignored");
      break;
    }
    std::string label = "key " + std::to_string(index++);
    if (jwk.is_object())
      if (const auto kid = jwk.find("kid"); kid != jwk.end()) {
        if (!kid->is_string()) {
          out.skipped.push_back(label + ": kid is not a string");
          continue;
        }
        if (!kid->get_ref<const std::string&>().empty()) label = "kid " + excerpt(kid->get_ref<const std::string&>());
      }
    auto key = jwk_key(jwk);
    if (key.index() == 1) {
      out.skipped.push_back(label + ": " + std::get<1>(key));
      continue;
    }
    PublicKey& k = std::get<0>(key);
    if (const auto kid = jwk.find("kid"); kid != jwk.end()) k.kid = kid->get<std::string>();
    out.keys.push_back(std::move(k));
  }
  return out;
}

std::variant<UnverifiedToken, TokenFailure> decode_token(std::string_view compact) {
  if (compact.size() > kMaxTokenBytes)
    return fail(TokenError::Malformed, "the token is longer than " + std::to_string(kMaxTokenBytes) + " bytes");
  const std::size_t dot1 = compact.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : compact.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || compact.find('.', dot2 + 1) != std::string_view::npos) {
    const auto dots = std::count(compact.begin(), compact.end(), '.');
    return fail(TokenError::Malformed, dots == 4 ? "an encrypted token (JWE) is not accepted"
                                                 : "not a compact JWS (three dot-separated parts)");
  }
  UnverifiedToken out;
  auto header = json_part(compact.substr(0, dot1), "header");
  if (header.index() == 1) return std::get<1>(std::move(header));
  const nlohmann::json& h = std::get<0>(header);
  const auto alg = h.find("alg");
  if (alg == h.end() || !alg->is_string()) return fail(TokenError::Malformed, "the header has no alg");
  // An extension we do not know changes what the signature means (RFC 7515 4.1.11).
  if (h.contains("crit")) return fail(TokenError::Malformed, "the header has crit; no extension is understood");
  out.alg = alg->get<std::string>();
  if (!kty_for(out.alg))
    return fail(TokenError::AlgorithmRefused, "alg " + in_quotes(out.alg) + " is not accepted (RS256, ES256, EdDSA)");
  for (auto [name, field] : {std::pair{"kid", &out.kid}, std::pair{"typ", &out.typ}})
    if (const auto it = h.find(name); it != h.end()) {
      if (!it->is_string())
        return fail(TokenError::Malformed, std::string("the header's ") + name + " is not a string");
      *field = it->get<std::string>();
    }

  auto payload = json_part(compact.substr(dot1 + 1, dot2 - dot1 - 1), "claims set");
  if (payload.index() == 1) return std::get<1>(std::move(payload));
  out.payload = std::get<0>(std::move(payload));
  if (const auto iss = out.payload.find("iss"); iss != out.payload.end()) {
    if (!iss->is_string()) return fail(TokenError::Malformed, "iss is not a string");
    out.issuer = iss->get<std::string>();
  }
  auto signature = base64url_decode(compact.substr(dot2 + 1));
  if (!signature) return fail(TokenError::Malformed, "the signature is not base64url");
  out.signature = std::move(*signature);
  out.signing_input = std::string(compact.substr(0, dot2));
  return out;
}

std::variant<VerifiedToken, TokenFailure> verify_token(const UnverifiedToken& token, const KeySet& keys,
                                                       const Expectation& expect) {
  // decode_token refused these already; a hand-built UnverifiedToken must not slip past.
  if (!kty_for(token.alg))
    return fail(TokenError::AlgorithmRefused, "alg " + in_quotes(token.alg) + " is not accepted (RS256, ES256, EdDSA)");
  if (!token.payload.is_object()) return fail(TokenError::Malformed, "the claims set is not a JSON object");

  std::vector<const PublicKey*> candidates;
  bool kid_known = false;
  for (const PublicKey& key : keys.keys) {
    if (!token.kid.empty() && key.kid != token.kid) continue;
    kid_known = true;
    if (serves(key, token.alg)) candidates.push_back(&key);
  }
  if (candidates.empty()) {
    if (!token.kid.empty() && kid_known)
      return fail(TokenError::AlgorithmRefused, "key " + in_quotes(token.kid) + " does not serve " + token.alg);
    return fail(TokenError::UnknownKey, token.kid.empty() ? "no key serves " + token.alg + " (the token has no kid)"
                                                          : "no key has kid " + in_quotes(token.kid));
  }
  std::string es256;
  if (token.alg == "ES256") {
    if (token.signature.size() != 64)
      return fail(TokenError::BadSignature,
                  "an ES256 signature is 64 bytes, not " + std::to_string(token.signature.size()));
    auto der = es256_der(token.signature);
    if (!der) return fail(TokenError::BadSignature, "the ES256 signature cannot be read");
    es256 = std::move(*der);
  }
  bool verified = false;
  for (const PublicKey* key : candidates)
    if ((verified = signature_holds(*key, token, es256))) break;
  if (!verified) return fail(TokenError::BadSignature, "the signature does not verify");

  // From here on the claims are the issuer's.
  const nlohmann::json& claims = token.payload;
  VerifiedToken out;
  const std::string* iss = string_claim(claims, "iss");
  if (!iss) return fail(TokenError::MissingClaim, "the token has no iss");
  if (std::find(expect.issuers.begin(), expect.issuers.end(), *iss) == expect.issuers.end())
    return fail(TokenError::WrongIssuer, "issuer " + in_quotes(*iss) + " is not trusted");
  out.issuer = *iss;

  const auto aud = claims.find("aud");
  if (aud == claims.end()) return fail(TokenError::WrongAudience, "the token has no aud");
  bool for_us = false;
  if (!expect.audience.empty()) {  // an empty expectation matches nothing, not an empty aud
    if (aud->is_string()) for_us = *aud == expect.audience;
    if (aud->is_array())
      for (const auto& a : *aud) for_us = for_us || (a.is_string() && a == expect.audience);
  }
  if (!for_us) return fail(TokenError::WrongAudience, "the token is not meant for this server (aud)");

  const std::int64_t leeway = std::max<std::int64_t>(0, expect.leeway_s);
  const __int128 now = expect.now;  // 128 bits: no date or leeway can overflow the sums
  const auto exp = claims.find("exp");
  if (exp == claims.end()) return fail(TokenError::MissingClaim, "the token has no exp");
  const auto expires = numeric_date(*exp, false);
  if (!expires) return fail(TokenError::Malformed, "exp is not a number of seconds");
  if (now >= static_cast<__int128>(*expires) + leeway) return fail(TokenError::Expired, "the token has expired");
  out.expires_at = *expires;
  if (const auto nbf = claims.find("nbf"); nbf != claims.end()) {
    const auto not_before = numeric_date(*nbf, true);
    if (!not_before) return fail(TokenError::Malformed, "nbf is not a number of seconds");
    if (now + leeway < *not_before) return fail(TokenError::NotYetValid, "the token is not valid yet (nbf)");
  }
  if (const auto iat = claims.find("iat"); iat != claims.end()) {
    const auto issued = numeric_date(*iat, true);
    if (!issued) return fail(TokenError::Malformed, "iat is not a number of seconds");
    if (now + leeway < *issued) return fail(TokenError::NotYetValid, "the token was issued in the future (iat)");
  }

  const std::string* user = string_claim(claims, expect.user_claim);
  if (!user || user->empty())
    return fail(TokenError::MissingClaim, "the token has no " + excerpt(expect.user_claim) + " (a non-empty string)");
  // The name goes into logs and audit records, one line each.
  if (has_control(*user)) return fail(TokenError::Malformed, excerpt(expect.user_claim) + " has control characters");
  out.user = *user;

  if (const auto groups = claims.find(expect.groups_claim); groups != claims.end())
    if (!string_list(*groups, false, out.groups))
      return fail(TokenError::Malformed, excerpt(expect.groups_claim) + " is not a string or an array of strings");
  if (const auto scope = claims.find("scope"); scope != claims.end()) {
    if (!scope->is_string()) return fail(TokenError::Malformed, "scope is not a string");
    string_list(*scope, true, out.scopes);
  } else if (const auto scp = claims.find("scp"); scp != claims.end()) {
    if (!string_list(*scp, true, out.scopes))
      return fail(TokenError::Malformed, "scp is not a string or an array of strings");
  }
  if (const std::string* client = string_claim(claims, "client_id"))
    out.client_id = *client;
  else if (const std::string* azp = string_claim(claims, "azp"))
    out.client_id = *azp;
  // jti names the token in logs and audit records: one short line, else the digest.
  const std::string* jti = string_claim(claims, "jti");
  const bool loggable = jti && !jti->empty() && jti->size() <= kMaxJtiBytes && !has_control(*jti);
  out.token_id = loggable ? *jti : token_digest(token.signing_input);
  return out;
}

}  // namespace fleetmcp::auth

// Signing JWTs in tests: keys made with OpenSSL, their JWKs, and compact
// JWS tokens signed with them (RS256, ES256, EdDSA; HS256 and none for the
// refusals). Shared by the JWT verifier's and the OAuth key cache's tests.
#pragma once

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace fleetmcp::testing::jwt {

using nlohmann::json;

using Pkey = std::shared_ptr<EVP_PKEY>;

constexpr std::string_view kB64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
inline int b64url_value(char c) { return static_cast<int>(kB64Alphabet.find(c)); }
inline char b64url_char(int v) { return kB64Alphabet[static_cast<std::size_t>(v)]; }

inline std::string b64url(std::string_view in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    acc = (acc << 8 | static_cast<unsigned char>(c)) & 0xffff;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kB64Alphabet[acc >> bits & 63];
    }
  }
  if (bits > 0) out += kB64Alphabet[acc << (6 - bits) & 63];
  return out;
}

inline std::string bn_bytes(const BIGNUM* bn, int width = 0) {
  std::string out(width ? width : BN_num_bytes(bn), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  return out;
}

inline std::string bn_param(EVP_PKEY* key, const char* name, int width = 0) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1) << name;
  std::string out = bn_bytes(bn, width);
  BN_free(bn);
  return out;
}

inline Pkey rsa_key(unsigned bits) { return Pkey(EVP_RSA_gen(bits), EVP_PKEY_free); }
inline Pkey ec_key() { return Pkey(EVP_EC_gen("P-256"), EVP_PKEY_free); }
inline Pkey ed_key() { return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free); }

inline json rsa_jwk(EVP_PKEY* key, const std::string& kid) {
  return {{"kty", "RSA"},
          {"kid", kid},
          {"use", "sig"},
          {"n", b64url(bn_param(key, OSSL_PKEY_PARAM_RSA_N))},
          {"e", b64url(bn_param(key, OSSL_PKEY_PARAM_RSA_E))}};
}
inline json ec_jwk(EVP_PKEY* key, const std::string& kid) {
  return {{"kty", "EC"},
          {"kid", kid},
          {"crv", "P-256"},
          {"x", b64url(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, 32))},
          {"y", b64url(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
}
inline json ed_jwk(EVP_PKEY* key, const std::string& kid) {
  std::string x(32, '\0');
  std::size_t len = x.size();
  EXPECT_EQ(EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(x.data()), &len), 1);
  return {{"kty", "OKP"}, {"kid", kid}, {"crv", "Ed25519"}, {"x", b64url(x)}};
}

inline std::string digest_sign(EVP_PKEY* key, const EVP_MD* md, std::string_view input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key), 1);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()), 1);
  std::string sig(len, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()), 1);
  sig.resize(len);
  return sig;
}

// The JWS signature of `input`: by alg, with `key` (an HMAC secret for HS256).
inline std::string jws_signature(const std::string& alg, EVP_PKEY* key, std::string_view input,
                                 std::string_view hmac_secret = {}) {
  if (alg == "RS256") return digest_sign(key, EVP_sha256(), input);
  if (alg == "EdDSA") return digest_sign(key, nullptr, input);
  if (alg == "ES256") {
    const std::string der = digest_sign(key, EVP_sha256(), input);
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
    const std::string raw = bn_bytes(ECDSA_SIG_get0_r(sig), 32) + bn_bytes(ECDSA_SIG_get0_s(sig), 32);
    ECDSA_SIG_free(sig);
    return raw;
  }
  if (alg == "HS256") {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), hmac_secret.data(), static_cast<int>(hmac_secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    return std::string(reinterpret_cast<const char*>(mac), len);
  }
  return {};  // none
}

inline std::string compact(const json& header, const json& claims, EVP_PKEY* key, std::string_view hmac_secret = {}) {
  const std::string input = b64url(header.dump()) + "." + b64url(claims.dump());
  return input + "." + b64url(jws_signature(header.at("alg"), key, input, hmac_secret));
}

inline json header(const std::string& alg, const std::string& kid) {
  json h = {{"alg", alg}, {"typ", "at+jwt"}};
  if (!kid.empty()) h["kid"] = kid;
  return h;
}

}  // namespace fleetmcp::testing::jwt

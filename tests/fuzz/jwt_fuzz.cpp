// libFuzzer target over the JWT verifier: the bytes as a bearer token
// (decode_token, then verify_token against a fixed key set of one RSA, one EC
// and one Ed25519 key) and as a JWKS document (parse_jwks). A signature the
// fuzzer cannot forge would stop it at the claims, so an EdDSA token is also
// re-signed with the fuzz key's private half (a throwaway key, below) and
// verified again: every claim check runs on mutated claims. Checked: reasons
// stay one header-safe line; a re-signed token never fails on its signature;
// a verified token has a user, a trusted issuer and a future expiry.
#include <openssl/evp.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "auth/jwt.hpp"

namespace {

namespace auth = fleetmcp::auth;

constexpr std::int64_t kNow = 1'700'000'000;

// Generated once for this target; the seeds in tests/fuzz/seeds/jwt/ are signed by them.
constexpr std::string_view kJwks =
    R"({"keys":[{"kty":"RSA","kid":"fuzz-rsa","use":"sig","alg":"RS256","n":"yKqrJfuDw32fepS_6IcZzFr4C0uUnI3cUPs0lEpvuWfauQngQtj3dGki0qHhf6M8cAqqYwsagGEOwDm8i_8Bnbk71FkmDClL1HuYUlXjS4fmkg5uERBTtlCJ4Bml-SEhMDWfkpZjDH2MpSd3xOUU4ctD_f855btRH7EaSK0WKOmTfbJPpFdkzOUSyQB1meYJqoG7oSFRrQ91wD13wh_HFQoBLIJzZL4BXX8Gp8jkMnTFtcPk-kc5gcmvZNLmQ89fbylcSggGt378EPC5IU_qlFa7cQ-UhF2coVZAL5CPIoP8BfpPq4oZ_8eXHYNRqNqxyJyM75Tqc79_RHoG_-27Bw","e":"AQAB"},)"
    R"({"kty":"EC","kid":"fuzz-ec","crv":"P-256","x":"GDcp01DdqbY7Y55DeDz4W6-2wOwa6x0wT9cEoPuyH3M","y":"0uXqO4WGJDzP12vKClT86yAzCcAljWF1WVq-W1UXi9o"},)"
    R"({"kty":"OKP","kid":"fuzz-ed","crv":"Ed25519","x":"UFphnTOhy6jAcVZgUPIxBsK8RBrZqXO88Y6geVBfZVk"}]})";
// The private half of fuzz-ed: a fuzzing fixture, trusted by nothing.
constexpr unsigned char kEdSeed[32] = {0xd7, 0x42, 0xb8, 0x41, 0x1f, 0x13, 0x35, 0x87, 0x04, 0x62, 0x7a,
                                       0x9d, 0x43, 0x0a, 0x10, 0xf7, 0xaf, 0x40, 0x3f, 0x0b, 0x62, 0x3f,
                                       0xd4, 0x6a, 0x76, 0x3a, 0x4a, 0x5a, 0xfa, 0xe6, 0x29, 0x68};

struct Fixture {
  auth::KeySet keys = [] {
    auto parsed = auth::parse_jwks(kJwks);
    if (!parsed.ok() || parsed->keys.size() != 3) std::abort();
    return std::move(parsed).value();
  }();
  auth::Expectation expect = [] {
    auth::Expectation e;
    e.issuers = {"https://idp.fuzz.test/"};
    e.audience = "https://mcp.fuzz.test/mcp";
    e.now = kNow;
    return e;
  }();
  std::shared_ptr<EVP_PKEY> signer{EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, kEdSeed, sizeof kEdSeed),
                                   EVP_PKEY_free};
};

void check_reason(const std::string& reason, std::string_view input) {
  if (reason.empty() || reason.size() > 512) __builtin_trap();
  for (const char c : reason)
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') __builtin_trap();  // RFC 6750 error_description
  // The token is never quoted back (inputs this long are not a claim excerpt).
  if (input.size() > 80 && reason.find(input) != std::string::npos) __builtin_trap();
}

// Checks a verdict; returns its error, or nothing when the token verified.
const auth::TokenFailure* judge(const std::variant<auth::VerifiedToken, auth::TokenFailure>& verdict, const Fixture& f,
                                std::string_view input) {
  if (const auto* failure = std::get_if<auth::TokenFailure>(&verdict)) {
    check_reason(failure->reason, input);
    return failure;
  }
  const auto& ok = std::get<auth::VerifiedToken>(verdict);
  if (ok.user.empty() || ok.issuer != f.expect.issuers[0] || ok.token_id.empty() ||
      ok.expires_at + f.expect.leeway_s <= kNow)
    __builtin_trap();
  return nullptr;
}

std::string sign(EVP_PKEY* key, std::string_view input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::string sig(64, '\0');
  std::size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    std::abort();
  sig.resize(len);
  return sig;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Fixture* fixture = new Fixture;
  const Fixture& f = *fixture;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto decoded = auth::decode_token(input);
  if (const auto* failure = std::get_if<auth::TokenFailure>(&decoded)) {
    check_reason(failure->reason, input);
  } else {
    auth::UnverifiedToken& token = std::get<auth::UnverifiedToken>(decoded);
    if (token.signing_input != input.substr(0, input.rfind('.'))) __builtin_trap();
    judge(auth::verify_token(token, f.keys, f.expect), f, input);
    if (token.alg == "EdDSA" && (token.kid.empty() || token.kid == "fuzz-ed")) {
      token.signature = sign(f.signer.get(), token.signing_input);
      const auto verdict = auth::verify_token(token, f.keys, f.expect);
      const auto* failure = judge(verdict, f, input);
      if (failure &&
          (failure->error == auth::TokenError::BadSignature || failure->error == auth::TokenError::UnknownKey ||
           failure->error == auth::TokenError::AlgorithmRefused))
        __builtin_trap();
    }
  }

  auto jwks = auth::parse_jwks(input);
  if (jwks.ok()) {
    for (const auto& why : jwks->skipped)
      for (const char c : why)
        if (c < 0x20 || c >= 0x7f) __builtin_trap();  // one printable line per skipped key
    for (const auto& key : jwks->keys)
      if (!key.key || (key.kty != "RSA" && key.kty != "EC" && key.kty != "OKP")) __builtin_trap();
  }
  return 0;
}

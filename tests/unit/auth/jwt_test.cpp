#include "auth/jwt.hpp"
#include "support/jwt_signing.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

namespace fleetmcp::auth {

// Found by ADL, so failures print "bad_signature", not a byte dump.
static void PrintTo(TokenError error, std::ostream* os) { *os << error_name(error); }

namespace {

using nlohmann::json;

constexpr std::int64_t kNow = 1'700'000'000;
const std::string kIssuer = "https://idp.example.test/realms/fleet";
const std::string kAudience = "https://mcp.example.test/mcp";

using namespace fleetmcp::testing::jwt;

json claims() {
  return {{"iss", kIssuer}, {"aud", kAudience}, {"sub", "alice"}, {"exp", kNow + 300}, {"iat", kNow - 10}};
}

Expectation expectation() {
  Expectation e;
  e.issuers = {"https://other.example.test/", kIssuer};
  e.audience = kAudience;
  e.now = kNow;
  return e;
}

// reason is safe in a log line and in WWW-Authenticate's error_description.
void expect_header_safe(const std::string& reason) {
  EXPECT_FALSE(reason.empty());
  for (const char c : reason) EXPECT_TRUE(c >= 0x20 && c < 0x7f && c != '"' && c != '\\') << "in reason: " << reason;
}

std::variant<VerifiedToken, TokenFailure> check(const std::string& token, const KeySet& keys,
                                                const Expectation& expect = expectation()) {
  auto decoded = decode_token(token);
  if (auto* failure = std::get_if<TokenFailure>(&decoded)) return *failure;
  return verify_token(std::get<UnverifiedToken>(decoded), keys, expect);
}

// The error a token fails with (its reason checked for header safety and for
// not quoting the token), or nothing when it verifies.
template <class T>
std::optional<TokenError> error_of(const std::variant<T, TokenFailure>& result, const std::string& token = {}) {
  const auto* failure = std::get_if<TokenFailure>(&result);
  if (!failure) return std::nullopt;
  expect_header_safe(failure->reason);
  if (token.size() > 8) {
    EXPECT_EQ(failure->reason.find(token), std::string::npos);
    const std::string signature = token.substr(token.rfind('.') + 1);
    if (signature.size() > 8) {
      EXPECT_EQ(failure->reason.find(signature), std::string::npos);
    }
  }
  return failure->error;
}

VerifiedToken verified(const std::variant<VerifiedToken, TokenFailure>& result) {
  if (const auto* failure = std::get_if<TokenFailure>(&result)) {
    ADD_FAILURE() << "refused: " << error_name(failure->error) << ": " << failure->reason;
    return {};
  }
  return std::get<VerifiedToken>(result);
}

std::string rsa_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

std::string rsa_der(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

class Jwt : public ::testing::Test {
 protected:
  // Generated once: RSA key generation takes a noticeable fraction of a second.
  static void SetUpTestSuite() {
    rsa_ = rsa_key(2048);
    rsa2_ = rsa_key(2048);
    ec_ = ec_key();
    ec2_ = ec_key();
    ed_ = ed_key();
  }
  static void TearDownTestSuite() { rsa_ = rsa2_ = ec_ = ec2_ = ed_ = nullptr; }

  static json jwks_json() {
    return {{"keys", json::array({rsa_jwk(rsa_.get(), "rsa1"), ec_jwk(ec_.get(), "ec1"), ed_jwk(ed_.get(), "ed1")})}};
  }
  static KeySet jwks() {
    auto keys = parse_jwks(jwks_json().dump());
    EXPECT_TRUE(keys.ok());
    EXPECT_EQ(keys->keys.size(), 3u);
    EXPECT_TRUE(keys->skipped.empty());
    return keys.ok() ? std::move(keys).value() : KeySet{};
  }

  // A token signed with the suite's key for `alg`, kid as in jwks().
  static std::string token(const std::string& alg, const json& body = claims(), bool with_kid = true) {
    EVP_PKEY* key = alg == "RS256" ? rsa_.get() : alg == "ES256" ? ec_.get() : ed_.get();
    const std::string kid = alg == "RS256" ? "rsa1" : alg == "ES256" ? "ec1" : "ed1";
    return compact(header(alg, with_kid ? kid : ""), body, key);
  }

  static inline Pkey rsa_, rsa2_, ec_, ec2_, ed_;
};

TEST_F(Jwt, EachAlgorithmVerifies) {
  const KeySet keys = jwks();
  for (const std::string alg : {"RS256", "ES256", "EdDSA"}) {
    const std::string t = token(alg);
    const auto decoded = decode_token(t);
    ASSERT_TRUE(std::holds_alternative<UnverifiedToken>(decoded)) << alg;
    const auto& u = std::get<UnverifiedToken>(decoded);
    EXPECT_EQ(u.alg, alg);
    EXPECT_EQ(u.typ, "at+jwt");
    EXPECT_EQ(u.issuer, kIssuer);
    EXPECT_EQ(u.signing_input, t.substr(0, t.rfind('.')));
    const VerifiedToken v = verified(verify_token(u, keys, expectation()));
    EXPECT_EQ(v.issuer, kIssuer) << alg;
    EXPECT_EQ(v.user, "alice") << alg;
    EXPECT_EQ(v.expires_at, kNow + 300) << alg;
    EXPECT_TRUE(v.groups.empty());
    EXPECT_TRUE(v.scopes.empty());
  }
}

TEST_F(Jwt, ATokenWithoutKidTriesEveryKeyOfItsType) {
  auto doc = jwks_json();
  doc["keys"].insert(doc["keys"].begin(), rsa_jwk(rsa2_.get(), "rsa0"));  // tried first, fails
  doc["keys"].insert(doc["keys"].begin(), ec_jwk(ec2_.get(), "ec0"));
  const KeySet keys = std::move(parse_jwks(doc.dump())).value();
  for (const std::string alg : {"RS256", "ES256", "EdDSA"})
    EXPECT_EQ(error_of(check(token(alg, claims(), false), keys)), std::nullopt) << alg;
  // No key of the type at all: the caller refreshes the JWKS.
  KeySet rsa_only;
  rsa_only.keys.push_back(keys.keys.front().kty == "RSA" ? keys.keys.front() : keys.keys[1]);
  EXPECT_EQ(error_of(check(token("EdDSA", claims(), false), rsa_only)), TokenError::UnknownKey);
}

TEST_F(Jwt, RefusesAnotherIssuer) {
  auto body = claims();
  body["iss"] = "https://evil.example.test/\"\r\nX-Injected: 1";
  const std::string t = token("ES256", body);
  EXPECT_EQ(error_of(check(t, jwks()), t), TokenError::WrongIssuer);
  body["iss"] = kIssuer + "/";  // exact match only
  EXPECT_EQ(error_of(check(token("ES256", body), jwks())), TokenError::WrongIssuer);
  body.erase("iss");
  EXPECT_EQ(error_of(check(token("ES256", body), jwks())), TokenError::MissingClaim);
  body["iss"] = 7;
  EXPECT_EQ(error_of(check(token("ES256", body), jwks())), TokenError::Malformed);
}

TEST_F(Jwt, RequiresOurAudienceAsStringOrInArray) {
  const KeySet keys = jwks();
  auto body = claims();
  body["aud"] = "https://other.example.test/mcp";
  EXPECT_EQ(error_of(check(token("RS256", body), keys)), TokenError::WrongAudience);
  body["aud"] = json::array({"https://other.example.test/mcp", kAudience});
  EXPECT_EQ(error_of(check(token("RS256", body), keys)), std::nullopt);
  body["aud"] = json::array({"https://other.example.test/mcp", 3});
  EXPECT_EQ(error_of(check(token("RS256", body), keys)), TokenError::WrongAudience);
  body["aud"] = json::array();
  EXPECT_EQ(error_of(check(token("RS256", body), keys)), TokenError::WrongAudience);
  body.erase("aud");
  EXPECT_EQ(error_of(check(token("RS256", body), keys)), TokenError::WrongAudience);
  // An unset expectation matches nothing, not even an empty aud.
  body["aud"] = "";
  Expectation unset = expectation();
  unset.audience.clear();
  EXPECT_EQ(error_of(check(token("RS256", body), keys, unset)), TokenError::WrongAudience);
}

TEST_F(Jwt, ChecksExpiryNotBeforeAndIssuedAt) {
  const KeySet keys = jwks();
  auto body = claims();
  body["exp"] = kNow - 3600;
  EXPECT_EQ(error_of(check(token("EdDSA", body), keys)), TokenError::Expired);
  body = claims();
  body["nbf"] = kNow + 3600;
  EXPECT_EQ(error_of(check(token("EdDSA", body), keys)), TokenError::NotYetValid);
  body = claims();
  body["iat"] = kNow + 3600;
  EXPECT_EQ(error_of(check(token("EdDSA", body), keys)), TokenError::NotYetValid);
  body = claims();
  body["exp"] = "tomorrow";
  EXPECT_EQ(error_of(check(token("EdDSA", body), keys)), TokenError::Malformed);
  body["exp"] = 1e300;
  EXPECT_EQ(error_of(check(token("EdDSA", body), keys)), TokenError::Malformed);
  body["exp"] = static_cast<double>(kNow) + 100.5;  // NumericDate may be fractional
  EXPECT_EQ(verified(check(token("EdDSA", body), keys)).expires_at, kNow + 100);
  body["exp"] = std::numeric_limits<std::int64_t>::max();  // no overflow with the leeway
  EXPECT_EQ(error_of(check(token("EdDSA", body), keys)), std::nullopt);
}

TEST_F(Jwt, LeewayBoundaryOnBothSides) {
  const KeySet keys = jwks();
  struct Case {
    const char* claim;
    std::int64_t value;
    std::optional<TokenError> expected;
  };
  // Leeway 60 s: exp is valid while now < exp + 60; nbf and iat while nbf <= now + 60.
  const Case cases[] = {
      {"exp", kNow - 59, std::nullopt}, {"exp", kNow - 60, TokenError::Expired},
      {"nbf", kNow + 60, std::nullopt}, {"nbf", kNow + 61, TokenError::NotYetValid},
      {"iat", kNow + 60, std::nullopt}, {"iat", kNow + 61, TokenError::NotYetValid},
  };
  for (const Case& c : cases) {
    auto body = claims();
    body[c.claim] = c.value;
    EXPECT_EQ(error_of(check(token("RS256", body), keys)), c.expected) << c.claim << " " << c.value - kNow;
  }
  auto body = claims();
  body["exp"] = kNow - 59;
  Expectation strict = expectation();
  strict.leeway_s = 0;
  EXPECT_EQ(error_of(check(token("RS256", body), keys, strict)), TokenError::Expired);
  body["exp"] = kNow + 1;
  EXPECT_EQ(error_of(check(token("RS256", body), keys, strict)), std::nullopt);
  body["exp"] = kNow;
  EXPECT_EQ(error_of(check(token("RS256", body), keys, strict)), TokenError::Expired);
}

TEST_F(Jwt, RequiresExp) {
  auto body = claims();
  body.erase("exp");
  EXPECT_EQ(error_of(check(token("ES256", body), jwks())), TokenError::MissingClaim);
}

TEST_F(Jwt, UnknownKidAsksForAFreshJwks) {
  const auto t = compact(header("RS256", "rotated-key"), claims(), rsa_.get());
  EXPECT_EQ(error_of(check(t, jwks()), t), TokenError::UnknownKey);
  EXPECT_EQ(error_of(check(token("RS256"), KeySet{})), TokenError::UnknownKey);
}

TEST_F(Jwt, RefusesAlgNone) {
  for (const std::string alg : {"none", "None", "NONE", "nOnE"}) {
    const std::string input = b64url(json{{"alg", alg}}.dump()) + "." + b64url(claims().dump());
    for (const std::string& t : {input + ".", input + "." + b64url("x")})
      EXPECT_EQ(error_of(decode_token(t), t), TokenError::AlgorithmRefused) << alg;
  }
}

// The classic confusion: HS256 with the RSA public key (which anyone has) as
// the HMAC secret. Refused before any key is looked at.
TEST_F(Jwt, RefusesHs256SignedWithThePublicKey) {
  const KeySet keys = jwks();
  for (const std::string& secret : {rsa_pem(rsa_.get()), rsa_der(rsa_.get())}) {
    const std::string t = compact(header("HS256", "rsa1"), claims(), nullptr, secret);
    EXPECT_EQ(error_of(decode_token(t), t), TokenError::AlgorithmRefused);
  }
  // A hand-built UnverifiedToken cannot slip it past verify_token either.
  UnverifiedToken forged = std::get<UnverifiedToken>(decode_token(token("RS256")));
  forged.alg = "HS256";
  forged.signature = jws_signature("HS256", nullptr, forged.signing_input, rsa_pem(rsa_.get()));
  EXPECT_EQ(error_of(verify_token(forged, keys, expectation())), TokenError::AlgorithmRefused);
  for (const std::string alg : {"HS384", "HS512", "RS384", "RS512", "PS256", "ES384", "ES512", "ES256K", "Ed25519", ""})
    EXPECT_EQ(error_of(decode_token(compact(header(alg, "rsa1"), claims(), nullptr))), TokenError::AlgorithmRefused)
        << alg;
}

TEST_F(Jwt, AKeyServesOnlyItsOwnAlgorithm) {
  // An RSA JWK pinned to RS256, named by an ES256 token.
  json doc = {{"keys", json::array({rsa_jwk(rsa_.get(), "k"), ec_jwk(ec_.get(), "ec1")})}};
  doc["keys"][0]["alg"] = "RS256";
  const KeySet keys = std::move(parse_jwks(doc.dump())).value();
  ASSERT_EQ(keys.keys.size(), 2u);
  EXPECT_EQ(keys.keys[0].alg, "RS256");
  EXPECT_EQ(error_of(check(compact(header("ES256", "k"), claims(), ec_.get()), keys)), TokenError::AlgorithmRefused);
  EXPECT_EQ(error_of(check(compact(header("EdDSA", "k"), claims(), ed_.get()), keys)), TokenError::AlgorithmRefused);
  EXPECT_EQ(error_of(check(compact(header("RS256", "k"), claims(), rsa_.get()), keys)), std::nullopt);

  // An EC JWK claiming RS256 is not usable at all.
  doc = {{"keys", json::array({ec_jwk(ec_.get(), "ec1")})}};
  doc["keys"][0]["alg"] = "RS256";
  const KeySet skipped = std::move(parse_jwks(doc.dump())).value();
  EXPECT_TRUE(skipped.keys.empty());
  ASSERT_EQ(skipped.skipped.size(), 1u);
  EXPECT_EQ(skipped.skipped[0], "kid ec1: alg RS256 is not usable (kty EC serves ES256 only)");
  EXPECT_EQ(error_of(check(token("ES256"), skipped)), TokenError::UnknownKey);

  // Built by hand, such a key is still refused for ES256.
  KeySet by_hand;
  by_hand.keys.push_back(PublicKey{"ec1", "RS256", "EC", ec_});
  EXPECT_EQ(error_of(check(token("ES256"), by_hand)), TokenError::AlgorithmRefused);
  // And a key whose kty does not match what it holds serves nothing.
  by_hand.keys = {PublicKey{"ec1", "", "EC", rsa_}};
  EXPECT_EQ(error_of(check(token("ES256"), by_hand)), TokenError::AlgorithmRefused);
}

TEST_F(Jwt, Es256SignatureMustBe64Bytes) {
  const KeySet keys = jwks();
  const std::string t = token("ES256");
  const std::string input = t.substr(0, t.rfind('.'));
  const std::string raw = jws_signature("ES256", ec_.get(), input);
  for (const std::string& sig : {raw.substr(0, 63), raw + '\0', digest_sign(ec_.get(), EVP_sha256(), input),
                                 std::string(), std::string(64, '\0')})
    EXPECT_EQ(error_of(check(input + "." + b64url(sig), keys)), TokenError::BadSignature) << sig.size();
}

TEST_F(Jwt, TamperedTokensDoNotVerify) {
  const KeySet keys = jwks();
  for (const std::string alg : {"RS256", "ES256", "EdDSA"}) {
    const std::string t = token(alg);
    const std::string signature = t.substr(t.rfind('.'));
    auto body = claims();
    body["sub"] = "admin";
    const std::string header_part = t.substr(0, t.find('.'));
    const std::string forged = header_part + "." + b64url(body.dump()) + signature;
    EXPECT_EQ(error_of(check(forged, keys), forged), TokenError::BadSignature) << alg;
    // Signed by another key of the same type under our kid.
    const Pkey ed2 = ed_key();
    EVP_PKEY* other = alg == "RS256" ? rsa2_.get() : alg == "ES256" ? ec2_.get() : ed2.get();
    const std::string kid = alg == "RS256" ? "rsa1" : alg == "ES256" ? "ec1" : "ed1";
    EXPECT_EQ(error_of(check(compact(header(alg, kid), claims(), other), keys)), TokenError::BadSignature) << alg;
  }
}

TEST_F(Jwt, RefusesTokensOver16KiB) {
  const KeySet keys = jwks();
  auto body = claims();
  body["pad"] = std::string(11800, 'x');  // about 16 000 bytes once encoded and signed
  const std::string fits = token("EdDSA", body);
  ASSERT_LT(fits.size(), 16384u);
  ASSERT_GT(fits.size(), 15500u);
  EXPECT_EQ(error_of(check(fits, keys)), std::nullopt);
  body["pad"] = std::string(12500, 'x');
  const std::string big = token("EdDSA", body);
  ASSERT_GT(big.size(), 16384u);
  EXPECT_EQ(error_of(decode_token(big), big), TokenError::Malformed);
}

TEST_F(Jwt, RefusesDeepNesting) {
  const KeySet keys = jwks();
  auto nested = [](int depth) {
    json v = 1;
    for (int i = 0; i < depth; ++i) v = json{{"a", v}};
    return v;
  };
  auto body = claims();
  body["deep"] = nested(15);  // 16 levels with the claims object
  EXPECT_EQ(error_of(check(token("ES256", body), keys)), std::nullopt);
  body["deep"] = nested(16);
  EXPECT_EQ(error_of(check(token("ES256", body), keys)), TokenError::Malformed);
  auto h = header("ES256", "ec1");
  h["x"] = nested(16);
  EXPECT_EQ(error_of(check(compact(h, claims(), ec_.get()), keys)), TokenError::Malformed);
}

TEST_F(Jwt, RefusesCrit) {
  auto h = header("RS256", "rsa1");
  h["crit"] = json::array({"b64"});
  h["b64"] = false;
  EXPECT_EQ(error_of(decode_token(compact(h, claims(), rsa_.get()))), TokenError::Malformed);
  h["crit"] = json::array();
  EXPECT_EQ(error_of(decode_token(compact(h, claims(), rsa_.get()))), TokenError::Malformed);
}

TEST_F(Jwt, RefusesMalformedCompactForms) {
  const std::string t = token("EdDSA");
  const std::string h = t.substr(0, t.find('.'));
  const std::string input = t.substr(0, t.rfind('.'));
  const std::string sig = t.substr(t.rfind('.') + 1);
  const std::string cases[] = {
      "",
      "abc",
      h + "." + h,
      t + ".x.y",               // JWE's five parts
      t + ".",                  // four
      input + "." + sig + "=",  // padding
      input + "." + sig.substr(0, 1) + " " + sig.substr(1),
      t.substr(t.find('.')),  // empty header
      h + ".." + sig,         // empty claims
      b64url("[1]") + "." + b64url(claims().dump()) + "." + sig,
      h + "." + b64url("[1]") + "." + sig,
      h + "." + b64url("{\"a\":") + "." + sig,
      h + "." + b64url(std::string("{\"a\":1}\0", 8)) + "." + sig,
      b64url(R"({"alg":"EdDSA","kid":5})") + "." + b64url(claims().dump()) + "." + sig,
      b64url(R"({"kid":"ed1"})") + "." + b64url(claims().dump()) + "." + sig,
      b64url(R"({"alg":["EdDSA"]})") + "." + b64url(claims().dump()) + "." + sig,
      // The signature's last character with its unused low bits set: the same
      // bytes to a lenient decoder, not a canonical encoding.
      input + "." + sig.substr(0, sig.size() - 1) + b64url_char(b64url_value(sig.back()) | 1),
  };
  for (const std::string& c : cases) EXPECT_EQ(error_of(decode_token(c), c), TokenError::Malformed) << c;
  EXPECT_NE(std::get<TokenFailure>(decode_token(t + ".x.y")).reason.find("JWE"), std::string::npos);
}

TEST_F(Jwt, ReadsScopesFromScopeOrScp) {
  const KeySet keys = jwks();
  auto body = claims();
  body["scope"] = " mcp:query  mcp:tables ";
  EXPECT_EQ(verified(check(token("RS256", body), keys)).scopes, (std::vector<std::string>{"mcp:query", "mcp:tables"}));
  body.erase("scope");
  body["scp"] = json::array({"mcp:query", "mcp:read"});
  EXPECT_EQ(verified(check(token("RS256", body), keys)).scopes, (std::vector<std::string>{"mcp:query", "mcp:read"}));
  body["scp"] = "mcp:query mcp:read";  // Entra ID's form
  EXPECT_EQ(verified(check(token("RS256", body), keys)).scopes, (std::vector<std::string>{"mcp:query", "mcp:read"}));
  body["scp"] = json::array({"mcp:query", 1});
  EXPECT_EQ(error_of(check(token("RS256", body), keys)), TokenError::Malformed);
  body["scope"] = json::array({"a"});  // RFC 9068: a string
  EXPECT_EQ(error_of(check(token("RS256", body), keys)), TokenError::Malformed);
}

TEST_F(Jwt, ReadsGroupsAsStringOrArray) {
  const KeySet keys = jwks();
  auto body = claims();
  body["groups"] = "analysts";
  EXPECT_EQ(verified(check(token("EdDSA", body), keys)).groups, (std::vector<std::string>{"analysts"}));
  body["groups"] = json::array({"analysts", "fleet ops"});
  EXPECT_EQ(verified(check(token("EdDSA", body), keys)).groups, (std::vector<std::string>{"analysts", "fleet ops"}));
  body["groups"] = json::array({"analysts", json::object()});
  EXPECT_EQ(error_of(check(token("EdDSA", body), keys)), TokenError::Malformed);
  body["groups"] = 3;
  EXPECT_EQ(error_of(check(token("EdDSA", body), keys)), TokenError::Malformed);
  Expectation roles = expectation();
  roles.groups_claim = "roles";
  body["roles"] = json::array({"reader"});
  EXPECT_EQ(verified(check(token("EdDSA", body), keys, roles)).groups, (std::vector<std::string>{"reader"}));
}

TEST_F(Jwt, ReadsTheUserClaim) {
  const KeySet keys = jwks();
  auto body = claims();
  body["preferred_username"] = "alice.smith";
  Expectation by_name = expectation();
  by_name.user_claim = "preferred_username";
  EXPECT_EQ(verified(check(token("ES256", body), keys, by_name)).user, "alice.smith");
  for (const json& bad : {json(""), json(42), json(nullptr), json::array({"alice"})}) {
    body["sub"] = bad;
    EXPECT_EQ(error_of(check(token("ES256", body), keys)), TokenError::MissingClaim) << bad.dump();
  }
  body.erase("sub");
  EXPECT_EQ(error_of(check(token("ES256", body), keys)), TokenError::MissingClaim);
  body["sub"] = "alice\nINFO forged log line";
  EXPECT_EQ(error_of(check(token("ES256", body), keys)), TokenError::Malformed);
}

TEST_F(Jwt, NamesTheTokenByJtiOrADigestOfIt) {
  const KeySet keys = jwks();
  auto body = claims();
  body["jti"] = "7f1c2a";
  body["client_id"] = "claude-desktop";
  body["azp"] = "other";
  const VerifiedToken with_jti = verified(check(token("RS256", body), keys));
  EXPECT_EQ(with_jti.token_id, "7f1c2a");
  EXPECT_EQ(with_jti.client_id, "claude-desktop");

  body.erase("jti");
  body.erase("client_id");
  const std::string t = token("RS256", body);
  const VerifiedToken hashed = verified(check(t, keys));
  EXPECT_EQ(hashed.client_id, "other");
  const std::string input = t.substr(0, t.rfind('.'));
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), md, &len, EVP_sha256(), nullptr);
  char hex[17];
  for (int i = 0; i < 8; ++i) std::snprintf(hex + 2 * i, 3, "%02x", md[i]);
  EXPECT_EQ(hashed.token_id, std::string("sha256:") + hex);
  EXPECT_EQ(t.find(hashed.token_id.substr(7)), std::string::npos);

  body["jti"] = "a\r\nb";  // not fit for a log line: the digest instead
  EXPECT_EQ(verified(check(token("RS256", body), keys)).token_id.substr(0, 7), "sha256:");
}

TEST(JwtJwks, SkipsUnusableKeysWithReasons) {
  const Pkey rsa = rsa_key(2048), rsa1024 = rsa_key(1024), ec = ec_key(), ed = ed_key();
  json priv = ec_jwk(ec.get(), "with-d");
  priv["d"] = b64url(std::string(32, '\x01'));
  json enc = rsa_jwk(rsa.get(), "enc1");
  enc["use"] = "enc";
  json oct = {{"kty", "oct"}, {"kid", "k2"}, {"k", b64url("secret")}};
  json off_curve = ec_jwk(ec.get(), "off");
  std::string y = bn_param(ec.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32);
  y[31] = static_cast<char>(y[31] ^ 1);
  off_curve["y"] = b64url(y);
  json bad_b64 = ed_jwk(ed.get(), "b64");
  bad_b64["x"] = "not base64url!";
  json p384 = ec_jwk(ec.get(), "p384");
  p384["crv"] = "P-384";
  json verify_only = ed_jwk(ed.get(), "ops");
  verify_only["key_ops"] = json::array({"encrypt"});
  json no_kid = rsa_jwk(rsa1024.get(), "");
  no_kid.erase("kid");

  json doc = {{"keys", json::array({rsa_jwk(rsa.get(), "good-rsa"), priv, enc, oct, off_curve, no_kid, bad_b64, p384,
                                    verify_only, ec_jwk(ec.get(), "good-ec"), ed_jwk(ed.get(), "good-ed"), "text",
                                    json{{"kty", "RSA"}, {"kid", 5}}})}};
  const auto keys = parse_jwks(doc.dump());
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  ASSERT_EQ(keys->keys.size(), 3u);
  EXPECT_EQ(keys->keys[0].kid, "good-rsa");
  EXPECT_EQ(keys->keys[0].kty, "RSA");
  EXPECT_EQ(keys->keys[1].kid, "good-ec");
  EXPECT_EQ(keys->keys[2].kid, "good-ed");
  EXPECT_EQ(keys->keys[2].kty, "OKP");
  const std::vector<std::string> expected = {
      "kid with-d: has a private part (d)",
      "kid enc1: use enc is not sig",
      "kid k2: kty oct is not a public key",
      "kid off: the point is not on P-256",
      "key 5: the RSA modulus has 1024 bits (2048..8192)",
      "kid b64: x is not a base64url string",
      "kid p384: crv P-384 is not supported",
      "kid ops: key_ops does not include verify",
      "key 11: not an object",
      "key 12: kid is not a string",
  };
  EXPECT_EQ(keys->skipped, expected);
}

TEST(JwtJwks, RefusesWhatIsNotAJwks) {
  for (const std::string doc : {"", "not json", "[]", "{}", R"({"keys":{}})", R"({"keys":"a"})", "{\"keys\":[]} x"})
    EXPECT_FALSE(parse_jwks(doc).ok()) << doc;
  EXPECT_TRUE(parse_jwks(R"({"keys":[]})").ok());
  const std::string big = R"({"keys":[],"pad":")" + std::string(256 << 10, 'x') + "\"}";
  EXPECT_FALSE(parse_jwks(big).ok());
  std::string deep = R"({"keys":[)" + std::string(40, '[') + std::string(40, ']') + "]}";
  EXPECT_FALSE(parse_jwks(deep).ok());
}

TEST(JwtJwks, BoundsTheNumberOfKeys) {
  json doc = {{"keys", json::array()}};
  for (int i = 0; i < 105; ++i) doc["keys"].push_back({{"kty", "oct"}, {"kid", std::to_string(i)}, {"k", "AA"}});
  const auto keys = parse_jwks(doc.dump());
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->skipped.size(), 101u);
  EXPECT_EQ(keys->skipped.back(), "keys after the first 100 are ignored");
}

}  // namespace
}  // namespace fleetmcp::auth

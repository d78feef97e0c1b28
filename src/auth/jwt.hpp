// JWT access tokens (OAuth 2.1 resource server, RFC 9068): who is calling when
// an identity provider, not our own token list, vouches for the analyst.
// Pure functions over bytes and a key set: no clock, no network, no logging, so
// the caller fetches and caches the JWKS and every path here can be fuzzed.
// Only asymmetric algorithms are accepted, each tied to one key type, so a
// public key can never serve as an HMAC secret and "none" never verifies.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.hpp"

// OpenSSL's EVP_PKEY, declared so its headers stay private to the auth library.
struct evp_pkey_st;

namespace fleetmcp::auth {

// A public signing key from an issuer's JWKS (RFC 7517).
struct PublicKey {
  std::string kid;                   // may be empty
  std::string alg;                   // the JWK's "alg" when present (then only that algorithm may use it)
  std::string kty;                   // "RSA", "EC", "OKP"
  std::shared_ptr<evp_pkey_st> key;  // EVP_PKEY, freed with EVP_PKEY_free
};

struct KeySet {
  std::vector<PublicKey> keys;
  std::vector<std::string> skipped;  // why each unusable key was left out, e.g. "kid k2: kty oct is not a public key"
};

// A JWKS document ({"keys":[...]}) of at most 256 KiB, and at most 100 keys
// (a token without kid is tried against every key of its type). Usable: RSA
// (2048..8192-bit modulus), EC P-256 (the point on the curve), OKP Ed25519.
// A key with "use" other than "sig", a private part, an unsupported kty, crv
// or alg, or bad base64url is skipped with a reason; a document that is not a
// JWKS at all is an error.
core::Result<KeySet> parse_jwks(std::string_view text);

enum class TokenError {
  Malformed,         // not a compact JWS with JSON object header and claims, or a claim of the wrong type
  AlgorithmRefused,  // alg is not RS256, ES256 or EdDSA, or not what the matching key allows
  UnknownKey,        // no key with that kid (or of that type): the caller refreshes the JWKS once
  BadSignature,
  WrongIssuer,
  WrongAudience,
  Expired,
  NotYetValid,   // nbf, or iat in the future
  MissingClaim,  // iss, exp or the user claim
};

// reason: one line for logs and WWW-Authenticate's error_description: printable
// ASCII without '"' or '\' (RFC 6750's charset), short excerpts of claims at
// most, never the token or its signature.
struct TokenFailure {
  TokenError error;
  std::string reason;
};

// What the header and payload say before any signature is checked: enough to
// pick the issuer's keys. Nothing in it is trustworthy yet.
struct UnverifiedToken {
  std::string alg, kid, typ;
  std::string issuer;         // "iss"; empty when absent
  std::string signing_input;  // header.payload as sent
  std::string signature;      // decoded bytes
  nlohmann::json payload;     // the claims object
};

// Compact JWS only (three base64url parts without padding; JWE refused) of at
// most 16 KiB; header and claims are JSON objects nested at most 16 deep.
// "crit" -> Malformed (we understand no extension); alg other than RS256,
// ES256, EdDSA -> AlgorithmRefused before any key is looked at. Keys named in
// the header ("jwk", "jku", "x5u", "x5c") are ignored: keys come only from the
// issuer's configured JWKS.
std::variant<UnverifiedToken, TokenFailure> decode_token(std::string_view compact);

struct Expectation {
  std::vector<std::string> issuers;     // exact string match on "iss"
  std::string audience;                 // must be in "aud" (string or array): the resource's canonical URL (RFC 8707)
  std::string user_claim = "sub";       // the analyst's name; missing or not a non-empty string -> MissingClaim
  std::string groups_claim = "groups";  // array of strings or one string; missing is fine
  std::int64_t now = 0;                 // seconds since the epoch (tests pass their own)
  std::int64_t leeway_s = 60;           // clock skew allowed between the issuer and us
};

struct VerifiedToken {
  std::string issuer, user;
  // "jti" when present (and one printable line of at most 256 bytes), else
  // "sha256:" + 16 hex digits of the signing input's SHA-256 (never the token).
  std::string token_id;
  std::vector<std::string> groups;
  std::vector<std::string> scopes;  // "scope" (space-separated, RFC 9068) or "scp" (array, or space-separated)
  std::string client_id;            // "client_id", else "azp", when present
  std::int64_t expires_at = 0;
};

// The signature first (nothing in the claims is believed before it holds),
// with the key whose kid matches, or every key of the right type for a token
// without kid. A key serves one algorithm: RSA RS256, EC P-256 ES256, Ed25519
// EdDSA, and only its own "alg" when it has one. Then iss, aud, exp (required),
// nbf and iat-not-in-the-future (with leeway), and the user claim.
// ES256 signatures are JWS's 64-byte R||S (any other length: BadSignature).
std::variant<VerifiedToken, TokenFailure> verify_token(const UnverifiedToken& token, const KeySet& keys,
                                                       const Expectation& expect);

std::string_view error_name(TokenError error);

}  // namespace fleetmcp::auth

#include "formats/ed25519.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

namespace cairn::formats {

namespace {

struct free_bio {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct free_md_ctx {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct free_pkey {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using bio_ptr = std::unique_ptr<BIO, free_bio>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, free_md_ctx>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, free_pkey>;

bio_ptr memory_bio(std::string_view text) {
  return bio_ptr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bio_text(BIO* b) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

pkey_ptr read_public(std::string_view pem) {
  if (pem.size() > 4096) return nullptr;
  auto in = memory_bio(pem);
  if (!in) return nullptr;
  pkey_ptr k(PEM_read_bio_PUBKEY(in.get(), nullptr, nullptr, nullptr));
  if (!k || EVP_PKEY_get_id(k.get()) != EVP_PKEY_ED25519) return nullptr;
  return k;
}

constexpr char k_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

void ed25519_key::free_key::operator()(evp_pkey_st* k) const {
  EVP_PKEY_free(k);
}

ed25519_key::~ed25519_key() = default;

result<ed25519_key> ed25519_key::generate() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (k == nullptr) return fail("cannot generate an Ed25519 key");
  return ed25519_key(k);
}

result<ed25519_key> ed25519_key::from_private_pem(std::string_view pem) {
  if (pem.size() > 4096) return fail("the key file is too large for an Ed25519 key");
  auto in = memory_bio(pem);
  if (!in) return fail("out of memory");
  EVP_PKEY* k = PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr);
  if (k == nullptr) return fail("not a PEM private key");
  if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(k);
    return fail("the key is not an Ed25519 key");
  }
  return ed25519_key(k);
}

std::string ed25519_key::private_pem() const {
  bio_ptr out(BIO_new(BIO_s_mem()));
  if (!out ||
      PEM_write_bio_PrivateKey(out.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return {};
  }
  return bio_text(out.get());
}

std::string ed25519_key::public_pem() const {
  bio_ptr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_PUBKEY(out.get(), key_.get()) != 1) return {};
  return bio_text(out.get());
}

std::string ed25519_key::sign(std::string_view message) const {
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  std::size_t n = sig.size();
  // Ed25519 is a one-shot scheme: no digest, the whole message at once.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &n,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      n != 64) {
    return {};
  }
  return sig;
}

std::optional<std::string> ed25519_public_bytes(std::string_view public_pem) {
  auto k = read_public(public_pem);
  if (!k) return std::nullopt;
  std::string raw(32, '\0');
  std::size_t n = raw.size();
  if (EVP_PKEY_get_raw_public_key(k.get(), reinterpret_cast<unsigned char*>(raw.data()), &n) != 1 ||
      n != 32) {
    return std::nullopt;
  }
  return raw;
}

std::string ed25519_public_pem_of(std::string_view raw) {
  if (raw.size() != 32) return {};
  pkey_ptr k(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()), raw.size()));
  bio_ptr out(BIO_new(BIO_s_mem()));
  if (!k || !out || PEM_write_bio_PUBKEY(out.get(), k.get()) != 1) return {};
  return bio_text(out.get());
}

bool ed25519_verify(std::string_view public_pem, std::string_view message,
                    std::string_view signature) {
  if (signature.size() != 64) return false;
  auto k = read_public(public_pem);
  if (!k) return false;
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, k.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    out += k_alphabet[v >> 18 & 63];
    out += k_alphabet[v >> 12 & 63];
    out += k_alphabet[v >> 6 & 63];
    out += k_alphabet[v & 63];
  }
  if (bytes.size() - i == 1) {
    const unsigned v = at(i) << 16;
    out += k_alphabet[v >> 18 & 63];
    out += k_alphabet[v >> 12 & 63];
    out += "==";
  } else if (bytes.size() - i == 2) {
    const unsigned v = at(i) << 16 | at(i + 1) << 8;
    out += k_alphabet[v >> 18 & 63];
    out += k_alphabet[v >> 12 & 63];
    out += k_alphabet[v >> 6 & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    unsigned v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      int d = 0;
      if (c == '=') {
        if (!last || k < 4 - pad) return std::nullopt;
      } else {
        d = value(c);
        if (d < 0) return std::nullopt;
      }
      v = v << 6 | static_cast<unsigned>(d);
    }
    out += static_cast<char>(v >> 16 & 0xff);
    if (!last || pad < 2) out += static_cast<char>(v >> 8 & 0xff);
    if (!last || pad < 1) out += static_cast<char>(v & 0xff);
    // Canonical: the bits that padding drops must be zero.
    if (last && ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0))) {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace cairn::formats

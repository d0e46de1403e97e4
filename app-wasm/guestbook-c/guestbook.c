/*
 * A guestbook in C, compiled for WASI (wasm32-wasi, reactor): anyone who deposited ETH signs
 * a short message; the app keeps the last 32 messages and a count per author, and answers
 * inspect queries for them. It is written straight against the sequencer's app ABI
 * (docs/app-abi.md), so it does its protocol duties itself: the nonce check (replay
 * protection) and the fee, paid from the balance that EtherPortal deposits credit.
 *
 * It uses the C library (malloc, qsort, memcmp, printf): printf goes to the host's debug log,
 * which is not consensus. Every integer is explicit-width; nothing reads a clock except
 * through time(), which WASI answers with the app clock (the L1 block number).
 *
 * Op data: 1-140 bytes of UTF-8 text (the message).
 * Inspect: 0x00 -> one report per stored message, newest first:
 *               author (20) || block (8, BE) || text
 *          0x01 || address (20) -> balance (32, BE) || next nonce (4, BE) || messages (4, BE)
 * Outputs: a notice per message: author (20) || block (8, BE) || text.
 * Dump "CGBK" v1: count u32 || count x (address 20 || nonce u32 || messages u32 ||
 *   balance 32 LE), ascending by address, no all-zero entry; then ring count u32 ||
 *   count x (author 20 || block u64 || length u32 || text), oldest first; little-endian.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define IMPORT(name) __attribute__((import_module("env"), import_name(name)))

IMPORT("emit") void host_emit(int32_t kind, const void *ptr, int32_t len);

enum { NOTICE = 0, VOUCHER = 1, REPORT = 2 };
enum { MAX_TEXT = 140, RING = 32 };

typedef struct { uint64_t w[4]; } u256; /* little-endian limbs */

typedef struct {
  uint8_t addr[20];
  uint32_t nonce;
  uint32_t messages;
  u256 balance;
} account;

typedef struct {
  uint8_t author[20];
  uint64_t block;
  uint32_t len;
  uint8_t text[MAX_TEXT];
} message;

/* ---- state ------------------------------------------------------------------------------ */

static account *accounts; /* sorted by address */
static uint32_t n_accounts, cap_accounts;
static message ring[RING];
static uint32_t ring_start, ring_count;
static uint8_t fee_recipient[20], ether_portal[20];
static int initialized;

/* ---- small helpers ------------------------------------------------------------------------ */

static char error_text[256];
static int32_t error_len;
static int32_t fail(int32_t code, const char *text) {
  error_len = snprintf(error_text, sizeof error_text, "%s", text);
  return code;
}

static int u256_lt(const u256 *a, const u256 *b) {
  for (int i = 3; i >= 0; i--) if (a->w[i] != b->w[i]) return a->w[i] < b->w[i];
  return 0;
}
static int u256_is_zero(const u256 *a) { return (a->w[0] | a->w[1] | a->w[2] | a->w[3]) == 0; }
/* a += b; returns 1 on overflow (a unchanged then) */
static int u256_add(u256 *a, const u256 *b) {
  u256 r; uint64_t carry = 0;
  for (int i = 0; i < 4; i++) {
    uint64_t s = a->w[i] + b->w[i];
    uint64_t c1 = s < a->w[i];
    r.w[i] = s + carry;
    carry = c1 | (r.w[i] < s);
  }
  if (carry) return 1;
  *a = r;
  return 0;
}
/* a -= b, with b <= a */
static void u256_sub(u256 *a, const u256 *b) {
  uint64_t borrow = 0;
  for (int i = 0; i < 4; i++) {
    uint64_t d = a->w[i] - b->w[i];
    uint64_t b1 = a->w[i] < b->w[i];
    uint64_t r = d - borrow;
    borrow = b1 | (d < borrow);
    a->w[i] = r;
  }
}
static void u256_from_be(u256 *a, const uint8_t *p) {
  for (int i = 0; i < 4; i++) {
    uint64_t v = 0;
    for (int j = 0; j < 8; j++) v = (v << 8) | p[(3 - i) * 8 + j];
    a->w[i] = v;
  }
}
static void put_be(uint8_t *p, uint64_t v, int n) { for (int i = n - 1; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v; }
static void u256_to_be(uint8_t *p, const u256 *a) { for (int i = 0; i < 4; i++) put_be(p + 8 * (3 - i), a->w[i], 8); }

static int cmp_addr(const void *key, const void *elem) { return memcmp(key, ((const account *)elem)->addr, 20); }

static account *find(const uint8_t *addr) {
  return bsearch(addr, accounts, n_accounts, sizeof(account), cmp_addr);
}

/* The account for addr, inserted (all zero) in order when absent; NULL when out of memory. */
static account *get_or_create(const uint8_t *addr) {
  account *a = find(addr);
  if (a) return a;
  if (n_accounts == cap_accounts) {
    uint32_t cap = cap_accounts ? cap_accounts * 2 : 16;
    account *grown = realloc(accounts, (size_t)cap * sizeof(account));
    if (!grown) return NULL;
    accounts = grown;
    cap_accounts = cap;
  }
  uint32_t i = 0;
  while (i < n_accounts && memcmp(accounts[i].addr, addr, 20) < 0) i++;
  memmove(&accounts[i + 1], &accounts[i], (size_t)(n_accounts - i) * sizeof(account));
  memset(&accounts[i], 0, sizeof(account));
  memcpy(accounts[i].addr, addr, 20);
  n_accounts++;
  return &accounts[i];
}

/* ---- the ABI -------------------------------------------------------------------------------- */

EXPORT("abi_version") int32_t abi_version(void) { return 1; }
EXPORT("alloc") void *alloc_(int32_t len) { return malloc(len > 0 ? (size_t)len : 1); }
EXPORT("dealloc") void dealloc_(void *p) { free(p); }
EXPORT("max_data_len") int32_t max_data_len(void) { return MAX_TEXT; }
EXPORT("last_error_ptr") const char *last_error_ptr(void) { return error_text; }
EXPORT("last_error_len") int32_t last_error_len(void) { return error_len; }

EXPORT("init") int32_t init(const uint8_t *config, int32_t len) {
  if (initialized) return fail(103, "already initialized");
  if (len != 80) return fail(102, "config must be the host's 80 bytes (this app takes no app config)");
  memcpy(fee_recipient, config, 20);
  memcpy(ether_portal, config + 20, 20);
  initialized = 1;
  return 0;
}

EXPORT("validate")
int32_t validate(const uint8_t *sender, uint32_t nonce, uint32_t fee, const uint8_t *fee_le, const uint8_t *data, int32_t len) {
  (void)fee;
  (void)data; /* any bytes are a message; the app stores them as they are */
  if (!initialized) return fail(100, "not initialized");
  if (len < 1 || len > MAX_TEXT) return fail(3, "a message is 1 to 140 bytes");
  account *a = find(sender);
  uint32_t expected = a ? a->nonce : 0;
  if (nonce != expected) {
    error_len = snprintf(error_text, sizeof error_text, "bad nonce: expected %u, got %u", expected, nonce);
    return 1;
  }
  if (nonce == UINT32_MAX) return fail(4, "nonce exhausted");
  u256 f, zero = {{0, 0, 0, 0}};
  memcpy(&f, fee_le, 32);
  if (u256_lt(a ? &a->balance : &zero, &f)) return fail(2, "insufficient balance for fee");
  return 0;
}

EXPORT("apply_user_op")
int32_t apply_user_op(const uint8_t *sender, uint32_t nonce, uint32_t fee, const uint8_t *fee_le, const uint8_t *data,
                      int32_t len, int64_t block) {
  if (validate(sender, nonce, fee, fee_le, data, len) != 0) return 101;
  u256 f;
  memcpy(&f, fee_le, 32);
  account *a = get_or_create(sender);
  if (!a) return fail(105, "out of memory");
  a->nonce = nonce + 1;
  u256_sub(&a->balance, &f);
  a->messages++;
  uint8_t who[20];
  memcpy(who, a->addr, 20); /* get_or_create below may move the array */
  account *r = get_or_create(fee_recipient);
  if (!r) return fail(105, "out of memory");
  if (u256_add(&r->balance, &f)) memset(&r->balance, 0xff, 32); /* saturate: cannot refuse a fee */

  message *m = &ring[(ring_start + ring_count) % RING];
  if (ring_count == RING) ring_start = (ring_start + 1) % RING;
  else ring_count++;
  memcpy(m->author, who, 20);
  m->block = (uint64_t)block;
  m->len = (uint32_t)len;
  memcpy(m->text, data, (size_t)len);

  uint8_t out[20 + 8 + MAX_TEXT];
  memcpy(out, who, 20);
  put_be(out + 20, (uint64_t)block, 8);
  memcpy(out + 28, data, (size_t)len);
  host_emit(NOTICE, out, 28 + len);
  printf("guestbook: %d bytes at block %lld (clock %lld), %u messages from this author\n", len, (long long)block,
         (long long)time(NULL), a == find(who) ? find(who)->messages : 0);
  return 0;
}

EXPORT("apply_direct_input")
int32_t apply_direct_input(const uint8_t *sender, int64_t block, const uint8_t *payload, int32_t len) {
  (void)block;
  if (!initialized) return fail(100, "not initialized");
  static const char ignored[] = "input ignored: not an EtherPortal deposit";
  if (memcmp(sender, ether_portal, 20) != 0 || len < 52) {
    host_emit(REPORT, ignored, (int32_t)sizeof ignored - 1);
    return 0;
  }
  u256 v;
  u256_from_be(&v, payload + 20);
  if (u256_is_zero(&v)) return 0;
  account *a = get_or_create(payload);
  if (!a) return fail(105, "out of memory");
  if (u256_add(&a->balance, &v)) {
    static const char refused[] = "deposit refused: the balance would overflow";
    host_emit(REPORT, refused, (int32_t)sizeof refused - 1);
  }
  return 0;
}

EXPORT("nonce_of") int64_t nonce_of(const uint8_t *sender) {
  account *a = find(sender);
  return a ? a->nonce : 0;
}

EXPORT("inspect") int32_t inspect(const uint8_t *payload, int32_t len, int64_t clock) {
  (void)clock;
  if (len == 1 && payload[0] == 0) {
    uint8_t out[20 + 8 + MAX_TEXT];
    for (uint32_t k = 0; k < ring_count; k++) {
      const message *m = &ring[(ring_start + ring_count - 1 - k) % RING];
      memcpy(out, m->author, 20);
      put_be(out + 20, m->block, 8);
      memcpy(out + 28, m->text, m->len);
      host_emit(REPORT, out, 28 + (int32_t)m->len);
    }
    return 0;
  }
  if (len == 21 && payload[0] == 1) {
    uint8_t out[40] = {0};
    account *a = find(payload + 1);
    if (a) {
      u256_to_be(out, &a->balance);
      put_be(out + 32, a->nonce, 4);
      put_be(out + 36, a->messages, 4);
    }
    host_emit(REPORT, out, 40);
    return 0;
  }
  static const char unknown[] = "unknown query: 0x00 (messages) or 0x01 || address (an account)";
  host_emit(REPORT, unknown, (int32_t)sizeof unknown - 1);
  return 1;
}

/* ---- dump and load ------------------------------------------------------------------------------ */

static uint8_t *dump_buf;
static uint32_t dump_size;

static uint8_t *put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); return p + 4; }
static uint8_t *put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); return p + 8; }

static int account_empty(const account *a) { return a->nonce == 0 && a->messages == 0 && u256_is_zero(&a->balance); }

EXPORT("dump") int32_t dump(void) {
  free(dump_buf);
  size_t size = 12 + (size_t)n_accounts * 60 + 4 + RING * (32 + MAX_TEXT);
  dump_buf = malloc(size);
  if (!dump_buf) return fail(105, "out of memory");
  uint8_t *p = put32(put32(dump_buf, 0x4b424743u /* "CGBK" */), 1);
  uint8_t *count_at = p;
  p += 4;
  uint32_t n = 0;
  for (uint32_t i = 0; i < n_accounts; i++) {
    const account *a = &accounts[i];
    if (account_empty(a)) continue;
    memcpy(p, a->addr, 20);
    p = put32(put32(p + 20, a->nonce), a->messages);
    memcpy(p, &a->balance, 32);
    p += 32;
    n++;
  }
  put32(count_at, n);
  p = put32(p, ring_count);
  for (uint32_t k = 0; k < ring_count; k++) {
    const message *m = &ring[(ring_start + k) % RING];
    memcpy(p, m->author, 20);
    p = put32(put64(p + 20, m->block), m->len);
    memcpy(p, m->text, m->len);
    p += m->len;
  }
  dump_size = (uint32_t)(p - dump_buf);
  return 0;
}
EXPORT("dump_ptr") const uint8_t *dump_ptr(void) { return dump_buf; }
EXPORT("dump_len") int32_t dump_len(void) { return (int32_t)dump_size; }

static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Checks everything before it changes anything: a refused dump leaves the state as it was. */
EXPORT("load") int32_t load(const uint8_t *p, int32_t len) {
  if (!initialized) return fail(100, "not initialized");
  const uint8_t *end = p + len;
  if (len < 16 || get32(p) != 0x4b424743u) return fail(1, "not a guestbook dump");
  if (get32(p + 4) != 1) return fail(2, "unsupported guestbook dump version");
  uint32_t n = get32(p + 8);
  const uint8_t *q = p + 12;
  if ((uint64_t)n * 60 > (uint64_t)(end - q)) return fail(3, "truncated dump");
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *e = q + (size_t)i * 60;
    if (i > 0 && memcmp(e - 60, e, 20) >= 0) return fail(4, "accounts are not strictly ascending");
    account probe;
    probe.nonce = get32(e + 20);
    probe.messages = get32(e + 24);
    memcpy(&probe.balance, e + 28, 32);
    if (account_empty(&probe)) return fail(4, "the dump holds an empty account");
  }
  const uint8_t *r = q + (size_t)n * 60;
  if (end - r < 4) return fail(3, "truncated dump");
  uint32_t rc = get32(r);
  if (rc > RING) return fail(4, "too many messages");
  const uint8_t *s = r + 4;
  for (uint32_t k = 0; k < rc; k++) {
    if (end - s < 32) return fail(3, "truncated dump");
    uint32_t l = get32(s + 28);
    if (l < 1 || l > MAX_TEXT || end - s < 32 + (ptrdiff_t)l) return fail(4, "bad message length");
    s += 32 + l;
  }
  if (s != end) return fail(3, "trailing bytes");

  account *fresh = n ? malloc((size_t)n * sizeof(account)) : NULL;
  if (n && !fresh) return fail(105, "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *e = q + (size_t)i * 60;
    memcpy(fresh[i].addr, e, 20);
    fresh[i].nonce = get32(e + 20);
    fresh[i].messages = get32(e + 24);
    memcpy(&fresh[i].balance, e + 28, 32);
  }
  free(accounts);
  accounts = fresh;
  n_accounts = cap_accounts = n;
  ring_start = 0;
  ring_count = rc;
  s = r + 4;
  for (uint32_t k = 0; k < rc; k++) {
    message *m = &ring[k];
    memcpy(m->author, s, 20);
    m->block = get64(s + 20);
    m->len = get32(s + 28);
    memcpy(m->text, s + 32, m->len);
    s += 32 + m->len;
  }
  return 0;
}

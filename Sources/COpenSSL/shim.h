#ifndef XGW_COPENSSL_SHIM_H
#define XGW_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/core_names.h>

/* Macros Swift cannot import. */
static inline void xgw_OPENSSL_free(void *ptr) { OPENSSL_free(ptr); }
static inline long xgw_BIO_get_mem_data(BIO *bio, char **pp) { return BIO_get_mem_data(bio, pp); }
static inline void xgw_X509V3_set_ctx_nodb(X509V3_CTX *ctx) { X509V3_set_ctx_nodb(ctx); }
static inline int xgw_MBSTRING_UTF8(void) { return MBSTRING_UTF8; }

#endif

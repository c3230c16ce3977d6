#ifndef TOKEN_CCURL_SHIM_H
#define TOKEN_CCURL_SHIM_H
#include <curl/curl.h>

/*
 * curl_easy_setopt and curl_easy_getinfo are variadic, and Swift cannot call C variadic
 * functions. One wrapper per argument type the probe passes (timings are read as curl_off_t
 * microseconds, the *_TIME_T infos, so no double getter is needed); each only forwards its
 * argument. They can go if libcurl ever gains typed setters.
 */

/// curl_easy_setopt for CURLOPTTYPE_LONG options (flags, timeouts, sizes).
static inline CURLcode token_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

/// curl_easy_setopt for CURLOPTTYPE_STRINGPOINT options (libcurl copies the string).
static inline CURLcode token_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/// curl_easy_setopt for CURLOPTTYPE_OBJECTPOINT and CURLOPTTYPE_SLISTPOINT options (callback
/// data, the error buffer, header lists); the pointee must outlive the transfers.
static inline CURLcode token_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

/// curl_easy_setopt for CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION.
static inline CURLcode token_curl_setopt_write_callback(CURL *handle, CURLoption option,
                                                        curl_write_callback value) {
    return curl_easy_setopt(handle, option, value);
}

/// curl_easy_getinfo for CURLINFO_LONG values (status code, verify result, errno).
static inline CURLcode token_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

/// curl_easy_getinfo for CURLINFO_OFF_T values (the *_TIME_T timings, in microseconds).
static inline CURLcode token_curl_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

/// curl_easy_getinfo for CURLINFO_STRING values (content type, redirect URL); the string
/// belongs to the handle and lives until the next transfer.
static inline CURLcode token_curl_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}

/// curl_easy_getinfo(CURLINFO_CERTINFO): the server's chain, leaf first, as "Name:value"
/// lines per certificate; owned by the handle.
static inline CURLcode token_curl_getinfo_certinfo(CURL *handle, struct curl_certinfo **value) {
    return curl_easy_getinfo(handle, CURLINFO_CERTINFO, value);
}

#endif

"""THE table of expected answers, shared by every integration test module.

If the product renames an error code or changes a status, adjust it here and only here.
"""

# error class -> (HTTP status, "error" code in the JSON body)
ERRORS = {
    "method_not_allowed": (405, "method_not_allowed"),
    "unsupported_media_type": (415, "unsupported_media_type"),
    "body_too_large": (413, "body_too_large"),          # the application's own cap (--max-body)
    "empty_body": (400, "empty_body"),
    "invalid_json": (400, "invalid_json"),
    "missing_number": (400, "missing_number"),
    "invalid_field": (400, "invalid_field"),
    "invalid_number": (422, "invalid_number"),
    "unknown_number": (404, "unknown_number"),
    "store_unavailable": (500, "store_unavailable"),
    "server_misconfigured": (500, "server_misconfigured"),  # a bad TOKEN_* setting, a bad mint key
    "forbidden": (403, "forbidden"),                    # --key-file: missing or wrong ?key=
    "missing_timestamp": (400, "missing_timestamp"),    # --max-skew: no "timestamp"
    "timestamp_out_of_window": (403, "timestamp_out_of_window"),  # --max-skew exceeded
    # Answered by nginx itself (nginx/udesk-token-location.conf), not by token-responder:
    "nginx_body_too_large": (413, "body_too_large"),   # body beyond client_max_body_size 16k
    "nginx_backend_unavailable": (502, "backend_unavailable"),
    "nginx_backend_timeout": (504, "backend_timeout"),     # fastcgi_read_timeout 2s
    "nginx_not_found": (404, "not_found"),             # any other path on the HTTPS server
    "nginx_forbidden": (403, "forbidden"),             # address not allowed (allow-list, metrics)
}

# The message of nginx's own 403 (@udesk_forbidden), which tells it from the responder's.
NGINX_FORBIDDEN_MESSAGE = "client address not allowed"

# Security headers nginx adds to every HTTPS answer (nginx/udesk-token-headers.conf); each
# must appear exactly once.
SECURITY_HEADERS = {
    "strict-transport-security": "max-age=31536000",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
ALLOW_HEADER = "POST"
APP_MAX_BODY = 4096          # token-responder's default --max-body
NGINX_MAX_BODY = 16 * 1024   # client_max_body_size in nginx/udesk-token-location.conf

# Rows of Tests/Fixtures/integration-tokens.csv, as (a written form to query, expected token).
TOKENS = {
    "13800138000": "cust-0001",
    "+86 139 0000 1111": "cust-0002",
    "+86-137-1234-5678": "cust-0003",
    "013612345678": "cust-0004",
    "135 0000 2222": "cust-0005",
    "18888888888": "cust-udesk-example",
    "010-12345678": "cust-beijing-landline",
    "0755-86001234": "cust-shenzhen-landline",
    "+1 415 555 2671": "cust-us-sf",
    "15900001234": 'cust-"quoted"-客户',
    "15900005678": "cust\\back\\slash",
    "+86 158 0000 9999": "cust, with comma",
}

# A valid mobile number that is NOT in the fixture.
UNKNOWN_NUMBER = "13912345678"
